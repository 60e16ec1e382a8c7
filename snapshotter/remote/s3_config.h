// Where a remote is and how to sign in: an S3 endpoint, a bucket, a key
// prefix and the credentials. Read from a config file that only its owner
// may read (the credentials must not be readable by others), or from the
// environment; never from the command line, where `ps` would show them.
//
// Config file: one `key = value` per line, `#` starts a comment line.
//   endpoint = http://127.0.0.1:7480     (scheme, host and port; required)
//   bucket = hoodyfs                     (required)
//   prefix = fleet-a/                    (optional: every key starts with it)
//   region = default                     (optional: the SigV4 region, "us-east-1")
//   access_key = ...                     (required)
//   secret_key = ...                     (required)
// Environment: HOODYFS_S3_ENDPOINT, HOODYFS_S3_BUCKET, HOODYFS_S3_PREFIX,
// HOODYFS_S3_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY.
//
// Thread-safety: values and pure functions.
#pragma once

#include <string>

#include "base/status.h"

namespace hoodyfs::remote {

struct S3Config {
  std::string endpoint;
  std::string bucket;
  std::string prefix;
  std::string region = "us-east-1";
  std::string access_key;
  std::string secret_key;
};

// Reads `path`. Errors: kPermission when the file is readable or writable
// by group or others (the message names the mode and says to chmod 600) or
// belongs to another user; kInvalidArgument naming the line for a line that
// is not `key = value`, an unknown key, or a missing required key; what
// FromErrno maps for open/read.
Result<S3Config> LoadS3Config(const std::string& path);

// From the environment. Errors: kInvalidArgument naming the first missing
// variable.
Result<S3Config> S3ConfigFromEnvironment();

// kInvalidArgument unless endpoint, bucket and both keys are set, the
// endpoint starts with http:// or https://, and the bucket is a valid S3
// bucket name (3 to 63 of a-z, 0-9, '.', '-').
Status ValidateS3Config(const S3Config& config);

}  // namespace hoodyfs::remote
