#include "base/testing/data_file_blocks.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/unique_fd.h"

namespace hoodyfs::testing {

namespace {
constexpr size_t kChunkBytes = 1 << 20;  // a whole number of blocks
}  // namespace

std::vector<uint64_t> BlocksHolding(const std::string& data_file, std::string_view block) {
  std::vector<uint64_t> found;
  if (block.size() != kDataFileBlockSize) return found;
  UniqueFd fd(::open(data_file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return found;
  std::string chunk(kChunkBytes, '\0');
  off_t at = 0;
  for (;;) {
    // The next data extent; holes read as zeros and never hold a test's block.
    const off_t data = ::lseek(fd.get(), at, SEEK_DATA);
    if (data < 0) break;  // ENXIO: no data past `at`
    at = data - data % static_cast<off_t>(kDataFileBlockSize);
    const off_t hole = ::lseek(fd.get(), at, SEEK_HOLE);
    if (hole < 0) break;
    while (at < hole) {
      const ssize_t n = ::pread(fd.get(), chunk.data(), chunk.size(), at);
      if (n <= 0) return found;
      for (size_t off = 0; off + kDataFileBlockSize <= static_cast<size_t>(n);
           off += kDataFileBlockSize) {
        if (std::memcmp(chunk.data() + off, block.data(), kDataFileBlockSize) == 0) {
          found.push_back((static_cast<uint64_t>(at) + off) / kDataFileBlockSize);
        }
      }
      at += n;
    }
  }
  return found;
}

std::string ReadDataBlock(const std::string& data_file, uint64_t block) {
  UniqueFd fd(::open(data_file.c_str(), O_RDONLY | O_CLOEXEC));
  std::string bytes(kDataFileBlockSize, '\0');
  const ssize_t n = fd.valid() ? ::pread(fd.get(), bytes.data(), bytes.size(),
                                         static_cast<off_t>(block * kDataFileBlockSize))
                               : -1;
  bytes.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return bytes;
}

bool FlipByte(const std::string& path, uint64_t offset, uint8_t mask) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd.valid()) return false;
  uint8_t byte = 0;
  const off_t at = static_cast<off_t>(offset);
  if (::pread(fd.get(), &byte, 1, at) != 1) return false;
  byte ^= mask;
  return ::pwrite(fd.get(), &byte, 1, at) == 1;
}

}  // namespace hoodyfs::testing
