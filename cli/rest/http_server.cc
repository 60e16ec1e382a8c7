#include "cli/rest/http_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "base/unique_fd.h"

namespace hoodyfs::cli {

struct HttpServer::Impl {
  HttpHandler handler;
  MHD_Daemon* daemon = nullptr;  // owns the listening socket once started
};

namespace {

// Per-request state: the body as it arrives, and what to run once the
// response is out.
struct Upload {
  std::string body;
  std::function<void()> after;
};

MHD_Result CollectQuery(void* cls, MHD_ValueKind, const char* key, const char* value) {
  auto* query = static_cast<std::map<std::string, std::string>*>(cls);
  (*query)[key] = value != nullptr ? value : "";
  return MHD_YES;
}

MHD_Result Respond(MHD_Connection* connection, const HttpResponse& r) {
  MHD_Response* response = MHD_create_response_from_buffer(
      r.body.size(), const_cast<char*>(r.body.data()), MHD_RESPMEM_MUST_COPY);
  if (response == nullptr) return MHD_NO;
  if (!r.body.empty()) MHD_add_response_header(response, "Content-Type", "application/json");
  const MHD_Result ok = MHD_queue_response(connection, static_cast<unsigned>(r.status), response);
  MHD_destroy_response(response);
  return ok;
}

MHD_Result Dispatch(void* cls, MHD_Connection* connection, const char* url, const char* method,
                    const char*, const char* upload_data, size_t* upload_data_size,
                    void** con_cls) noexcept {
  auto* impl = static_cast<HttpServer::Impl*>(cls);
  if (*con_cls == nullptr) {  // the headers: start collecting the body
    *con_cls = new Upload();
    return MHD_YES;
  }
  auto* upload = static_cast<Upload*>(*con_cls);
  if (*upload_data_size > 0) {
    upload->body.append(upload_data, *upload_data_size);
    *upload_data_size = 0;
    return MHD_YES;
  }
  HttpRequest request;
  request.method = method;
  request.path = url;
  request.body = std::move(upload->body);
  MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, &CollectQuery, &request.query);
  if (const char* auth =
          MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION)) {
    request.authorization = auth;
  }
  HttpResponse response;
  try {
    response = impl->handler(request);
  } catch (...) {  // nothing may cross the C boundary
    response = HttpResponse{
        500, R"({"error":{"code":"internal","message":"unexpected exception in the daemon"}})"};
  }
  upload->after = std::move(response.after);
  return Respond(connection, response);
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

Result<std::unique_ptr<HttpServer>> HttpServer::Start(int listen_fd, HttpHandler handler) {
  std::unique_ptr<HttpServer> server(new HttpServer());
  server->impl_ = std::make_unique<Impl>();
  server->impl_->handler = std::move(handler);
  server->impl_->daemon = MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG, 0,
      nullptr, nullptr, &Dispatch, server->impl_.get(), MHD_OPTION_LISTEN_SOCKET, listen_fd,
      MHD_OPTION_NOTIFY_COMPLETED, &Completed, nullptr, MHD_OPTION_CONNECTION_TIMEOUT, 0u,
      MHD_OPTION_END);
  if (server->impl_->daemon == nullptr) {
    ::close(listen_fd);
    return Status::IoError("libmicrohttpd could not start serving (see the log above)");
  }
  return server;
}

HttpServer::~HttpServer() {
  if (impl_ && impl_->daemon != nullptr) MHD_stop_daemon(impl_->daemon);
  if (!unix_path_.empty()) ::unlink(unix_path_.c_str());
}

Result<std::unique_ptr<HttpServer>> HttpServer::ListenUnix(const std::string& path,
                                                           HttpHandler handler) {
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
                         Start(fd.Release(), std::move(handler)));
  server->unix_path_ = path;
  return server;
}

Result<std::unique_ptr<HttpServer>> HttpServer::ListenTcp(const std::string& address,
                                                          HttpHandler handler) {
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
                         Start(fd.Release(), std::move(handler)));
  server->port_ = ntohs(addr.sin_port);
  return server;
}

}  // namespace hoodyfs::cli
