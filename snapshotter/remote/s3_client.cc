#include "snapshotter/remote/s3_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <mutex>
#include <optional>
#include <thread>

#include "snapshotter/remote/http_date.h"
#include "snapshotter/remote/sha256.h"

namespace hoodyfs::remote {
namespace {

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using UniqueSlist = std::unique_ptr<curl_slist, SlistDeleter>;

size_t AppendBody(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

// Keeps the two headers gc's rule reads; every other header is dropped.
size_t KeepHeader(char* data, size_t size, size_t count, void* out) {
  const std::string_view line(data, size * count);
  auto* response = static_cast<std::pair<std::string*, std::string*>*>(out);
  const auto value = [&](std::string_view name) -> std::optional<std::string> {
    if (line.size() <= name.size() || line[name.size()] != ':') return std::nullopt;
    for (size_t i = 0; i < name.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(line[i])) != name[i]) return std::nullopt;
    }
    std::string_view v = line.substr(name.size() + 1);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' ')) {
      v.remove_suffix(1);
    }
    return std::string(v);
  };
  if (auto date = value("date")) *response->first = *date;
  if (auto modified = value("last-modified")) *response->second = *modified;
  return size * count;
}

Code CodeForS3Error(const std::string& s3_code, long http_status) {
  if (s3_code == "NoSuchKey" || s3_code == "NoSuchBucket") return Code::kNotFound;
  if (s3_code == "AccessDenied" || s3_code == "SignatureDoesNotMatch" ||
      s3_code == "InvalidAccessKeyId" || s3_code == "RequestTimeTooSkewed") {
    return Code::kPermission;
  }
  if (s3_code == "QuotaExceeded" || s3_code == "EntityTooLarge") return Code::kNoSpace;
  if (s3_code == "BucketAlreadyExists") return Code::kExists;
  if (http_status == 404) return Code::kNotFound;
  if (http_status == 403) return Code::kPermission;
  return Code::kIoError;
}

bool RetryableCurlError(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
      return true;
    default:
      return false;
  }
}

}  // namespace

