#include "base/testing/temp_dir.h"

#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <utility>
#include <vector>

namespace hoodyfs::testing {

Result<TempDir> TempDir::CreateInMemory() {
  return Create(::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "");
}

Result<TempDir> TempDir::Create(const std::string& parent) {
  std::string base = parent;
  if (base.empty()) {
    const char* env = std::getenv("TMPDIR");  // NOLINT(concurrency-mt-unsafe): tests set no env
    base = env != nullptr && env[0] != '\0' ? env : "/tmp";
  }
  std::string templ = base + "/hoodyfs-test-XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) return FromErrno(errno, "mkdtemp " + templ);
  return TempDir(std::string(buf.data()));
}

TempDir::TempDir(TempDir&& other) noexcept : path_(std::exchange(other.path_, std::string())) {}

TempDir& TempDir::operator=(TempDir&& other) noexcept {
  if (this != &other) {
    Remove();
    path_ = std::exchange(other.path_, std::string());
  }
  return *this;
}

TempDir::~TempDir() { Remove(); }

void TempDir::Remove() {
  if (path_.empty()) return;
  std::error_code ignored;  // best effort: a leftover temp dir must not fail a test
  std::filesystem::remove_all(path_, ignored);
  path_.clear();
}

}  // namespace hoodyfs::testing
