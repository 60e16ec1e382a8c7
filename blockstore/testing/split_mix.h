// SplitMix64: a tiny stateless mixer that turns (seed, index) into an
// unbiased 64-bit value, so seeded test doubles make the same choice for the
// same sector whatever order they visit sectors in.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>

namespace hoodyfs::blockstore::testing {

inline uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A seeded coin toss per sector: does a torn power loss keep this sector's
// newest (unsynced) contents?
inline bool KeepsUnsyncedSector(uint64_t seed, uint64_t sector) {
  return (SplitMix64(seed ^ SplitMix64(sector)) & 1) != 0;
}

}  // namespace hoodyfs::blockstore::testing