std::string S3UriEncode(std::string_view s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

struct S3Client::Request {
  const char* method;  // GET, HEAD, PUT, DELETE
  std::string key;     // the full object key (prefix included); empty: the bucket
  std::vector<std::pair<std::string, std::string>> query;
  std::string_view body;
  std::chrono::milliseconds timeout{0};  // 0: none (a stall still fails, see below)
  bool retry = true;

  std::string Describe() const { return std::string(method) + " " + (key.empty() ? "/" : key); }
};

Result<std::unique_ptr<S3Client>> S3Client::Create(S3Config config) {
  HOODY_RETURN_IF_ERROR(ValidateS3Config(config));
  // curl_global_init is not thread-safe in 7.88: once per process.
  static std::once_flag once;
  static CURLcode init_rc = CURLE_OK;
  std::call_once(once, [] { init_rc = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (init_rc != CURLE_OK) {
    return Status::IoError(std::string("curl_global_init: ") + curl_easy_strerror(init_rc));
  }
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return Status::NoSpace("curl_easy_init failed");
  return std::unique_ptr<S3Client>(new S3Client(std::move(config), curl));
}

Result<std::vector<std::unique_ptr<S3Client>>> S3Client::CreateMany(const S3Config& config,
                                                                    size_t count) {
  std::vector<std::unique_ptr<S3Client>> clients;
  for (size_t i = 0; i < count; ++i) {
    HOODY_ASSIGN_OR_RETURN(std::unique_ptr<S3Client> client, Create(config));
    clients.push_back(std::move(client));
  }
  return clients;
}

S3Client::~S3Client() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

Result<S3Client::Response> S3Client::PerformOnce(const Request& request, bool* retry) {
  *retry = false;
  CURL* curl = static_cast<CURL*>(curl_);
  curl_easy_reset(curl);

  std::string url = config_.endpoint;
  while (!url.empty() && url.back() == '/') url.pop_back();
  url += "/" + config_.bucket;
  if (!request.key.empty()) url += "/" + S3UriEncode(request.key, /*keep_slash=*/true);
  // SigV4 signs the query as sent; curl 7.88 does not canonicalise it, so it
  // is sent canonical: sorted by name, names and values encoded.
  auto query = request.query;
  std::sort(query.begin(), query.end());
  for (size_t i = 0; i < query.size(); ++i) {
    url += (i == 0 ? "?" : "&") + S3UriEncode(query[i].first, false) + "=" +
           S3UriEncode(query[i].second, false);
  }

  const std::string sigv4 = "aws:amz:" + config_.region + ":s3";
  const std::string payload_header = "x-amz-content-sha256: " + Sha256Hex(request.body);
  curl_slist* raw = curl_slist_append(nullptr, payload_header.c_str());
  UniqueSlist headers(raw);
  if (raw != nullptr && std::string_view(request.method) == "PUT") {
    raw = curl_slist_append(raw, "Content-Type: application/octet-stream");
  }
  if (raw == nullptr) return Status::NoSpace("curl_slist_append failed");

  Response response;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, sigv4.c_str());
  curl_easy_setopt(curl, CURLOPT_USERNAME, config_.access_key.c_str());
  curl_easy_setopt(curl, CURLOPT_PASSWORD, config_.secret_key.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &AppendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
  std::pair<std::string*, std::string*> header_out(&response.date, &response.last_modified);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &KeepHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &header_out);
  if (request.timeout.count() > 0) {
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  }
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
  // A stalled transfer (under 1 KiB/s for 30 s) fails and is retried; no
  // overall timeout, which a large object on a slow link would hit.
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 30L);
  const std::string_view method = request.method;
  if (method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (method == "PUT") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "PUT");
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
  } else if (method == "DELETE") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "DELETE");
  }

  ++counters_.requests;
  const CURLcode rc = curl_easy_perform(curl);
  if (rc != CURLE_OK) {
    *retry = RetryableCurlError(rc);
    return Status::IoError(request.Describe() + " at " + config_.endpoint + ": " +
                           curl_easy_strerror(rc));
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.http_status);
  *retry = response.http_status == 500 || response.http_status == 503;
  counters_.bytes_got += response.body.size();
  return response;
}

Result<S3Client::Response> S3Client::Perform(const Request& request) {
  std::chrono::milliseconds backoff(50);
  for (int attempt = 1;; ++attempt) {
    bool retry = false;
    Result<Response> response = PerformOnce(request, &retry);
    if (!retry || !request.retry || attempt == kAttempts) return response;
    std::this_thread::sleep_for(backoff);
    backoff *= 2;
  }
}

Status S3Client::ErrorFrom(const Request& request, const Response& response) const {
  std::string what = request.Describe() + ": ";
  std::string s3_code;
  if (!response.body.empty()) {
    Result<S3ErrorDocument> doc = ParseS3Error(response.body);
    if (doc.ok()) {
      s3_code = doc->code;
      what += doc->code;
      if (!doc->message.empty()) what += ": " + doc->message;
      what += " ";
    }
  }
  what += "(HTTP " + std::to_string(response.http_status) + ")";
  return Status(CodeForS3Error(s3_code, response.http_status), what);
}

Status S3Client::CreateBucket() {
  Request request{"PUT", "", {}, {}};
  HOODY_ASSIGN_OR_RETURN(Response response, Perform(request));
  if (response.http_status < 300) return Status::OK();
  Status error = ErrorFrom(request, response);
  if (error.message().find("BucketAlreadyOwnedByYou") != std::string::npos) return Status::OK();
  return error.WithContext("create bucket " + config_.bucket);
}

Status S3Client::Put(const std::string& key, std::string_view data) {
  Request request{"PUT", config_.prefix + key, {}, data};
  HOODY_ASSIGN_OR_RETURN(Response response, Perform(request));
  if (response.http_status >= 300) return ErrorFrom(request, response);
  ++counters_.objects_put;
  counters_.bytes_put += data.size();
  return Status::OK();
}

Result<std::string> S3Client::Get(const std::string& key) {
  Request request{"GET", config_.prefix + key, {}, {}};
  HOODY_ASSIGN_OR_RETURN(Response response, Perform(request));
  if (response.http_status >= 300) return ErrorFrom(request, response);
  return std::move(response.body);
}

