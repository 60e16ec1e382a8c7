#include "tests/fuse/file_exerciser.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>
#include <sstream>
#include <vector>

#include "base/unique_fd.h"

namespace hoodyfs::testing {

namespace {

enum class Op { kWrite, kPwrite, kTruncate, kPunch, kZero, kRead, kMmapRead, kMmapWrite };
constexpr const char* kOpNames[] = {"write",      "pwrite", "truncate",  "punch",
                                    "zero-range", "read",   "mmap-read", "mmap-write"};

class Exerciser {
 public:
  Exerciser(const std::string& path, const ExerciserOptions& o)
      : path_(path), o_(o), rng_(o.seed) {}

  ::testing::AssertionResult Run(std::string* final_contents) {
    fd_.Reset(::open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd_.valid()) return Fail("open") << std::strerror(errno);
    for (step_ = 0; step_ < o_.operations; ++step_) {
      const Op op = static_cast<Op>(Pick(0, 7));
      op_ = kOpNames[static_cast<int>(op)];
      ::testing::AssertionResult r = Do(op);
      if (!r) return r;
      r = VerifyAll();
      if (!r) return r;
    }
    op_ = "final check";
    ::testing::AssertionResult r = VerifyAll();
    if (!r) return r;
    fd_.Reset();
    *final_contents = model_;
    return ::testing::AssertionSuccess();
  }

 private:
  uint64_t Pick(uint64_t lo, uint64_t hi) {  // inclusive
    return std::uniform_int_distribution<uint64_t>(lo, hi)(rng_);
  }
  std::string Bytes(size_t n) {
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(rng_() & 0xff);
    return s;
  }
  ::testing::AssertionResult Fail(const std::string& what) {
    return ::testing::AssertionFailure() << "seed " << o_.seed << ", step " << step_ << " (" << op_
                                         << " " << detail_ << "): " << what << ": ";
  }
  // An I/O range: offset and length with the end inside [0, limit].
  std::pair<uint64_t, uint64_t> Range(uint64_t limit) {
    const uint64_t offset = Pick(0, limit);
    const uint64_t length = Pick(0, std::min<uint64_t>(o_.max_io_bytes, limit - offset));
    return {offset, length};
  }
  void ModelWrite(uint64_t offset, const std::string& data) {
    if (data.empty()) return;  // write(2) of zero bytes never extends a file
    if (model_.size() < offset + data.size()) model_.resize(offset + data.size(), '\0');
    model_.replace(offset, data.size(), data);
  }

