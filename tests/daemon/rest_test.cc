// The REST API (docs/api.md) through a real HTTP client (libcurl) against a
// running daemon: every path, every error code, the bearer token on TCP, the
// Unix socket's mode, and one daemon per store.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/api/http_client.h"
#include "tests/daemon/rest_fixture.h"

namespace hoodyfs::testing {
namespace {

using cli::HttpClient;
using cli::HttpEndpoint;
using nlohmann::json;

constexpr char kSnaps[] = "/api/v1/containers/web1/snapshots";

TEST_F(RestTest, EveryPathOfTheBrief) {
  Expect(201, "POST", "/api/v1/containers", R"({"name": "web1"})");
  // POST snapshots -> 201 + snapshot JSON
  const json created =
      Expect(201, "POST", kSnaps, R"({"alias": "pre-deploy-v2.1.0", "expiry": 30})");
  EXPECT_EQ(created["alias"], "pre-deploy-v2.1.0");
  EXPECT_FALSE(created["expires"].is_null());
  const std::string name = created["name"];
  Expect(201, "POST", kSnaps, "");  // an empty body: no alias, permanent
  // Without waiting for durability: taken, listed, durable with the next commit.
  const json unsynced = Expect(201, "POST", kSnaps, R"({"alias": "quick", "sync": false})");
  EXPECT_EQ(Expect(200, "GET", std::string(kSnaps) + "/quick")["name"], unsynced["name"]);
  Expect(204, "DELETE", std::string(kSnaps) + "/quick");
  // GET list, GET one (by name and alias).
  const json list = Expect(200, "GET", kSnaps);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["name"], name);
  const json one = Expect(200, "GET", std::string(kSnaps) + "/pre-deploy-v2.1.0");
  EXPECT_EQ(one["name"], name);
  EXPECT_EQ(one["exclusive_bytes"], 0);
  // PATCH restores (empty body, or {}). The replaced head wrote nothing
  // since the snapshot it started from, so no pre-restore copy is kept.
  const json restored = Expect(200, "PATCH", std::string(kSnaps) + "/" + name);
  EXPECT_TRUE(restored.contains("saved_head"));
  EXPECT_TRUE(restored["saved_head"].is_null());
  Expect(200, "PATCH", std::string(kSnaps) + "/" + name, "{}");
  const json discarded =
      Expect(200, "PATCH", std::string(kSnaps) + "/" + name, R"({"discard_head": true})");
  EXPECT_TRUE(discarded["saved_head"].is_null());
  // PUT changes alias and expiry.
  const json set = Expect(200, "PUT", std::string(kSnaps) + "/pre-deploy-v2.1.0",
                          R"({"alias": "v2.1.0-stable", "expiry": "never"})");
  EXPECT_EQ(set["alias"], "v2.1.0-stable");
  EXPECT_TRUE(set["expires"].is_null());
  // POST copy (the project recorded, given by the brief's name for it), GET diff.
  const json copy = Expect(201, "POST", "/api/v1/containers/web1/copy",
                           R"({"target_project_id": "p-42", "name": "alice-dev",
                               "source_snapshot": "v2.1.0-stable"})");
  EXPECT_EQ(copy["project"], "p-42");
  EXPECT_EQ(copy["origin"], "web1@" + name);
  const json copy2 = Expect(201, "POST", "/api/v1/containers/web1/copy",
                            R"({"project": "p-43", "name": "bob-dev",
                                "source_snapshot": "v2.1.0-stable"})");
  EXPECT_EQ(copy2["project"], "p-43");
  Expect(204, "DELETE", "/api/v1/containers/bob-dev");
  const json diff = Expect(200, "GET", "/api/v1/containers/web1/diff?from=v2.1.0-stable");
  EXPECT_TRUE(diff["changes"].is_array());
  Expect(200, "GET", "/api/v1/containers/alice-dev/diff?from=web1%40v2.1.0-stable&to=alice-dev%40");
  // DELETE -> 204, and the space comes back.
  Expect(204, "DELETE", std::string(kSnaps) + "/" + list[1]["name"].get<std::string>());
  // Two creates (the restores kept no unchanged head), less the one deleted.
  EXPECT_EQ(Expect(200, "GET", kSnaps).size(), 1u);
  const json gc = Expect(200, "POST", "/api/v1/gc");
  EXPECT_TRUE(gc.contains("bytes_freed"));
  Expect(200, "GET", "/api/v1/containers/alice-dev");
  Expect(204, "DELETE", "/api/v1/containers/alice-dev");
  EXPECT_EQ(Expect(200, "GET", "/api/v1/containers").size(), 1u);
}

