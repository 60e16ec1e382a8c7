// hoodyfs-snap bisect (and POST .../bisect): "git bisect for your entire
// computer". Twenty snapshots of a container where a config file breaks at a
// known one; the bisect finds it in log2 steps, reports the diff from the
// last good snapshot, never touches the live head, and leaves no copy and no
// mount behind, also when a step is skipped or the bisect is interrupted.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/testing/file_contents.h"
#include "cli/api/http_client.h"
#include "tests/daemon/daemon_fixture.h"

namespace hoodyfs::testing {
namespace {

using nlohmann::json;

class BisectTest : public DaemonTest {
 protected:
  void SetUp() override {
    DaemonTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    StartDaemon();
    // s1 .. s20: config says fine until s13, where it breaks and stays broken;
    // another file changes at every snapshot.
    const std::string mp = MountContainer("app", {"--create"});
    for (int i = 1; i <= 20; ++i) {
      std::ofstream(mp + "/config") << (i >= kBreaksAt ? "mode=broken\n" : "mode=fine\n");
      std::ofstream(mp + "/build-number") << i << "\n";
      if (i == 5) std::ofstream(mp + "/skip-me") << "this one cannot be tested\n";
      if (i == 6) ::unlink((mp + "/skip-me").c_str());
      Ok(Snap({"create", "-c", "app", "--alias", "s" + std::to_string(i)}));
    }
    std::ofstream(mp + "/config") << "mode=live head\n";
    head_mount_ = mp;
  }
  std::string NameOf(const std::string& alias) {
    const json s = json::parse(Ok(Snap({"show", "-c", "app", "--name", alias, "--json"})));
    return s["name"];
  }
  // Nothing of the bisect is left: no copies, no mounts, the head as it was.
  void ExpectCleanedUp() {
    const json containers = json::parse(Ok(Snap({"containers", "list", "--json"})));
    EXPECT_EQ(containers.size(), 1u) << containers.dump();
    EXPECT_EQ(FileContents("/proc/self/mountinfo").find("bisect-"), std::string::npos)
        << "a bisect mount is left";
    EXPECT_EQ(FileContents(head_mount_ + "/config"), "mode=live head\n");
  }

