// RestTest: a DaemonTest whose daemon also listens on loopback TCP with a
// bearer token, and helpers that send requests over the Unix socket and
// check the answers.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cli/api/http_client.h"
#include "tests/daemon/daemon_fixture.h"

namespace hoodyfs::testing {

// 32 bytes: the shortest token the daemon accepts.
inline constexpr char kRestToken[] = "s3cret-token-s3cret-token-s3cret";

class RestTest : public DaemonTest {
 protected:
  void SetUp() override {
    DaemonTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    token_file_ = dir_->File("token");
    std::ofstream(token_file_) << kRestToken << "\n";
    ::chmod(token_file_.c_str(), 0600);
    StartDaemon({"--listen", "127.0.0.1:0", "--token-file", token_file_});
    client_.emplace(cli::UnixEndpoint(store_ + "/hoodyfs.sock"));
  }
  cli::HttpResponse Send(const std::string& method, const std::string& target,
                         const std::string& body = "") {
    auto r = client_->Send(method, target, body);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : cli::HttpResponse{0, ""};
  }
  // Sends and checks the status; returns the parsed body (null for none).
  nlohmann::json Expect(int status, const std::string& method, const std::string& target,
                        const std::string& body = "") {
    const cli::HttpResponse r = Send(method, target, body);
    EXPECT_EQ(r.status, status) << method << " " << target << " " << body << " -> " << r.body;
    if (r.body.empty()) return nullptr;
    nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.body;
    return j;
  }
  // An error answer: its status, code and a message naming the problem.
  void ExpectError(int status, const std::string& code, const std::string& message_has,
                   const std::string& method, const std::string& target,
                   const std::string& body = "") {
    const nlohmann::json j = Expect(status, method, target, body);
    ASSERT_TRUE(j.is_object() && j.contains("error")) << j.dump();
    EXPECT_EQ(j["error"]["code"], code) << j.dump();
    EXPECT_NE(j["error"]["message"].get<std::string>().find(message_has), std::string::npos)
        << j.dump();
  }

  std::string token_file_;
  std::optional<cli::HttpClient> client_;
};

}  // namespace hoodyfs::testing
