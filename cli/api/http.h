// The HTTP vocabulary shared by the daemon's server and the client: one
// request, one response, JSON bodies. Nothing here knows hoodyfs's routes.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <utility>

namespace hoodyfs::cli {

struct HttpRequest {
  std::string method;                        // "GET", "POST", ...
  std::string path;                          // as sent (percent-encoded), without the query string
  std::map<std::string, std::string> query;  // decoded names and values
  std::string body;
  // A route with a streamed body (ServeOptions::streamed_body): the body as
  // it arrives, to read to its end; `body` stays empty. -1 otherwise.
  int body_fd = -1;
};

struct HttpResponse {
  HttpResponse() = default;
  HttpResponse(int status_code, std::string json) : status(status_code), body(std::move(json)) {}

  int status = 200;
  std::string body;  // JSON, or "" (204)
  // Server side: runs once the response has gone out (or the connection
  // ended): what must wait for the client to have its answer.
  std::function<void()> after;
  // Server side: when set, the body is what this writes to `fd` (sent
  // chunked as it comes, as application/octet-stream) and `body` is
  // ignored. It runs on a thread of its own; a failure can only cut the
  // body short, so streams must say where they end (a send stream's
  // trailer does).
  std::function<void(int fd)> stream_body;
};

}  // namespace hoodyfs::cli
