#include "base/log.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

namespace hoodyfs {

namespace {
LogLevel InitialThreshold() {
  const char* env = std::getenv("HOODYFS_LOG_LEVEL");  // read once, before threads log
  if (env != nullptr && std::strcmp(env, "debug") == 0) return LogLevel::kDebug;
  return LogLevel::kInfo;
}

std::atomic<LogLevel>& Threshold() {
  static std::atomic<LogLevel> threshold{InitialThreshold()};
  return threshold;
}

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "?";
}
}  // namespace

void SetLogThreshold(LogLevel level) { Threshold().store(level); }

void Log(LogLevel level, std::string_view message) {
  if (level < Threshold().load()) return;
  std::string line = "hoodyfs: ";
  line += LevelName(level);
  line += ": ";
  line += message;
  line += '\n';
  // One write: a line is never split between threads. A failed write to a
  // closed standard error has nowhere else to go.
  const ssize_t written = ::write(STDERR_FILENO, line.data(), line.size());
  (void)written;
}

}  // namespace hoodyfs
