#include "cli/api/http_client.h"

#include <curl/curl.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <mutex>

namespace hoodyfs::cli {

namespace {
void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t Append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// Stream's body source and answer sink.
struct StreamState {
  CURL* curl = nullptr;
  int body_fd = -1;
  int out_fd = -1;
  std::string answer;  // an error document, or everything when out_fd < 0
  int io_errno = 0;    // reading body_fd or writing out_fd failed
};

size_t ReadBodyFd(char* buf, size_t size, size_t n, void* cls) {
  auto* st = static_cast<StreamState*>(cls);
  for (;;) {
    const ssize_t got = ::read(st->body_fd, buf, size * n);
    if (got >= 0) return static_cast<size_t>(got);
    if (errno == EINTR) continue;
    st->io_errno = errno;
    return CURL_READFUNC_ABORT;
  }
}

size_t WriteAnswer(char* data, size_t size, size_t n, void* cls) {
  auto* st = static_cast<StreamState*>(cls);
  long status = 0;
  curl_easy_getinfo(st->curl, CURLINFO_RESPONSE_CODE, &status);
  if (st->out_fd < 0 || status < 200 || status >= 300) {
    st->answer.append(data, size * n);
    return size * n;
  }
  size_t done = 0;
  while (done < size * n) {
    const ssize_t w = ::write(st->out_fd, data + done, size * n - done);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {
      st->io_errno = errno;
      return 0;  // curl stops with CURLE_WRITE_ERROR
    }
    done += static_cast<size_t>(w);
  }
  return done;
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
}  // namespace

HttpClient::HttpClient(HttpEndpoint endpoint) : endpoint_(std::move(endpoint)) { InitCurlOnce(); }

Result<HttpResponse> HttpClient::Send(const std::string& method, const std::string& target,
                                      const std::string& body) const {
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return Status::IoError("curl_easy_init failed");
  CURL* c = curl.get();
  const std::string url = endpoint_.base_url + target;
  std::string answer;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  if (!endpoint_.unix_socket.empty()) {
    curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, endpoint_.unix_socket.c_str());
  }
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &answer);
  curl_slist* raw_headers = nullptr;
  if (!body.empty()) raw_headers = curl_slist_append(raw_headers, "Content-Type: application/json");
  const std::string auth = "Authorization: Bearer " + endpoint_.token;
  if (!endpoint_.token.empty()) raw_headers = curl_slist_append(raw_headers, auth.c_str());
  // No "Expect: 100-continue" round trip for bodies.
  raw_headers = curl_slist_append(raw_headers, "Expect:");
  std::unique_ptr<curl_slist, SlistDeleter> headers(raw_headers);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  if (!body.empty() || method == "POST" || method == "PATCH" || method == "PUT") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  const CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    const std::string where =
        endpoint_.unix_socket.empty() ? endpoint_.base_url : endpoint_.unix_socket;
    // Refused, or dropped before the whole request was sent (a connection
    // queued on a daemon's socket as it stopped listening is reset): the
    // server handles only complete requests, so it surely did not run.
    // Anything later (no answer to a sent request) may have run, and is not
    // marked.
    const bool never_sent = rc == CURLE_COULDNT_CONNECT || rc == CURLE_SEND_ERROR;
    return Status(Code::kIoError,
                  "cannot reach the hoodyfs daemon at " + where + ": " + curl_easy_strerror(rc),
                  never_sent ? ENOTCONN : ECONNRESET);
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  return HttpResponse{static_cast<int>(status), std::move(answer)};
}

Result<HttpResponse> HttpClient::Stream(const std::string& method, const std::string& target,
                                        int body_fd, int out_fd) const {
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return Status::IoError("curl_easy_init failed");
  CURL* c = curl.get();
  const std::string url = endpoint_.base_url + target;
  StreamState st;
  st.curl = c;
  st.body_fd = body_fd;
  st.out_fd = out_fd;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  if (!endpoint_.unix_socket.empty()) {
    curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, endpoint_.unix_socket.c_str());
  }
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &WriteAnswer);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &st);
  curl_slist* raw_headers = nullptr;
  const std::string auth = "Authorization: Bearer " + endpoint_.token;
  if (!endpoint_.token.empty()) raw_headers = curl_slist_append(raw_headers, auth.c_str());
  raw_headers = curl_slist_append(raw_headers, "Expect:");
  if (body_fd >= 0) {
    raw_headers = curl_slist_append(raw_headers, "Content-Type: application/octet-stream");
    raw_headers = curl_slist_append(raw_headers, "Transfer-Encoding: chunked");
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, &ReadBodyFd);
    curl_easy_setopt(c, CURLOPT_READDATA, &st);
  }
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  std::unique_ptr<curl_slist, SlistDeleter> headers(raw_headers);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  const CURLcode rc = curl_easy_perform(c);
  if (st.io_errno != 0) {
    return FromErrno(st.io_errno, body_fd >= 0 ? "reading the request body" : "writing the answer");
  }
  if (rc != CURLE_OK) {
    const std::string where =
        endpoint_.unix_socket.empty() ? endpoint_.base_url : endpoint_.unix_socket;
    const bool never_sent = rc == CURLE_COULDNT_CONNECT;
    return Status(Code::kIoError,
                  "cannot reach the hoodyfs daemon at " + where + ": " + curl_easy_strerror(rc),
                  never_sent ? ENOTCONN : ECONNRESET);
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  return HttpResponse{static_cast<int>(status), std::move(st.answer)};
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
