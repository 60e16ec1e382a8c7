// hoodyfs-snap-remote against a real Ceph RADOS Gateway (scripts/ceph.sh):
// push a snapshot, pull it into another store, byte-identical by `hoodyfs
// export` and a tree compare; a second push uploads nothing, a second
// container holding the same files uploads only what differs; a damaged
// chunk fails the pull and leaves nothing behind; a push or a pull killed
// half-way is finished by running it again.
#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <random>

#include "base/testing/temp_dir.h"
#include "snapshotter/remote/manifest.h"
#include "snapshotter/remote/s3_client.h"
#include "snapshotter/remote/sha256.h"
#include "tests/remote/ceph_cluster.h"
#include "tests/remote/remote_cli_fixture.h"
#include "tests/util/tree_compare.h"

namespace hoodyfs::testing {
namespace {

using nlohmann::json;

class PushPullTest : public RemoteCliTest {};

// The processes whose parent is now this one (a subreaper) and whose name
// starts with `prefix`: what a killed child left running.
std::vector<pid_t> OrphansNamed(const std::string& prefix) {
  std::vector<pid_t> found;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return found;
  while (const dirent* e = ::readdir(proc)) {
    const std::string pid = e->d_name;
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in("/proc/" + pid + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // "PID (COMM) STATE PPID ...": COMM may hold blanks and parentheses.
    const size_t open = stat.find('('), close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos || close < open) continue;
    const std::string comm = stat.substr(open + 1, close - open - 1);
    char state = 0;
    long ppid = 0;
    if (std::sscanf(stat.c_str() + close + 1, " %c %ld", &state, &ppid) != 2) continue;
    if (ppid == ::getpid() && comm.rfind(prefix, 0) == 0) found.push_back(std::stoi(pid));
  }
  ::closedir(proc);
  return found;
}

TEST_F(PushPullTest, PullGivesTheSameTreeAndASecondPushUploadsNothing) {
  ContainerWithSnapshot("web1", MakeTree("tree1", 1), "first");
  const json first = PushJson("web1", "first");
  const std::string name = first["name"];
  EXPECT_EQ(first["alias"], "first");
  // 5 MiB twice and a hole: the copy's chunks are the original's.
  EXPECT_GE(first["chunks"].get<int>(), 10);
  EXPECT_LT(first["distinct_chunks"].get<int>(), first["chunks"].get<int>());
  EXPECT_EQ(first["chunks_uploaded"], first["distinct_chunks"]);
  EXPECT_GE(first["bytes_uploaded"].get<uint64_t>(), 5u << 20);
  EXPECT_LT(first["bytes_uploaded"].get<uint64_t>(), 6u << 20);

  // Through hoodyfs-snap, which runs hoodyfs-snap-remote.
  const std::string out = Ok(RunCommand(
      HoodyfsSnapBinary(),
      {"--store", a_, "push", "-c", "web1", "--name", "first", "--grace", kTestPushGrace, "--json"},
      env_));
  const json again = json::parse(out, nullptr, false);
  ASSERT_FALSE(again.is_discarded()) << out;
  EXPECT_EQ(again["chunks_uploaded"], 0);
  EXPECT_EQ(again["bytes_uploaded"], 0);
  EXPECT_EQ(again["chunks"], first["chunks"]);

  // Into another store, by alias, under another container name.
  const std::string pulled =
      Ok(Remote(b_, {"pull", "-c", "copy", "--source", "web1", "--name", "first"}));
  EXPECT_NE(pulled.find("pulled web1@" + name), std::string::npos) << pulled;
  std::string diffs;
  for (const std::string& d : Diff(a_, "web1", b_, "copy", name)) diffs += d + "\n";
  EXPECT_EQ(diffs, "");
  const std::string listed =
      Ok(RunCommand(HoodyfsSnapBinary(), {"--store", b_, "list", "-c", "copy"}));
  EXPECT_NE(listed.find(name), std::string::npos) << listed;
  EXPECT_NE(listed.find("first"), std::string::npos) << listed;

  const std::string list = Ok(Remote(a_, {"list"}));
  EXPECT_EQ(list, "web1@" + name + "\n");
}

// More chunks than the fetch window (16) and several fetchers: chunks come
// back in any order and must go into the stream in the manifest's. Files
// of different sizes, so a chunk put in the wrong place changes a file.
TEST_F(PushPullTest, APullByManyFetchersWritesTheChunksInOrder) {
  const std::string root = dir_.File("many");
  ASSERT_EQ(mkdir(root.c_str(), 0755), 0);
  std::mt19937 rng(7);
  for (int i = 0; i < 70; ++i) {
    std::string data(100 + 37 * i, '\0');
    for (char& c : data) c = static_cast<char>(rng());
    Write(root + "/f" + std::to_string(i), data);
  }
  ContainerWithSnapshot("many", root, "many");
  const json pushed = PushJson("many", "many");
  ASSERT_GE(pushed["chunks"].get<int>(), 70);
  const std::string name = pushed["name"];
  for (const char* jobs : {"1", "7"}) {
    SCOPED_TRACE(std::string("--jobs ") + jobs);
    const std::string into = std::string("copy") + jobs;
    Ok(Remote(b_, {"pull", "-c", into, "--source", "many", "--name", "many", "--jobs", jobs}));
    std::string diffs;
    for (const std::string& d : Diff(a_, "many", b_, into, name)) diffs += d + "\n";
    EXPECT_EQ(diffs, "");
  }
}

TEST_F(PushPullTest, ASecondContainerUploadsOnlyWhatDiffers) {
  ContainerWithSnapshot("web1", MakeTree("tree1", 7), "v1");
  const json first = PushJson("web1", "v1");
  // The same big file (seed 7) in another container; only its hostname
  // differs.
  ContainerWithSnapshot("web2", MakeTree("tree2", 7), "v1");
  const json second = PushJson("web2", "v1");
  EXPECT_EQ(second["distinct_chunks"], first["distinct_chunks"]);
  EXPECT_EQ(second["chunks_uploaded"], 1) << second.dump();
  EXPECT_EQ(second["bytes_uploaded"], std::string("tree2\n").size()) << second.dump();
  EXPECT_EQ(Ok(Remote(a_, {"list", "-c", "web2"})),
            "web2@" + second["name"].get<std::string>() + "\n");
}

TEST_F(PushPullTest, ADamagedChunkFailsThePullAndLeavesNothing) {
  ContainerWithSnapshot("web1", MakeTree("tree1", 3), "first");
  PushJson("web1", "first");
  // Replace the hostname's chunk with other bytes.
  auto client = remote::S3Client::Create(config_);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  const std::string hash = remote::Sha256Hex("tree1\n");
  Result<bool> exists = (*client)->Exists(remote::ChunkKey(hash));
  ASSERT_TRUE(exists.ok() && *exists) << "the hostname's chunk is " << hash;
  ASSERT_TRUE((*client)->Put(remote::ChunkKey(hash), "evil!\n").ok());

  const CommandResult r = Remote(b_, {"pull", "-c", "copy", "--source", "web1", "--name", "first"});
  EXPECT_EQ(r.exit_code, 7) << r.Describe();  // corruption
  EXPECT_NE(r.err.find("remote chunk " + hash), std::string::npos) << r.Describe();
  EXPECT_NE(r.err.find("does not match its SHA-256"), std::string::npos) << r.Describe();
  const std::string containers =
      Ok(RunCommand(HoodyfsSnapBinary(), {"--store", b_, "containers", "list"}));
  EXPECT_EQ(containers.find("copy"), std::string::npos) << containers;
  EXPECT_EQ(containers.find("receive-"), std::string::npos) << containers;

  const CommandResult missing =
      Remote(b_, {"pull", "-c", "copy", "--source", "web1", "--name", "nope"});
  EXPECT_EQ(missing.exit_code, 3) << missing.Describe();
  EXPECT_NE(missing.err.find("remote holds no snapshot nope of container web1"), std::string::npos)
      << missing.Describe();
}

TEST_F(PushPullTest, PushOfAMissingSnapshotIsNotFoundAndWritesNothing) {
  const CommandResult r = Remote(a_, {"push", "-c", "nope", "--name", "first"});
  EXPECT_EQ(r.exit_code, 3) << r.Describe();
  EXPECT_NE(r.err.find("hoodyfs-snap-remote: push nope@first"), std::string::npos) << r.Describe();
  EXPECT_EQ(Ok(Remote(a_, {"list"})), "");
}

TEST_F(PushPullTest, CredentialsNeverFromTheCommandLineAndConfigMustBePrivate) {
  const std::string conf = dir_.File("r.conf");
  Write(conf, "endpoint = " + config_.endpoint + "\nbucket = " + config_.bucket +
                  "\nregion = " + config_.region + "\naccess_key = " + config_.access_key +
                  "\nsecret_key = " + config_.secret_key + "\n");
  ASSERT_EQ(chmod(conf.c_str(), 0644), 0);
  const CommandResult open =
      RunCommand(HoodyfsSnapBinary() + "-remote", {"--store", a_, "--remote", conf, "list"});
  EXPECT_EQ(open.exit_code, 1) << open.Describe();  // permission: "other failure"
  EXPECT_NE(open.err.find("chmod 600"), std::string::npos) << open.Describe();
  EXPECT_EQ(open.err.find(config_.secret_key), std::string::npos) << open.Describe();
  ASSERT_EQ(chmod(conf.c_str(), 0600), 0);
  Ok(RunCommand(HoodyfsSnapBinary() + "-remote", {"--store", a_, "--remote", conf, "list"}));
  // No flag takes a key.
  const CommandResult flag =
      RunCommand(HoodyfsSnapBinary() + "-remote", {"--secret-key", "x", "list"});
  EXPECT_EQ(flag.exit_code, 2) << flag.Describe();
}

}  // namespace
}  // namespace hoodyfs::testing

