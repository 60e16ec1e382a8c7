#include "fusefs/handles.h"

#include <algorithm>

#include "base/assert.h"

namespace hoodyfs::fusefs {

OpenFile* HandleTable::Open(Ino ino, snapshotter::FileSystem view, bool writable, bool noatime) {
  auto handle = std::make_unique<OpenFile>(ino, std::move(view), writable, noatime);
  OpenFile* raw = handle.get();
  std::lock_guard l(mu_);
  open_.emplace(raw, std::move(handle));
  if (writable) ++writers_[ino.value];
  return raw;
}

void HandleTable::Close(OpenFile* handle) {
  std::unique_ptr<OpenFile> owned;
  {
    std::lock_guard l(mu_);
    auto it = open_.find(handle);
    HOODY_ASSERT(it != open_.end(), "release of a handle that is not open");
    owned = std::move(it->second);
    open_.erase(it);
    if (owned->writable) {
      auto w = writers_.find(owned->ino.value);
      HOODY_ASSERT(w != writers_.end() && w->second > 0, "writable handle count underflow");
      if (--w->second == 0) writers_.erase(w);
    }
  }
}

std::vector<Ino> HandleTable::OpenForWriting() const {
  std::lock_guard l(mu_);
  std::vector<Ino> out;
  out.reserve(writers_.size());
  for (const auto& [ino, count] : writers_) out.push_back(Ino(ino));
  return out;
}

std::vector<Ino> HandleTable::OpenInodes() const {
  std::lock_guard l(mu_);
  std::vector<Ino> out;
  out.reserve(open_.size());
  for (const auto& [raw, handle] : open_) out.push_back(handle->ino);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<std::unique_ptr<OpenFile>> HandleTable::TakeAll() {
  std::lock_guard l(mu_);
  std::vector<std::unique_ptr<OpenFile>> out;
  out.reserve(open_.size());
  for (auto& [raw, handle] : open_) out.push_back(std::move(handle));
  open_.clear();
  writers_.clear();
  return out;
}

size_t HandleTable::size() const {
  std::lock_guard l(mu_);
  return open_.size();
}

}  // namespace hoodyfs::fusefs
