#include "snapshotter/remote/s3_xml.h"

#include <gtest/gtest.h>

namespace hoodyfs::remote {
namespace {

// An answer as Ceph RGW 16.2 sends it (with its extra <Type>).
constexpr char kRgwPage[] =
    R"(<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>tbk</Name><Prefix>a/</Prefix><MaxKeys>1</MaxKeys><IsTruncated>true</IsTruncated><Contents><Key>a/b &amp; c</Key><LastModified>2026-12-04T20:34:29.537Z</LastModified><ETag>&quot;b1946ac92492d2347c6235b4d2611184&quot;</ETag><Size>6</Size><StorageClass>STANDARD</StorageClass><Type>Normal</Type></Contents><Contents><Key>a/d</Key><Size>18446744073709551615</Size></Contents><KeyCount>2</KeyCount><NextContinuationToken>a/d</NextContinuationToken></ListBucketResult>)";

TEST(ParseListObjectsV2, KeysSizesAndTheNextToken) {
  Result<S3ListPage> page = ParseListObjectsV2(kRgwPage);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->objects.size(), 2u);
  EXPECT_EQ(page->objects[0].key, "a/b & c");
  EXPECT_EQ(page->objects[0].size, 6u);
  EXPECT_EQ(page->objects[1].key, "a/d");
  EXPECT_EQ(page->objects[1].size, 18446744073709551615u);
  EXPECT_TRUE(page->truncated);
  EXPECT_EQ(page->next_token, "a/d");
}

TEST(ParseListObjectsV2, EmptyLastPage) {
  Result<S3ListPage> page = ParseListObjectsV2(
      "<ListBucketResult><IsTruncated>false</IsTruncated><KeyCount>0</KeyCount>"
      "<ContinuationToken>x</ContinuationToken></ListBucketResult>");
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  EXPECT_TRUE(page->objects.empty());
  EXPECT_FALSE(page->truncated);
  EXPECT_EQ(page->next_token, "");
}

TEST(ParseListObjectsV2, RefusesWhatItCannotTrust) {
  const struct {
    const char* xml;
    const char* message;
  } cases[] = {
      {"<ListBucketResult><Contents><Key>a</Key>", "malformed XML"},
      {"", "malformed XML"},
      {"<Error><Code>NoSuchBucket</Code></Error>", "root element is <Error>"},
      {"<ListBucketResult><Contents><Key>a</Key><Size>-1</Size></Contents></ListBucketResult>",
       "<Size> is not a number: -1"},
      {"<ListBucketResult><Contents><Key>a</Key><Size>12x</Size></Contents></ListBucketResult>",
       "<Size> is not a number: 12x"},
      {"<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
       "truncated without a NextContinuationToken"},
  };
  for (const auto& c : cases) {
    Result<S3ListPage> page = ParseListObjectsV2(c.xml);
    ASSERT_FALSE(page.ok()) << c.xml;
    EXPECT_EQ(page.status().code(), Code::kCorruption) << c.xml;
    EXPECT_NE(page.status().message().find(c.message), std::string::npos)
        << c.xml << " -> " << page.status().ToString();
  }
}

TEST(ParseS3Error, CodeAndMessage) {
  Result<S3ErrorDocument> doc = ParseS3Error(
      R"(<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>gone</Message><RequestId>tx1</RequestId></Error>)");
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_EQ(doc->code, "NoSuchKey");
  EXPECT_EQ(doc->message, "gone");

  Result<S3ErrorDocument> html = ParseS3Error("<html><body>Bad Gateway</body></html>");
  ASSERT_FALSE(html.ok());
  EXPECT_NE(html.status().message().find("root element is <html>"), std::string::npos);
  EXPECT_FALSE(ParseS3Error("not xml").ok());
}

}  // namespace
}  // namespace hoodyfs::remote
