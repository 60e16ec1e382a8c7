#include "cli/api/http_response_parser.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <string>

namespace hoodyfs::cli {
namespace {

TEST(HttpResponseParserTest, ContentLengthDelimitsTheBody) {
  auto r = ParseHttpResponse(
      "HTTP/1.1 201 Created\r\ncontent-length: 4\r\nContent-Type: application/json\r\n\r\n"
      "{}\r\nextra");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, "{}\r\n");
}

TEST(HttpResponseParserTest, ChunkedBodiesAreJoinedAndTrailersSkipped) {
  auto r = ParseHttpResponse(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n"
      "3;name=v\r\n[1,\r\nA\r\n2,3,4,5,6]\r\n0\r\nX-Trailer: 1\r\n\r\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "[1,2,3,4,5,6]");
}

TEST(HttpResponseParserTest, WithoutALengthTheBodyRunsToTheEnd) {
  auto r = ParseHttpResponse("HTTP/1.0 404 Not Found\r\n\r\n{\"error\": 1}");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, "{\"error\": 1}");
  r = ParseHttpResponse("HTTP/1.1 204 No Content\r\n\r\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 204);
  EXPECT_EQ(r->body, "");
}

// Each malformed or cut answer is refused naming what is wrong, as a lost
// answer (ECONNRESET: the request may have run), never as unreachable.
TEST(HttpResponseParserTest, MalformedAndCutAnswersAreRefusedNamingTheProblem) {
  const struct {
    const char* raw;
    const char* says;
  } cases[] = {
      {"", "without an answer"},
      {"HTTP/1.1 200 OK", "no complete status line"},
      {"HTTP/2 200 OK\r\n\r\n", "bad status line"},
      {"HTTP/1.1 2x0 OK\r\n\r\n", "bad status code"},
      {"HTTP/1.1 999 OK\r\n\r\n", "bad status code"},
      {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n", "headers do not end"},
      {"HTTP/1.1 200 OK\r\nno colon\r\n\r\n", "bad header line"},
      {"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "bad Content-Length"},
      {"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n", "bad Content-Length"},
      {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "cut short (5 of 10 bytes)"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "unknown Transfer-Encoding"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "chunk 0 has a bad size"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n", "chunk 0 is cut short"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n", "chunk 1 has no size"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nab\r\n",
       "chunk 0 is cut short"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n", "does not end"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.raw);
    auto r = ParseHttpResponse(c.raw);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kIoError);
    EXPECT_EQ(r.status().ErrnoValue(), ECONNRESET);
    EXPECT_NE(r.status().message().find(c.says), std::string::npos) << r.status().ToString();
  }
}

}  // namespace
}  // namespace hoodyfs::cli
