// "git bisect for your entire computer" on a real Debian root: twenty
// snapshots of a container running bookworm, where an upgrade breaks a
// service's config at a known one. `hoodyfs-snap bisect --chroot` runs the
// health check inside each candidate's throwaway copy, with the copy's own
// /bin/sh and grep, finds the first bad snapshot, reports the diff from the
// last good one, and leaves the live head and the store as they were.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/debian/debian_fixture.h"

namespace hoodyfs::testing {
namespace {

using nlohmann::json;

constexpr int kSnapshots = 20;
constexpr int kBreaksAt = 14;

class DebianBisectTest : public DebianRootTest {};

TEST_F(DebianBisectTest, FindsTheSnapshotThatBrokeTheConfig) {
  ImportTar("deb", cache().minbase_tar);
  StartDaemon();
  const std::string mp = MountContainer("deb");
  {
    Phase phase("take 20 snapshots, one config change each");
    for (int i = 1; i <= kSnapshots; ++i) {
      // An "apt upgrade" touches a package file at every step; the config
      // breaks at one and stays broken.
      std::ofstream(mp + "/etc/app.conf") << "# generation " << i << "\n"
                                          << (i < kBreaksAt ? "listen=8080\n" : "listen=\n");
      std::ofstream(mp + "/usr/share/doc/upgrade-log", std::ios::app) << "upgrade " << i << "\n";
      Ok(Snap({"create", "-c", "deb", "--alias", "day" + std::to_string(i)}));
    }
  }
  std::ofstream(mp + "/etc/app.conf") << "live head, being edited\n";
  CommandResult r;
  {
    Phase phase("bisect --chroot over 20 snapshots");
    // The check runs inside the copy: its /bin/sh, its grep, its /etc.
    r = Snap({"bisect", "-c", "deb", "--good", "day1", "--bad", "day20", "--chroot", "--json", "--",
              "/bin/sh", "-c",
              "test \"$HOODYFS_ROOT\" = / && grep -qx 'listen=[0-9][0-9]*' /etc/app.conf"});
  }
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  const json report = json::parse(r.out);
  const json bad = json::parse(
      Ok(Snap({"show", "-c", "deb", "--name", "day" + std::to_string(kBreaksAt), "--json"})));
  const json good = json::parse(
      Ok(Snap({"show", "-c", "deb", "--name", "day" + std::to_string(kBreaksAt - 1), "--json"})));
  EXPECT_EQ(report["first_bad"], bad["name"]);
  EXPECT_EQ(report["last_good"], good["name"]);
  EXPECT_LE(report["steps"].size(), 6u);
  std::vector<std::string> changed;
  for (const json& c : report["diff"]["changes"]) changed.push_back(c["path"]);
  EXPECT_EQ(changed, (std::vector<std::string>{"/etc/app.conf", "/usr/share/doc/upgrade-log"}));
  // Nothing of it is left, and the live head was never touched.
  EXPECT_EQ(json::parse(Ok(Snap({"containers", "list", "--json"}))).size(), 1u);
  {
    std::ifstream head(mp + "/etc/app.conf");
    std::stringstream text;
    text << head.rdbuf();
    EXPECT_EQ(text.str(), "live head, being edited\n");
  }
  UnmountStopAndFsck();
}

}  // namespace
}  // namespace hoodyfs::testing
