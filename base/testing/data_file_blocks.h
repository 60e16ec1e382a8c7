// A store's data file read and damaged by block, for the tests of scrub and
// repair: find the block that holds a file's bytes, flip a byte of it, read
// it back.
//
// The data file is large and mostly holes; these read its data extents only
// (SEEK_DATA), a chunk at a time. Reading it whole through an ifstream, as
// each test once did, took seconds per call under AddressSanitizer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hoodyfs::testing {

inline constexpr uint64_t kDataFileBlockSize = 4096;

// The numbers of the blocks of `data_file` whose bytes equal `block` (one
// whole block's bytes), in order; empty when none does or on an I/O error.
std::vector<uint64_t> BlocksHolding(const std::string& data_file, std::string_view block);

// The bytes of block `block` of `data_file` (shorter past its end).
std::string ReadDataBlock(const std::string& data_file, uint64_t block);

// XORs the byte of `path` at `offset` with `mask`; false on an I/O error.
bool FlipByte(const std::string& path, uint64_t offset, uint8_t mask = 0x5a);

}  // namespace hoodyfs::testing
