// End-to-end tests of the command-line programs: the real hoodyfs and
// hoodyfs-snap binaries run as child processes on a real store in a
// temporary directory. Every verb runs by name and by alias; a table of bad
// inputs is checked for its exit code, for a one-line message naming the
// problem, and for leaving the store exactly as it was.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "base/testing/data_file_blocks.h"
#include "base/testing/status_macros.h"
#include "base/testing/temp_dir.h"
#include "base/unique_fd.h"
#include "snapshotter/engine/filesystem.h"
#include "snapshotter/verbs/snapshotter.h"
#include "tests/cli/run_command.h"
#include "tests/daemon/daemon_process.h"
#include "tests/util/private_mount_namespace.h"
#include "tests/util/tree_compare.h"
#include "tests/util/tree_fixture.h"

namespace hoodyfs::testing {
namespace {

using nlohmann::json;
using snapshotter::Snapshotter;

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = dir_.File("store");
    Ok(Hoodyfs({"init"}));
    if (through_daemon_) {
      // The same verbs on a mounted container, through the daemon that
      // serves the mount.
      if (::geteuid() != 0) GTEST_SKIP() << "mounting needs root";
      if (!PrivateMountNamespaceError().empty()) {
        GTEST_SKIP() << "no private mount namespace: " << PrivateMountNamespaceError();
      }
      ASSERT_EQ(::chmod(dir_.path().c_str(), 0755), 0);
      auto pid = StartDaemonProcess(store_, {}, dir_.File("daemon.log"));
      ASSERT_TRUE(pid.ok()) << pid.status().ToString();
      daemon_ = *pid;
    }
    Ok(Snap({"containers", "create", "web1"}));
  }
  void TearDown() override {
    for (const auto& [container, mountpoint] : mounts_) {
      const CommandResult r = Hoodyfs({"umount", mountpoint});
      EXPECT_EQ(r.exit_code, 0) << r.Describe();
    }
    if (daemon_ > 0) StopDaemonProcess(daemon_, SIGTERM);
  }

  CommandResult Hoodyfs(std::vector<std::string> args) {
    args.insert(args.begin(), {"--store", store_});
    return RunCommand(HoodyfsBinary(), args);
  }
  CommandResult Snap(std::vector<std::string> args) {
    args.insert(args.begin(), {"--store", store_});
    return RunCommand(HoodyfsSnapBinary(), args);
  }
  // Asserts success and returns stdout.
  std::string Ok(const CommandResult& r) {
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    EXPECT_EQ(r.err, "") << r.Describe();
    return r.out;
  }
  json OkJson(const CommandResult& r) {
    const std::string out = Ok(r);
    json j = json::parse(out, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(j.is_discarded()) << "not JSON: " << out;
    return j;
  }

  // Writes /name with `data` into a container's head: through its mount
  // when a daemon serves the store, else through the library (the store is
  // free between commands).
  void PutFile(const std::string& container, const std::string& name, const std::string& data) {
    if (through_daemon_) {
      auto [it, fresh] = mounts_.try_emplace(container, dir_.File("mnt-" + container));
      if (fresh) {
        ASSERT_EQ(::mkdir(it->second.c_str(), 0755), 0);
        // nosuid,nodev: the test directory is reachable by others, and a
        // suid,dev container root there is warned about.
        Ok(Hoodyfs({"mount", "-c", container, "-o", "nosuid,nodev", it->second}));
      }
      std::ofstream out(it->second + "/" + name, std::ios::binary | std::ios::trunc);
      out << data;
      ASSERT_TRUE(out.flush()) << "write through the mount";
      return;
    }
    auto snap = Snapshotter::Open(store_, snapshotter::StoreOptions());
    ASSERT_TRUE(snap.ok()) << snap.status().ToString();
    snapshotter::FileSystem fs = (*snap)->store().Head(container).value();
    auto found = fs.Lookup(kRootIno, name);
    Ino ino = found.ok() ? found->ino : Ino();
    if (!ino.valid()) ino = fs.Mknod(kRootIno, name, S_IFREG | 0644, 0, {}).value().ino;
    snapshotter::SetAttrRequest truncate;
    truncate.size = 0;
    ASSERT_TRUE(fs.SetAttr(ino, truncate).ok());
    ASSERT_TRUE(fs.Write(ino, 0, data).ok());
  }

  // Everything a verb could change, as text: containers (with their head
  // generations) and every container's snapshots.
  std::string Fingerprint() {
    std::string out = Ok(Snap({"containers", "list", "--json"}));
    for (const json& c : json::parse(out)) {
      out += Ok(Snap({"list", "-c", c["name"].get<std::string>(), "--json"}));
    }
    return out;
  }

  bool through_daemon_ = false;
  TempDir dir_ = TempDir::Create().value();
  std::string store_;
  pid_t daemon_ = -1;
  std::map<std::string, std::string> mounts_;  // container -> mountpoint
};

// The snapshot verbs, run on a store this process opens (no daemon) and on
// a mounted container through its daemon: they must behave the same.
class CliVerbTest : public CliTest, public ::testing::WithParamInterface<bool> {
 protected:
  void SetUp() override {
    through_daemon_ = GetParam();
    CliTest::SetUp();
  }
};

TEST_P(CliVerbTest, EveryVerbByNameAndByAlias) {
  PutFile("web1", "app.py", "print('v1')");
  const std::string name = Ok(Snap({"create", "-c", "web1", "--alias", "before-ai-refactor"}));
  EXPECT_TRUE(std::regex_match(name, std::regex("snap-\\d{8}-\\d{6}\n"))) << name;
  const std::string snap_name = name.substr(0, name.size() - 1);
  PutFile("web1", "app.py", "print('v2 by the AI')");
  const json second = OkJson(Snap({"create", "-c", "web1", "--expiry", "7", "--json"}));
  EXPECT_TRUE(second["alias"].is_null());
  EXPECT_FALSE(second["expires"].is_null());
  EXPECT_EQ(second["parent"], snap_name);
  // "never" is accepted by create as by set.
  const json third = OkJson(Snap({"create", "-c", "web1", "--expiry", "never", "--json"}));
  EXPECT_TRUE(third["expires"].is_null());
  Ok(Snap({"delete", "-c", "web1", "--name", third["name"].get<std::string>()}));
  // --no-sync: taken and listed at once, durable with the next commit.
  const json quick = OkJson(Snap({"create", "-c", "web1", "--no-sync", "--json"}));
  EXPECT_EQ(OkJson(Snap({"show", "-c", "web1", "--name", quick["name"].get<std::string>(),
                         "--json"}))["name"],
            quick["name"]);
  Ok(Snap({"delete", "-c", "web1", "--name", quick["name"].get<std::string>()}));

  // list: a table for people, JSON for programs.
  const std::string table = Ok(Snap({"list", "-c", "web1"}));
  EXPECT_TRUE(std::regex_match(table.substr(0, table.find('\n')),
                               std::regex("NAME +ALIAS +CREATED +EXPIRES +REFER +WRITTEN")))
      << table;
  EXPECT_TRUE(std::regex_search(table, std::regex(snap_name + " +before-ai-refactor +\\d{4}-")))
      << table;
  const json list = OkJson(Snap({"list", "-c", "web1", "--json"}));
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["name"], snap_name);
  EXPECT_EQ(list[0]["referenced_bytes"], 11);

