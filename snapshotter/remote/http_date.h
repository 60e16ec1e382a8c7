// HTTP dates (RFC 9110 IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT"), the
// form of the Date and Last-Modified headers an S3 server sends: gc and push
// measure a chunk's age from the two headers of one answer, on the server's
// clock (docs/design.md, "Remotes").
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/status.h"

namespace hoodyfs::remote {

// Seconds since the epoch. Errors: kCorruption naming the text when it is
// not an IMF-fixdate (the obsolete RFC 850 and asctime forms are refused:
// S3 servers do not send them).
Result<int64_t> ParseHttpDate(std::string_view text);

}  // namespace hoodyfs::remote
