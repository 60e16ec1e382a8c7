// Scrub that repairs from a replica in a real Ceph RADOS Gateway
// (scripts/ceph.sh): bytes flipped in the data file under several
// snapshots are named by the scrub exactly (files, heads, snapshots), and
// `hoodyfs scrub --repair-from` rewrites them from the pushed snapshots so
// every snapshot reads back byte-identical; a block with no replica, or
// whose replica is itself wrong (a tampered chunk), is reported
// unrepairable and not written; a repair killed half-way leaves the store
// consistent and is finished by running it again; with a daemon serving the
// store and a container mounted, the daemon scrubs and writes the verified
// bytes the command found, and the file reads right through the same
// mount. One cluster for all.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "base/testing/data_file_blocks.h"
#include "base/testing/read_until_error.h"
#include "base/unique_fd.h"
#include "snapshotter/remote/manifest.h"
#include "snapshotter/remote/s3_client.h"
#include "snapshotter/remote/sha256.h"
#include "tests/daemon/daemon_process.h"
#include "tests/remote/remote_cli_fixture.h"
#include "tests/util/private_mount_namespace.h"

namespace hoodyfs::testing {
namespace {

using nlohmann::json;

class ScrubRepairTest : public RemoteCliTest {
 protected:
  // `count` blocks of 4 KiB, each starting with "<tag>-<i>" and filled with
  // `fill`: every block is found once in the data file.
  static std::string Blocks(const std::string& tag, char fill, int count) {
    std::string out;
    for (int i = 0; i < count; ++i) {
      std::string b(4096, fill);
      const std::string label = tag + "-" + std::to_string(i);
      b.replace(0, label.size(), label);
      out += b;
    }
    return out;
  }
  static std::string BlockOf(const std::string& data, int i) { return data.substr(i * 4096, 4096); }
  static std::string ReadFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  std::string NewTree(const std::string& name, const std::map<std::string, std::string>& files) {
    const std::string root = dir_.File(name);
    EXPECT_EQ(mkdir(root.c_str(), 0755), 0);
    EXPECT_EQ(mkdir((root + "/etc").c_str(), 0755), 0);
    for (const auto& [path, data] : files) Write(root + path, data);
    return root;
  }
  void Snapshot(const std::string& container, const std::string& alias) {
    Ok(RunCommand(HoodyfsSnapBinary(),
                  {"--store", a_, "create", "-c", container, "--alias", alias}));
  }
  // Flips a byte of the data file's block holding `content` (one whole
  // block); returns the block number.
  uint64_t Flip(const std::string& content) {
    const std::vector<uint64_t> blocks = BlocksHolding(a_ + "/data", content);
    EXPECT_EQ(blocks.size(), 1u) << "the content is in one block";
    if (blocks.empty()) return 0;
    EXPECT_TRUE(FlipByte(a_ + "/data", blocks[0] * 4096 + 200, 0x41));
    return blocks[0];
  }
  std::string DataBlock(uint64_t block) { return ReadDataBlock(a_ + "/data", block); }
  CommandResult Scrub(const std::vector<std::string>& flags) {
    std::vector<std::string> args = {"--store", a_, "scrub", "--json"};
    args.insert(args.end(), flags.begin(), flags.end());
    return RunCommand(HoodyfsBinary(), args, env_);
  }
  static json Parse(const CommandResult& r) {
    json j = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.Describe();
    return j;
  }
  // block -> {"container@alias-or-head path offset"}.
  static std::map<uint64_t, std::set<std::string>> Holders(const json& report) {
    std::map<uint64_t, std::set<std::string>> found;
    for (const json& d : report["damaged"]) {
      for (const json& h : d["holders"]) {
        std::string view = "head";
        if (!h["snapshot"].is_null()) view = h["alias"].get<std::string>();
        std::string paths;
        for (const json& p : h["paths"]) paths += p.get<std::string>();
        found[d["block"].get<uint64_t>()].insert(h["container"].get<std::string>() + "@" + view +
                                                 " " + paths + " " +
                                                 std::to_string(h["offset"].get<uint64_t>()));
      }
    }
    return found;
  }
  static std::map<uint64_t, json> ByBlock(const json& report) {
    std::map<uint64_t, json> out;
    for (const json& d : report["damaged"]) out[d["block"].get<uint64_t>()] = d;
    return out;
  }
  // `file` of container@snapshot (alias), as exported.
  std::string Exported(const std::string& container, const std::string& snapshot,
                       const std::string& file) {
    const std::string dest =
        dir_.File("export-" + container + "-" + snapshot + "-" + std::to_string(exports_++));
    std::vector<std::string> args = {"--store", a_, "export", "-c", container};
    if (!snapshot.empty()) args.insert(args.end(), {"--snapshot", snapshot});
    args.push_back(dest);
    Ok(RunCommand(HoodyfsBinary(), args));
    return ReadFile(dest + file);
  }
  void Consistent() {
    EXPECT_EQ(Ok(RunCommand(HoodyfsBinary(), {"--store", a_, "fsck"})), a_ + ": consistent\n");
  }

