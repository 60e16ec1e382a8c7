// hoodyfs-snap-remote delete and gc against a real Ceph RADOS Gateway:
// delete removes exactly one snapshot; gc removes exactly the chunks no
// manifest names any more, and none a concurrent push relies on. The
// concurrency cases are placed by test hooks, not by timing: a gc runs at
// the point of a push between its last chunk and its manifest (and a push
// inside a gc's window), through HOODYFS_TEST_RUN_AT.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "snapshotter/remote/manifest.h"
#include "snapshotter/remote/s3_client.h"
#include "tests/remote/remote_cli_fixture.h"

namespace hoodyfs::testing {
namespace {

using nlohmann::json;

class DeleteGcTest : public RemoteCliTest {
 protected:
  json Json(const CommandResult& r) {
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    json j = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.Describe();
    return j;
  }
  json Gc(std::vector<std::string> flags) {
    flags.insert(flags.begin(), {"gc", "--json"});
    return Json(Remote(a_, flags));
  }
  size_t ChunkCount() {
    auto client = remote::S3Client::Create(config_);
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    if (!client.ok()) return 0;
    Result<std::vector<remote::S3Object>> chunks = (*client)->ListAll("chunks/");
    EXPECT_TRUE(chunks.ok()) << chunks.status().ToString();
    return chunks.ok() ? chunks->size() : 0;
  }
  // MakeTree plus 2 MiB of its own (seed `own`): two chunks no other tree has.
  std::string TreeWithOwnData(const std::string& name, uint32_t shared, uint32_t own) {
    const std::string root = MakeTree(name, shared);
    std::mt19937 rng(own);
    std::string data(2 << 20, '\0');
    for (char& c : data) c = static_cast<char>(rng());
    Write(root + "/own", data);
    return root;
  }
  // Pulls container@name into store B as `into` and compares the trees.
  void PullsWhole(const std::string& container, const std::string& name,
                  const std::string& into = "") {
    const std::string target = into.empty() ? container : into;
    Ok(Remote(b_, {"pull", "-c", target, "--source", container, "--name", name}));
    std::string diffs;
    for (const std::string& d : Diff(a_, container, b_, target, name)) diffs += d + "\n";
    EXPECT_EQ(diffs, "") << container << "@" << name;
  }
  // A shell command line running hoodyfs-snap-remote from a test hook: the
  // remote's settings are inherited, the hook settings are not.
  static std::string RemoteCommandLine(const std::vector<std::string>& args) {
    std::string line = "env -u HOODYFS_TEST_RUN_AT -u HOODYFS_TEST_RUN -u HOODYFS_TEST_KILL_AT '" +
                       HoodyfsSnapBinary() + "-remote'";
    for (const std::string& a : args) line += " '" + a + "'";
    return line;
  }
};

TEST_F(DeleteGcTest, DeleteRemovesExactlyThatSnapshot) {
  ContainerWithSnapshot("web1", MakeTree("tree1", 1), "first");
  ContainerWithSnapshot("web2", MakeTree("tree2", 2), "other");
  const std::string first = PushJson("web1", "first")["name"];
  const std::string other = PushJson("web2", "other")["name"];
  const size_t chunks = ChunkCount();

  // By alias; the alias object goes with it.
  const json gone = Json(Remote(a_, {"delete", "-c", "web1", "--name", "first", "--json"}));
  EXPECT_EQ(gone["name"], first);
  EXPECT_EQ(gone["manifest"], remote::ManifestKey("web1", first));
  EXPECT_EQ(gone["aliases"], json::array({remote::AliasKey("web1", "first")}));
  EXPECT_EQ(Ok(Remote(a_, {"list"})), "web2@" + other + "\n");
  EXPECT_EQ(ChunkCount(), chunks) << "delete leaves chunks to gc";
  const CommandResult pull = Remote(b_, {"pull", "-c", "web1", "--name", "first"});
  EXPECT_EQ(pull.exit_code, 3) << pull.Describe();
  const CommandResult by_name = Remote(b_, {"pull", "-c", "web1", "--name", first});
  EXPECT_EQ(by_name.exit_code, 3) << by_name.Describe();
  PullsWhole("web2", other);

  // Again: not found, by name and by alias, also through hoodyfs-snap.
  for (const std::string& n : {first, std::string("first")}) {
    const CommandResult again =
        RunCommand(HoodyfsSnapBinary(), {"remote", "delete", "-c", "web1", "--name", n}, env_);
    EXPECT_EQ(again.exit_code, 3) << again.Describe();
    EXPECT_NE(again.err.find("delete web1@" + n), std::string::npos) << again.Describe();
    EXPECT_NE(again.err.find("remote holds no snapshot " + n + " of container web1"),
              std::string::npos)
        << again.Describe();
  }
  // Names that would reach other keys are refused before any request.
  for (const std::string& n : {std::string(".."), std::string("../web2/") + other}) {
    const CommandResult bad = Remote(a_, {"delete", "-c", "web1", "--name", n});
    EXPECT_EQ(bad.exit_code, 2) << bad.Describe();
  }
  const CommandResult bad_container = Remote(a_, {"delete", "-c", "..", "--name", other});
  EXPECT_EQ(bad_container.exit_code, 2) << bad_container.Describe();
  EXPECT_EQ(Ok(Remote(a_, {"list"})), "web2@" + other + "\n");
  PullsWhole("web2", other, "web2-again");
}

TEST_F(DeleteGcTest, GcRemovesOnlyTheChunksUniqueToTheDeletedSnapshot) {
  // The same big file, hole and empty file; each its own hostname and 2 MiB.
  ContainerWithSnapshot("web1", TreeWithOwnData("tree1", 5, 100), "v1");
  ContainerWithSnapshot("web2", TreeWithOwnData("tree2", 5, 200), "v1");
  const json one = PushJson("web1", "v1");
  const json two = PushJson("web2", "v1");
  const size_t all = ChunkCount();
  const size_t unique_to_one = all - two["distinct_chunks"].get<size_t>();
  EXPECT_EQ(unique_to_one, 3u) << "hostname and 2 MiB of its own: " << one.dump() << two.dump();

  // Everything referenced: nothing to do.
  json gc = Gc({"--grace", "0s"});
  EXPECT_EQ(gc["chunks"], all);
  EXPECT_EQ(gc["referenced"], all);
  EXPECT_EQ(gc["deleted"], 0);

  Ok(Remote(a_, {"delete", "-c", "web1", "--name", "v1"}));
  // With the default grace of a day, the fresh chunks stay.
  gc = Gc({});
  EXPECT_EQ(gc["grace_seconds"], 86400);
  EXPECT_EQ(gc["unreferenced"], unique_to_one);
  EXPECT_EQ(gc["kept_young"], unique_to_one);
  EXPECT_EQ(gc["deleted"], 0);
  EXPECT_EQ(ChunkCount(), all);
  // A dry run counts and deletes nothing.
  gc = Gc({"--grace", "0s", "--dry-run"});
  EXPECT_EQ(gc["deleted"], unique_to_one);
  EXPECT_EQ(gc["dry_run"], true);
  EXPECT_GE(gc["bytes_deleted"].get<uint64_t>(), 2u << 20);
  EXPECT_EQ(ChunkCount(), all);

  gc = Gc({"--grace", "0s"});
  EXPECT_EQ(gc["manifests"], 1);
  EXPECT_EQ(gc["deleted"], unique_to_one);
  EXPECT_EQ(gc["referenced"], two["distinct_chunks"]);
  EXPECT_EQ(ChunkCount(), two["distinct_chunks"].get<size_t>());
  EXPECT_EQ(Gc({"--grace", "0s"})["deleted"], 0);
  PullsWhole("web2", two["name"]);

  // Pushing the deleted snapshot again uploads exactly what gc took.
  const json again = PushJson("web1", "v1");
  EXPECT_EQ(again["chunks_uploaded"], unique_to_one) << again.dump();
  PullsWhole("web1", again["name"]);
}

TEST_F(DeleteGcTest, GcOfAnEmptyBucketAndBadFlags) {
  const json gc = Gc({});
  for (const char* field : {"manifests", "chunks", "deleted", "kept_young", "foreign_keys"}) {
    EXPECT_EQ(gc[field], 0) << field << ": " << gc.dump();
  }
  const std::string text = Ok(Remote(a_, {"gc", "--grace", "0s"}));
  EXPECT_NE(text.find("deleted 0 of 0 chunks"), std::string::npos) << text;
  for (const char* grace : {"", "1w", "-1h", "soon"}) {
    const CommandResult bad = Remote(a_, {"gc", "--grace", grace});
    EXPECT_EQ(bad.exit_code, 2) << bad.Describe();
    EXPECT_NE(bad.err.find("grace"), std::string::npos) << bad.Describe();
  }
  // A key under chunks/ that is not a chunk name, and a damaged manifest.
  auto client = remote::S3Client::Create(config_);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  ASSERT_TRUE((*client)->Put("chunks/README", "not a chunk").ok());
  EXPECT_EQ(Gc({"--grace", "0s"})["foreign_keys"], 1);
  ASSERT_TRUE((*client)->Put(remote::ChunkKey(std::string(64, 'a')), "orphan").ok());
  // A good header, then an unknown tag.
  const std::string broken_manifest = std::string("HOODYMAN\x01\x00\x00\x00", 12) + "junk";
  ASSERT_TRUE((*client)->Put(remote::ManifestKey("web1", "broken"), broken_manifest).ok());
  const CommandResult broken = Remote(a_, {"gc", "--grace", "0s"});
  EXPECT_EQ(broken.exit_code, 7) << broken.Describe();
  EXPECT_NE(broken.err.find("manifest manifests/web1/broken"), std::string::npos)
      << broken.Describe();
  EXPECT_EQ(ChunkCount(), 2u) << "a gc that cannot read every manifest deletes nothing";
}

// A gc runs in the window between a push's last chunk and its manifest
// (placed there by the hook remote-chunks-written): with the grace, every
// chunk of the push is younger than it and stays, and the push completes
// whole.
TEST_F(DeleteGcTest, AGcBetweenAPushsChunksAndItsManifestKeepsThem) {
  ContainerWithSnapshot("web1", MakeTree("tree1", 21), "first");
  const std::string out = dir_.File("gc.json");
  std::vector<std::string> env = env_;
  env.push_back("HOODYFS_TEST_RUN_AT=remote-chunks-written");
  env.push_back("HOODYFS_TEST_RUN=" + RemoteCommandLine({"gc", "--json"}) + " > '" + out + "'");
  const json pushed = Json(RunCommand(
      HoodyfsSnapBinary() + "-remote",
      {"--store", a_, "push", "-c", "web1", "--name", "first", "--grace", kTestPushGrace, "--json"},
      env));
  std::ifstream in(out);
  const json gc = json::parse(in, nullptr, false);
  ASSERT_FALSE(gc.is_discarded()) << "the gc at the hook did not run";
  EXPECT_EQ(gc["manifests"], 0);
  EXPECT_EQ(gc["unreferenced"], pushed["distinct_chunks"]);
  EXPECT_EQ(gc["kept_young"], pushed["distinct_chunks"]);
  EXPECT_EQ(gc["deleted"], 0);
  PullsWhole("web1", pushed["name"]);
}

// The same window with a gc that deletes regardless (grace 0s, as a gc
// acting on a HEAD from before the push wrote would): the push re-checks
// the chunks it wrote before its manifest, finds them gone and writes no
// manifest (busy); pushing again uploads them again and pulls whole.
TEST_F(DeleteGcTest, APushWhoseChunksVanishWritesNoManifest) {
  ContainerWithSnapshot("web1", MakeTree("tree1", 22), "first");
  std::vector<std::string> env = env_;
  env.push_back("HOODYFS_TEST_RUN_AT=remote-chunks-written");
  env.push_back("HOODYFS_TEST_RUN=" + RemoteCommandLine({"gc", "--grace", "0s"}) + " >/dev/null");
  const CommandResult refused = RunCommand(
      HoodyfsSnapBinary() + "-remote",
      {"--store", a_, "push", "-c", "web1", "--name", "first", "--grace", kTestPushGrace}, env);
  EXPECT_EQ(refused.exit_code, 5) << refused.Describe();
  EXPECT_NE(refused.err.find("was deleted by a concurrent gc after this push wrote it"),
            std::string::npos)
      << refused.Describe();
  EXPECT_EQ(Ok(Remote(a_, {"list"})), "");
  const json again = PushJson("web1", "first");
  EXPECT_EQ(again["chunks_uploaded"], again["distinct_chunks"]);
  PullsWhole("web1", again["name"]);
}

// A push killed between its chunks and its manifest leaves chunks no
// manifest names: a gc with the grace keeps them, and pushing again
// uploads nothing.
TEST_F(DeleteGcTest, AKilledPushsChunksSurviveGcAndTheRetryUploadsNothing) {
  ContainerWithSnapshot("web1", MakeTree("tree1", 23), "first");
  std::vector<std::string> env = env_;
  env.push_back("HOODYFS_TEST_KILL_AT=remote-chunks-written");
  const CommandResult killed = RunCommand(
      HoodyfsSnapBinary() + "-remote",
      {"--store", a_, "push", "-c", "web1", "--name", "first", "--grace", kTestPushGrace}, env);
  ASSERT_EQ(killed.exit_code, -1) << "not killed: " << killed.Describe();
  const size_t chunks = ChunkCount();
  const json gc = Gc({});
  EXPECT_EQ(gc["kept_young"], chunks);
  EXPECT_EQ(gc["deleted"], 0);
  EXPECT_EQ(ChunkCount(), chunks);
  const json again = PushJson("web1", "first");
  EXPECT_EQ(again["chunks_uploaded"], 0) << again.dump();
  EXPECT_EQ(again["distinct_chunks"], chunks);
  PullsWhole("web1", again["name"]);
}

// A push that runs inside a gc's window (after gc listed the manifests,
// before it looks at chunks) writes a manifest gc did not read: its chunks
// are young and stay.
TEST_F(DeleteGcTest, APushInsideAGcsWindowLosesNothing) {
  ContainerWithSnapshot("web1", MakeTree("tree1", 24), "first");
  std::vector<std::string> env = env_;
  env.push_back("HOODYFS_TEST_RUN_AT=remote-gc-listed-manifests");
  env.push_back("HOODYFS_TEST_RUN=" +
                RemoteCommandLine({"--store", a_, "push", "-c", "web1", "--name", "first",
                                   "--grace", kTestPushGrace}) +
                " >/dev/null");
  const json gc = Json(RunCommand(HoodyfsSnapBinary() + "-remote", {"gc", "--json"}, env));
  EXPECT_EQ(gc["manifests"], 0);
  EXPECT_GT(gc["kept_young"].get<int>(), 0);
  EXPECT_EQ(gc["deleted"], 0);
  EXPECT_EQ(Ok(Remote(a_, {"list", "-c", "web1"})).empty(), false);
  PullsWhole("web1", "first");
}

// A push with a grace of 0 finds every chunk already there "old" and writes
// it again (the touch that refreshes Last-Modified), sending no new chunk.
TEST_F(DeleteGcTest, APushTouchesChunksOlderThanHalfTheGrace) {
  ContainerWithSnapshot("web1", MakeTree("tree1", 25), "first");
  const json first = PushJson("web1", "first");
  EXPECT_EQ(first["chunks_touched"], 0);
  const json again =
      Json(Remote(a_, {"push", "-c", "web1", "--name", "first", "--grace", "0s", "--json"}));
  EXPECT_EQ(again["chunks_touched"], first["distinct_chunks"]);
  EXPECT_EQ(again["chunks_uploaded"], 0);
  PullsWhole("web1", first["name"]);
}

}  // namespace
}  // namespace hoodyfs::testing
