#include "cli/api/http_client.h"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <vector>

#include "base/unique_fd.h"
#include "cli/api/http_response_parser.h"

namespace hoodyfs::cli {

namespace {

// An answer larger than this is refused rather than held: the daemon's
// largest (a list of every snapshot as JSON) is a few MiB.
constexpr size_t kMaxAnswer = size_t{256} << 20;

std::string Where(const HttpEndpoint& e) {
  return e.unix_socket.empty() ? e.base_url : e.unix_socket;
}

// Not reached, or dropped before the whole request was sent: the server
// handles only complete requests, so it surely did not run (ENOTCONN).
Status Unreachable(const HttpEndpoint& e, const std::string& why) {
  return Status(Code::kIoError, "cannot reach the hoodyfs daemon at " + Where(e) + ": " + why,
                ENOTCONN);
}

Result<UniqueFd> ConnectUnix(const HttpEndpoint& e) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (e.unix_socket.size() >= sizeof addr.sun_path) {
    return Status::InvalidArgument("daemon socket path " + e.unix_socket + " is longer than " +
                                   std::to_string(sizeof addr.sun_path - 1) + " bytes");
  }
  std::memcpy(addr.sun_path, e.unix_socket.c_str(), e.unix_socket.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return FromErrno(errno, "socket");
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    return Unreachable(e, std::strerror(errno));
  }
  return fd;
}

// base_url is "http://HOST[:PORT]" (the daemon's --listen address).
Result<UniqueFd> ConnectTcp(const HttpEndpoint& e) {
  std::string_view url = e.base_url;
  if (!url.starts_with("http://")) {
    return Status::InvalidArgument("daemon URL " + e.base_url + " is not http://HOST:PORT");
  }
  url.remove_prefix(7);
  url = url.substr(0, url.find('/'));
  std::string host(url), port = "80";
  if (const size_t colon = url.rfind(':'); colon != std::string_view::npos) {
    host = std::string(url.substr(0, colon));
    port = std::string(url.substr(colon + 1));
  }
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return Unreachable(e, ::gai_strerror(rc));
  }
  std::string why = "no address";
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    UniqueFd fd(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol));
    if (fd.valid() && ::connect(fd.get(), a->ai_addr, a->ai_addrlen) == 0) {
      ::freeaddrinfo(found);
      return fd;
    }
    why = std::strerror(errno);
  }
  ::freeaddrinfo(found);
  return Unreachable(e, why);
}

// Writes all of `data`. Errors: the errno of a failed send.
Status SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return FromErrno(n < 0 ? errno : EPIPE, "sending");
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::OK();
}

Status WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FromErrno(errno, "writing the answer");
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::OK();
}

// The request's body: a string, a file descriptor read to its end (sent
// chunked), or none.
struct Body {
  std::string_view text;
  int fd = -1;
  const char* text_type = "application/json";  // of `text`
};

}  // namespace

HttpClient::HttpClient(HttpEndpoint endpoint) : endpoint_(std::move(endpoint)) {}

namespace {

// One request and its answer. A 2xx body goes to `out_fd` when it is not
// -1; anything else is kept in the response.
Result<HttpResponse> Exchange(const HttpEndpoint& endpoint, const std::string& method,
                              const std::string& target, const Body& body, int out_fd) {
  HOODY_ASSIGN_OR_RETURN(
      UniqueFd fd, endpoint.unix_socket.empty() ? ConnectTcp(endpoint) : ConnectUnix(endpoint));
  std::string request =
      method + " " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n";
  if (!endpoint.token.empty()) request += "Authorization: Bearer " + endpoint.token + "\r\n";
  if (body.fd >= 0) {
    request += "Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n";
  } else {
    if (!body.text.empty()) request += std::string("Content-Type: ") + body.text_type + "\r\n";
    if (!body.text.empty() || method == "POST" || method == "PATCH" || method == "PUT") {
      request += "Content-Length: " + std::to_string(body.text.size()) + "\r\n";
    }
  }
  request += "\r\n";
  request.append(body.text);
  if (Status s = SendAll(fd.get(), request); !s.ok()) {
    return Unreachable(endpoint, s.message());
  }
  if (body.fd >= 0) {
    // Chunks as the body is read. A daemon that refuses the stream answers
    // and closes before reading it all: stop sending, read its answer.
    std::vector<char> buf(256 * 1024);
    for (;;) {
      const ssize_t n = ::read(body.fd, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return FromErrno(errno, "reading the request body");
      char size_line[32];
      const int len = std::snprintf(size_line, sizeof size_line, "%zx\r\n", static_cast<size_t>(n));
      std::string chunk(size_line, static_cast<size_t>(len));
      chunk.append(buf.data(), static_cast<size_t>(n));
      chunk += "\r\n";
      if (!SendAll(fd.get(), chunk).ok() || n == 0) break;
    }
  }
  // The daemon may have run the request from here on: a failure is not
  // marked unreachable (ECONNRESET).
  const auto lost = [&](const std::string& why) {
    return Status(Code::kIoError,
                  "lost the answer of the hoodyfs daemon at " + Where(endpoint) + ": " + why,
                  ECONNRESET);
  };
  std::string received;
  std::optional<HttpResponseHead> head;
  std::optional<HttpBodyDecoder> decoder;
  std::string body_out;
  bool stream_out = false;
  bool done = false;
  std::vector<char> buf(64 * 1024);
  for (;;) {
    const ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return lost(std::strerror(errno));
    if (n == 0) break;
    std::string_view piece(buf.data(), static_cast<size_t>(n));
    if (!head) {
      received.append(piece);
      if (received.size() > kMaxAnswer) return lost("an answer head of more than 256 MiB");
      const std::optional<size_t> end = FindHeadEnd(received);
      if (!end) continue;
      HOODY_ASSIGN_OR_RETURN(head,
                             ParseHttpResponseHead(std::string_view(received).substr(0, *end - 4)));
      decoder.emplace(*head);
      stream_out = out_fd >= 0 && head->status >= 200 && head->status < 300;
      piece = std::string_view(received).substr(*end);
    }
    HOODY_ASSIGN_OR_RETURN(done, decoder->Feed(piece, &body_out));
    if (stream_out) {
      HOODY_RETURN_IF_ERROR(WriteAll(out_fd, body_out));
      body_out.clear();
    } else if (body_out.size() > kMaxAnswer) {
      return lost("an answer of more than 256 MiB");
    }
    received.clear();
    if (done) break;
  }
  if (!head) return ParseHttpResponse(received);  // refused, naming what is missing
  if (!done) HOODY_RETURN_IF_ERROR(decoder->Finish());
  return HttpResponse{head->status, std::move(body_out)};
}

}  // namespace

Result<HttpResponse> HttpClient::Send(const std::string& method, const std::string& target,
                                      const std::string& body) const {
  return Exchange(endpoint_, method, target, Body{body, -1}, -1);
}

Result<HttpResponse> HttpClient::SendBytes(const std::string& method, const std::string& target,
                                           std::string_view bytes) const {
  return Exchange(endpoint_, method, target, Body{bytes, -1, "application/octet-stream"}, -1);
}

Result<HttpResponse> HttpClient::Stream(const std::string& method, const std::string& target,
                                        int body_fd, int out_fd) const {
  return Exchange(endpoint_, method, target, Body{{}, body_fd}, out_fd);
}

bool IsUnreachable(const Status& status) {
  return status.code() == Code::kIoError && status.ErrnoValue() == ENOTCONN;
}

std::string UrlEncode(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : s) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += kHex[ch >> 4];
      out += kHex[ch & 15];
    }
  }
  return out;
}

}  // namespace hoodyfs::cli
