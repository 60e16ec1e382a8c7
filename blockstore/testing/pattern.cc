#include "blockstore/testing/pattern.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "base/assert.h"
#include "blockstore/testing/split_mix.h"

namespace hoodyfs::blockstore::testing {
namespace {

uint64_t WordAt(uint64_t offset_bytes, uint64_t seed) { return SplitMix64(offset_bytes ^ seed); }

Status RunRange(BlockDevice& device, IoKind kind, uint64_t offset_bytes, AlignedBuffer& buffer) {
  std::vector<IoOp> ops;
  for (uint64_t done = 0; done < buffer.size_bytes(); done += kMaxIoBytes) {
    const uint64_t n = std::min<uint64_t>(buffer.size_bytes() - done, kMaxIoBytes);
    ops.push_back(
        IoOp{kind, offset_bytes + done, buffer.data() + done, static_cast<uint32_t>(n), Status()});
  }
  return device.Execute(ops);
}

}  // namespace

void FillPattern(std::span<std::byte> out, uint64_t offset_bytes, uint64_t seed) {
  HOODY_ASSERT(offset_bytes % 8 == 0 && out.size() % 8 == 0, "pattern works in 8-byte words");
  for (size_t i = 0; i < out.size(); i += 8) {
    const uint64_t word = WordAt(offset_bytes + i, seed);
    std::memcpy(out.data() + i, &word, 8);
  }
}

std::string CheckPattern(std::span<const std::byte> data, uint64_t offset_bytes, uint64_t seed) {
  for (size_t i = 0; i + 8 <= data.size(); i += 8) {
    const uint64_t want = WordAt(offset_bytes + i, seed);
    uint64_t got;
    std::memcpy(&got, data.data() + i, 8);
    if (got != want) {
      return "pattern differs at device offset " + std::to_string(offset_bytes + i) + " (seed " +
             std::to_string(seed) + ")";
    }
  }
  return "";
}

std::string CheckZeros(std::span<const std::byte> data, uint64_t offset_bytes) {
  for (size_t i = 0; i < data.size(); ++i) {
    if (data[i] != std::byte{0}) {
      return "non-zero byte at device offset " + std::to_string(offset_bytes + i);
    }
  }
  return "";
}

Status WritePattern(BlockDevice& device, uint64_t offset_bytes, uint64_t length_bytes,
                    uint64_t seed) {
  AlignedBuffer buffer(length_bytes);
  FillPattern(buffer.span(), offset_bytes, seed);
  return RunRange(device, IoKind::kWrite, offset_bytes, buffer);
}

Result<AlignedBuffer> ReadRange(BlockDevice& device, uint64_t offset_bytes, uint64_t length_bytes) {
  AlignedBuffer buffer(length_bytes);
  HOODY_RETURN_IF_ERROR(RunRange(device, IoKind::kRead, offset_bytes, buffer));
  return buffer;
}

}  // namespace hoodyfs::blockstore::testing
