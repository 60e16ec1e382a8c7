// Log: one line per event worth a person's attention, to standard error.
// The daemon's standard error is its log file (STORE/daemon.log when
// started on demand) or, under systemd, the journal; a command run by hand
// shows the line on the terminal. Lines read "hoodyfs: LEVEL: message".
//
// Thread-safety: Log may be called from any thread; each line is written
// with one write(2), so lines of different threads never interleave.
#pragma once

#include <string_view>

namespace hoodyfs {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

// Lines below `level` are dropped (default: kInfo; HOODYFS_LOG_LEVEL=debug
// in the environment lowers it at start-up).
void SetLogThreshold(LogLevel level);

void Log(LogLevel level, std::string_view message);

}  // namespace hoodyfs