  // show, by name and by alias.
  const json by_name = OkJson(Snap({"show", "-c", "web1", "--name", snap_name, "--json"}));
  const json by_alias =
      OkJson(Snap({"show", "-c", "web1", "--name", "before-ai-refactor", "--json"}));
  EXPECT_EQ(by_name, by_alias);
  EXPECT_EQ(by_name["exclusive_bytes"], 0);
  EXPECT_NE(Ok(Snap({"show", "-c", "web1", "--name", snap_name}))
                .find("alias:       "
                      "before-ai-refactor"),
            std::string::npos);

  // diff, by alias and by name, both directions.
  EXPECT_EQ(Ok(Snap({"diff", "-c", "web1", "before-ai-refactor"})), "M\t/app.py\n");
  EXPECT_EQ(Ok(Snap({"diff", "-c", "web1", snap_name, "web1@"})), "M\t/app.py\n");
  const json d = OkJson(Snap({"diff", "-c", "web1", "before-ai-refactor", "--json"}));
  ASSERT_EQ(d["changes"].size(), 1u);
  EXPECT_EQ(d["changes"][0]["change"], "modified");
  EXPECT_EQ(d["changes"][0]["what"], json::array({"content", "times"}));

  // set by alias: rename the alias and make it expire; then never.
  Ok(Snap({"set", "-c", "web1", "--name", "before-ai-refactor", "--alias", "stable", "--expiry",
           "30"}));
  json shown = OkJson(Snap({"show", "-c", "web1", "--name", "stable", "--json"}));
  EXPECT_EQ(shown["name"], snap_name);
  EXPECT_FALSE(shown["expires"].is_null());
  Ok(Snap({"set", "-c", "web1", "--name", snap_name, "--expiry", "never"}));
  shown = OkJson(Snap({"show", "-c", "web1", "--name", "stable", "--json"}));
  EXPECT_TRUE(shown["expires"].is_null());

  // restore by alias keeps the replaced head as a pre-restore snapshot.
  PutFile("web1", "app.py", "print('v3')");
  const std::string restored = Ok(Snap({"restore", "-c", "web1", "--name", "stable"}));
  EXPECT_NE(restored.find("web1: restored stable; the previous head is kept as snap-"),
            std::string::npos)
      << restored;
  EXPECT_NE(restored.find("(alias pre-restore-"), std::string::npos) << restored;
  EXPECT_EQ(Ok(Snap({"diff", "-c", "web1", "stable"})), "");
  EXPECT_EQ(OkJson(Snap({"list", "-c", "web1", "--json"})).size(), 3u);
  // by name, discarding the head.
  Ok(Snap(
      {"restore", "-c", "web1", "--name", second["name"].get<std::string>(), "--discard-head"}));
  EXPECT_EQ(OkJson(Snap({"list", "-c", "web1", "--json"})).size(), 3u);

  // copy by alias, then by name; containers list shows the origins.
  Ok(Snap({"copy", "-c", "web1", "--source-snapshot", "stable", "--name", "alice-dev"}));
  const json copy = OkJson(Snap({"copy", "-c", "web1", "--source-snapshot", snap_name, "--name",
                                 "bob-dev", "--project", "p1", "--json"}));
  EXPECT_EQ(copy["origin"], "web1@" + snap_name);
  EXPECT_EQ(copy["project"], "p1");
  const std::string containers = Ok(Snap({"containers", "list"}));
  EXPECT_NE(containers.find("alice-dev  0          "), std::string::npos) << containers;
  EXPECT_EQ(Ok(Snap({"diff", "-c", "alice-dev", "web1@stable"})), "");

  // delete by alias and by name; gc reports.
  Ok(Snap({"delete", "-c", "web1", "--name", "stable"}));
  Ok(Snap({"delete", "-c", "web1", "--name", second["name"].get<std::string>()}));
  EXPECT_EQ(OkJson(Snap({"list", "-c", "web1", "--json"})).size(), 1u);
  const json gc = OkJson(Snap({"gc", "--json"}));
  EXPECT_EQ(gc["expired_snapshots"], 0);
  Ok(Snap({"containers", "delete", "bob-dev"}));
  EXPECT_EQ(OkJson(Snap({"containers", "list", "--json"})).size(), 2u);
  if (!through_daemon_) {
    EXPECT_EQ(Ok(Hoodyfs({"fsck"})), store_ + ": consistent\n");
  }
}

// Flips one byte in the data file's block that holds `content` (one whole
// block of it); returns the block's byte offset, npos when none holds it.
size_t FlipAByteOfTheBlockHolding(const std::string& store, const std::string& content) {
  const std::vector<uint64_t> blocks = BlocksHolding(store + "/data", content);
  if (blocks.size() != 1) return std::string::npos;
  const size_t at = blocks[0] * 4096;
  return FlipByte(store + "/data", at + 100) ? at : std::string::npos;
}

