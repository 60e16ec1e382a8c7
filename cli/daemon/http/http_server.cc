#include "cli/daemon/http/http_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "base/unique_fd.h"
#include "cli/api/rest_errors.h"
#include "cli/daemon/http/bearer.h"
#include "cli/daemon/http/url.h"

namespace hoodyfs::cli {

struct HttpServer::Impl {
  HttpHandler handler;
  ServeOptions options;
  MHD_Daemon* daemon = nullptr;  // owns the listening socket once started
};

namespace {

// Per-request state: the body as it arrives, and what to run once the
// response is out.
struct Upload {
  std::string body;
  bool answered = false;  // a refusal went out from the headers alone
  std::function<void()> after;
  // A streamed body: written to `body_writer` as it arrives, read by the
  // handler running on `handler_thread`, whose answer lands in `response`.
  UniqueFd body_writer;
  std::thread handler_thread;
  std::optional<HttpResponse> response;

  ~Upload() {
    body_writer.Reset();  // the handler sees the end of the body
    if (handler_thread.joinable()) handler_thread.join();
  }
};

// A streamed response body: what the producer thread writes into one end
// of a socket pair, read from the other by libmicrohttpd as it sends.
struct BodySource {
  UniqueFd reader;
  std::thread producer;
};

ssize_t ReadBody(void* cls, uint64_t, char* buf, size_t max) noexcept {
  auto* source = static_cast<BodySource*>(cls);
  for (;;) {
    const ssize_t n = ::read(source->reader.get(), buf, max);
    if (n > 0) return n;
    if (n == 0) return MHD_CONTENT_READER_END_OF_STREAM;
    if (errno != EINTR) return MHD_CONTENT_READER_END_WITH_ERROR;
  }
}

void FreeBody(void* cls) noexcept {
  auto* source = static_cast<BodySource*>(cls);
  // A client that went away: the producer's next write fails (EPIPE; the
  // daemon ignores SIGPIPE) and it ends.
  ::shutdown(source->reader.get(), SHUT_RDWR);
  if (source->producer.joinable()) source->producer.join();
  delete source;
}

// Writes all of `data` to a socket, without SIGPIPE. False once the
// reader has gone.
bool SendAll(int fd, const char* data, size_t n) {
  while (n > 0) {
    const ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    data += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

MHD_Result CollectQuery(void* cls, MHD_ValueKind, const char* key, const char* value) {
  auto* query = static_cast<std::vector<std::pair<std::string, std::string>>*>(cls);
  query->emplace_back(key, value != nullptr ? value : "");
  return MHD_YES;
}

// libmicrohttpd decodes the target in place into a C string, where a %00
// ends it early; we keep it raw and decode it ourselves (url.h).
size_t KeepRaw(void*, MHD_Connection*, char* s) noexcept { return std::strlen(s); }

MHD_Response* StreamedResponse(const HttpResponse& r) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return nullptr;
  auto* source = new BodySource();
  source->reader = UniqueFd(pair[0]);
  source->producer = std::thread([write_end = pair[1], produce = r.stream_body]() {
    UniqueFd writer(write_end);
    try {
      produce(writer.get());
    } catch (...) {  // the body is cut short; nothing may escape the thread
    }
  });
  MHD_Response* response =
      MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 256 * 1024, &ReadBody, source, &FreeBody);
  if (response == nullptr) FreeBody(source);
  return response;
}

void FreeOwnedBody(void* body) noexcept { delete static_cast<std::string*>(body); }

// The body moves into the response, which frees it once sent: a list of
// 10,000 snapshots is 3 MB, which MHD_RESPMEM_MUST_COPY copied whole.
MHD_Response* BufferedResponse(std::string body) {
  auto* owned = new std::string(std::move(body));
  MHD_Response* response = MHD_create_response_from_buffer_with_free_callback_cls(
      owned->size(), owned->data(), &FreeOwnedBody, owned);
  if (response == nullptr) delete owned;
  return response;
}

MHD_Result Respond(MHD_Connection* connection, HttpResponse r) {
  if (r.stream_body) {
    MHD_Response* response = StreamedResponse(r);
    if (response == nullptr) return MHD_NO;
    MHD_add_response_header(response, "Content-Type", "application/octet-stream");
    const MHD_Result ok = MHD_queue_response(connection, static_cast<unsigned>(r.status), response);
    MHD_destroy_response(response);
    return ok;
  }
  const bool has_body = !r.body.empty();
  MHD_Response* response = BufferedResponse(std::move(r.body));
  if (response == nullptr) return MHD_NO;
  if (has_body) MHD_add_response_header(response, "Content-Type", "application/json");
  const MHD_Result ok = MHD_queue_response(connection, static_cast<unsigned>(r.status), response);
  MHD_destroy_response(response);
  return ok;
}

HttpResponse TooLarge(const ServeOptions& options) {
  return ErrorResponse(413, "too_large",
                       "the request body is larger than the " +
                           std::to_string(options.body_bytes_max) + " bytes this API accepts");
}

// What can be refused from the request line and headers alone, before the
// body is read: a request line a NUL byte cut short (it has no HTTP
// version), a missing or wrong token, a declared body over the cap.
std::optional<HttpResponse> RefuseFromHeaders(const ServeOptions& options,
                                              MHD_Connection* connection, const char* version,
                                              bool streamed) {
  if (std::strcmp(version, MHD_HTTP_VERSION_1_1) != 0 &&
      std::strcmp(version, MHD_HTTP_VERSION_1_0) != 0) {
    return ErrorResponse(400, "invalid_argument", "malformed HTTP request line");
  }
  if (!options.bearer_token.empty()) {
    const char* auth =
        MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (auth == nullptr) return ErrorResponse(401, "unauthorized", "a bearer token is required");
    if (!BearerMatches(auth, options.bearer_token)) {
      return ErrorResponse(401, "unauthorized", "wrong bearer token");
    }
  }
  if (streamed) return std::nullopt;  // a stream of any length
  if (const char* length = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
                                                       MHD_HTTP_HEADER_CONTENT_LENGTH)) {
    char* end = nullptr;
    errno = 0;
    const unsigned long long n = std::strtoull(length, &end, 10);
    if (errno != 0 || *end != '\0' || n > options.body_bytes_max) {
      return TooLarge(options);
    }
  }
  return std::nullopt;
}

// The request as the handler sees it; 400 when a query name or value is
// malformed.
Result<HttpRequest> MakeRequest(MHD_Connection* connection, const char* url, const char* method,
                                std::string body) {
  HttpRequest request;
  request.method = method;
  request.path = url;
  request.body = std::move(body);
  std::vector<std::pair<std::string, std::string>> raw_query;
  MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, &CollectQuery, &raw_query);
  for (const auto& [raw_key, raw_value] : raw_query) {
    HOODY_ASSIGN_OR_RETURN(std::string key, PercentDecode(raw_key, "query parameter"));
    HOODY_ASSIGN_OR_RETURN(std::string value, PercentDecode(raw_value, "query parameter"));
    request.query[key] = std::move(value);
  }
  return request;
}

