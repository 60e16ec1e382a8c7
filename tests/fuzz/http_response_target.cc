// The HTTP answer fuzz target (fuzz_targets.h): ParseHttpResponse, then the
// parsed answer sent again both ways a body can be delimited.
#include <string>

#include "cli/api/http_response_parser.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_targets.h"

namespace hoodyfs::fuzz {
namespace {

std::string Head(int status) { return "HTTP/1.1 " + std::to_string(status) + " X\r\n"; }

void CheckSame(const std::string& raw, const cli::HttpResponse& want, const char* how) {
  Result<cli::HttpResponse> again = cli::ParseHttpResponse(raw);
  FUZZ_CHECK(again.ok(), std::string(how) + " refused: " + again.status().ToString());
  FUZZ_CHECK(again->status == want.status && again->body == want.body,
             std::string(how) + " changed the answer");
}

}  // namespace

void HttpResponse(std::string_view input) {
  Result<cli::HttpResponse> parsed = cli::ParseHttpResponse(input);
  if (!parsed.ok()) {
    FUZZ_CHECK(
        parsed.status().code() == Code::kIoError && parsed.status().ErrnoValue() == ECONNRESET,
        parsed.status().ToString());
    return;
  }
  FUZZ_CHECK(parsed->status >= 100 && parsed->status <= 599, "status out of range");
  FUZZ_CHECK(parsed->body.size() <= input.size(), "a body longer than the answer");
  const std::string& body = parsed->body;
  CheckSame(
      Head(parsed->status) + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body,
      *parsed, "Content-Length");
  // Chunked, in pieces of 7 bytes.
  std::string chunked = Head(parsed->status) + "Transfer-Encoding: chunked\r\n\r\n";
  static constexpr char kHex[] = "0123456789abcdef";
  for (size_t at = 0; at < body.size(); at += 7) {
    const size_t n = std::min<size_t>(7, body.size() - at);
    chunked += kHex[n];
    chunked += "\r\n" + body.substr(at, n) + "\r\n";
  }
  chunked += "0\r\n\r\n";
  CheckSame(chunked, *parsed, "chunked");
}

}  // namespace hoodyfs::fuzz
