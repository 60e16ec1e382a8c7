// What the system around hoodyfs uses: the install script, the systemd
// units (checked by systemd-analyze when it is there), and bash completion
// against a real store.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "base/testing/temp_dir.h"
#include "tests/cli/run_command.h"

namespace hoodyfs::testing {
namespace {

std::string SourceDir() { return HOODYFS_SOURCE_DIR; }
std::string CliDir() { return HoodyfsBinary().substr(0, HoodyfsBinary().rfind('/')); }

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

TEST(IntegrationTest, InstallPutsEverythingInPlace) {
  TempDir dest = TempDir::Create().value();
  const std::string build = CliDir().substr(0, CliDir().rfind('/'));
  const CommandResult r = RunCommand("/bin/bash", {SourceDir() + "/scripts/install.sh"},
                                     {"DESTDIR=" + dest.path(), "BUILD_DIR=" + build});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  for (const char* path :
       {"/usr/local/bin/hoodyfs", "/usr/local/bin/hoodyfs-snap", "/sbin/mount.fuse.hoodyfs",
        "/etc/systemd/system/hoodyfs@.service", "/etc/systemd/system/hoodyfs-snapshot@.service",
        "/etc/systemd/system/hoodyfs-snapshot@.timer", "/etc/default/hoodyfs",
        "/etc/bash_completion.d/hoodyfs", "/usr/local/share/doc/hoodyfs/operations.md"}) {
    EXPECT_TRUE(Exists(dest.path() + path)) << path;
  }
  char target[4096] = {};
  ASSERT_GT(::readlink((dest.path() + "/sbin/mount.fuse.hoodyfs").c_str(), target, sizeof target),
            0);
  EXPECT_EQ(std::string(target), "/usr/local/bin/hoodyfs");
  const CommandResult help = RunCommand(dest.path() + "/usr/local/bin/hoodyfs", {"--help"});
  EXPECT_EQ(help.exit_code, 0) << help.Describe();
}

TEST(IntegrationTest, SystemdUnitsVerify) {
  const std::string analyze = "/usr/bin/systemd-analyze";
  if (::access(analyze.c_str(), X_OK) != 0) GTEST_SKIP() << "no systemd-analyze here";
  TempDir units = TempDir::Create().value();
  // The units as installed with the programs of this build.
  for (const char* unit :
       {"hoodyfs@.service", "hoodyfs-snapshot@.service", "hoodyfs-snapshot@.timer"}) {
    std::ifstream in(SourceDir() + "/scripts/systemd/" + unit);
    std::stringstream text;
    text << in.rdbuf();
    std::string s = text.str();
    for (size_t at; (at = s.find("/usr/local/bin")) != std::string::npos;) {
      s.replace(at, 14, CliDir());
    }
    std::ofstream(units.File(unit)) << s;
  }
  const CommandResult r =
      RunCommand(analyze, {"verify", units.File("hoodyfs@var-lib-hoodyfs.service"),
                           units.File("hoodyfs-snapshot@web1.service"),
                           units.File("hoodyfs-snapshot@web1.timer")});
  // Instances verify through their templates in the same directory.
  if (r.err.find("Failed to") != std::string::npos && r.err.find("bus") != std::string::npos) {
    GTEST_SKIP() << "systemd-analyze needs a running systemd here: " << r.err;
  }
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
}

TEST(IntegrationTest, BashCompletionOffersCommandsContainersAndSnapshots) {
  TempDir dir = TempDir::Create().value();
  const std::string store = dir.File("store");
  auto run = [&](const std::vector<std::string>& args) {
    std::vector<std::string> all = {"--store", store};
    all.insert(all.end(), args.begin(), args.end());
    const CommandResult r = RunCommand(HoodyfsSnapBinary(), all);
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
  };
  ASSERT_EQ(RunCommand(HoodyfsBinary(), {"--store", store, "init"}).exit_code, 0);
  run({"containers", "create", "web1"});
  run({"containers", "create", "db"});
  run({"create", "-c", "web1", "--alias", "golden"});
  // Completes the line given as words; prints COMPREPLY, one per line.
  auto complete = [&](const std::string& words) {
    const std::string script = "source '" + SourceDir() +
                               "/scripts/completion/hoodyfs.bash'; COMP_WORDS=(" + words +
                               "); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _${COMP_WORDS[0]//-/_}; "
                               "printf '%s\\n' \"${COMPREPLY[@]}\" | sort";
    return RunCommand("/bin/bash", {"-c", script},
                      {"PATH=" + CliDir() + ":/usr/bin:/bin", "HOODYFS_STORE=" + store})
        .out;
  };
  EXPECT_EQ(complete("hoodyfs-snap cr"), "create\n");
  EXPECT_EQ(complete("hoodyfs-snap create -c ''"), "db\nweb1\n");
  EXPECT_EQ(complete("hoodyfs-snap restore -c web1 --name ''").find("golden"), 0u);
  EXPECT_EQ(complete("hoodyfs mo"), "mount\n");
  EXPECT_EQ(complete("hoodyfs-snap sc"), "scrub\n");
  EXPECT_EQ(complete("hoodyfs scrub --d"), "--detach\n");
}

}  // namespace
}  // namespace hoodyfs::testing
