#include "cli/progress.h"

#include <unistd.h>

#include <cstdio>

namespace hoodyfs::cli {

Progress::Progress(bool force) : enabled_(force || ::isatty(STDERR_FILENO) == 1) {}

Progress::~Progress() { Done(); }

void Progress::Update(const std::string& line) {
  if (!enabled_) return;
  std::lock_guard l(mu_);
  const auto now = std::chrono::steady_clock::now();
  if (shown_ && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  shown_ = true;
  // \r and "erase to end of line": the line is redrawn in place.
  std::fprintf(stderr, "\r%s\033[K", line.c_str());
  std::fflush(stderr);
}

void Progress::Done() {
  if (!enabled_) return;
  std::lock_guard l(mu_);
  if (!shown_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  shown_ = false;
}

}  // namespace hoodyfs::cli
