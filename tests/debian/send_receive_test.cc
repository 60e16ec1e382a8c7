// A real Debian root sent to another store, as `zfs send | zfs receive`
// moves a container between hosts (issue 13): the minbase root whole, then
// the increment that installing a package inside it made. On the receiving
// store each snapshot is the sent one, byte for byte and attribute for
// attribute (owners, modes, times, xattrs, hard links, devices), by
// `hoodyfs export` of both sides and a tree comparison.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "nlohmann/json.hpp"
#include "tests/cli/run_command.h"
#include "tests/debian/debian_fixture.h"
#include "tests/util/tree_compare.h"

namespace hoodyfs::testing {
namespace {

using nlohmann::json;

class DebianSendReceiveTest : public DebianRootTest {};

TEST_F(DebianSendReceiveTest, ARootAndTheIncrementOfAnInstallArriveIdentical) {
  {
    Phase p("send: import minbase tar into a new container");
    ImportTar("deb", cache().minbase_tar);
  }
  ASSERT_FALSE(HasFatalFailure());
  Ok(Snap({"create", "-c", "deb", "--alias", "base"}));
  StartDaemon();
  const std::string mp = MountContainer("deb");
  ASSERT_FALSE(HasFailure());
  RequireWorkingSandbox(Sandbox::kChroot, mp);
  if (IsSkipped() || HasFatalFailure()) return;
  {
    Phase p("send: dpkg -i hello.deb in a chroot");
    ProvideDeb(Sandbox::kChroot, mp);
    ASSERT_FALSE(HasFatalFailure());
    const CommandResult r = InRoot(Sandbox::kChroot, mp, "dpkg -i /tmp/x.deb && hello");
    ASSERT_EQ(r.exit_code, 0) << r.Describe();
  }
  Ok(Snap({"create", "-c", "deb", "--alias", "hello"}));
  UnmountStopAndFsck();
  ASSERT_FALSE(HasFailure());

  const std::string other = dir().File("other");
  Ok(RunCommand(HoodyfsBinary(), {"--store", other, "init"}));
  auto pipe = [&](const std::string& send_args) {
    const std::string cmd = HoodyfsSnapBinary() + " --store " + store() + " send -c deb " +
                            send_args + " | " + HoodyfsSnapBinary() + " --store " + other +
                            " receive -c moved --json";
    return RunCommand("/bin/sh", {"-c", cmd});
  };
  {
    Phase p("send: the root, full, through a pipe");
    const json full = json::parse(Ok(pipe("--name base")));
    EXPECT_EQ(full["incremental"], false) << full.dump();
  }
  {
    Phase p("send: the install, incremental from the root");
    const json inc = json::parse(Ok(pipe("--name hello --from base")));
    EXPECT_EQ(inc["incremental"], true) << inc.dump();
  }
  for (const std::string alias : {"base", "hello"}) {
    Phase p("send: export both sides of " + alias + " and compare");
    const std::string sent = dir().File("sent-" + alias), got = dir().File("got-" + alias);
    Ok(Hoodyfs({"export", "-c", "deb", "--snapshot", alias, sent}));
    Ok(RunCommand(HoodyfsBinary(),
                  {"--store", other, "export", "-c", "moved", "--snapshot", alias, got}));
    EXPECT_EQ(JoinLines(CompareTrees(sent, got)), "") << alias;
  }
  // The increment carried the install and only it: the received root has
  // no hello, the received install has it.
  EXPECT_FALSE(std::filesystem::exists(dir().File("got-base") + "/usr/bin/hello"));
  EXPECT_TRUE(std::filesystem::exists(dir().File("got-hello") + "/usr/bin/hello"));
  Ok(RunCommand(HoodyfsBinary(), {"--store", other, "fsck"}));
}

}  // namespace
}  // namespace hoodyfs::testing
