// Store: pins, which keep a generation as it is while something reads it,
// and open-file counts, which keep an unlinked file while it is open.
#include <utility>

#include "snapshotter/engine/store.h"

namespace hoodyfs::snapshotter {

Store::Pin::Pin(Pin&& other) noexcept
    : store_(std::exchange(other.store_, nullptr)), gen_(other.gen_), id_(other.id_) {}

Store::Pin& Store::Pin::operator=(Pin&& other) noexcept {
  if (this != &other) {
    Release();
    store_ = std::exchange(other.store_, nullptr);
    gen_ = other.gen_;
    id_ = other.id_;
  }
  return *this;
}

Store::Pin::~Pin() { Release(); }

void Store::Pin::Release() {
  if (store_ == nullptr) return;
  MutexLock l(store_->pins_mu_);
  auto it = store_->pins_.find(gen_.value);
  if (it != store_->pins_.end()) {
    it->second.erase(id_);
    if (it->second.empty()) store_->pins_.erase(it);
  }
  store_ = nullptr;
}

Store::Pin Store::PinGeneration(GenId gen, std::string reason) {
  MutexLock l(pins_mu_);
  const uint64_t id = next_pin_id_++;
  pins_[gen.value][id] = std::move(reason);
  return Pin(this, gen, id);
}

std::optional<std::string> Store::PinnedBy(GenId gen) const {
  MutexLock l(pins_mu_);
  auto it = pins_.find(gen.value);
  if (it == pins_.end() || it->second.empty()) return std::nullopt;
  return it->second.begin()->second;
}

void Store::AddOpen(const std::string& container, Ino ino) {
  MutexLock l(open_mu_);
  ++open_counts_[{container, ino.value}];
}

bool Store::ReleaseOpen(const std::string& container, Ino ino) {
  MutexLock l(open_mu_);
  auto it = open_counts_.find({container, ino.value});
  if (it == open_counts_.end()) return false;
  if (--it->second > 0) return false;
  open_counts_.erase(it);
  return true;
}

bool Store::IsOpen(const std::string& container, Ino ino) const {
  MutexLock l(open_mu_);
  return open_counts_.count({container, ino.value}) > 0;
}

}  // namespace hoodyfs::snapshotter