  ::testing::AssertionResult Do(Op op) {
    const uint64_t size = model_.size();
    switch (op) {
      case Op::kWrite:
      case Op::kPwrite: {
        auto [offset, length] = Range(o_.max_size);
        // Sometimes exactly at the end, or one block-unaligned byte past it.
        if (Pick(0, 3) == 0) offset = std::min<uint64_t>(size, o_.max_size - length);
        const std::string data = Bytes(length);
        detail_ = std::to_string(offset) + "+" + std::to_string(length);
        ssize_t n;
        if (op == Op::kWrite) {
          if (::lseek(fd_.get(), static_cast<off_t>(offset), SEEK_SET) < 0) {
            return Fail("lseek") << std::strerror(errno);
          }
          n = ::write(fd_.get(), data.data(), data.size());
        } else {
          n = ::pwrite(fd_.get(), data.data(), data.size(), static_cast<off_t>(offset));
        }
        if (n != static_cast<ssize_t>(length)) return Fail("short or failed write") << n;
        ModelWrite(offset, data);
        break;
      }
      case Op::kTruncate: {
        const uint64_t to = Pick(0, 3) == 0 ? 0 : Pick(0, o_.max_size);
        detail_ = std::to_string(to);
        if (::ftruncate(fd_.get(), static_cast<off_t>(to)) != 0) {
          return Fail("ftruncate") << std::strerror(errno);
        }
        model_.resize(to, '\0');
        break;
      }
      case Op::kPunch:
      case Op::kZero: {
        if (size == 0) break;
        auto [offset, length] = Range(size);
        if (length == 0) break;
        detail_ = std::to_string(offset) + "+" + std::to_string(length);
        const int mode = op == Op::kPunch ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
                                          : FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
        if (::fallocate(fd_.get(), mode, static_cast<off_t>(offset), static_cast<off_t>(length)) !=
            0) {
          return Fail("fallocate") << std::strerror(errno);
        }
        std::fill(model_.begin() + static_cast<ptrdiff_t>(offset),
                  model_.begin() + static_cast<ptrdiff_t>(offset + length), '\0');
        break;
      }
      case Op::kRead: {
        auto [offset, length] = Range(size + 4096);
        detail_ = std::to_string(offset) + "+" + std::to_string(length);
        std::string got(length, '\0');
        const ssize_t n = ::pread(fd_.get(), got.data(), length, static_cast<off_t>(offset));
        const uint64_t want_n = offset >= size ? 0 : std::min<uint64_t>(length, size - offset);
        if (n != static_cast<ssize_t>(want_n)) return Fail("read returned") << n;
        got.resize(want_n);
        if (got != model_.substr(std::min(offset, size), want_n)) return Fail("read mismatch");
        break;
      }
      case Op::kMmapRead:
      case Op::kMmapWrite: {
        if (size == 0) break;
        auto [offset, length] = Range(size);
        detail_ = std::to_string(offset) + "+" + std::to_string(length);
        const int prot = op == Op::kMmapWrite ? PROT_READ | PROT_WRITE : PROT_READ;
        void* map = ::mmap(nullptr, size, prot, MAP_SHARED, fd_.get(), 0);
        if (map == MAP_FAILED) return Fail("mmap") << std::strerror(errno);
        char* p = static_cast<char*>(map);
        bool same = true;
        if (op == Op::kMmapWrite) {
          const std::string data = Bytes(length);
          std::memcpy(p + offset, data.data(), length);
          ModelWrite(offset, data);
        } else {
          same = std::memcmp(p + offset, model_.data() + offset, length) == 0;
        }
        ::munmap(map, size);
        if (!same) return Fail("mapped bytes differ");
        break;
      }
    }
    return ::testing::AssertionSuccess();
  }

  ::testing::AssertionResult VerifyAll() {
    struct stat st;
    if (::fstat(fd_.get(), &st) != 0) return Fail("fstat") << std::strerror(errno);
    if (static_cast<uint64_t>(st.st_size) != model_.size()) {
      return Fail("size") << st.st_size << " instead of " << model_.size();
    }
    std::string got(model_.size() + 1, '\0');
    size_t have = 0;
    while (have < got.size()) {
      const ssize_t n =
          ::pread(fd_.get(), got.data() + have, got.size() - have, static_cast<off_t>(have));
      if (n < 0) return Fail("pread") << std::strerror(errno);
      if (n == 0) break;
      have += static_cast<size_t>(n);
    }
    got.resize(have);
    if (got == model_) return ::testing::AssertionSuccess();
    size_t i = 0;
    while (i < got.size() && i < model_.size() && got[i] == model_[i]) ++i;
    return Fail("contents") << "read " << got.size() << " bytes, want " << model_.size()
                            << ", first difference at byte " << i;
  }

  const std::string path_;
  const ExerciserOptions o_;
  std::mt19937_64 rng_;
  UniqueFd fd_;
  std::string model_;
  int step_ = 0;
  const char* op_ = "";
  std::string detail_;
};

}  // namespace

::testing::AssertionResult RunFileExerciser(const std::string& path,
                                            const ExerciserOptions& options,
                                            std::string* final_contents) {
  return Exerciser(path, options).Run(final_contents);
}

}  // namespace hoodyfs::testing