// A streamed-body route: the handler runs from now on, on its own thread,
// reading the body from one end of a socket pair while Dispatch writes
// what arrives into the other.
MHD_Result StartStreamedHandler(HttpServer::Impl* impl, Upload* upload, MHD_Connection* connection,
                                const char* url, const char* method) {
  Result<HttpRequest> request = MakeRequest(connection, url, method, "");
  if (!request.ok()) {
    upload->answered = true;
    return Respond(connection, ErrorResponse(400, "invalid_argument", request.status().message()));
  }
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return MHD_NO;
  upload->body_writer = UniqueFd(pair[1]);
  request->body_fd = pair[0];
  upload->handler_thread = std::thread([impl, upload,
                                        request = std::move(request).value()]() mutable {
    UniqueFd body_reader(request.body_fd);
    try {
      upload->response = impl->handler(request);
    } catch (...) {  // nothing may escape the thread
      upload->response = HttpResponse{
          500, R"({"error":{"code":"internal","message":"unexpected exception in the daemon"}})"};
    }
    // Closed on return: a client still sending is not waited for.
  });
  return MHD_YES;
}

MHD_Result Dispatch(void* cls, MHD_Connection* connection, const char* url, const char* method,
                    const char* version, const char* upload_data, size_t* upload_data_size,
                    void** con_cls) noexcept {
  auto* impl = static_cast<HttpServer::Impl*>(cls);
  if (*con_cls == nullptr) {  // the headers: refuse early, or start collecting the body
    auto* upload = new Upload();
    *con_cls = upload;
    const bool streamed = impl->options.streamed_body && impl->options.streamed_body(method, url);
    if (std::optional<HttpResponse> refusal =
            RefuseFromHeaders(impl->options, connection, version, streamed)) {
      upload->answered = true;
      return Respond(connection, std::move(*refusal));
    }
    if (streamed) return StartStreamedHandler(impl, upload, connection, url, method);
    return MHD_YES;
  }
  auto* upload = static_cast<Upload*>(*con_cls);
  if (upload->answered) {  // a refused request's body is not kept
    *upload_data_size = 0;
    return MHD_YES;
  }
  if (upload->handler_thread.joinable()) {
    if (*upload_data_size > 0) {
      // A handler that stopped reading (it failed) drops the rest.
      if (upload->body_writer.valid() &&
          !SendAll(upload->body_writer.get(), upload_data, *upload_data_size)) {
        upload->body_writer.Reset();
      }
      *upload_data_size = 0;
      return MHD_YES;
    }
    upload->body_writer.Reset();  // the end of the body
    upload->handler_thread.join();
    HttpResponse response = std::move(*upload->response);
    upload->after = std::move(response.after);
    return Respond(connection, std::move(response));
  }
  if (*upload_data_size > 0) {
    if (upload->body.size() + *upload_data_size > impl->options.body_bytes_max) {
      // No length was declared (chunked): answer if the library still lets
      // us, else close the connection; the body is never kept whole.
      upload->answered = true;
      return Respond(connection, TooLarge(impl->options));
    }
    upload->body.append(upload_data, *upload_data_size);
    *upload_data_size = 0;
    return MHD_YES;
  }
  HttpResponse response;
  try {
    Result<HttpRequest> request = MakeRequest(connection, url, method, std::move(upload->body));
    response = request.ok() ? impl->handler(*request)
                            : ErrorResponse(400, "invalid_argument", request.status().message());
  } catch (...) {  // nothing may cross the C boundary
    response = HttpResponse{
        500, R"({"error":{"code":"internal","message":"unexpected exception in the daemon"}})"};
  }
  upload->after = std::move(response.after);
  return Respond(connection, std::move(response));
}

