// A git repository inside a container (Debian's own git, run in a chroot on
// the mounted root): commits, `git fsck --full` clean, a snapshot, more
// commits and a repack, then damage to the object store that fsck reports;
// a restore while mounted brings back a repository that fsck finds clean,
// with exactly the snapshot's history and files.
#include <gtest/gtest.h>

#include <string>

#include "tests/debian/debian_fixture.h"
#include "tests/util/tree_compare.h"

namespace hoodyfs::testing {
namespace {

// The history as `git log` prints it, plus a clean working tree.
constexpr const char* kHistory =
    "cd /srv/repo && git log --format='%H %s' && git status --porcelain && git rev-parse HEAD";

class GitTest : public DebianRootTest {};

TEST_F(GitTest, FsckIsCleanAndTheHistoryIsTheSnapshotsAfterRestoringADamagedRepository) {
  const Sandbox chroot = Sandbox::kChroot;
  {
    Phase p("git: import the minbase+git tar into a new container");
    ImportTar("deb", cache().git_tar);
  }
  ASSERT_FALSE(HasFatalFailure());
  StartDaemon();
  std::string mp;
  {
    Phase p("git: hoodyfs mount");
    mp = MountContainer("deb");
  }
  ASSERT_FALSE(HasFailure());

  {
    Phase p("git: init, commit a tree, gc, commit again, fsck --full");
    // Real content: apt's and dpkg's configuration trees, then a few small
    // commits, a repack into .git/objects/pack, and loose objects after it.
    const CommandResult r = InRoot(chroot, mp, R"(set -e
      git config --global user.name 'hoodyfs test'
      git config --global user.email test@hoodyfs.invalid
      git config --global init.defaultBranch main
      git init -q /srv/repo && cd /srv/repo
      cp -a /etc/apt /etc/dpkg /usr/share/common-licenses .
      git add -A && git commit -q -m 'configuration trees'
      for i in 1 2 3; do echo "v$i" > VERSION; git add VERSION; git commit -q -m "version $i"; done
      git gc -q
      echo 'first notes' > NOTES && git add NOTES && git commit -q -m notes
      git fsck --full --strict
      ls .git/objects/pack | grep -c '\.pack$')");
    ASSERT_EQ(r.exit_code, 0) << r.Describe();
    EXPECT_EQ(r.out, "1\n") << "one pack after git gc";
  }
  const CommandResult history = InRoot(chroot, mp, kHistory);
  ASSERT_EQ(history.exit_code, 0) << history.Describe();
  ASSERT_TRUE(history.out.find(" notes\n") != std::string::npos) << history.out;
  {
    Phase p("git: hoodyfs-snap create --alias git-ok");
    Ok(Snap({"create", "-c", "deb", "--alias", "git-ok"}));
  }

  {
    Phase p("git: more commits and a repack, then delete the pack and loose objects");
    const CommandResult r = InRoot(chroot, mp, R"(set -e
      cd /srv/repo
      for i in 4 5 6; do echo "v$i" > VERSION; git add VERSION; git commit -q -m "version $i"; done
      git rm -q -r common-licenses && git commit -q -m 'drop the licenses'
      git gc -q
      echo 'more notes' >> NOTES && git commit -q -a -m 'more notes'
      git fsck --full --strict
      rm -r .git/objects/pack
      find .git/objects -path '*/objects/[0-9a-f][0-9a-f]/*' -type f | head -n 2 | xargs rm -f)");
    ASSERT_EQ(r.exit_code, 0) << r.Describe();
  }
  {
    const CommandResult r = InRoot(chroot, mp, "cd /srv/repo && git fsck --full");
    EXPECT_NE(r.exit_code, 0) << "fsck finds nothing wrong in the damaged repository: "
                              << r.Describe();
  }

  {
    Phase p("git: hoodyfs-snap restore git-ok (while mounted)");
    Ok(Snap({"restore", "-c", "deb", "--name", "git-ok"}));
  }
  {
    Phase p("git: compare the head with the snapshot mounted read-only");
    const std::string past = MountContainer("deb", {"--snapshot", "git-ok"});
    EXPECT_EQ(JoinLines(CompareTrees(past, mp)), "");
    Unmount(past);
  }
  {
    Phase p("git: fsck --full, log");
    const CommandResult fsck = InRoot(chroot, mp, "cd /srv/repo && git fsck --full --strict");
    EXPECT_EQ(fsck.exit_code, 0) << fsck.Describe();
    EXPECT_EQ(fsck.err, "") << "dangling or broken objects after the restore";
    const CommandResult after = InRoot(chroot, mp, kHistory);
    ASSERT_EQ(after.exit_code, 0) << after.Describe();
    EXPECT_EQ(after.out, history.out);
  }
  {
    Phase p("git: unmount, stop the daemon, fsck");
    UnmountStopAndFsck();
  }
}

}  // namespace
}  // namespace hoodyfs::testing