// fsck --data reads every block in use: a byte flipped in the data file is
// found (plain fsck, which checks metadata, still says consistent), and the
// report names the file, the head and the snapshot that hold the block.
TEST_F(CliTest, FsckDataNamesTheFilesOfADamagedBlock) {
  PutFile("web1", "good", std::string(8192, 'G'));
  PutFile("web1", "bad", std::string(4096, 'B') + std::string(4096, 'b'));
  Ok(Snap({"create", "-c", "web1", "--alias", "v1"}));
  const std::string healthy = Ok(Hoodyfs({"fsck", "--data"}));
  EXPECT_NE(healthy.find("scrub done: 4 of 4 blocks checked"), std::string::npos) << healthy;
  EXPECT_NE(healthy.find("; 0 damaged\n"), std::string::npos) << healthy;

  const size_t at = FlipAByteOfTheBlockHolding(store_, std::string(4096, 'B'));
  ASSERT_NE(at, std::string::npos);
  EXPECT_EQ(Ok(Hoodyfs({"fsck"})), store_ + ": consistent\n");
  const CommandResult r = Hoodyfs({"fsck", "--data"});
  EXPECT_EQ(r.exit_code, 7) << r.Describe();
  EXPECT_NE(r.out.find("1 damaged"), std::string::npos) << r.Describe();
  EXPECT_NE(r.out.find("block " + std::to_string(at / 4096) + ": checksum mismatch"),
            std::string::npos)
      << r.Describe();
  // Every view that reads the block: the snapshot it was written in and
  // the head after it.
  EXPECT_NE(r.out.find("  web1 (head): /bad at offset 0\n"), std::string::npos) << r.Describe();
  EXPECT_NE(r.out.find(" (v1): /bad at offset 0\n"), std::string::npos) << r.Describe();
  EXPECT_EQ(r.out.find("/good"), std::string::npos) << r.Describe();
  EXPECT_NE(r.err.find("1 damaged data block in 2 files"), std::string::npos) << r.Describe();
}

// An export meets a damaged block: it goes on with the rest of the tree,
// writes the damaged block as zeros, and exits 7 naming the file.
TEST_F(CliTest, ExportGoesOnPastADamagedFileAndNamesIt) {
  PutFile("web1", "bad", std::string(4096, 'B') + std::string(4096, 'b'));
  PutFile("web1", "good", std::string(8192, 'G'));
  ASSERT_NE(FlipAByteOfTheBlockHolding(store_, std::string(4096, 'B')), std::string::npos);
  const std::string out = dir_.File("out");
  const CommandResult r = Hoodyfs({"export", "-c", "web1", out});
  EXPECT_EQ(r.exit_code, 7) << r.Describe();
  EXPECT_NE(r.err.find("1 file holds damaged blocks"), std::string::npos) << r.Describe();
  EXPECT_NE(r.err.find("\n  /bad"), std::string::npos) << r.Describe();
  auto read = [](const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  };
  EXPECT_EQ(read(out + "/good"), std::string(8192, 'G'));
  EXPECT_EQ(read(out + "/bad"), std::string(4096, '\0') + std::string(4096, 'b'));
  // A tar stream goes on too: the error is on stderr, the stream whole.
  const CommandResult tar = Hoodyfs({"export", "-c", "web1", "-"});
  EXPECT_EQ(tar.exit_code, 7) << tar.Describe();
  EXPECT_GT(tar.out.size(), 16384u);
  EXPECT_NE(tar.out.find(std::string(8192, 'G')), std::string::npos);
}

// send | receive between two stores through a pipe, as `zfs send | zfs
// receive`: a full stream, then an incremental one; `hoodyfs export` of
// both sides gives the same trees. A stream that was cut is refused and
// leaves nothing.
TEST_F(CliTest, SendPipedIntoReceiveOnAnotherStore) {
  const std::string other = dir_.File("other");
  ASSERT_EQ(RunCommand(HoodyfsBinary(), {"--store", other, "init"}).exit_code, 0);
  PutFile("web1", "index.html", "<h1>one</h1>");
  PutFile("web1", "big", std::string(3 << 20, 'x'));
  const std::string s1 = Ok(Snap({"create", "-c", "web1", "--alias", "first"}));
  PutFile("web1", "index.html", "<h1>two</h1>");
  const std::string s2 = Ok(Snap({"create", "-c", "web1"}));
  auto pipe = [&](const std::string& send_args, const std::string& receive_args) {
    const std::string cmd = HoodyfsSnapBinary() + " --store " + store_ + " send -c web1 " +
                            send_args + " | " + HoodyfsSnapBinary() + " --store " + other +
                            " receive -c copy " + receive_args;
    return RunCommand("/bin/sh", {"-c", cmd});
  };
  const std::string name1 = s1.substr(0, s1.size() - 1);
  const std::string name2 = s2.substr(0, s2.size() - 1);
  const std::string full = Ok(pipe("--name first", ""));
  EXPECT_TRUE(full.starts_with("copy: received " + name1 + " (full, ")) << full;
  const CommandResult inc = pipe("--name " + name2 + " --from first", "--json");
  const json j = OkJson(inc);
  EXPECT_EQ(j["name"], name2);
  EXPECT_EQ(j["incremental"], true);
  for (const std::string& name : {name1, name2}) {
    const std::string want = dir_.File("want-" + name), got = dir_.File("got-" + name);
    Ok(Hoodyfs({"export", "-c", "web1", "--snapshot", name, want}));
    Ok(RunCommand(HoodyfsBinary(),
                  {"--store", other, "export", "-c", "copy", "--snapshot", name, got}));
    std::string diffs;
    for (const std::string& d : CompareTrees(want, got)) diffs += d + "\n";
    EXPECT_EQ(diffs, "") << name;
  }
  // A cut stream (through a file this time): refused, nothing left behind.
  const std::string stream = dir_.File("stream");
  Ok(Snap({"send", "-c", "web1", "--name", "first", "-o", stream}));
  ASSERT_EQ(::truncate(stream.c_str(), 1000), 0);
  const CommandResult cut =
      RunCommand(HoodyfsSnapBinary(), {"--store", other, "receive", "-c", "third", "-i", stream});
  EXPECT_NE(cut.exit_code, 0);
  EXPECT_NE(cut.err.find("cut short"), std::string::npos) << cut.Describe();
  const std::string containers =
      Ok(RunCommand(HoodyfsSnapBinary(), {"--store", other, "containers", "list"}));
  EXPECT_EQ(containers.find("third"), std::string::npos) << containers;
  EXPECT_EQ(containers.find("receive-"), std::string::npos) << containers;
  // A send that fails (no such snapshot) leaves no half file behind.
  const CommandResult bad = Snap({"send", "-c", "web1", "--name", "nope", "-o", stream});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("nope"), std::string::npos) << bad.Describe();
  EXPECT_FALSE(std::filesystem::exists(stream)) << "a failed send leaves no file";
}

