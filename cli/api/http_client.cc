#include "cli/api/http_client.h"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

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

}  // namespace

HttpClient::HttpClient(HttpEndpoint endpoint) : endpoint_(std::move(endpoint)) {}

Result<HttpResponse> HttpClient::Send(const std::string& method, const std::string& target,
                                      const std::string& body) const {
  HOODY_ASSIGN_OR_RETURN(
      UniqueFd fd, endpoint_.unix_socket.empty() ? ConnectTcp(endpoint_) : ConnectUnix(endpoint_));
  std::string request =
      method + " " + target + " HTTP/1.1\r\nHost: localhost\r\n" + "Connection: close\r\n";
  if (!endpoint_.token.empty()) request += "Authorization: Bearer " + endpoint_.token + "\r\n";
  if (!body.empty()) request += "Content-Type: application/json\r\n";
  if (!body.empty() || method == "POST" || method == "PATCH" || method == "PUT") {
    request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  request += "\r\n";
  request += body;
  for (size_t sent = 0; sent < request.size();) {
    const ssize_t n = ::send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Unreachable(endpoint_, std::string("sending: ") + std::strerror(errno));
    sent += static_cast<size_t>(n);
  }
  // The daemon may have run the request from here on: a failure is not
  // marked unreachable (ECONNRESET).
  std::string answer;
  char buf[64 * 1024];
  for (;;) {
    const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return Status(Code::kIoError,
                    "lost the answer of the hoodyfs daemon at " + Where(endpoint_) + ": " +
                        std::strerror(errno),
                    ECONNRESET);
    }
    if (n == 0) break;
    if (answer.size() + static_cast<size_t>(n) > kMaxAnswer) {
      return Status(Code::kIoError,
                    "the answer of the hoodyfs daemon at " + Where(endpoint_) + " exceeds " +
                        std::to_string(kMaxAnswer >> 20) + " MiB",
                    ECONNRESET);
    }
    answer.append(buf, static_cast<size_t>(n));
  }
  return ParseHttpResponse(answer);
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
