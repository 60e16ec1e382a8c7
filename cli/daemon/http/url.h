// Percent-decoding of request targets, done by us and not by the HTTP
// library, so that a decoded byte can never change how a path is routed.
//
// libmicrohttpd hands C strings to its callbacks: left to decode, it turned
// `/containers/victim%00/snapshots/keep` into `/containers/victim`, and a
// DELETE of a snapshot deleted the whole container. The server therefore
// passes the target on raw; SplitApiPath splits it at its literal '/'s
// first and decodes each segment after, refusing a segment that decodes to
// a NUL or a '/', or holds a malformed escape.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace hoodyfs::cli {

// Decodes %XX escapes ('+' stays '+'). `what` names the text in errors.
// Errors: kInvalidArgument (a '%' not followed by two hex digits, or a NUL
// byte, decoded or raw).
Result<std::string> PercentDecode(std::string_view raw, std::string_view what);

// The decoded segments of a raw path ("/api/v1/containers/web1" ->
// {"api", "v1", "containers", "web1"}); empty segments (a doubled or
// trailing '/') are dropped. Errors: kInvalidArgument naming the segment
// (see PercentDecode; also a segment that decodes to one holding '/').
Result<std::vector<std::string>> SplitApiPath(std::string_view raw_path);

}  // namespace hoodyfs::cli
