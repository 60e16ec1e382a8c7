// Reads the daemon's answer: one HTTP/1.1 response, whole, as it arrived on
// a connection the client asked to close ("Connection: close"). The body is
// delimited by Content-Length, by chunked transfer coding, or else by the
// end of the connection. This is the client half of what libmicrohttpd
// serves; hoodyfs-snap parses it itself rather than load libcurl, whose
// dependency closure costs more start-up time than a whole verb may take
// (docs/design.md, "What a command costs"). Fuzzed (tests/fuzz/).
#pragma once

#include <string_view>

#include "base/status.h"
#include "cli/api/http.h"

namespace hoodyfs::cli {

// Errors: kIoError with errno ECONNRESET naming what is wrong (a malformed
// status line or header, a body cut short, a bad chunk size): the request
// may have run, but its answer was lost.
Result<HttpResponse> ParseHttpResponse(std::string_view raw);

}  // namespace hoodyfs::cli
