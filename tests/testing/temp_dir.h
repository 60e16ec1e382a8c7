// TempDir: a directory made for one test under $TMPDIR (or /tmp) and removed
// with everything in it when the test ends.
#pragma once

#include <string>

namespace hoodyfs::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace hoodyfs::testing