TEST_F(CliTest, JsonEverywhereErrorsToo) {
  const json created = OkJson(Snap({"containers", "create", "api-made", "--json"}));
  EXPECT_EQ(created["name"], "api-made");
  const json snap = OkJson(Snap({"create", "-c", "api-made", "--json"}));
  const std::string name = snap["name"];
  const json set =
      OkJson(Snap({"set", "-c", "api-made", "--name", name, "--alias", "v1", "--json"}));
  EXPECT_EQ(set["alias"], "v1");
  EXPECT_EQ(OkJson(Snap({"delete", "-c", "api-made", "--name", "v1", "--json"}))["deleted"], "v1");
  EXPECT_EQ(OkJson(Snap({"containers", "delete", "api-made", "--json"}))["deleted"], "api-made");
  // A failure under --json is a JSON error document, with the same exit code.
  const CommandResult missing = Snap({"show", "-c", "web1", "--name", "nope", "--json"});
  EXPECT_EQ(missing.exit_code, 3) << missing.Describe();
  EXPECT_EQ(missing.out, "");
  const json error = json::parse(missing.err, nullptr, false);
  ASSERT_FALSE(error.is_discarded()) << missing.Describe();
  EXPECT_EQ(error["error"]["code"], "not_found") << missing.Describe();
  EXPECT_NE(error["error"]["message"].get<std::string>().find("'nope'"), std::string::npos);
}

// A user who may not read the store is told so, not that there is no
// store to init (issue 10).
TEST_F(CliTest, AUserWhoMayNotReadTheStoreIsToldPermissionDenied) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run a command as another user";
  const std::vector<std::string> as_nobody = {"--reuid=65534", "--regid=65534", "--clear-groups",
                                              HoodyfsSnapBinary()};
  auto run_as_nobody = [&](std::vector<std::string> args) {
    args.insert(args.begin(), as_nobody.begin(), as_nobody.end());
    return RunCommand("/usr/bin/setpriv", args);
  };
  if (run_as_nobody({"--version"}).exit_code != 0) {
    GTEST_SKIP() << "user nobody cannot run the built programs from here";
  }
  const CommandResult r = run_as_nobody({"--store", store_, "list", "-c", "web1"});
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_NE(r.err.find("permission denied reading the store " + store_), std::string::npos)
      << r.Describe();
  EXPECT_EQ(r.err.find("hoodyfs init"), std::string::npos) << r.Describe();
}

TEST_F(CliTest, BothProgramsSayTheirVersion) {
  const CommandResult snap = RunCommand(HoodyfsSnapBinary(), {"--version"});
  EXPECT_EQ(snap.exit_code, 0) << snap.Describe();
  EXPECT_TRUE(snap.out.starts_with("hoodyfs-snap ")) << snap.Describe();
  const CommandResult hoodyfs = RunCommand(HoodyfsBinary(), {"--version"});
  EXPECT_EQ(hoodyfs.exit_code, 0) << hoodyfs.Describe();
  EXPECT_TRUE(hoodyfs.out.starts_with("hoodyfs ")) << hoodyfs.Describe();
}

TEST_F(CliTest, StoreComesFromTheEnvironmentWithoutTheFlag) {
  const CommandResult r =
      RunCommand(HoodyfsSnapBinary(), {"containers", "list"}, {"HOODYFS_STORE=" + store_});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_NE(r.out.find("web1"), std::string::npos);
  const CommandResult missing = RunCommand(HoodyfsSnapBinary(), {"containers", "list"},
                                           {"HOODYFS_STORE=" + dir_.File("nowhere")});
  EXPECT_EQ(missing.exit_code, 3) << missing.Describe();
  EXPECT_NE(missing.err.find("is not a hoodyfs store"), std::string::npos) << missing.Describe();
}

// list --limit and --after: one page at a time, as a script pages.
TEST_P(CliVerbTest, ListPagesWithLimitAndAfter) {
  for (int i = 0; i < 5; ++i) Ok(Snap({"create", "-c", "web1"}));
  const json whole = OkJson(Snap({"list", "-c", "web1", "--json"}));
  ASSERT_EQ(whole.size(), 5u);
  json paged = json::array();
  std::vector<std::string> args = {"list", "-c", "web1", "--limit", "2", "--json"};
  for (int pages = 0; pages < 10; ++pages) {
    const json page = OkJson(Snap(args));
    ASSERT_TRUE(page.is_object()) << page.dump();
    for (const json& s : page["snapshots"]) paged.push_back(s);
    if (page["next"].is_null()) break;
    args = {"list", "-c",     "web1",    "--limit",
            "2",    "--json", "--after", page["next"].get<std::string>()};
  }
  EXPECT_EQ(paged, whole);

  // --after alone: the rest, as an array.
  const json rest = OkJson(
      Snap({"list", "-c", "web1", "--json", "--after", whole[2]["name"].get<std::string>()}));
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0], whole[3]);

  // The table stops at the limit and says on stderr where to go on.
  const CommandResult table = Snap({"list", "-c", "web1", "--limit", "3"});
  EXPECT_EQ(table.exit_code, 0) << table.Describe();
  EXPECT_EQ(std::count(table.out.begin(), table.out.end(), '\n'), 4) << table.out;
  EXPECT_NE(table.out.find(whole[2]["name"].get<std::string>()), std::string::npos);
  EXPECT_EQ(table.out.find(whole[3]["name"].get<std::string>()), std::string::npos);
  const std::string position = whole[2]["name"].get<std::string>() + "@" +
                               std::to_string(whole[2]["created_ns"].get<int64_t>());
  EXPECT_EQ(table.err, "more snapshots follow: list again with --after " + position + "\n");
  // That position is where the next page starts.
  const json next = OkJson(Snap({"list", "-c", "web1", "--json", "--after", position}));
  ASSERT_EQ(next.size(), 2u);
  EXPECT_EQ(next[0], whole[3]);
}

