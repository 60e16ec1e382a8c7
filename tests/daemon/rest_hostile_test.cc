// The REST API against hostile clients (issue 10): request targets that try
// to route somewhere else once decoded, bodies too large or ambiguous,
// tokens in every spelling, mountpoints over the host or the store, and
// more TCP connections than the daemon has descriptors. Each test failed
// on main 3739b31; each checks that nothing was changed by the refusal.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "cli/api/http_client.h"
#include "tests/daemon/rest_fixture.h"

namespace hoodyfs::testing {
namespace {

using nlohmann::json;

// POSTs the contents of `file` with the curl program, as a user would (it
// asks "Expect: 100-continue" before a large body); returns the HTTP status
// curl saw, or what it printed when it saw none.
std::string CurlPostStatus(const std::vector<std::string>& target_args, const std::string& file) {
  std::vector<std::string> args = {"-s", "-o",   "/dev/null",     "-w",      "%{http_code}",
                                   "-X", "POST", "--data-binary", "@" + file};
  args.insert(args.end(), target_args.begin(), target_args.end());
  const CommandResult r = RunCommand("/usr/bin/curl", args);
  return r.out.empty() ? r.Describe() : r.out;
}

class RestHostileTest : public RestTest {
 protected:
  void SetUp() override {
    RestTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    Expect(201, "POST", "/api/v1/containers", R"({"name": "victim"})");
    Expect(201, "POST", "/api/v1/containers/victim/snapshots", R"({"alias": "keep"})");
  }
  // The victim container and its snapshot are both still there.
  void ExpectVictimIntact() {
    Expect(200, "GET", "/api/v1/containers/victim");
    Expect(200, "GET", "/api/v1/containers/victim/snapshots/keep");
  }
  std::string socket() const { return store_ + "/hoodyfs.sock"; }
  std::string TcpAddress() {
    std::ifstream in(store_ + "/daemon.listen");
    std::string address;
    in >> address;
    EXPECT_FALSE(address.empty()) << "the daemon did not record its TCP address";
    return address;
  }
  // A file of `size` bytes of JSON-ish text, too large for any body.
  std::string HugeBodyFile(size_t size) {
    const std::string path = dir().File("huge-body");
    std::ofstream(path) << R"({"alias": ")" << std::string(size, 'a') << R"("})";
    return path;
  }
};

TEST_F(RestHostileTest, ANulInThePathDeletesNothing) {
  // Decoded by the HTTP library, this was "DELETE /api/v1/containers/victim".
  ExpectError(400, "invalid_argument", "NUL", "DELETE",
              "/api/v1/containers/victim%00/snapshots/keep");
  ExpectError(400, "invalid_argument", "NUL", "GET", "/api/v1/containers/victim%00x/snapshots");
  ExpectError(400, "invalid_argument", "NUL", "DELETE", "/api/v1/containers/victim%00");
  ExpectVictimIntact();
}

TEST_F(RestHostileTest, PathSegmentsAreValidatedWhole) {
  ExpectError(400, "invalid_argument", "holding '/'", "DELETE",
              "/api/v1/containers/victim%2Fsnapshots%2Fkeep");
  ExpectError(400, "invalid_argument", "two hex digits", "GET", "/api/v1/containers/vic%zztim");
  ExpectError(400, "invalid_argument", "container name", "GET", "/api/v1/containers/%2E%2E");
  ExpectError(400, "invalid_argument", "container name 'a b'", "GET",
              "/api/v1/containers/a%20b/snapshots");
  ExpectError(400, "invalid_argument", "snapshot name or alias", "DELETE",
              "/api/v1/containers/victim/snapshots/k%20eep");
  ExpectError(400, "invalid_argument", "NUL", "GET", "/api/v1/containers/victim/diff?from=keep%00");
  // A path that matches no route exactly is 404, never a shorter route.
  ExpectError(404, "not_found", "no such API path", "DELETE",
              "/api/v1/containers/victim/snapshots/keep/extra");
  ExpectError(404, "not_found", "no such API path", "DELETE", "/api/v1/containers/victim/x");
  // Escapes of ordinary characters still route as before.
  Expect(200, "GET", "/api/v1/containers/vic%74im/snapshots/%6beep");
  ExpectVictimIntact();
}

TEST_F(RestHostileTest, BodiesAreBoundedStrictAndNotEchoed) {
  const std::string snaps = "/api/v1/containers/victim/snapshots";
  const std::string before = Send("GET", snaps).body;
  // Over the cap: 413, told from Content-Length before the body is read.
  EXPECT_EQ(CurlPostStatus({"--unix-socket", socket(), "http://localhost" + snaps},
                           HugeBodyFile(size_t{2} << 20)),
            "413");
  // Blanks are not an empty body; only no body at all is.
  ExpectError(400, "invalid_argument", "malformed JSON", "POST", snaps, std::string(1000, ' '));
  // The same key twice is ambiguous: refused.
  ExpectError(400, "invalid_argument", "duplicate key 'alias'", "POST", snaps,
              R"({"alias": "one", "alias": "two"})");
  ExpectError(400, "invalid_argument", "duplicate key 'x'", "POST", "/api/v1/mounts",
              R"({"container": "victim", "mountpoint": "/mnt", "options": [], "create": false,
                  "snapshot": null, "x": {"x": 1}, "x": 2})");
  // A long bad value is quoted in part, not echoed whole.
  const std::string long_alias = std::string(100000, '/');
  const cli::HttpResponse r = Send("POST", snaps, R"({"alias": ")" + long_alias + R"("})");
  EXPECT_EQ(r.status, 400) << r.body.substr(0, 300);
  EXPECT_LT(r.body.size(), 2048u) << "the error echoed the request";
  EXPECT_EQ(Send("GET", snaps).body, before) << "a refused request changed the snapshots";
}

TEST_F(RestHostileTest, TheTokenIsCheckedBeforeTheBodyAndInAnySpelling) {
  const std::string address = TcpAddress();
  // Without the token, a body over the cap is 401, not 413: never read.
  EXPECT_EQ(
      CurlPostStatus({"http://" + address + "/api/v1/containers"}, HugeBodyFile(size_t{2} << 20)),
      "401");
  // The scheme is case-insensitive (RFC 9110); the token is not.
  const std::string curl = "/usr/bin/curl";
  for (const char* scheme : {"bearer", "BEARER", "Bearer"}) {
    const CommandResult c =
        RunCommand(curl, {"-s", "-o", "/dev/null", "-w", "%{http_code}", "-H",
                          std::string("Authorization: ") + scheme + " " + kRestToken,
                          "http://" + address + "/api/v1/containers"});
    EXPECT_EQ(c.out, "200") << scheme << ": " << c.Describe();
  }
  std::string upper_token = kRestToken;
  upper_token[0] = 'S';
  const CommandResult wrong = RunCommand(
      curl, {"-s", "-o", "/dev/null", "-w", "%{http_code}", "-H",
             "Authorization: Bearer " + upper_token, "http://" + address + "/api/v1/containers"});
  EXPECT_EQ(wrong.out, "401") << wrong.Describe();
}

TEST_F(RestHostileTest, WeakOrExposedTokensAreRefusedAtStart) {
  StopDaemon();
  const std::string exposed = dir().File("exposed-token");
  std::ofstream(exposed) << kRestToken << "\n";
  ::chmod(exposed.c_str(), 0644);
  CommandResult r = Hoodyfs({"serve", "--listen", "127.0.0.1:0", "--token-file", exposed});
  EXPECT_NE(r.exit_code, 0) << r.Describe();
  EXPECT_NE(r.err.find("chmod 600"), std::string::npos) << r.Describe();
  const std::string short_token = dir().File("short-token");
  std::ofstream(short_token) << "s3cret\n";
  ::chmod(short_token.c_str(), 0600);
  r = Hoodyfs({"serve", "--listen", "127.0.0.1:0", "--token-file", short_token});
  EXPECT_NE(r.exit_code, 0) << r.Describe();
  EXPECT_NE(r.err.find("at least 32 are needed"), std::string::npos) << r.Describe();
  EXPECT_NE(r.err.find("/dev/urandom"), std::string::npos) << r.Describe();
}

TEST_F(RestHostileTest, MountpointsOverTheHostOrTheStoreAreRefused) {
  const std::string inside = store_ + "/inside";
  ASSERT_EQ(::mkdir(inside.c_str(), 0755), 0);
  const std::string link = dir().File("link-to-etc");
  ASSERT_EQ(::symlink("/etc", link.c_str()), 0);
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"/", "the host's root"},         {"/etc", "system directory"},
      {"/usr/lib", "system directory"}, {link, "system directory"},
      {"/proc/self", "inside /proc"},   {store_, "would hide the store"},
      {inside, "would hide the store"}, {dir().path(), "would hide the store"},
  };
  for (const auto& [mountpoint, why] : refused) {
    const json body = {{"container", "victim"}, {"mountpoint", mountpoint}};
    ExpectError(400, "invalid_argument", why, "POST", "/api/v1/mounts", body.dump());
  }
  EXPECT_EQ(Expect(200, "GET", "/api/v1/mounts").size(), 0u);
  // The command line says the same.
  const CommandResult r = Hoodyfs({"mount", "-c", "victim", "/etc"});
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_NE(r.err.find("system directory"), std::string::npos) << r.Describe();
}

