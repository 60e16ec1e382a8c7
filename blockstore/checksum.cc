#include "blockstore/checksum.h"

#include <xxhash.h>

#include <cinttypes>
#include <cstdio>

#include "base/log.h"
#include "base/types.h"

namespace hoodyfs::blockstore {
namespace {

const std::byte* Block(const void* data, size_t i) {
  return static_cast<const std::byte*>(data) + i * kBlockSize;
}

}  // namespace

uint64_t BlockChecksum(const void* block) { return XXH3_64bits(block, kBlockSize); }

void ChecksumBlocks(const void* data, std::span<uint64_t> out) {
  for (size_t i = 0; i < out.size(); ++i) out[i] = BlockChecksum(Block(data, i));
}

Status VerifyBlocks(const void* data, std::span<const uint64_t> expected, uint64_t first_block_no) {
  for (size_t i = 0; i < expected.size(); ++i) {
    const uint64_t actual = BlockChecksum(Block(data, i));
    if (actual == expected[i]) continue;
    char line[160];
    std::snprintf(line, sizeof(line),
                  "checksum mismatch at block %" PRIu64 ": expected %016" PRIx64
                  ", actual %016" PRIx64,
                  first_block_no + i, expected[i], actual);
    // Logged here as well as returned: the caller may turn the Status into a
    // bare EIO, and an operator needs to know which block rotted.
    Log(LogLevel::kError, line);
    return Status::Corruption(line);
  }
  return Status::OK();
}

}  // namespace hoodyfs::blockstore
