// Helpers for blockstore's gtest suites (header-only: the testing library
// itself does not link gtest).
//
// TestSeed: the seed a randomized test uses. It comes from gtest's random
// seed (0 unless --gtest_shuffle is on), so a failing run can be repeated;
// tests wrap assertions in SCOPED_TRACE(SeedTrace()) so it is printed on
// failure. EXPECT_OK / ASSERT_OK print the Status when it is not OK.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "base/status.h"
#include "base/testing/status_macros.h"

namespace hoodyfs::blockstore::testing {

inline uint64_t TestSeed() {
  return 0x5eed0000ULL + static_cast<uint64_t>(::testing::UnitTest::GetInstance()->random_seed());
}

inline std::string SeedTrace() {
  return "seed " + std::to_string(TestSeed()) +
         " (repeat with --gtest_shuffle --gtest_random_seed=" +
         std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + ")";
}

}  // namespace hoodyfs::blockstore::testing
