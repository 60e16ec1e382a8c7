#include "snapshotter/remote/sha256.h"

#include <gtest/gtest.h>

#include "snapshotter/remote/s3_client.h"

namespace hoodyfs::remote {
namespace {

TEST(Sha256Hex, KnownDigests) {
  // FIPS 180-2 test vectors.
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(S3UriEncode, UnreservedKeptEverythingElseEncoded) {
  EXPECT_EQ(S3UriEncode("AZaz09-_.~", false), "AZaz09-_.~");
  EXPECT_EQ(S3UriEncode("a/b c+d=é", false), "a%2Fb%20c%2Bd%3D%C3%A9");
  EXPECT_EQ(S3UriEncode("a/b c", true), "a/b%20c");
}

}  // namespace
}  // namespace hoodyfs::remote