  int exports_ = 0;
};

// Two pushed snapshots of web1 (v1, and v2 after an import that rewrote
// /etc/conf and added /added), and web2, never pushed. Four blocks
// damaged: one every view of web1 shares, one only v1 holds, one of v2 and
// the head, and web2's.
TEST_F(ScrubRepairTest, ScrubNamesTheDamageAndRepairsItFromThePushedSnapshots) {
  const std::string shared = Blocks("shared", 's', 3), conf1 = Blocks("conf-v1", 'c', 2),
                    conf2 = Blocks("conf-v2", 'C', 2), added = Blocks("added", 'a', 2),
                    only = Blocks("web2-only", 'w', 2);
  const std::string tree1 = NewTree("t1", {{"/shared", shared}, {"/etc/conf", conf1}});
  Ok(RunCommand(HoodyfsBinary(), {"--store", a_, "import", "-c", "web1", "--create", tree1}));
  Snapshot("web1", "v1");
  PushJson("web1", "v1");
  // The same tree with /etc/conf rewritten and /added: --replace keeps
  // /shared (same size and mtime), so its blocks stay shared.
  Write(tree1 + "/etc/conf", conf2);
  Write(tree1 + "/added", added);
  Ok(RunCommand(HoodyfsBinary(), {"--store", a_, "import", "-c", "web1", "--replace", tree1}));
  Snapshot("web1", "v2");
  PushJson("web1", "v2");
  const std::string tree3 = NewTree("t3", {{"/only", only}});
  Ok(RunCommand(HoodyfsBinary(), {"--store", a_, "import", "-c", "web2", "--create", tree3}));

  const json clean = Parse(Scrub({}));
  EXPECT_EQ(clean["blocks_damaged"], 0) << clean.dump(2);

  const uint64_t b_shared = Flip(BlockOf(shared, 1));
  const uint64_t b_conf1 = Flip(BlockOf(conf1, 0));
  const uint64_t b_added = Flip(BlockOf(added, 1));
  const uint64_t b_only = Flip(BlockOf(only, 0));
  const std::map<uint64_t, std::set<std::string>> expected = {
      {b_shared, {"web1@v1 /shared 4096", "web1@v2 /shared 4096", "web1@head /shared 4096"}},
      {b_conf1, {"web1@v1 /etc/conf 0"}},
      {b_added, {"web1@v2 /added 4096", "web1@head /added 4096"}},
      {b_only, {"web2@head /only 0"}}};

  // The scrub alone names exactly the damaged files and views; nothing
  // repaired.
  const CommandResult found = Scrub({});
  EXPECT_EQ(found.exit_code, 7) << found.Describe();
  const json before = Parse(found);
  EXPECT_EQ(before["blocks_damaged"], 4);
  EXPECT_EQ(Holders(before), expected) << before.dump(2);
  for (const json& d : before["damaged"]) EXPECT_EQ(d["repair"], "none") << d.dump();
  EXPECT_NE(RunCommand(HoodyfsBinary(), {"--store", a_, "export", "-c", "web1", "--snapshot", "v1",
                                         dir_.File("broken-export")})
                .exit_code,
            0);

  // With the replica: three repaired, web2's (never pushed) not; damage
  // remains, so exit 7.
  const CommandResult repair = Scrub({"--repair-from", "env"});
  EXPECT_EQ(repair.exit_code, 7) << repair.Describe();
  const json after = Parse(repair);
  EXPECT_EQ(Holders(after), expected) << after.dump(2);
  EXPECT_EQ(after["blocks_repaired"], 3) << after.dump(2);
  std::map<uint64_t, json> blocks = ByBlock(after);
  for (uint64_t b : {b_shared, b_conf1, b_added}) {
    EXPECT_EQ(blocks[b]["repair"], "repaired") << blocks[b].dump(2);
    EXPECT_NE(blocks[b]["repair_detail"].get<std::string>().find("from manifests/web1/"),
              std::string::npos)
        << blocks[b].dump(2);
  }
  EXPECT_NE(blocks[b_conf1]["repair_detail"].get<std::string>().find("manifests/web1/snap-"),
            std::string::npos);
  EXPECT_EQ(blocks[b_only]["repair"], "unrepairable") << blocks[b_only].dump(2);
  EXPECT_NE(blocks[b_only]["repair_detail"].get<std::string>().find("no replica"),
            std::string::npos)
      << blocks[b_only].dump(2);
  EXPECT_NE(repair.err.find("1 damaged data block in 1 file"), std::string::npos)
      << repair.Describe();
  EXPECT_EQ(DataBlock(b_shared), BlockOf(shared, 1));
  EXPECT_EQ(DataBlock(b_conf1), BlockOf(conf1, 0));
  EXPECT_EQ(DataBlock(b_added), BlockOf(added, 1));
  EXPECT_NE(DataBlock(b_only), BlockOf(only, 0));

  // Every view reads back byte-identical.
  EXPECT_EQ(Exported("web1", "v1", "/shared"), shared);
  EXPECT_EQ(Exported("web1", "v1", "/etc/conf"), conf1);
  EXPECT_EQ(Exported("web1", "v2", "/shared"), shared);
  EXPECT_EQ(Exported("web1", "v2", "/etc/conf"), conf2);
  EXPECT_EQ(Exported("web1", "v2", "/added"), added);
  EXPECT_EQ(Exported("web1", "", "/added"), added);
  Consistent();

  // A scrub now finds web2's block alone, and the human report says so.
  const json again = Parse(Scrub({}));
  EXPECT_EQ(again["blocks_damaged"], 1) << again.dump(2);
  EXPECT_EQ(Holders(again),
            (std::map<uint64_t, std::set<std::string>>{{b_only, {"web2@head /only 0"}}}));
  const CommandResult human =
      RunCommand(HoodyfsBinary(), {"--store", a_, "scrub", "--repair-from", "env"}, env_);
  EXPECT_EQ(human.exit_code, 7) << human.Describe();
  EXPECT_NE(human.out.find("; repair: unrepairable (no replica"), std::string::npos)
      << human.Describe();
}

// The only replica of a damaged block is a tampered chunk: unrepairable,
// naming the chunk, and the block is not written. Then, with the chunk
// put right, repairs killed before and after their write (test hooks):
// the store stays consistent, and the next run finishes the repair.
TEST_F(ScrubRepairTest, ATamperedReplicaIsRefusedAndAKilledRepairIsFinishedByTheNext) {
  const std::string f = Blocks("file", 'f', 2);
  const std::string tree = NewTree("t", {{"/f", f}});
  Ok(RunCommand(HoodyfsBinary(), {"--store", a_, "import", "-c", "web1", "--create", tree}));
  Snapshot("web1", "v1");
  PushJson("web1", "v1");
  const uint64_t block = Flip(BlockOf(f, 1));
  const std::string damaged = DataBlock(block);

  auto client = remote::S3Client::Create(config_);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  const std::string hash = remote::Sha256Hex(f);  // /f is one data record
  Result<bool> exists = (*client)->Exists(remote::ChunkKey(hash));
  ASSERT_TRUE(exists.ok() && *exists) << "the chunk of /f is " << hash;
  std::string tampered = f;
  tampered[4096 + 300] = 'X';
  ASSERT_TRUE((*client)->Put(remote::ChunkKey(hash), tampered).ok());

  const CommandResult refused = Scrub({"--repair-from", "env"});
  EXPECT_EQ(refused.exit_code, 7) << refused.Describe();
  const json report = Parse(refused);
  ASSERT_EQ(report["damaged"].size(), 1u) << report.dump(2);
  const json& d = report["damaged"][0];
  EXPECT_EQ(d["repair"], "unrepairable");
  const std::string why = d["repair_detail"];
  EXPECT_NE(why.find("remote chunk " + hash), std::string::npos) << why;
  EXPECT_NE(why.find("does not match its SHA-256"), std::string::npos) << why;
  EXPECT_EQ(DataBlock(block), damaged) << "an unverified replica was written";
  Consistent();

  // Put right; a repair killed before its write, then one killed after it
  // (before its sync): consistent each time, and the damage still
  // reported or gone, never worse.
  ASSERT_TRUE((*client)->Put(remote::ChunkKey(hash), f).ok());
  for (const char* hook : {"block-repair-before-write", "block-repair-written"}) {
    std::vector<std::string> env = env_;
    env.push_back(std::string("HOODYFS_TEST_KILL_AT=") + hook);
    const CommandResult killed =
        RunCommand(HoodyfsBinary(), {"--store", a_, "scrub", "--repair-from", "env"}, env);
    EXPECT_EQ(killed.exit_code, -1) << hook << ": not killed: " << killed.Describe();
    Consistent();
    const CommandResult now = Scrub({});
    const std::string block_now = DataBlock(block);
    if (std::string(hook) == "block-repair-before-write") {
      EXPECT_EQ(now.exit_code, 7) << now.Describe();
      EXPECT_EQ(block_now, damaged);
    } else {
      EXPECT_TRUE(now.exit_code == 7 || now.exit_code == 0) << now.Describe();
      EXPECT_TRUE(block_now == damaged || block_now == BlockOf(f, 1));
      if (now.exit_code == 0) Flip(BlockOf(f, 1));  // damaged again, for the last run
    }
  }

  // Through a 0600 config file this time: repaired, exit 0.
  const std::string conf = dir_.File("r.conf");
  Write(conf, "endpoint = " + config_.endpoint + "\nbucket = " + config_.bucket +
                  "\nprefix = " + config_.prefix + "\nregion = " + config_.region +
                  "\naccess_key = " + config_.access_key + "\nsecret_key = " + config_.secret_key +
                  "\n");
  ASSERT_EQ(chmod(conf.c_str(), 0600), 0);
  const CommandResult fixed =
      RunCommand(HoodyfsBinary(), {"--store", a_, "scrub", "--json", "--repair-from", conf});
  EXPECT_EQ(fixed.exit_code, 0) << fixed.Describe();
  const json done = Parse(fixed);
  ASSERT_EQ(done["damaged"].size(), 1u) << done.dump(2);
  EXPECT_EQ(done["damaged"][0]["repair"], "repaired") << done.dump(2);
  EXPECT_EQ(done["blocks_repaired"], 1);
  EXPECT_EQ(DataBlock(block), BlockOf(f, 1));
  EXPECT_EQ(Exported("web1", "v1", "/f"), f);
  EXPECT_EQ(Scrub({}).exit_code, 0);
  Consistent();
}

// A daemon serves store A with web1 mounted. A block of /f is damaged
// under it; the mount reads EIO. A tampered replica is refused (nothing
// written, still EIO); the right one is written by the daemon and /f reads
// right through the same mount, its snapshot by export, and fsck is clean.
TEST_F(ScrubRepairTest, RepairsThroughTheDaemonWhileTheMountIsLive) {
  if (::geteuid() != 0) GTEST_SKIP() << "the daemon mounts FUSE: needs root";
  {
    UniqueFd dev(::open("/dev/fuse", O_RDWR | O_CLOEXEC));
    if (!dev.valid()) GTEST_SKIP() << "cannot open /dev/fuse: " << std::strerror(errno);
  }
  if (!PrivateMountNamespaceError().empty()) {
    GTEST_SKIP() << "no private mount namespace: " << PrivateMountNamespaceError();
  }
  const std::string f = Blocks("live", 'l', 3);
  const std::string tree = NewTree("t", {{"/f", f}});
  Ok(RunCommand(HoodyfsBinary(), {"--store", a_, "import", "-c", "web1", "--create", tree}));
  Snapshot("web1", "v1");
  PushJson("web1", "v1");

  Result<pid_t> daemon = StartDaemonProcess(a_, {}, dir_.File("daemon.log"));
  ASSERT_TRUE(daemon.ok()) << daemon.status().ToString();
  const std::string mp = dir_.File("mnt");
  ASSERT_EQ(mkdir(mp.c_str(), 0755), 0);
  bool mounted = false;
  // Unmounted and stopped however the test ends.
  struct Cleanup {
    std::function<void()> run;
    ~Cleanup() { run(); }
  } cleanup{[&] {
    if (mounted && RunCommand(HoodyfsBinary(), {"--store", a_, "umount", mp}).exit_code != 0) {
      ::umount2(mp.c_str(), MNT_DETACH);
    }
    mounted = false;
    if (*daemon > 0) StopDaemonProcess(*daemon, SIGTERM);
    *daemon = -1;
  }};
  Ok(RunCommand(HoodyfsBinary(), {"--store", a_, "mount", "-c", "web1", mp}));
  mounted = true;

  // Damaged under the live mount, before any page of /f was read.
  const uint64_t block = Flip(BlockOf(f, 1));
  const std::string damaged = DataBlock(block);
  int error = 0;
  ReadUntilError(mp + "/f", &error);
  EXPECT_EQ(error, EIO) << std::strerror(error);

  // A tampered replica: refused by the command's check, and had it not
  // been, by the daemon's (tests/daemon/block_repair_rest_test.cc).
  auto client = remote::S3Client::Create(config_);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  const std::string hash = remote::Sha256Hex(f);
  std::string tampered = f;
  tampered[4096 + 300] = 'X';
  ASSERT_TRUE((*client)->Put(remote::ChunkKey(hash), tampered).ok());
  const CommandResult refused = Scrub({"--repair-from", "env"});
  EXPECT_EQ(refused.exit_code, 7) << refused.Describe();
  const json bad = Parse(refused);
  ASSERT_EQ(bad["damaged"].size(), 1u) << bad.dump(2);
  EXPECT_EQ(bad["damaged"][0]["block"], block);
  EXPECT_EQ(bad["damaged"][0]["repair"], "unrepairable") << bad.dump(2);
  EXPECT_EQ(DataBlock(block), damaged) << "an unverified replica was written";
  ReadUntilError(mp + "/f", &error);
  EXPECT_EQ(error, EIO) << std::strerror(error);

  // The right replica: the daemon writes it; the same mount reads it.
  ASSERT_TRUE((*client)->Put(remote::ChunkKey(hash), f).ok());
  const CommandResult fixed = Scrub({"--repair-from", "env"});
  EXPECT_EQ(fixed.exit_code, 0) << fixed.Describe();
  const json done = Parse(fixed);
  ASSERT_EQ(done["damaged"].size(), 1u) << done.dump(2);
  EXPECT_EQ(done["damaged"][0]["repair"], "repaired") << done.dump(2);
  EXPECT_NE(done["damaged"][0]["repair_detail"].get<std::string>().find("manifests/"),
            std::string::npos)
      << done.dump(2);
  EXPECT_EQ(done["blocks_repaired"], 1);
  EXPECT_EQ(DataBlock(block), BlockOf(f, 1));
  EXPECT_EQ(ReadUntilError(mp + "/f", &error), f);
  EXPECT_EQ(error, 0) << std::strerror(error);
  // The daemon's own scrub finds nothing left.
  EXPECT_EQ(Scrub({}).exit_code, 0);

  cleanup.run();
  EXPECT_EQ(Exported("web1", "v1", "/f"), f);
  EXPECT_EQ(Exported("web1", "", "/f"), f);
  Consistent();
}

}  // namespace
}  // namespace hoodyfs::testing
