// TempDir: a fresh directory for one test, removed with everything in it when
// the TempDir is destroyed.
//
// Ownership: owns the directory tree (move-only). Thread-safety: none needed;
// path() may be read from any thread.
#pragma once

#include <string>

#include "base/status.h"

namespace hoodyfs::testing {

class TempDir {
 public:
  // Creates "hoodyfs-test-XXXXXX" under `parent`, or under $TMPDIR (else
  // /tmp) when `parent` is empty. Errors: what FromErrno maps for mkdtemp.
  static Result<TempDir> Create(const std::string& parent = "");
  // As Create, under /dev/shm when it is writable (else as Create("")): for
  // tests and fuzz targets whose thousands of synced commits would wait on a
  // disk for nothing they check.
  static Result<TempDir> CreateInMemory();

  TempDir(TempDir&& other) noexcept;
  TempDir& operator=(TempDir&& other) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();

  const std::string& path() const { return path_; }
  // path() + "/" + name.
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  void Remove();
  std::string path_;  // empty when moved from
};

}  // namespace hoodyfs::testing
