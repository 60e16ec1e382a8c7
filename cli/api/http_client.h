// HttpClient: sends one HTTP/1.1 request to the daemon and returns its
// answer, over the daemon's Unix socket or loopback TCP (with a bearer
// token): one connection per request, closed by the daemon after its answer
// (http_response_parser.h reads it). A plain socket rather than libcurl,
// whose load alone took most of a verb's time (docs/design.md, "What a
// command costs").
//
// Thread-safety: one client per thread; each Send is independent.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"
#include "cli/api/http.h"

namespace hoodyfs::cli {

struct HttpEndpoint {
  std::string unix_socket;  // set: talk over this socket
  std::string base_url = "http://localhost";
  std::string token;  // sent as "Authorization: Bearer TOKEN" when set
};

inline HttpEndpoint UnixEndpoint(std::string socket_path) {
  HttpEndpoint e;
  e.unix_socket = std::move(socket_path);
  return e;
}

class HttpClient {
 public:
  explicit HttpClient(HttpEndpoint endpoint);

  // `target` is the path with its query ("/api/v1/containers?x=y"); `body`
  // is sent as JSON when not empty. Any HTTP status is a response; only a
  // failure to talk is an error. Errors: kIoError naming the endpoint (no
  // daemon there, connection refused or dropped); errno ENOTCONN when the
  // connection was refused or dropped before the request was all sent, so
  // it surely did not run (IsUnreachable), ECONNRESET when it was dropped
  // later.
  Result<HttpResponse> Send(const std::string& method, const std::string& target,
                            const std::string& body = "") const;

  // As Send, with a body of bytes sent as application/octet-stream.
  Result<HttpResponse> SendBytes(const std::string& method, const std::string& target,
                                 std::string_view bytes) const;

  // As Send, with streamed bodies: the request's body is read from
  // `body_fd` to its end and sent chunked as it is read (-1: no body), and
  // a 2xx answer's body is written to `out_fd` as it arrives (-1: kept in
  // the response); any other answer comes back whole (an error document).
  // Errors: as Send, plus kIoError when reading `body_fd` or writing
  // `out_fd` fails.
  Result<HttpResponse> Stream(const std::string& method, const std::string& target, int body_fd,
                              int out_fd) const;

  const HttpEndpoint& endpoint() const { return endpoint_; }

 private:
  HttpEndpoint endpoint_;
};

// Whether `status` says the daemon could not be reached at all (none there,
// or one that had stopped listening), so the request did not run: safe to
// send again, to a new daemon or to the store opened in this process.
bool IsUnreachable(const Status& status);

// Percent-encodes a path segment or query value.
std::string UrlEncode(const std::string& s);

}  // namespace hoodyfs::cli
