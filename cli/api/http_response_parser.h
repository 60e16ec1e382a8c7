// Reads the daemon's answer: one HTTP/1.1 response on a connection the
// client asked to close ("Connection: close"). The body is delimited by
// Content-Length, by chunked transfer coding, or else by the end of the
// connection. This is the client half of what libmicrohttpd serves;
// hoodyfs-snap parses it itself rather than load libcurl, whose dependency
// closure costs more start-up time than a whole verb may take
// (docs/design.md, "What a command costs"). Fuzzed (tests/fuzz/).
//
// Two ways in: ParseHttpResponse for an answer read whole, and
// ParseHttpResponseHead plus HttpBodyDecoder for one streamed as it
// arrives (a `send` stream); the first is built on the second.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "cli/api/http.h"

namespace hoodyfs::cli {

// Errors of this file: kIoError with errno ECONNRESET naming what is wrong
// (a malformed status line or header, a body cut short, a bad chunk size):
// the request may have run, but its answer was lost.

struct HttpResponseHead {
  int status = 0;
  std::optional<uint64_t> content_length;
  bool chunked = false;
};

// The status line and headers: `head` is everything before the empty line
// that ends them (which FindHeadEnd finds).
Result<HttpResponseHead> ParseHttpResponseHead(std::string_view head);
// The offset just past the CRLF CRLF that ends the head, or nullopt when
// `received` does not hold it yet.
std::optional<size_t> FindHeadEnd(std::string_view received);

// The body after the head, fed in pieces as they arrive; the decoded bytes
// go to `out` (appended). Feed returns true once the body is complete
// (bytes after it are ignored); Finish says whether ending the connection
// here leaves it complete (only a body without length may end so).
class HttpBodyDecoder {
 public:
  explicit HttpBodyDecoder(const HttpResponseHead& head);
  Result<bool> Feed(std::string_view in, std::string* out);
  Status Finish() const;

 private:
  enum class State { kSizeLine, kData, kDataEnd, kTrailers, kDone, kUntilClose, kLength };
  State state_;
  uint64_t remaining_ = 0;  // of this chunk, or of Content-Length
  uint64_t length_ = 0;     // Content-Length, for messages
  uint64_t chunk_ = 0;      // index of the current chunk, for messages
  std::string line_;        // a size or trailer line being gathered
};

// A whole answer, as read to the end of the connection.
Result<HttpResponse> ParseHttpResponse(std::string_view raw);

}  // namespace hoodyfs::cli