// Bad input is refused with a clear one-line error and changes nothing.
TEST_P(CliVerbTest, BadInputsAreRefusedAndChangeNothing) {
  PutFile("web1", "f", "data");
  Ok(Snap({"create", "-c", "web1", "--alias", "taken"}));
  Ok(Snap({"containers", "create", "other"}));
  struct Case {
    std::vector<std::string> args;
    int exit_code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"create", "-c", "nope"}, 3, "no container named 'nope'"},
      {{"list", "-c", "nope"}, 3, "no container named 'nope'"},
      {{"list", "-c", "web1", "--limit", "0"}, 2, "--limit must be a whole number from 1 to 10000"},
      {{"list", "-c", "web1", "--limit", "10001"}, 2, "from 1 to 10000, not 10001"},
      {{"list", "-c", "web1", "--limit", "many"}, 2, "from 1 to 10000, not 'many'"},
      {{"list", "-c", "web1", "--after", "snap-20000101-000000"},
       2,
       "has no snapshot named 'snap-20000101-000000'"},
      {{"list", "-c", "web1", "--after", "a/b"}, 2, "--after 'a/b' may hold only"},
      {{"restore", "-c", "web1", "--name", "nope"}, 3, "no snapshot named or aliased 'nope'"},
      {{"show", "-c", "web1", "--name", "nope"}, 3, "no snapshot named or aliased 'nope'"},
      {{"delete", "-c", "web1", "--name", "nope"}, 3, "no snapshot named or aliased 'nope'"},
      {{"set", "-c", "web1", "--name", "nope", "--alias", "x"}, 3, "no snapshot"},
      {{"diff", "-c", "web1", "nope"}, 3, "no snapshot named or aliased 'nope'"},
      {{"diff", "-c", "web1", "ghost@taken"}, 3, "no container named 'ghost'"},
      {{"copy", "-c", "web1", "--source-snapshot", "nope", "--name", "x"}, 3, "no snapshot"},
      {{"create", "-c", "web1", "--expiry", "-1"}, 2, "positive number of days"},
      {{"create", "-c", "web1", "--expiry", "0"}, 2, "positive number of days"},
      {{"create", "-c", "web1", "--expiry", "soon"}, 2, "not a whole number of days"},
      {{"create", "-c", "web1", "--expiry", "1.5"}, 2, "not a whole number of days"},
      {{"create", "-c", "web1", "--expiry", "99999999999"}, 2, "past the 36500 days"},
      {{"create", "-c", "web1", "--expiry", "99999999999999999999"}, 2, "past the 36500 days"},
      {{"set", "-c", "web1", "--name", "taken", "--expiry", "36501"}, 2, "past the 36500 days"},
      {{"set", "-c", "web1", "--name", "taken", "--expiry", "-4"}, 2, "positive number of days"},
      {{"set", "-c", "web1", "--name", "taken", "--expiry", "forever"}, 2, "or 'never'"},
      {{"set", "-c", "web1", "--name", "taken"}, 2, "set needs --alias or --expiry"},
      {{"create", "-c", "web1", "--alias", "a/b"}, 2, "alias 'a/b' may hold only"},
      {{"create", "-c", "web1", "--alias", "a..b"}, 2, "must not contain '..'"},
      {{"create", "-c", "web1", "--alias", "snap-20260304-103000"}, 2, "form of a snapshot name"},
      {{"create", "-c", "web1", "--alias", "taken"}, 4, "alias 'taken' is already used"},
      {{"set", "-c", "web1", "--name", "taken", "--alias", "../x"}, 2, "alias '../x'"},
      {{"containers", "create", "a/b"}, 2, "container name 'a/b' may hold only"},
      {{"containers", "create", ".."}, 2, "container name '..'"},
      {{"containers", "create", "other"}, 4, "container 'other' already exists"},
      {{"containers", "delete", "nope"}, 3, "no container named 'nope'"},
      {{"copy", "-c", "web1", "--source-snapshot", "taken", "--name", "other"},
       4,
       "container 'other' already exists"},
      {{"copy", "-c", "web1", "--source-snapshot", "taken", "--name", "x/y"}, 2, "'x/y'"},
      {{"create"}, 2, "--container is required"},
      {{"frobnicate"}, 2, "'frobnicate' is not a hoodyfs-snap command (see"},
      {{"lst", "-c", "web1"}, 2, "'lst' is not a hoodyfs-snap command; did you mean 'list'?"},
      {{"--store", "/x", "restor"}, 2, "did you mean 'restore'?"},
  };
  const std::string before = Fingerprint();
  for (const Case& c : cases) {
    std::string line;
    for (const auto& a : c.args) line += a + " ";
    SCOPED_TRACE(line);
    const CommandResult r = Snap(c.args);
    EXPECT_EQ(r.exit_code, c.exit_code) << r.Describe();
    EXPECT_EQ(r.out, "") << r.Describe();
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r.Describe();
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.Describe();
    // A refusal by the store is looked at once it returns, so a change is
    // pinned to its command; the usage errors (exit 2, two thirds of the
    // table) are covered by the look after the loop: each look is three
    // more processes, seconds under ASan.
    if (c.exit_code != 2) {
      EXPECT_EQ(Fingerprint(), before) << "the refused command changed the store";
    }
  }
  EXPECT_EQ(Fingerprint(), before) << "a refused command changed the store";
  const CommandResult again = Hoodyfs({"init"});
  EXPECT_EQ(again.exit_code, 4) << again.Describe();
  EXPECT_NE(again.err.find("already holds a hoodyfs store"), std::string::npos);
  EXPECT_EQ(Fingerprint(), before);
}

// send and receive within one store, on it directly and through the daemon
// (streamed REST bodies both ways: GET .../send, POST .../receive).
TEST_P(CliVerbTest, SendAndReceiveWithinOneStore) {
  PutFile("web1", "a", "one");
  const std::string s1 = Ok(Snap({"create", "-c", "web1", "--alias", "first"}));
  PutFile("web1", "a", "two");
  PutFile("web1", "b", std::string(2 << 20, 'b'));
  std::string s2 = Ok(Snap({"create", "-c", "web1"}));
  s2.pop_back();
  const std::string stream = dir_.File("stream");
  Ok(Snap({"send", "-c", "web1", "--name", "first", "-o", stream}));
  const json full = OkJson(Snap({"receive", "-c", "copy", "-i", stream, "--json"}));
  EXPECT_EQ(full["alias"], "first");
  EXPECT_EQ(full["incremental"], false);
  if (through_daemon_) {
    // Both ends through the daemon at once: a pipe.
    const std::string cmd = HoodyfsSnapBinary() + " --store " + store_ + " send -c web1 --name " +
                            s2 + " --from first | " + HoodyfsSnapBinary() + " --store " + store_ +
                            " receive -c copy --json";
    const json inc = OkJson(RunCommand("/bin/sh", {"-c", cmd}));
    EXPECT_EQ(inc["incremental"], true);
  } else {
    Ok(Snap({"send", "-c", "web1", "--name", s2, "--from", "first", "-o", stream}));
    Ok(Snap({"receive", "-c", "copy", "-i", stream}));
  }
  const json diff = OkJson(Snap({"diff", "-c", "web1", s2, "copy@" + s2, "--json"}));
  EXPECT_TRUE(diff["changes"].empty()) << diff.dump();
  const json list = OkJson(Snap({"list", "-c", "copy", "--json"}));
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[1]["name"], s2);
  EXPECT_EQ(list[0]["guid"],
            OkJson(Snap({"show", "-c", "web1", "--name", "first", "--json"}))["guid"]);
  // A snapshot the target holds already: refused before the stream is
  // read, with a clear message, nothing changed.
  Ok(Snap({"send", "-c", "web1", "--name", s2, "--from", "first", "-o", stream}));
  const std::string before = Fingerprint();
  const CommandResult r = Snap({"receive", "-c", "web1", "-i", stream});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("holds this snapshot already"), std::string::npos) << r.Describe();
  EXPECT_EQ(Fingerprint(), before);
}

