// A container's whole life on a real Debian root, as the product brief tells
// it, run three ways (a bare chroot, bubblewrap, systemd-nspawn): import a
// debootstrap'd bookworm into a container, mount it through the daemon, run
// programs in it, install a package with dpkg, snapshot, wreck /usr and
// /etc until nothing runs, restore while mounted, and find the container
// running again with every file identical to the snapshot in bytes and
// metadata.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <string>

#include "base/testing/file_contents.h"
#include "tests/debian/debian_fixture.h"
#include "tests/util/tree_compare.h"

namespace hoodyfs::testing {
namespace {

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// What the container looks like from inside when it works: its release,
// the first user, apt's configuration, the installed package running, and
// the C library's mode. Run before the snapshot and after the restore.
constexpr const char* kProbe =
    "cat /etc/debian_version && head -n 1 /etc/passwd && ls /etc/apt && hello && "
    "dpkg-query -W hello && ls -l \"$(dpkg -L libc6 | grep '/libc\\.so\\.6$')\" | cut -c1-10";

// What a broken upgrade or an attacker might leave: /etc/apt gone, the user
// database overwritten, the C library made unreadable, every program in
// /usr/bin deleted (rm deletes itself last, which Linux allows).
constexpr const char* kWreck =
    "rm -r /etc/apt && echo 'root:x:0:0:wrecked:/nonexistent:/bin/false' > /etc/passwd && "
    "chmod 000 \"$(dpkg -L libc6 | grep '/libc\\.so\\.6$')\" && rm -f /usr/bin/*";

class LifecycleTest : public DebianRootTest {
 protected:
  void Run(Sandbox sandbox);
};

void LifecycleTest::Run(Sandbox sandbox) {
  const std::string tag = SandboxName(sandbox);
  {
    Phase p(tag + ": import minbase tar into a new container");
    ImportTar("deb", cache().minbase_tar);
  }
  ASSERT_FALSE(HasFatalFailure());
  StartDaemon();
  std::string mp;
  {
    Phase p(tag + ": hoodyfs mount");
    mp = MountContainer("deb");
  }
  ASSERT_FALSE(HasFailure());
  RequireWorkingSandbox(sandbox, mp);
  if (IsSkipped() || HasFatalFailure()) return;

  {
    Phase p(tag + ": run ls, cat, dpkg -l");
    const CommandResult r =
        InRoot(sandbox, mp, "ls / && cat /etc/debian_version && dpkg -l | wc -l");
    ASSERT_EQ(r.exit_code, 0) << r.Describe();
    EXPECT_TRUE(Contains(r.out, "usr\n") && Contains(r.out, "etc\n")) << r.out;
    EXPECT_TRUE(Contains(r.out, "\n12.")) << "not bookworm: " << r.out;
    // dpkg -l lists a minbase's ~90 packages after its 5 header lines.
    const std::string count = r.out.substr(r.out.rfind('\n', r.out.size() - 2) + 1);
    EXPECT_GE(std::stoi(count), 80) << r.out;
  }
  {
    Phase p(tag + ": dpkg -i hello.deb, run hello");
    ProvideDeb(sandbox, mp);
    ASSERT_FALSE(HasFatalFailure());
    const CommandResult r = InRoot(sandbox, mp, "dpkg -i /tmp/x.deb && hello");
    ASSERT_EQ(r.exit_code, 0) << r.Describe();
    EXPECT_TRUE(Contains(r.out, "Setting up hello")) << r.out;
    EXPECT_TRUE(r.out.ends_with("Hello, world!\n")) << r.out;
  }
  const CommandResult before = InRoot(sandbox, mp, kProbe);
  ASSERT_EQ(before.exit_code, 0) << before.Describe();
  ASSERT_TRUE(Contains(before.out, "root:x:0:0:root:/root:/bin/bash\n")) << before.out;
  ASSERT_TRUE(Contains(before.out, "Hello, world!\nhello\t2.10-3\n-rwxr-xr-x")) << before.out;
  {
    Phase p(tag + ": hoodyfs-snap create --alias installed");
    Ok(Snap({"create", "-c", "deb", "--alias", "installed"}));
  }

  {
    Phase p(tag + ": wreck /usr and /etc from inside");
    const CommandResult r = InRoot(sandbox, mp, kWreck);
    ASSERT_EQ(r.exit_code, 0) << r.Describe();
  }
  {
    const CommandResult r = InRoot(sandbox, mp, "true");
    EXPECT_NE(r.exit_code, 0) << "the wrecked container still runs /bin/sh: " << r.Describe();
    EXPECT_TRUE(Contains(r.err, "No such file or directory")) << r.Describe();
    EXPECT_TRUE(FileContents(mp + "/etc/passwd").starts_with("root:x:0:0:wrecked:"));
    struct stat st;
    EXPECT_NE(::stat((mp + "/etc/apt").c_str(), &st), 0);
    EXPECT_EQ(errno, ENOENT);
    EXPECT_NE(::lstat((mp + "/usr/bin/hello").c_str(), &st), 0);
  }
  Ok(Snap({"create", "-c", "deb", "--alias", "wrecked"}));
  {
    // What the wreck changed, as the snapshots' diff reports it.
    const std::string diff = Ok(Snap({"diff", "-c", "deb", "installed", "wrecked"}));
    for (const char* line : {"-\t/etc/apt\n", "-\t/etc/apt/sources.list\n", "M\t/etc/passwd\n",
                             "-\t/usr/bin/hello\n", "-\t/usr/bin/dpkg\n", "-\t/usr/bin/sh\n"}) {
      EXPECT_TRUE(Contains(diff, line)) << "no " << line << " in the diff";
    }
  }

  {
    Phase p(tag + ": hoodyfs-snap restore installed (while mounted)");
    const std::string out = Ok(Snap({"restore", "-c", "deb", "--name", "installed"}));
    EXPECT_TRUE(Contains(out, "restored installed")) << out;
  }
  {
    Phase p(tag + ": compare the head with the snapshot mounted read-only");
    const std::string past = MountContainer("deb", {"--snapshot", "installed"});
    EXPECT_EQ(JoinLines(CompareTrees(past, mp)), "");
    Unmount(past);
    EXPECT_EQ(Ok(Snap({"diff", "-c", "deb", "installed"})), "");
  }
  {
    Phase p(tag + ": run the restored container");
    const CommandResult after = InRoot(sandbox, mp, kProbe);
    ASSERT_EQ(after.exit_code, 0) << after.Describe();
    EXPECT_EQ(after.out, before.out);
  }
  {
    Phase p(tag + ": unmount, stop the daemon, fsck");
    UnmountStopAndFsck();
  }
}

TEST_F(LifecycleTest, ChrootInstallSnapshotWreckRestoreWhileMounted) { Run(Sandbox::kChroot); }

TEST_F(LifecycleTest, BubblewrapInstallSnapshotWreckRestoreWhileMounted) {
  Run(Sandbox::kBubblewrap);
}

TEST_F(LifecycleTest, NspawnInstallSnapshotWreckRestoreWhileMounted) { Run(Sandbox::kNspawn); }

}  // namespace
}  // namespace hoodyfs::testing
