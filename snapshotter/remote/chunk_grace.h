// ChunkGrace: the one number gc and push agree on so that gc never deletes
// a chunk a concurrent push's manifest will name (docs/design.md, "Remotes",
// where the argument is). With a grace of T:
//   - gc deletes an unreferenced chunk only when its Last-Modified is more
//     than T before the server time gc took before listing the manifests,
//     and issues each delete at most settle()/2 after the HEAD that saw the
//     chunk's age (abandoning it after another settle()/2);
//   - push re-uploads ("touches") a chunk it finds present but older than
//     touch_after(), re-checks every chunk it wrote at least settle() after
//     writing it, and refuses to write its manifest when more than
//     push_limit() has passed since it started (server clock).
// A grace of 0 is for a bucket no push writes to meanwhile (tests, a quiet
// maintenance window): every unreferenced chunk goes, push touches every
// chunk it finds and has no time limit.
//
// Thread-safety: a value.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace hoodyfs::remote {

class ChunkGrace {
 public:
  static constexpr std::chrono::seconds kDefault{24 * 3600};

  ChunkGrace() = default;
  explicit ChunkGrace(std::chrono::seconds grace) : grace_(grace) {}

  std::chrono::seconds grace() const { return grace_; }
  // A chunk at least this old is re-uploaded by a push that uses it.
  std::chrono::seconds touch_after() const { return grace_ / 2; }
  // A push older than this (server clock) writes no manifest; 0: no limit.
  std::chrono::seconds push_limit() const { return grace_ / 4; }
  // How long after its HEAD a gc delete may still land, and how long after
  // writing a chunk a push re-checks it: a 1/1440 of the grace, at most
  // kMaxSettle (what every push that writes a chunk waits at its end).
  static constexpr std::chrono::milliseconds kMaxSettle{5000};
  std::chrono::milliseconds settle() const {
    return std::min(kMaxSettle,
                    std::chrono::duration_cast<std::chrono::milliseconds>(grace_) / 1440);
  }
  bool unbounded() const { return grace_.count() == 0; }

 private:
  std::chrono::seconds grace_ = kDefault;
};

// Whether a push that started at `started_s` and is about to write its
// manifest at `now_s` (both the server's clock, seconds) is still within
// push_limit(): OK, or kBusy saying so (no manifest must be written).
Status CheckPushAge(const ChunkGrace& grace, int64_t started_s, int64_t now_s);

// "24h", "90m", "30s", "7d", "0s" (a number and one unit; "0" alone too).
// Errors: kInvalidArgument naming the text.
Result<ChunkGrace> ParseGrace(std::string_view text);
std::string FormatGrace(const ChunkGrace& grace);

}  // namespace hoodyfs::remote
