#include "tests/testing/temp_dir.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "base/assert.h"

namespace hoodyfs::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/hoodyfs-test-XXXXXX";
  HOODY_ASSERT(::mkdtemp(tmpl.data()) != nullptr, "mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace hoodyfs::testing