// Scrub names exactly the damaged files and the heads and snapshots that
// read them: (a) a file only in the head, (b) a file several snapshots
// share, (c) one of two files in two containers. Locally and through the
// daemon with the mounts live (reads of a damaged file fail with EIO
// there, and the mount keeps working).
TEST_P(CliVerbTest, ScrubNamesTheDamagedFilesAndTheirSnapshots) {
  const auto block = [](char fill, const std::string& tag) {
    std::string b(4096, fill);
    return b.replace(0, tag.size(), tag);
  };
  PutFile("web1", "shared", block('S', "shared0") + block('s', "shared1"));
  const std::string v1 = Ok(Snap({"create", "-c", "web1", "--alias", "v1"}));
  const std::string v2 = Ok(Snap({"create", "-c", "web1", "--alias", "v2"}));
  PutFile("web1", "head-only", block('H', "head0") + block('h', "head1"));
  Ok(Snap({"containers", "create", "web2"}));
  PutFile("web2", "damaged", block('D', "web2-damaged"));
  PutFile("web2", "fine", block('F', "web2-fine"));

  // Undamaged: exit 0, nothing named.
  const json clean = OkJson(Snap({"scrub", "--json"}));
  EXPECT_EQ(clean["state"], "done");
  EXPECT_EQ(clean["blocks_checked"], 6);
  EXPECT_EQ(clean["blocks_total"], 6);
  EXPECT_EQ(clean["blocks_damaged"], 0);
  EXPECT_TRUE(clean["damaged"].empty());

  const size_t head_block = FlipAByteOfTheBlockHolding(store_, block('h', "head1")) / 4096;
  const size_t shared_block = FlipAByteOfTheBlockHolding(store_, block('S', "shared0")) / 4096;
  const size_t web2_block = FlipAByteOfTheBlockHolding(store_, block('D', "web2-damaged")) / 4096;
  const CommandResult r = Snap({"scrub", "--json"});
  EXPECT_EQ(r.exit_code, 7) << r.Describe();
  EXPECT_NE(r.err.find("3 damaged data blocks in 5 files"), std::string::npos) << r.Describe();
  const json j = json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.Describe();
  EXPECT_EQ(j["blocks_damaged"], 3);
  // block -> {"container@snapshot-or-head path offset"}
  std::map<size_t, std::set<std::string>> found;
  for (const json& d : j["damaged"]) {
    EXPECT_EQ(d["repair"], "none");
    EXPECT_NE(d["error"].get<std::string>().find("checksum mismatch"), std::string::npos);
    for (const json& h : d["holders"]) {
      ASSERT_EQ(h["paths"].size(), 1u) << h.dump();
      found[d["block"].get<size_t>()].insert(
          h["container"].get<std::string>() + "@" +
          (h["snapshot"].is_null() ? "head" : h["alias"].get<std::string>()) + " " +
          h["paths"][0].get<std::string>() + " " + std::to_string(h["offset"].get<uint64_t>()));
    }
  }
  const std::map<size_t, std::set<std::string>> expected = {
      {head_block, {"web1@head /head-only 4096"}},
      {shared_block, {"web1@v1 /shared 0", "web1@v2 /shared 0", "web1@head /shared 0"}},
      {web2_block, {"web2@head /damaged 0"}}};
  EXPECT_EQ(found, expected) << j.dump(2);

  // The human report lists each damaged file under its head or snapshot.
  const CommandResult human = Snap({"scrub"});
  EXPECT_EQ(human.exit_code, 7) << human.Describe();
  for (const std::string& line :
       std::vector<std::string>{"  web1 (head): /head-only\n", "  web1 (head): /shared\n",
                                "  web1@" + v1.substr(0, v1.size() - 1) + " (v1): /shared\n",
                                "  web1@" + v2.substr(0, v2.size() - 1) + " (v2): /shared\n",
                                "  web2 (head): /damaged\n"}) {
    EXPECT_NE(human.out.find(line), std::string::npos) << line << human.Describe();
  }
  EXPECT_EQ(human.out.find("/fine"), std::string::npos) << human.Describe();

  if (through_daemon_) {
    // Reading the damaged block through the live mount fails with EIO (its
    // other block reads fine: the engine's test shows it, as the kernel's
    // readahead here may ask for both at once); the mount still writes.
    const std::string file = mounts_.at("web1") + "/head-only";
    UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(fd.valid());
    ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_DONTNEED);  // not from the kernel's cache
    std::string buf(4096, '\0');
    errno = 0;
    EXPECT_EQ(::pread(fd.get(), buf.data(), 4096, 4096), -1);
    EXPECT_EQ(errno, EIO);
    PutFile("web1", "after-scrub", "still writable");
    std::ifstream back(mounts_.at("web1") + "/after-scrub");
    std::string text((std::istreambuf_iterator<char>(back)), std::istreambuf_iterator<char>());
    EXPECT_EQ(text, "still writable");
    // A scrub started in the background, then joined by a second command
    // that follows it to its end; --status shows the last one.
    const json started = OkJson(Snap({"scrub", "--detach", "--json"}));
    EXPECT_TRUE(started["state"] == "running" || started["state"] == "done") << started.dump();
    EXPECT_EQ(Snap({"scrub", "--json"}).exit_code, 7);
    const CommandResult status = Snap({"scrub", "--status", "--json"});
    EXPECT_EQ(status.exit_code, 7) << status.Describe();
    EXPECT_EQ(json::parse(status.out)["blocks_damaged"], 3) << status.Describe();
    // hoodyfs scrub goes through the daemon as well.
    EXPECT_EQ(Hoodyfs({"scrub"}).exit_code, 7);
  } else {
    // The same through the library: the read fails as corruption (EIO).
    auto snap = Snapshotter::Open(store_, snapshotter::StoreOptions());
    ASSERT_TRUE(snap.ok()) << snap.status().ToString();
    snapshotter::FileSystem fs = (*snap)->store().Head("web1").value();
    const Ino ino = fs.Lookup(kRootIno, "head-only").value().ino;
    std::string buf(4096, '\0');
    EXPECT_EQ(fs.Read(ino, 4096, buf).status().code(), Code::kCorruption);
    snap->reset();
    // Offline without a daemon, --status has nothing to show.
    const CommandResult status = Snap({"scrub", "--status"});
    EXPECT_EQ(status.exit_code, 3) << status.Describe();
    EXPECT_NE(status.err.find("only a daemon runs a scrub in the background"), std::string::npos)
        << status.Describe();
    EXPECT_EQ(Hoodyfs({"scrub"}).exit_code, 7);
  }
}

