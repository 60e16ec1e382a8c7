// SHA-256 through OpenSSL's EVP interface: the content address of a chunk in
// a remote (chunks/<hex>) and the payload hash every S3 request signs.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace hoodyfs::remote {

// The digest of `data` as 64 lowercase hex digits.
std::string Sha256Hex(std::string_view data);

}  // namespace hoodyfs::remote
