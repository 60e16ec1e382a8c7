// The bearer token that guards the REST API on loopback TCP (RFC 6750):
// reading it from its file, and checking a request's Authorization header.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace hoodyfs::cli {

// Tokens shorter than this are refused: a guessable token guards nothing.
inline constexpr size_t kTokenBytesMin = 32;

// The token in `path` (trailing blanks and newlines dropped). The file must
// be readable by its owner alone: a token others can read is no secret.
// Errors: kNotFound (cannot read the file), kInvalidArgument (readable by
// group or others, empty, or shorter than kTokenBytesMin; each message says
// how to make a good one).
Result<std::string> ReadTokenFile(const std::string& path);

// Whether `authorization` (the header's value) is "Bearer <token>": the
// scheme compared without regard to case (RFC 9110 section 11.1), the token
// in time that does not depend on where the first difference lies.
bool BearerMatches(std::string_view authorization, std::string_view token);

}  // namespace hoodyfs::cli
