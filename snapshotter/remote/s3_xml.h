// The two XML documents an S3 client reads, parsed with expat (Debian's
// libexpat1): a ListObjectsV2 answer and an error document. Only the
// elements the client uses are kept; unknown elements are skipped, so a
// server that adds fields (Ceph RGW adds <Type>) parses the same.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace hoodyfs::remote {

struct S3Object {
  std::string key;
  uint64_t size = 0;
};

// One page of ListObjectsV2.
struct S3ListPage {
  std::vector<S3Object> objects;
  bool truncated = false;
  // Where the next page starts (NextContinuationToken); empty when this is
  // the last page.
  std::string next_token;
};

// An S3 <Error> document: its <Code> (NoSuchKey, AccessDenied, ...) and
// <Message> (often empty on RGW).
struct S3ErrorDocument {
  std::string code;
  std::string message;
};

// Errors: kCorruption naming the problem when `xml` is not well-formed, is
// not a ListBucketResult, has a <Size> that is not a number, or says it is
// truncated without a NextContinuationToken.
Result<S3ListPage> ParseListObjectsV2(std::string_view xml);

// Errors: kCorruption when `xml` is not a well-formed <Error> document.
Result<S3ErrorDocument> ParseS3Error(std::string_view xml);

}  // namespace hoodyfs::remote