Result<bool> S3Client::Exists(const std::string& key) {
  Request request{"HEAD", config_.prefix + key, {}, {}};
  HOODY_ASSIGN_OR_RETURN(Response response, Perform(request));
  if (response.http_status == 404) return false;
  if (response.http_status >= 300) return ErrorFrom(request, response);
  return true;
}

Result<S3ObjectInfo> S3Client::Head(const std::string& key) {
  Request request{"HEAD", config_.prefix + key, {}, {}};
  HOODY_ASSIGN_OR_RETURN(Response response, Perform(request));
  if (response.http_status >= 300 && response.http_status != 404) {
    return ErrorFrom(request, response);
  }
  S3ObjectInfo info;
  Result<int64_t> date = ParseHttpDate(response.date);
  if (!date.ok()) return date.status().WithContext(request.Describe() + ": Date header");
  info.server_time = *date;
  if (response.http_status == 404) return info;
  Result<int64_t> modified = ParseHttpDate(response.last_modified);
  if (!modified.ok()) {
    return modified.status().WithContext(request.Describe() + ": Last-Modified header");
  }
  info.exists = true;
  info.last_modified = *modified;
  return info;
}

Result<int64_t> S3Client::ServerTime() {
  // Any answer carries a Date; a HEAD of the prefix itself (the bucket when
  // the prefix is empty) is the cheapest, and found or not is all the same.
  Request request{"HEAD", config_.prefix, {}, {}};
  HOODY_ASSIGN_OR_RETURN(Response response, Perform(request));
  if (response.http_status >= 300 && response.http_status != 404) {
    return ErrorFrom(request, response);
  }
  Result<int64_t> date = ParseHttpDate(response.date);
  if (!date.ok()) return date.status().WithContext(request.Describe() + ": Date header");
  return *date;
}

Status S3Client::DeleteWithin(const std::string& key, std::chrono::milliseconds timeout) {
  Request request{"DELETE", config_.prefix + key, {}, {}};
  request.timeout = timeout;
  request.retry = false;
  HOODY_ASSIGN_OR_RETURN(Response response, Perform(request));
  if (response.http_status >= 300 && response.http_status != 404) {
    return ErrorFrom(request, response);
  }
  return Status::OK();
}

Status S3Client::Delete(const std::string& key) {
  Request request{"DELETE", config_.prefix + key, {}, {}};
  HOODY_ASSIGN_OR_RETURN(Response response, Perform(request));
  if (response.http_status >= 300 && response.http_status != 404) {
    return ErrorFrom(request, response);
  }
  return Status::OK();
}

Result<S3ListPage> S3Client::List(const std::string& prefix, const std::string& token,
                                  int max_keys) {
  Request request{"GET", "", {{"list-type", "2"}, {"prefix", config_.prefix + prefix}}, {}};
  request.query.emplace_back("max-keys", std::to_string(max_keys));
  if (!token.empty()) request.query.emplace_back("continuation-token", token);
  HOODY_ASSIGN_OR_RETURN(Response response, Perform(request));
  if (response.http_status >= 300) return ErrorFrom(request, response);
  HOODY_ASSIGN_OR_RETURN(S3ListPage page, ParseListObjectsV2(response.body));
  for (S3Object& object : page.objects) {
    if (object.key.compare(0, config_.prefix.size(), config_.prefix) != 0) {
      return Status::Corruption("list " + config_.prefix + prefix + ": the server returned key " +
                                object.key + " outside the prefix");
    }
    object.key.erase(0, config_.prefix.size());
  }
  return page;
}

Result<std::vector<S3Object>> S3Client::ListAll(const std::string& prefix) {
  std::vector<S3Object> all;
  std::string token;
  do {
    HOODY_ASSIGN_OR_RETURN(S3ListPage page, List(prefix, token));
    for (S3Object& object : page.objects) all.push_back(std::move(object));
    token = page.next_token;
  } while (!token.empty());
  return all;
}

}  // namespace hoodyfs::remote