  static constexpr int kBreaksAt = 13;
  std::string head_mount_;
};

TEST_F(BisectTest, FindsTheFirstBadSnapshotInLogSteps) {
  const CommandResult r = Snap({"bisect", "-c", "app", "--good", "s1", "--bad", "s20", "--json",
                                "--", "grep", "-qx", "mode=fine", "config"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  const json report = json::parse(r.out);
  EXPECT_EQ(report["first_bad"], NameOf("s13"));
  EXPECT_EQ(report["last_good"], NameOf("s12"));
  EXPECT_EQ(report["candidates"].size(), 20u);
  EXPECT_LE(report["steps"].size(), 5u) << "more than log2(20) + 1 steps";
  std::vector<std::string> changed;
  for (const json& c : report["diff"]["changes"]) changed.push_back(c["path"]);
  EXPECT_EQ(changed, (std::vector<std::string>{"/build-number", "/config"}));
  ExpectCleanedUp();
}

TEST_F(BisectTest, RunsInTheCopyWithHoodyfsRootSetAndSkipsOn125) {
  // Exit 125 (cannot test) where skip-me exists; HOODYFS_ROOT is the copy's
  // mount, which is also the working directory.
  const std::string script =
      "test \"$HOODYFS_ROOT\" = \"$PWD\" || exit 2; "
      "test -e skip-me && exit 125; grep -qx mode=fine \"$HOODYFS_ROOT/config\"";
  const CommandResult r = Snap({"bisect", "-c", "app", "--good", "s1", "--bad", "s7", "--json",
                                "--", "/bin/sh", "-c", script});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  const json report = json::parse(r.out);
  bool skipped = false;
  for (const json& s : report["steps"]) skipped |= s["verdict"] == "skip";
  // s2..s6 are fine and s7 is the bad end: the first bad is s7 whatever is skipped.
  EXPECT_EQ(report["first_bad"], NameOf("s7"));
  EXPECT_EQ(report["last_good"], NameOf("s6"));
  EXPECT_TRUE(skipped || report["steps"].size() < 3) << report.dump();
  ExpectCleanedUp();
}

// A command that cannot run, or fails where the user says it works, would
// call every step bad: the bisect stops with an error instead of naming a
// wrong first-bad snapshot with exit 0 (issue 10).
TEST_F(BisectTest, ACommandThatCannotRunOrFailsOnGoodIsAnError) {
  const CommandResult missing =
      Snap({"bisect", "-c", "app", "--good", "s1", "--bad", "s20", "--", "/no/such/program", "x"});
  EXPECT_EQ(missing.exit_code, 2) << missing.Describe();
  EXPECT_NE(missing.err.find("could not run in snapshot " + NameOf("s1") + " (exit 127"),
            std::string::npos)
      << missing.Describe();
  EXPECT_EQ(missing.out, "") << missing.Describe();
  const CommandResult fails = Snap({"bisect", "-c", "app", "--good", "s1", "--bad", "s20", "--",
                                    "grep", "-qx", "mode=broken", "config"});
  EXPECT_EQ(fails.exit_code, 2) << fails.Describe();
  EXPECT_NE(fails.err.find("does not succeed on the good snapshot " + NameOf("s1") + " (exit 1)"),
            std::string::npos)
      << fails.Describe();
  ExpectCleanedUp();
}

TEST_F(BisectTest, GoodMustBeAnAncestorOfBad) {
  // After restoring s3, a new snapshot branches from it: s10 is not its ancestor.
  Ok(Snap({"restore", "-c", "app", "--name", "s3", "--discard-head"}));
  Ok(Snap({"create", "-c", "app", "--alias", "branch"}));
  const CommandResult r =
      Snap({"bisect", "-c", "app", "--good", "s10", "--bad", "branch", "--", "true"});
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_NE(r.err.find("is not an ancestor of bad snapshot"), std::string::npos) << r.Describe();
  const CommandResult unknown =
      Snap({"bisect", "-c", "app", "--good", "nope", "--bad", "s2", "--", "true"});
  EXPECT_EQ(unknown.exit_code, 3) << unknown.Describe();
}

TEST_F(BisectTest, CandidatesArePinnedWhileItRuns) {
  const std::string fifo = dir_->File("step-running");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string script = "echo running > " + fifo + "; exec sleep 600";
  const pid_t cli = ::fork();
  ASSERT_GE(cli, 0);
  if (cli == 0) {
    std::vector<std::string> args = {HoodyfsSnapBinary(),
                                     "--store",
                                     store_,
                                     "bisect",
                                     "-c",
                                     "app",
                                     "--good",
                                     "s1",
                                     "--bad",
                                     "s20",
                                     "--",
                                     "/bin/sh",
                                     "-c",
                                     script};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  // Wait for the first step's command to be running (it writes the fifo).
  std::ifstream(fifo) >> std::ws;
  // While it runs, its candidates cannot be deleted.
  const CommandResult del = Snap({"delete", "-c", "app", "--name", "s13"});
  EXPECT_EQ(del.exit_code, 5) << del.Describe();
  EXPECT_NE(del.err.find("in use (bisect)"), std::string::npos) << del.Describe();
  // Ctrl-C: the bisect is cancelled and cleans up after itself.
  ASSERT_EQ(::kill(cli, SIGINT), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(cli, &status, 0), cli);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << status;
  ExpectCleanedUp();
  Ok(Snap({"delete", "-c", "app", "--name", "s13"}));
}

TEST_F(BisectTest, RestRunsOneAndReturnsTheReport) {
  cli::HttpClient client(cli::UnixEndpoint(store_ + "/hoodyfs.sock"));
  auto r = client.Send(
      "POST", "/api/v1/containers/app/bisect",
      R"({"good": "s1", "bad": "s20", "command": ["grep", "-qx", "mode=fine", "config"]})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["first_bad"], NameOf("s13"));
  auto bad = client.Send("POST", "/api/v1/containers/app/bisect", R"({"good": "s1"})");
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->status, 400) << bad->body;
  ExpectCleanedUp();
}

}  // namespace
}  // namespace hoodyfs::testing
