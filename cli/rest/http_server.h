// HttpServer: serves HTTP/1.1 requests on one listening socket with
// libmicrohttpd (Debian libmicrohttpd-dev; docs/design.md "Dependencies"),
// handing each complete request to a handler. It can listen on any socket
// the caller bound: the daemon's Unix socket in the store directory (mode
// 0600: only the owner may talk to it) and, optionally, loopback TCP.
//
// Ownership: owns the listening socket and libmicrohttpd's threads (one per
// connection, so a long request never holds up others). Thread-safety: the
// handler is called from those threads, concurrently.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "base/status.h"
#include "cli/rest/http.h"

namespace hoodyfs::cli {

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

class HttpServer {
 public:
  // Listens on a new Unix socket at `path` (replacing a stale one), mode 0600.
  // Errors: kInvalidArgument (path longer than a sockaddr_un holds: 107
  // bytes), kIoError.
  static Result<std::unique_ptr<HttpServer>> ListenUnix(const std::string& path,
                                                        HttpHandler handler);
  // Listens on TCP at "127.0.0.1:PORT" (loopback only: any other address is
  // kInvalidArgument). Port 0 picks a free one (see port()).
  static Result<std::unique_ptr<HttpServer>> ListenTcp(const std::string& address,
                                                       HttpHandler handler);
  ~HttpServer();  // stops serving; in-flight requests finish first
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  uint16_t port() const { return port_; }

  struct Impl;

 private:
  HttpServer() = default;
  static Result<std::unique_ptr<HttpServer>> Start(int listen_fd, HttpHandler handler);
  std::unique_ptr<Impl> impl_;
  std::string unix_path_;  // removed at destruction
  uint16_t port_ = 0;
};

}  // namespace hoodyfs::cli