void Completed(void*, MHD_Connection*, void** con_cls, MHD_RequestTerminationCode) noexcept {
  auto* upload = static_cast<Upload*>(*con_cls);
  *con_cls = nullptr;
  if (upload == nullptr) return;
  if (upload->after) {
    try {
      upload->after();
    } catch (...) {  // nothing may cross the C boundary
    }
  }
  delete upload;
}

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::Start(int listen_fd, HttpHandler handler,
                                                      const ServeOptions& options) {
  std::unique_ptr<HttpServer> server(new HttpServer());
  server->impl_ = std::make_unique<Impl>();
  server->impl_->handler = std::move(handler);
  server->impl_->options = options;
  server->impl_->daemon = MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ITC |
          MHD_USE_ERROR_LOG,
      0, nullptr, nullptr, &Dispatch, server->impl_.get(), MHD_OPTION_LISTEN_SOCKET, listen_fd,
      MHD_OPTION_NOTIFY_COMPLETED, &Completed, nullptr, MHD_OPTION_UNESCAPE_CALLBACK, &KeepRaw,
      nullptr, MHD_OPTION_CONNECTION_LIMIT, options.connections_max, MHD_OPTION_CONNECTION_TIMEOUT,
      options.idle_timeout_s, MHD_OPTION_STRICT_FOR_CLIENT, 1, MHD_OPTION_END);
  if (server->impl_->daemon == nullptr) {
    ::close(listen_fd);
    return Status::IoError("libmicrohttpd could not start serving (see the log above)");
  }
  return server;
}

