// Progress of long work on a terminal: one status line on stderr, redrawn
// at most ten times a second and cleared at the end. Nothing at all when
// stderr is not a terminal (piped, redirected, in scripts and tests).
//
// Thread-safety: Update may be called from several threads (an import's
// workers); calls are serialized inside.
#pragma once

#include <chrono>
#include <mutex>
#include <string>

namespace hoodyfs::cli {

class Progress {
 public:
  // Enabled when stderr is a terminal, or when `force` (tests).
  explicit Progress(bool force = false);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  bool enabled() const { return enabled_; }
  // Shows `line` unless one was shown less than 100 ms ago.
  void Update(const std::string& line);
  // Clears the line.
  void Done();

 private:
  bool enabled_;
  std::mutex mu_;
  std::chrono::steady_clock::time_point last_{};
  bool shown_ = false;
};

}  // namespace hoodyfs::cli
