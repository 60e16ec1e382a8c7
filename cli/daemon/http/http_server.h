// HttpServer: serves HTTP/1.1 requests on one listening socket with
// libmicrohttpd (Debian libmicrohttpd-dev; docs/design.md "Dependencies"),
// handing each complete request to a handler. It can listen on any socket
// the caller bound: the daemon's Unix socket in the store directory (mode
// 0600: only the owner may talk to it) and, optionally, loopback TCP.
//
// Every listener has limits (ServeOptions) that keep one client from
// exhausting the daemon that serves every container root: a body cap
// (checked against Content-Length before a byte of the body is read), a cap
// on connections, and an idle timeout. When a bearer token is set, a request
// without it is refused from its headers alone, before its body is read.
// The request target reaches the handler undecoded (url.h says why).
//
// Ownership: owns the listening socket and libmicrohttpd's threads (one per
// connection, so a long request never holds up others). Thread-safety: the
// handler is called from those threads, concurrently.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "base/status.h"
#include "cli/api/http.h"

namespace hoodyfs::cli {

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// What one listener allows. docs/api.md "Limits" states the defaults.
struct ServeOptions {
  // A larger body is refused with 413 (before it is read when the client
  // says its length; else the connection is closed once it passes this).
  size_t body_bytes_max = size_t{1} << 20;
  // Connections past this many are closed as they arrive: each holds a
  // thread and a file descriptor of the daemon that serves the mounts.
  unsigned connections_max = 64;
  // A connection idle this long is closed (a running request is not idle).
  unsigned idle_timeout_s = 60;
  // When set, every request must carry "Authorization: Bearer TOKEN".
  std::string bearer_token;
  // Routes (method, raw path) whose body is a stream of any size, such as
  // a send stream to receive: the handler starts once the headers are in,
  // on a thread of its own, and reads the body from HttpRequest::body_fd
  // while it arrives; body_bytes_max does not apply.
  std::function<bool(const std::string& method, const std::string& path)> streamed_body;
};

class HttpServer {
 public:
  // Listens on a new Unix socket at `path` (replacing a stale one), mode 0600.
  // Errors: kInvalidArgument (path longer than a sockaddr_un holds: 107
  // bytes), kIoError.
  static Result<std::unique_ptr<HttpServer>> ListenUnix(const std::string& path,
                                                        HttpHandler handler,
                                                        const ServeOptions& options);
  // Listens on TCP at "127.0.0.1:PORT" (loopback only: any other address is
  // kInvalidArgument). Port 0 picks a free one (see port()).
  static Result<std::unique_ptr<HttpServer>> ListenTcp(const std::string& address,
                                                       HttpHandler handler,
                                                       const ServeOptions& options);
  ~HttpServer();  // stops serving; in-flight requests finish first
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  uint16_t port() const { return port_; }

  // Stops taking connections (the socket path is removed at once, so
  // clients see "refused", never a dropped request), then waits, at most
  // `wait`, for the connections already open to finish their requests.
  // Returns whether they all did. Stopping the server (the destructor) ends
  // any still open, answered or not; so an owner that stops while clients
  // may be talking drains first.
  bool Drain(std::chrono::milliseconds wait);

  struct Impl;

 private:
  HttpServer() = default;
  static Result<std::unique_ptr<HttpServer>> Start(int listen_fd, HttpHandler handler,
                                                   const ServeOptions& options);
  std::unique_ptr<Impl> impl_;
  std::string unix_path_;  // removed at destruction
  uint16_t port_ = 0;
};

}  // namespace hoodyfs::cli
