#include "snapshotter/engine/unsynced_data.h"

#include <algorithm>
#include <utility>

namespace hoodyfs::snapshotter {

void UnsyncedData::Note(uint64_t offset, uint64_t length) {
  MutexLock l(mu_);
  ++seq_;
  if (noted_bytes_ + length > max_bytes_) {
    // Whatever is remembered is covered by the sync Take now asks for.
    // Later notes are remembered again: a sync marked before them does not
    // cover them, and they may fit the record after it.
    overflow_seq_ = seq_;
    noted_.clear();
    noted_bytes_ = 0;
    return;
  }
  noted_.push_back(Noted{seq_, Range{offset, length}});
  noted_bytes_ += length;
}

void UnsyncedData::NoteUnloggable() {
  MutexLock l(mu_);
  overflow_seq_ = ++seq_;
  noted_.clear();
  noted_bytes_ = 0;
}

std::optional<std::vector<UnsyncedData::Range>> UnsyncedData::Take() {
  MutexLock l(mu_);
  if (overflow_seq_ != 0) return std::nullopt;
  std::vector<Range> out;
  out.reserve(noted_.size());
  for (const Noted& n : noted_) out.push_back(n.range);
  noted_.clear();
  noted_bytes_ = 0;
  return out;
}

uint64_t UnsyncedData::Mark() const {
  MutexLock l(mu_);
  return seq_;
}

void UnsyncedData::Synced(uint64_t mark) {
  MutexLock l(mu_);
  if (overflow_seq_ <= mark) overflow_seq_ = 0;
  const auto covered =
      std::find_if(noted_.begin(), noted_.end(), [&](const Noted& n) { return n.seq > mark; });
  for (auto it = noted_.begin(); it != covered; ++it) noted_bytes_ -= it->range.length;
  noted_.erase(noted_.begin(), covered);
}

}  // namespace hoodyfs::snapshotter
