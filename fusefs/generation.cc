#include "fusefs/generation.h"

namespace hoodyfs::fusefs {

uint32_t EntryGeneration(const snapshotter::Attr& attr, uint64_t replaced) {
  if (attr.ino == kRootIno) return 0;
  uint64_t born = 0;
  if (attr.btime) {
    // Nanoseconds since 1970, the high half folded into the low: births
    // close together (the crash case: the lost file and its successor) differ
    // in the low bits, and any two others collide with odds of 1 in 2^32.
    born = static_cast<uint64_t>(attr.btime->sec) * 1000000000u + attr.btime->nsec;
    born ^= born >> 32;
  }
  return static_cast<uint32_t>(born + replaced);
}

}  // namespace hoodyfs::fusefs
