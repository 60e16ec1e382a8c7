// Fixed-width big-endian integer encoding for LMDB keys (so byte order is
// numeric order) and little-endian helpers for record values.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace hoodyfs {

inline void PutBig64(std::string* out, uint64_t v) {
  char b[8];
  for (int i = 7; i >= 0; --i) {
    b[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  out->append(b, 8);
}

inline uint64_t GetBig64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

inline void PutLe64(std::string* out, uint64_t v) {
  char b[8];
  std::memcpy(b, &v, 8);  // every supported target is little-endian (static_assert below)
  out->append(b, 8);
}
inline void PutLe32(std::string* out, uint32_t v) {
  char b[4];
  std::memcpy(b, &v, 4);
  out->append(b, 4);
}
inline uint64_t GetLe64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline uint32_t GetLe32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Reads fields from a record value front to back; ok() turns false (and
// stays false) when a read runs past the end, so decoders check once.
class Decoder {
 public:
  explicit Decoder(std::string_view data) : data_(data) {}
  uint64_t Le64() { return Take(8) ? GetLe64(last_) : 0; }
  uint32_t Le32() { return Take(4) ? GetLe32(last_) : 0; }
  uint8_t Byte() { return Take(1) ? static_cast<uint8_t>(*last_) : 0; }
  std::string_view Bytes(size_t n) {
    return Take(n) ? std::string_view(last_, n) : std::string_view();
  }
  std::string_view Rest() {
    std::string_view r = data_.substr(pos_);
    pos_ = data_.size();
    return r;
  }
  bool ok() const { return ok_; }
  bool done() const { return ok_ && pos_ == data_.size(); }

 private:
  bool Take(size_t n) {
    if (!ok_ || data_.size() - pos_ < n) {
      ok_ = false;
      return false;
    }
    last_ = data_.data() + pos_;
    pos_ += n;
    return true;
  }
  std::string_view data_;
  size_t pos_ = 0;
  const char* last_ = nullptr;
  bool ok_ = true;
};

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "record values are little-endian");

}  // namespace hoodyfs
