// Block checksums: XXH3-64 over each 4 KiB block of file data, computed
// before every write and verified after every read, so a block that rotted or
// was torn on disk surfaces as kCorruption (EIO plus a log line), never as
// wrong bytes (design invariant 6).
//
// XXH3 detects accidents, not attacks: it is not collision-resistant against
// crafted input. The values are stored on disk, so the function must never
// change (checksum_test.cc pins known values).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <span>

#include "base/status.h"

namespace hoodyfs::blockstore {

// Checksum of one kBlockSize (4096-byte) block starting at `block`.
uint64_t BlockChecksum(const void* block);

// Fills out[i] with the checksum of the i-th block of `data`, which holds
// out.size() consecutive blocks.
void ChecksumBlocks(const void* data, std::span<uint64_t> out);

// Checks expected.size() consecutive blocks of `data` against `expected`;
// `first_block_no` is the physical block number of the first one, used only
// to name the culprit. Stops at the first mismatch, logs one line to stderr
// ("hoodyfs: checksum mismatch at block N ...") and returns it.
// Errors: kCorruption naming the block number, expected and actual checksum.
Status VerifyBlocks(const void* data, std::span<const uint64_t> expected, uint64_t first_block_no);

}  // namespace hoodyfs::blockstore