INSTANTIATE_TEST_SUITE_P(LocalAndThroughTheDaemon, CliVerbTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? "ThroughTheDaemon" : "Local";
                         });

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// The README's main scenario: a real tree in, a snapshot, a change by a
// second import, a diff, a restore, and an export equal to the original.
TEST_F(CliTest, ImportSnapshotChangeRestoreExport) {
  if (::geteuid() != 0) GTEST_SKIP() << "the fixture tree has devices and owners: needs root";
  const std::string original = dir_.File("original");
  ASSERT_EQ(::mkdir(original.c_str(), 0755), 0);
  ASSERT_OK(BuildSpecialTree(original));
  const std::string imported = Ok(Hoodyfs({"import", "-c", "box", "--create", original}));
  EXPECT_EQ(imported.rfind("imported ", 0), 0u) << imported;
  Ok(Snap({"create", "-c", "box", "--alias", "pristine"}));
  const std::string extra = dir_.File("extra");
  ASSERT_EQ(::mkdir(extra.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((extra + "/added-dir").c_str(), 0700), 0);
  {
    std::ofstream f(extra + "/added-dir/notes.txt");
    f << "a change";
  }
  Ok(Hoodyfs({"import", "-c", "box", extra}));
  const std::string diff = Ok(Snap({"diff", "-c", "box", "pristine"}));
  EXPECT_NE(diff.find("+\t/added-dir\n"), std::string::npos) << diff;
  EXPECT_NE(diff.find("+\t/added-dir/notes.txt\n"), std::string::npos) << diff;
  Ok(Snap({"restore", "-c", "box", "--name", "pristine"}));
  EXPECT_EQ(Ok(Snap({"diff", "-c", "box", "pristine"})), "");
  const std::string out = dir_.File("exported");
  Ok(Hoodyfs({"export", "-c", "box", out}));
  EXPECT_EQ(Join(CompareTrees(original, out)), "");
  // The snapshot exports the same, and the pre-restore snapshot has the change.
  const std::string from_snap = dir_.File("from-snapshot");
  Ok(Hoodyfs({"export", "-c", "box", "--snapshot", "pristine", from_snap}));
  EXPECT_EQ(Join(CompareTrees(original, from_snap)), "");
}

TEST_F(CliTest, ImportAndExportTarStreams) {
  if (::geteuid() != 0) GTEST_SKIP() << "the fixture tree has devices and owners: needs root";
  const std::string original = dir_.File("original");
  ASSERT_EQ(::mkdir(original.c_str(), 0755), 0);
  ASSERT_OK(BuildSpecialTree(original));
  Ok(Hoodyfs({"import", "-c", "a", "--create", original}));
  // Tar has no sockets: the export refuses, naming the one it met.
  const CommandResult refused = Hoodyfs({"export", "-c", "a", "-"});
  EXPECT_EQ(refused.exit_code, 1) << refused.Describe();
  EXPECT_NE(refused.err.find("sock"), std::string::npos) << refused.Describe();
  // Without the socket: out as a stream, in again as one.
  ASSERT_EQ(::unlink((original + "/sock").c_str()), 0);
  Ok(Hoodyfs({"import", "-c", "a2", "--create", original}));
  const CommandResult tar = Hoodyfs({"export", "-c", "a2", "-"});
  ASSERT_EQ(tar.exit_code, 0) << tar.err;
  const CommandResult in = RunCommand(
      HoodyfsBinary(), {"--store", store_, "import", "-c", "b", "--create", "-"}, {}, tar.out);
  EXPECT_EQ(in.exit_code, 0) << in.Describe();
  const std::string out = dir_.File("b");
  Ok(Hoodyfs({"export", "-c", "b", out}));
  EXPECT_EQ(Join(CompareTrees(original, out)), "");
}

// A refused import changes nothing (issue 10: 500 files stayed behind when
// an import into an existing container met a name already there): the
// container is as it was, with no snapshot left over, and an import that
// --create'd its container leaves none.
TEST_F(CliTest, AFailedImportChangesNothing) {
  PutFile("web1", "keep", "old");
  const std::string source = dir_.File("source");
  ASSERT_EQ(::mkdir(source.c_str(), 0755), 0);
  for (int i = 0; i < 500; ++i) {
    std::ofstream(source + "/f" + std::to_string(i)) << std::string(5000, 'x');
  }
  std::ofstream(source + "/keep") << "new";
  const CommandResult r = Hoodyfs({"import", "-c", "web1", source});
  EXPECT_EQ(r.exit_code, 4) << r.Describe();
  EXPECT_NE(r.err.find("nothing was imported: the container is as it was"), std::string::npos)
      << r.Describe();
  // The same containers and snapshots (the head is a fresh child of the
  // state before: its generation number moved on).
  EXPECT_EQ(Ok(Snap({"list", "-c", "web1", "--json"})), "[]\n");
  EXPECT_EQ(Ok(Snap({"containers", "list"})).find("fresh"), std::string::npos);
  const std::string out = dir_.File("out");
  Ok(Hoodyfs({"export", "-c", "web1", out}));
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(out)) {
    names.push_back(e.path().filename());
  }
  EXPECT_EQ(names, std::vector<std::string>{"keep"});

  // A truncated tar stream into a container the import creates.
  const CommandResult tar = RunCommand("/usr/bin/tar", {"-cf", "-", "-C", source, "."});
  ASSERT_EQ(tar.exit_code, 0) << tar.Describe();
  const CommandResult cut =
      RunCommand(HoodyfsBinary(), {"--store", store_, "import", "-c", "fresh", "--create", "-"}, {},
                 tar.out.substr(0, tar.out.size() / 2));
  EXPECT_NE(cut.exit_code, 0) << cut.Describe();
  EXPECT_NE(cut.err.find("nothing was imported: the container was not created"), std::string::npos)
      << cut.Describe();
  EXPECT_EQ(Ok(Snap({"containers", "list"})).find("fresh"), std::string::npos)
      << "the half-imported container stayed";
  EXPECT_NE(Ok(Hoodyfs({"fsck"})).find("consistent"), std::string::npos);
}