// The background scrub: none before the first, a strict body, 202 with
// its status, followed by GET to its end (polled: it runs on its own
// thread), then nothing left to cancel.
TEST_F(RestTest, ScrubRunsInTheBackgroundAndIsFollowedByGet) {
  ExpectError(404, "not_found", "no scrub has run", "GET", "/api/v1/scrub");
  ExpectError(404, "not_found", "no scrub is running", "DELETE", "/api/v1/scrub");
  ExpectError(400, "invalid_argument", "unknown field 'colour'", "POST", "/api/v1/scrub",
              R"({"colour": 1})");
  ExpectError(400, "invalid_argument", "field 'max_rate' must be a positive", "POST",
              "/api/v1/scrub", R"({"max_rate": -5})");
  ExpectError(405, "method_not_allowed", "PUT is not allowed", "PUT", "/api/v1/scrub");
  Expect(201, "POST", "/api/v1/containers", R"({"name": "web1"})");
  const json started = Expect(202, "POST", "/api/v1/scrub", R"({"max_rate": 1000000000})");
  EXPECT_EQ(started["state"], "running");
  json status = Expect(200, "GET", "/api/v1/scrub");
  while (status["state"] == "running") status = Expect(200, "GET", "/api/v1/scrub");
  EXPECT_EQ(status["state"], "done") << status.dump();
  EXPECT_EQ(status["blocks_damaged"], 0);
  EXPECT_EQ(status["blocks_checked"], status["blocks_total"]);
  EXPECT_TRUE(status["damaged"].empty());
  ExpectError(404, "not_found", "no scrub is running", "DELETE", "/api/v1/scrub");
  // Another may start once that one is done.
  Expect(202, "POST", "/api/v1/scrub");
}

TEST_F(RestTest, ErrorsNameTheProblemAndChangeNothing) {
  Expect(201, "POST", "/api/v1/containers", R"({"name": "web1"})");
  Expect(201, "POST", kSnaps, R"({"alias": "taken"})");
  const std::string before = Send("GET", kSnaps).body;
  // 400: malformed JSON, unknown field, bad values.
  ExpectError(400, "invalid_argument", "malformed JSON", "POST", kSnaps, "{nope");
  ExpectError(400, "invalid_argument", "must be a JSON object", "POST", kSnaps, "[1]");
  ExpectError(400, "invalid_argument", "unknown field 'colour'", "POST", kSnaps,
              R"({"colour": "red"})");
  ExpectError(400, "invalid_argument", "positive whole number", "POST", kSnaps,
              R"({"expiry": -1})");
  ExpectError(400, "invalid_argument", "positive whole number", "POST", kSnaps,
              R"({"expiry": "7"})");
  ExpectError(400, "invalid_argument", "positive whole number", "POST", kSnaps,
              R"({"expiry": 1.5})");
  ExpectError(400, "invalid_argument", "field 'alias' must be a string", "POST", kSnaps,
              R"({"alias": 7})");
  ExpectError(400, "invalid_argument", "field 'sync' must be true or false", "POST", kSnaps,
              R"({"sync": "no"})");
  ExpectError(400, "invalid_argument", "may hold only", "POST", kSnaps, R"({"alias": "a/b"})");
  ExpectError(400, "invalid_argument", "form of a snapshot name", "POST", kSnaps,
              R"({"alias": "snap-20260304-103000"})");
  ExpectError(400, "invalid_argument", "'from' is required", "GET", "/api/v1/containers/web1/diff");
  ExpectError(400, "invalid_argument", "'source_snapshot' is required", "POST",
              "/api/v1/containers/web1/copy", R"({"name": "x"})");
  ExpectError(400, "invalid_argument", "not both", "POST", "/api/v1/containers/web1/copy",
              R"({"name": "x", "source_snapshot": "taken", "project": "a",
                  "target_project_id": "b"})");
  ExpectError(400, "invalid_argument", "unknown field", "PATCH", std::string(kSnaps) + "/taken",
              R"({"force": true})");
  // 404: unknown container, snapshot, path.
  ExpectError(404, "not_found", "no container named 'nope'", "GET",
              "/api/v1/containers/nope/snapshots");
  ExpectError(404, "not_found", "no snapshot named or aliased 'gone'", "GET",
              std::string(kSnaps) + "/gone");
  ExpectError(404, "not_found", "no snapshot", "PATCH", std::string(kSnaps) + "/gone");
  ExpectError(404, "not_found", "no snapshot", "DELETE", std::string(kSnaps) + "/gone");
  ExpectError(404, "not_found", "no such API path", "GET", "/api/v2/things");
  // 409: duplicate alias, existing container, busy.
  ExpectError(409, "conflict", "alias 'taken' is already used", "POST", kSnaps,
              R"({"alias": "taken"})");
  ExpectError(409, "conflict", "already exists", "POST", "/api/v1/containers",
              R"({"name": "web1"})");
  ExpectError(409, "conflict", "already exists", "POST", "/api/v1/containers/web1/copy",
              R"({"name": "web1", "source_snapshot": "taken"})");
  // 405: a method the path does not take.
  ExpectError(405, "method_not_allowed", "not allowed", "PUT", kSnaps, "{}");
  EXPECT_EQ(Send("GET", kSnaps).body, before) << "a refused request changed the snapshots";
}

