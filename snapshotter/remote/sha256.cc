#include "snapshotter/remote/sha256.h"

#include <openssl/evp.h>

#include "base/assert.h"

namespace hoodyfs::remote {

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  // EVP_Digest fails only when the algorithm cannot be fetched, which for the
  // built-in SHA-256 means a broken OpenSSL installation.
  const int ok = EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  HOODY_ASSERT(ok == 1, "OpenSSL EVP_Digest(SHA-256) failed");
  HOODY_ASSERT(length == 32, "SHA-256 digest is not 32 bytes");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex(64, '0');
  for (unsigned i = 0; i < length; ++i) {
    hex[2 * i] = kHex[digest[i] >> 4];
    hex[2 * i + 1] = kHex[digest[i] & 0xf];
  }
  return hex;
}

}  // namespace hoodyfs::remote
