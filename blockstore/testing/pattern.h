// Test data patterns: fill a buffer with bytes derived from (device offset,
// seed) and check them later, so a read that returns the right bytes from the
// wrong place, or stale bytes, is caught. Plus whole-range helpers that write
// or read a pattern through a BlockDevice.
//
// Thread-safety: pure functions; the device helpers are as safe as the device.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "base/status.h"
#include "blockstore/aligned_buffer.h"
#include "blockstore/block_device.h"

namespace hoodyfs::blockstore::testing {

// Fills `out`, which will live at device offset `offset_bytes`.
// REQUIRES: offset_bytes and out.size() are multiples of 8.
void FillPattern(std::span<std::byte> out, uint64_t offset_bytes, uint64_t seed);

// Empty when `data` is what FillPattern wrote for the same arguments;
// otherwise a description of the first difference.
std::string CheckPattern(std::span<const std::byte> data, uint64_t offset_bytes, uint64_t seed);

// Empty when every byte is zero; otherwise names the first non-zero one.
std::string CheckZeros(std::span<const std::byte> data, uint64_t offset_bytes);

// Writes FillPattern bytes over the range in one batch of ops of at most
// kMaxIoBytes. REQUIRES: the range is kIoAlign aligned.
// Errors: the device's first failure.
Status WritePattern(BlockDevice& device, uint64_t offset_bytes, uint64_t length_bytes,
                    uint64_t seed);

// Reads the range in one batch of ops of at most kMaxIoBytes.
// REQUIRES: the range is kIoAlign aligned. Errors: the device's first failure.
Result<AlignedBuffer> ReadRange(BlockDevice& device, uint64_t offset_bytes, uint64_t length_bytes);

}  // namespace hoodyfs::blockstore::testing
