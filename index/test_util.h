// Helpers shared by the index/ unit tests: a temporary directory that removes
// itself, the seed every randomized test uses, and store-opening shortcuts.
//
// Seeds: every randomized test draws from TestSeed(), which is gtest's
// --gtest_random_seed (a fresh time-based seed when the flag is absent) and
// is attached to every failure with SCOPED_TRACE, so a failing run can be
// repeated exactly with --gtest_random_seed=<seed>.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "base/testing/temp_dir.h"
#include "index/kv_store.h"

namespace hoodyfs::index::testutil {

// The shared self-removing temporary directory (base/testing), default
// constructible so fixtures can hold one as a member.
class TempDir {
 public:
  TempDir() : dir_(::hoodyfs::testing::TempDir::Create().value()) {}
  const std::string& path() const { return dir_.path(); }
  std::string File(const std::string& name) const { return dir_.File(name); }

 private:
  ::hoodyfs::testing::TempDir dir_;
};

inline uint32_t TestSeed() {
  return static_cast<uint32_t>(::testing::UnitTest::GetInstance()->random_seed());
}

inline std::string SeedTrace(uint32_t seed) {
  return "seed " + std::to_string(seed) +
         " (rerun with --gtest_random_seed=" + std::to_string(seed) + ")";
}

// Small sparse maps keep the tests' address-space use modest.
inline EnvOptions TestEnvOptions() {
  EnvOptions o;
  o.map_size_bytes = uint64_t{256} << 20;
  return o;
}

// Opens (creating) the store at `path` into *store, replacing what was there
// (the old store is closed first: LMDB forbids opening one file twice in a
// process). Use as ASSERT_NO_FATAL_FAILURE(OpenStore(path, &store)).
inline void OpenStore(const std::string& path, std::unique_ptr<KvStore>* store) {
  store->reset();
  Result<std::unique_ptr<KvStore>> r = KvStore::Open(path, TestEnvOptions());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  *store = std::move(r).value();
}

}  // namespace hoodyfs::index::testutil