bool HttpServer::Drain(std::chrono::milliseconds wait) {
  if (!impl_ || impl_->daemon == nullptr) return true;
  const auto deadline = std::chrono::steady_clock::now() + wait;
  // First no new client: connecting to a removed path is refused, so the
  // client knows its request did not run. Then let the polling thread take
  // the connections already queued on the socket (closing it would drop
  // them, requests and all), and only then stop accepting.
  if (!unix_path_.empty()) {
    ::unlink(unix_path_.c_str());
    unix_path_.clear();
  }
  if (const MHD_DaemonInfo* listening =
          MHD_get_daemon_info(impl_->daemon, MHD_DAEMON_INFO_LISTEN_FD)) {
    pollfd queued{listening->listen_fd, POLLIN, 0};
    while (::poll(&queued, 1, 0) > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  // MHD_USE_ITC lets the polling thread be told; the socket comes back ours.
  const MHD_socket listen_fd = MHD_quiesce_daemon(impl_->daemon);
  if (listen_fd != MHD_INVALID_SOCKET) ::close(listen_fd);
  for (;;) {
    const MHD_DaemonInfo* info =
        MHD_get_daemon_info(impl_->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
    if (info == nullptr || info->num_connections == 0) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

HttpServer::~HttpServer() {
  if (impl_ && impl_->daemon != nullptr) MHD_stop_daemon(impl_->daemon);
  if (!unix_path_.empty()) ::unlink(unix_path_.c_str());
}

Result<std::unique_ptr<HttpServer>> HttpServer::ListenUnix(const std::string& path,
                                                           HttpHandler handler,
                                                           const ServeOptions& options) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    return Status::InvalidArgument("socket path " + path + " is longer than the " +
                                   std::to_string(sizeof(addr.sun_path) - 1) +
                                   " bytes a Unix socket address holds");
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return FromErrno(errno, "socket");
  ::unlink(path.c_str());  // a stale socket of a dead daemon (the store lock proves it dead)
  // Created 0600 from the start: no window where others may connect.
  const mode_t old_umask = ::umask(0177);
  const int bound = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  const int bind_errno = errno;
  ::umask(old_umask);
  if (bound != 0) return FromErrno(bind_errno, "bind " + path);
  if (::chmod(path.c_str(), 0600) != 0) return FromErrno(errno, "chmod " + path);
  if (::listen(fd.get(), 64) != 0) return FromErrno(errno, "listen on " + path);
  HOODY_ASSIGN_OR_RETURN(std::unique_ptr<HttpServer> server,
                         Start(fd.Release(), std::move(handler), options));
  server->unix_path_ = path;
  return server;
}

Result<std::unique_ptr<HttpServer>> HttpServer::ListenTcp(const std::string& address,
                                                          HttpHandler handler,
                                                          const ServeOptions& options) {
  const size_t colon = address.rfind(':');
  const std::string host = colon == std::string::npos ? address : address.substr(0, colon);
  if (colon == std::string::npos || host != "127.0.0.1") {
    return Status::InvalidArgument("--listen takes 127.0.0.1:PORT (loopback only), not '" +
                                   address + "'");
  }
  const std::string port_text = address.substr(colon + 1);
  char* end = nullptr;
  const unsigned long port = std::strtoul(port_text.c_str(), &end, 10);
  if (port_text.empty() || *end != '\0' || port > 65535) {
    return Status::InvalidArgument("'" + port_text + "' is not a TCP port");
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return FromErrno(errno, "socket");
  const int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return FromErrno(errno, "bind " + address);
  }
  if (::listen(fd.get(), 64) != 0) return FromErrno(errno, "listen on " + address);
  socklen_t len = sizeof addr;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  HOODY_ASSIGN_OR_RETURN(std::unique_ptr<HttpServer> server,
                         Start(fd.Release(), std::move(handler), options));
  server->port_ = ntohs(addr.sin_port);
  return server;
}

}  // namespace hoodyfs::cli
