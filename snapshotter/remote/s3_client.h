// S3Client: the object operations a remote needs (put, get, exists, head,
// list, delete, plus creating the bucket) against an S3-compatible endpoint
// such as Ceph's RADOS Gateway, over libcurl with its built-in AWS
// Signature Version 4 (CURLOPT_AWS_SIGV4). Keys are relative to the
// config's prefix; path-style URLs (endpoint/bucket/key).
//
// What libcurl 7.88 (Debian 12) leaves to the caller, and this class does:
// it signs the query string as written, so queries are built here already
// in canonical form (sorted, every reserved byte %-encoded); it signs the
// body it sends from CURLOPT_POSTFIELDS, so bodies go that way (they are in
// memory anyway); and it does not send x-amz-content-sha256, which RGW
// requires, so the body's SHA-256 is added as that header (and signed).
//
// Errors: an answer of 300 or more becomes a Status carrying the S3 error
// code and message ("PUT chunks/ab..: NoSuchBucket (HTTP 404)"): kNotFound
// for NoSuchKey/NoSuchBucket/404, kPermission for AccessDenied,
// SignatureDoesNotMatch, InvalidAccessKeyId and 403, kNoSpace for
// QuotaExceeded, kExists for BucketAlreadyExists, kIoError otherwise.
// Transport errors and 500/503 are retried with exponential backoff
// (kAttempts in all) before they become kIoError. Credentials appear in no
// message.
//
// Times: Head reports the object's Last-Modified and the server's Date of
// the same answer, both in seconds since the epoch, so an object's age is
// measured on the server's clock alone (gc's rule, docs/design.md, needs no
// synchronised clocks between hosts).
//
// Ownership: owns one curl easy handle, whose connection is reused across
// requests. Thread-safety: one thread at a time; use one client per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "snapshotter/remote/s3_config.h"
#include "snapshotter/remote/s3_xml.h"

namespace hoodyfs::remote {

// What a client has sent and received, for tests and progress: a dedup
// check counts uploads.
struct S3Counters {
  uint64_t requests = 0;
  uint64_t objects_put = 0;
  uint64_t bytes_put = 0;
  uint64_t bytes_got = 0;
};

// What HEAD says about a key.
struct S3ObjectInfo {
  bool exists = false;
  int64_t last_modified = 0;  // seconds since the epoch; 0 when absent
  int64_t server_time = 0;    // the answer's Date header, seconds since the epoch
};

class S3Client {
 public:
  static constexpr int kAttempts = 4;

  // Errors: what ValidateS3Config returns; kNoSpace when curl cannot make a
  // handle.
  static Result<std::unique_ptr<S3Client>> Create(S3Config config);
  // `count` clients of one config: one per worker thread of the parallel
  // paths (uploads, fetches, gc), since a client is one connection used by
  // one thread. Errors: as Create.
  static Result<std::vector<std::unique_ptr<S3Client>>> CreateMany(const S3Config& config,
                                                                   size_t count);
  ~S3Client();
  S3Client(const S3Client&) = delete;
  S3Client& operator=(const S3Client&) = delete;

  // Creates the bucket; OK when it exists already and is ours.
  Status CreateBucket();
  Status Put(const std::string& key, std::string_view data);
  // kNotFound when there is no such key.
  Result<std::string> Get(const std::string& key);
  // HEAD: true when the key exists, false on 404.
  Result<bool> Exists(const std::string& key);
  // HEAD with the object's Last-Modified and the server's Date.
  // Errors: the client's; kCorruption when a date header is missing or not
  // an HTTP date.
  Result<S3ObjectInfo> Head(const std::string& key);
  // The server's clock now (the Date of a HEAD answer), seconds since the
  // epoch.
  Result<int64_t> ServerTime();
  // One page of the keys under `prefix` (relative to the config's prefix,
  // as are the keys returned), starting at `token` (empty: the first page).
  Result<S3ListPage> List(const std::string& prefix, const std::string& token = "",
                          int max_keys = 1000);
  // Every page.
  Result<std::vector<S3Object>> ListAll(const std::string& prefix);
  // OK also when the key did not exist (S3 semantics).
  Status Delete(const std::string& key);
  // One attempt, abandoned by the client after `timeout` (no retry): gc's
  // deletes, which must land within a bound of the check that chose them.
  Status DeleteWithin(const std::string& key, std::chrono::milliseconds timeout);

  const S3Counters& counters() const { return counters_; }
  const S3Config& config() const { return config_; }

 private:
  struct Request;
  struct Response {
    long http_status = 0;
    std::string body;
    std::string date;           // the Date header, as sent
    std::string last_modified;  // the Last-Modified header, as sent
  };
  S3Client(S3Config config, void* curl) : config_(std::move(config)), curl_(curl) {}
  Result<Response> Perform(const Request& request);
  Result<Response> PerformOnce(const Request& request, bool* retry);
  Status ErrorFrom(const Request& request, const Response& response) const;

  S3Config config_;
  void* curl_;  // CURL*, kept out of this header so includers need not see curl.h
  S3Counters counters_;
};

// S3's URI encoding (RFC 3986 unreserved bytes kept, every other byte as
// %XX uppercase); '/' kept when `keep_slash` (object keys in a path).
std::string S3UriEncode(std::string_view s, bool keep_slash);

}  // namespace hoodyfs::remote