// import --replace brings a container to a changed tree and changes only
// what differs: the diff from a snapshot taken before names exactly the
// changed paths, and an unchanged tree takes no pre-import snapshot.
TEST_F(CliTest, ImportReplaceChangesOnlyWhatDiffers) {
  const std::string source = dir_.File("source");
  ASSERT_EQ(::mkdir(source.c_str(), 0755), 0);
  for (int i = 0; i < 50; ++i) std::ofstream(source + "/f" + std::to_string(i)) << i;
  Ok(Hoodyfs({"import", "-c", "site", "--create", source}));
  Ok(Snap({"create", "-c", "site", "--alias", "before"}));
  std::ofstream(source + "/f7") << "changed, and longer";
  ASSERT_EQ(::unlink((source + "/f8").c_str()), 0);
  std::ofstream(source + "/new") << "added";

  const CommandResult plain = Hoodyfs({"import", "-c", "site", source});
  EXPECT_EQ(plain.exit_code, 4) << "without --replace an existing name is refused";
  const std::string out = Ok(Hoodyfs({"import", "-c", "site", "--replace", source}));
  EXPECT_NE(out.find("; 48 entries unchanged, 2 names removed"), std::string::npos) << out;
  const std::string diff = Ok(Snap({"diff", "-c", "site", "before"}));
  EXPECT_NE(diff.find("f7"), std::string::npos) << diff;
  EXPECT_NE(diff.find("f8"), std::string::npos) << diff;
  EXPECT_NE(diff.find("new"), std::string::npos) << diff;
  EXPECT_EQ(diff.find("f9"), std::string::npos) << "an unchanged file shows as changed:\n" << diff;

  // Unchanged: nothing written, and no pre-import snapshot left or taken.
  const std::string again = Ok(Hoodyfs({"import", "-c", "site", "--replace", source}));
  EXPECT_NE(again.find("imported 0 entries"), std::string::npos) << again;
  EXPECT_EQ(Ok(Snap({"list", "-c", "site"})).find("pre-import"), std::string::npos);

  const CommandResult tar =
      RunCommand(HoodyfsBinary(), {"--store", store_, "import", "-c", "site", "--replace", "-"});
  EXPECT_EQ(tar.exit_code, 2) << tar.Describe();
  EXPECT_NE(tar.err.find("--replace needs a directory SOURCE"), std::string::npos)
      << tar.Describe();
}

// hoodyfs compact: the metadata file shrinks back once what filled it is
// deleted, and the store is as it was (fsck, the other container's files).
TEST_F(CliTest, CompactGivesBackTheRoomDeletesLeftInTheMetadataFile) {
  const std::string source = dir_.File("many");
  ASSERT_EQ(::mkdir(source.c_str(), 0755), 0);
  for (int d = 0; d < 20; ++d) {
    const std::string sub = source + "/d" + std::to_string(d);
    ASSERT_EQ(::mkdir(sub.c_str(), 0755), 0);
    for (int i = 0; i < 500; ++i) std::ofstream(sub + "/f" + std::to_string(i)) << i;
  }
  Ok(Hoodyfs({"import", "-c", "many", "--create", source}));
  PutFile("web1", "kept", "still here");
  Ok(Snap({"containers", "delete", "many"}));
  struct stat before;
  ASSERT_EQ(::stat((store_ + "/meta.lmdb").c_str(), &before), 0);

  const std::string out = Ok(Hoodyfs({"compact"}));
  EXPECT_NE(out.find("given back to the host"), std::string::npos) << out;
  struct stat after;
  ASSERT_EQ(::stat((store_ + "/meta.lmdb").c_str(), &after), 0);
  EXPECT_LT(after.st_size, before.st_size / 2) << out;
  EXPECT_NE(Ok(Hoodyfs({"fsck"})).find("consistent"), std::string::npos);
  const std::string exported = dir_.File("exported");
  Ok(Hoodyfs({"export", "-c", "web1", exported}));
  std::ifstream kept(exported + "/kept");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(kept), {}), "still here");
}

// Long work shows a status line on a terminal, and nothing when piped.
TEST_F(CliTest, ProgressOnATerminalOnly) {
  struct stat st;
  if (::stat("/usr/share/zoneinfo", &st) != 0 || ::access("/usr/bin/script", X_OK) != 0) {
    GTEST_SKIP() << "needs /usr/share/zoneinfo and script(1)";
  }
  const CommandResult piped = Hoodyfs({"import", "-c", "tz", "--create", "/usr/share/zoneinfo"});
  EXPECT_EQ(piped.exit_code, 0) << piped.Describe();
  EXPECT_EQ(piped.err, "") << "progress went to a pipe";
  // script(1) runs the command on a pseudo-terminal.
  const CommandResult tty = RunCommand(
      "/usr/bin/script",
      {"-qec",
       HoodyfsBinary() + " --store " + store_ + " import -c tz2 --create /usr/share/zoneinfo",
       "/dev/null"});
  EXPECT_EQ(tty.exit_code, 0) << tty.Describe();
  EXPECT_NE(tty.out.find("importing: "), std::string::npos) << tty.Describe();
  EXPECT_NE(tty.out.find("\r\033[K"), std::string::npos) << "the status line is not cleared";
}

TEST_F(CliTest, BadImportsAndExportsChangeNothing) {
  const std::string file = dir_.File("plain-file");
  {
    std::ofstream f(file);
    f << "x";
  }
  struct Case {
    std::vector<std::string> args;
    int exit_code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"import", "-c", "new", "--create", dir_.File("missing")}, 3, "import source"},
      {{"import", "-c", "web1", dir_.File("missing")}, 3, "No such file or directory"},
      {{"import", "-c", "web1", file}, 2, "is not a directory"},
      {{"import", "-c", "nope", dir_.path()}, 3, "no container named 'nope'"},
      {{"export", "-c", "web1", "--snapshot", "nope", dir_.File("out")}, 3, "no snapshot"},
      {{"export", "-c", "nope", dir_.File("out")}, 3, "no container named 'nope'"},
  };
  const std::string before = Fingerprint();
  for (const Case& c : cases) {
    std::string line;
    for (const auto& a : c.args) line += a + " ";
    SCOPED_TRACE(line);
    const CommandResult r = Hoodyfs(c.args);
    EXPECT_EQ(r.exit_code, c.exit_code) << r.Describe();
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.Describe();
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.Describe();
    EXPECT_EQ(Fingerprint(), before);
  }
  // A tar stream that is not one.
  const CommandResult garbage = RunCommand(
      HoodyfsBinary(), {"--store", store_, "import", "-c", "web1", "-"}, {}, "not a tar stream");
  EXPECT_NE(garbage.exit_code, 0) << garbage.Describe();
  EXPECT_EQ(Fingerprint(), before);
}

}  // namespace
}  // namespace hoodyfs::testing