namespace hoodyfs::testing {
namespace {

// kill -9 in the middle of a push (after 3 chunks are up, by the test
// hook): the remote shows no snapshot; pushing again uploads only the
// chunks that were missing, and the pull is whole.
TEST_F(PushPullTest, APushKilledHalfWayIsResumedByPushingAgain) {
  ContainerWithSnapshot("web1", MakeTree("tree1", 11), "first");
  std::vector<std::string> env = env_;
  env.push_back("HOODYFS_TEST_KILL_AFTER_CHUNKS=3");
  const CommandResult killed =
      RunCommand(HoodyfsSnapBinary() + "-remote",
                 {"--store", a_, "push", "-c", "web1", "--name", "first"}, env);
  ASSERT_EQ(killed.exit_code, -1) << "not killed: " << killed.Describe();
  EXPECT_EQ(Ok(Remote(a_, {"list"})), "") << "a snapshot shown before all its chunks are up";
  auto client = remote::S3Client::Create(config_);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  Result<std::vector<remote::S3Object>> chunks = (*client)->ListAll("chunks/");
  ASSERT_TRUE(chunks.ok()) << chunks.status().ToString();
  EXPECT_GE(chunks->size(), 3u);

  const json resumed = PushJson("web1", "first");
  // What was up is not sent again; what was not is. (Up to one upload per
  // uploader thread may have been in flight at the kill, and landed or not.)
  const size_t again = resumed["chunks_uploaded"], distinct = resumed["distinct_chunks"];
  EXPECT_LE(again + chunks->size(), distinct) << resumed.dump();
  EXPECT_GE(again + chunks->size() + 4, distinct) << resumed.dump();
  EXPECT_LT(again, distinct) << resumed.dump();
  const std::string name = resumed["name"];
  Ok(Remote(b_, {"pull", "-c", "web1", "--name", "first"}));
  std::string diffs;
  for (const std::string& d : Diff(a_, "web1", b_, "web1", name)) diffs += d + "\n";
  EXPECT_EQ(diffs, "");
}

// kill -9 in the middle of a pull (after 3 chunks are in the receive's
// stream, by the test hook): the receive it fed (a child process) sees its
// stream end short and refuses it, so store B holds no container, no half snapshot and no
// leftover of the receive, and fscks clean; pulling again gives the whole
// tree.
TEST_F(PushPullTest, APullKilledHalfWayLeavesNothingAndPullingAgainIsWhole) {
  ContainerWithSnapshot("web1", MakeTree("tree1", 13), "first");
  const json pushed = PushJson("web1", "first");
  ASSERT_GE(pushed["chunks"].get<int>(), 6) << pushed.dump();  // 3 is half-way or less
  const std::string name = pushed["name"];
  std::vector<std::string> env = env_;
  env.push_back("HOODYFS_TEST_KILL_AFTER_FETCHES=3");
  // The receive the pull feeds is a child of its own and outlives the
  // kill until it has read its stream's end. As a subreaper this process
  // inherits it, and waits for it: no polling.
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0) << std::strerror(errno);
  const CommandResult killed =
      RunCommand(HoodyfsSnapBinary() + "-remote",
                 {"--store", b_, "pull", "-c", "web1", "--name", "first"}, env);
  const std::vector<pid_t> orphans = OrphansNamed("hoodyfs");
  for (pid_t pid : orphans) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    EXPECT_FALSE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "the receive took a stream cut short";
  }
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 0), 0) << std::strerror(errno);
  ASSERT_EQ(killed.exit_code, -1) << "not killed: " << killed.Describe();
  EXPECT_EQ(orphans.size(), 1u) << "the receive the pull fed";
  const std::string containers =
      Ok(RunCommand(HoodyfsSnapBinary(), {"--store", b_, "containers", "list"}));
  EXPECT_EQ(containers.find("web1"), std::string::npos) << containers;
  EXPECT_EQ(containers.find("receive-"), std::string::npos) << containers;
  EXPECT_EQ(Ok(RunCommand(HoodyfsBinary(), {"--store", b_, "fsck"})), b_ + ": consistent\n");

  const std::string pulled = Ok(Remote(b_, {"pull", "-c", "web1", "--name", "first"}));
  EXPECT_NE(pulled.find("pulled web1@" + name), std::string::npos) << pulled;
  std::string diffs;
  for (const std::string& d : Diff(a_, "web1", b_, "web1", name)) diffs += d + "\n";
  EXPECT_EQ(diffs, "");
  EXPECT_EQ(Ok(RunCommand(HoodyfsBinary(), {"--store", b_, "fsck"})), b_ + ": consistent\n");
}

}  // namespace
}  // namespace hoodyfs::testing