TEST_F(RestHostileTest, TcpConnectionsCannotStarveTheUnixSocket) {
  // More connections than a process has descriptors by default (1024):
  // unlimited, they took the daemon's last descriptor and the Unix socket
  // answered "connection reset".
  constexpr int kConnections = 1100;
  rlimit limit;
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
  if (limit.rlim_max < kConnections + 100) GTEST_SKIP() << "descriptor hard limit too low";
  const rlimit raised{limit.rlim_max, limit.rlim_max};
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &raised), 0);
  const std::string address = TcpAddress();
  const uint16_t port = static_cast<uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::vector<UniqueFd> idle;
  for (int i = 0; i < kConnections; ++i) {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    ASSERT_TRUE(fd.valid()) << std::strerror(errno);
    const int rc = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ASSERT_TRUE(rc == 0 || errno == EINPROGRESS) << std::strerror(errno);
    idle.push_back(std::move(fd));
  }
  // The owner's way in still answers, every time.
  for (int i = 0; i < 20; ++i) Expect(200, "GET", "/api/v1/containers/victim/snapshots");
  Ok(Snap({"list", "-c", "victim"}));
  idle.clear();
  ::setrlimit(RLIMIT_NOFILE, &limit);
}

}  // namespace
}  // namespace hoodyfs::testing