// GET .../snapshots?after=NAME&limit=N: pages that follow "next" (a
// position, NAME@CREATED_NS) to the end give the unpaginated array's
// snapshots, once each, in order, also after the snapshot a "next" names
// is deleted; a bad parameter is a 400 that names it.
TEST_F(RestTest, SnapshotListPages) {
  Expect(201, "POST", "/api/v1/containers", R"({"name": "web1"})");
  for (int i = 0; i < 5; ++i) Expect(201, "POST", kSnaps, "");
  const json whole = Expect(200, "GET", kSnaps);
  ASSERT_TRUE(whole.is_array());
  ASSERT_EQ(whole.size(), 5u);

  json paged = json::array();
  std::string target = std::string(kSnaps) + "?limit=2";
  std::vector<size_t> sizes;
  for (int pages = 0; pages < 10; ++pages) {
    const json page = Expect(200, "GET", target);
    ASSERT_TRUE(page.is_object() && page["snapshots"].is_array()) << page.dump();
    sizes.push_back(page["snapshots"].size());
    for (const json& s : page["snapshots"]) paged.push_back(s);
    if (page["next"].is_null()) break;
    const json& last = page["snapshots"].back();
    EXPECT_EQ(page["next"], last["name"].get<std::string>() + "@" +
                                std::to_string(last["created_ns"].get<int64_t>()));
    target = std::string(kSnaps) + "?limit=2&after=" + page["next"].get<std::string>();
  }
  EXPECT_EQ(sizes, (std::vector<size_t>{2, 2, 1}));
  EXPECT_EQ(paged, whole);

  // `after` alone: the rest, up to the default page of 1000.
  const json rest =
      Expect(200, "GET", std::string(kSnaps) + "?after=" + whole[2]["name"].get<std::string>());
  ASSERT_EQ(rest["snapshots"].size(), 2u);
  EXPECT_EQ(rest["snapshots"][0], whole[3]);
  EXPECT_TRUE(rest["next"].is_null());
  EXPECT_EQ(Expect(200, "GET", std::string(kSnaps) + "?limit=10000")["snapshots"].size(), 5u);

  for (const char* bad : {"0", "-1", "10001", "abc", "2x", "", "99999999999999999999"}) {
    SCOPED_TRACE(bad);
    ExpectError(400, "invalid_argument",
                "query parameter 'limit' must be a whole number from 1 to 10000", "GET",
                std::string(kSnaps) + "?limit=" + bad);
  }
  ExpectError(400, "invalid_argument",
              "after: container 'web1' has no snapshot named 'snap-20000101-000000'", "GET",
              std::string(kSnaps) + "?after=snap-20000101-000000");
  ExpectError(400, "invalid_argument", "query parameter 'after' is empty", "GET",
              std::string(kSnaps) + "?after=");
  ExpectError(400, "invalid_argument", "query parameter 'after'", "GET",
              std::string(kSnaps) + "?after=a%2Fb");
  ExpectError(400, "invalid_argument", "query parameter 'after' 'snap-1@...': a position's time",
              "GET", std::string(kSnaps) + "?after=snap-1@x");
  ExpectError(404, "not_found", "no container named 'nope'", "GET",
              "/api/v1/containers/nope/snapshots?limit=5");
  // A page's last snapshot deleted: its "next" goes on where it was; the
  // bare name has nothing to start after.
  const json first = Expect(200, "GET", std::string(kSnaps) + "?limit=2");
  Expect(204, "DELETE", std::string(kSnaps) + "/" + whole[1]["name"].get<std::string>());
  const json after_gone =
      Expect(200, "GET", std::string(kSnaps) + "?after=" + first["next"].get<std::string>());
  ASSERT_EQ(after_gone["snapshots"].size(), 3u);
  EXPECT_EQ(after_gone["snapshots"][0]["name"], whole[2]["name"]);
  ExpectError(400, "invalid_argument", "has no snapshot named", "GET",
              std::string(kSnaps) + "?after=" + whole[1]["name"].get<std::string>());
}

TEST_F(RestTest, TcpNeedsTheBearerToken) {
  std::ifstream in(store_ + "/daemon.listen");
  std::string address;
  in >> address;
  ASSERT_FALSE(address.empty()) << "the daemon did not record its TCP address";
  HttpEndpoint no_token;
  no_token.base_url = "http://" + address;
  HttpEndpoint wrong = no_token;
  wrong.token = "guess";
  HttpEndpoint right = no_token;
  right.token = kRestToken;
  auto r = HttpClient(no_token).Send("GET", "/api/v1/containers");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 401);
  EXPECT_NE(r->body.find("\"unauthorized\""), std::string::npos) << r->body;
  r = HttpClient(wrong).Send("POST", "/api/v1/containers", R"({"name": "x"})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 401);
  EXPECT_NE(r->body.find("wrong bearer token"), std::string::npos) << r->body;
  r = HttpClient(right).Send("POST", "/api/v1/containers", R"({"name": "x"})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 201) << r->body;
  // The Unix socket needs none, and only the owner may connect to it.
  EXPECT_EQ(Send("GET", "/api/v1/containers").status, 200);
  struct stat st;
  ASSERT_EQ(::stat((store_ + "/hoodyfs.sock").c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(RestTest, TheDocumentedCurlCommandsWork) {
  const std::string sock = store_ + "/hoodyfs.sock";
  Ok(Snap({"containers", "create", "prod"}));
  const CommandResult created =
      RunCommand("/usr/bin/curl", {"-s", "--unix-socket", sock, "-X", "POST",
                                   "http://localhost/api/v1/containers/prod/snapshots", "-d",
                                   R"({"alias": "pre-deploy-v2.1.0", "expiry": 30})"});
  ASSERT_EQ(created.exit_code, 0) << created.Describe();
  EXPECT_NE(created.out.find("\"alias\":\"pre-deploy-v2.1.0\""), std::string::npos) << created.out;
  const CommandResult restored =
      RunCommand("/usr/bin/curl", {"-s", "-o", "/dev/null", "-w", "%{http_code}", "--unix-socket",
                                   sock, "-X", "PATCH",
                                   "http://localhost/api/v1/containers/prod/snapshots/"
                                   "pre-deploy-v2.1.0"});
  EXPECT_EQ(restored.out, "200") << restored.Describe();
}

TEST_F(RestTest, OneDaemonPerStore) {
  const CommandResult second = Hoodyfs({"serve"});
  EXPECT_EQ(second.exit_code, 5) << second.Describe();
  EXPECT_NE(second.err.find("in use by another process"), std::string::npos) << second.Describe();
  // hoodyfs-snap goes through the running daemon; fsck says who holds the store.
  EXPECT_EQ(Snap({"containers", "create", "via-daemon"}).exit_code, 0);
  const CommandResult fsck = Hoodyfs({"fsck"});
  EXPECT_EQ(fsck.exit_code, 5) << fsck.Describe();
  EXPECT_NE(fsck.err.find("served by its daemon (pid " + std::to_string(daemon_pid()) + ")"),
            std::string::npos)
      << fsck.Describe();
}

}  // namespace
}  // namespace hoodyfs::testing
