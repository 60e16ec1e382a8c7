// DebianRootTest: the product brief's scenarios on a real Debian root
// filesystem. A DaemonTest (a real store, a real `hoodyfs serve` child,
// mounts through `hoodyfs mount`, everything unmounted and the daemon
// stopped in TearDown, also after a failure) plus:
// - the Debian roots that scripts/debian-root-cache.sh builds once per
//   machine (debootstrap of bookworm minbase, the same with git, hello.deb);
//   with no cache and no way to build one (mirror unreachable, no
//   debootstrap) the test skips with the reason;
// - importing such a root into a container and mounting it;
// - running a shell script inside a mounted root through chroot,
//   bubblewrap or systemd-nspawn, with a clean environment;
// - wall-clock times of each phase, printed to stdout (not asserted).
//
// Thread-safety: one test thread, as gtest runs it.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "tests/daemon/daemon_fixture.h"

namespace hoodyfs::testing {

// How a program runs inside a mounted root.
enum class Sandbox {
  kChroot,      // chroot MP /bin/sh -c ...: shares the host's /proc, /dev, namespaces
  kBubblewrap,  // bwrap --bind MP / --proc /proc --dev /dev --tmpfs /tmp ...
  kNspawn,      // systemd-nspawn -D MP --register=no --keep-unit ...
};
const char* SandboxName(Sandbox sandbox);

// Prints "[  phase   ] NAME: S.SSS s" to stdout when destroyed.
class Phase {
 public:
  explicit Phase(std::string name);
  ~Phase();
  Phase(const Phase&) = delete;
  Phase& operator=(const Phase&) = delete;

 private:
  std::string name_;
  std::chrono::steady_clock::time_point start_;
};

// The files of scripts/debian-root-cache.sh.
struct DebianCache {
  std::string minbase_tar;  // debootstrap --variant=minbase bookworm
  std::string git_tar;      // the same plus git and its dependencies
  std::string hello_deb;    // Debian's hello package
};

class DebianRootTest : public DaemonTest {
 protected:
  // DaemonTest::SetUp, then the cache (built on first use, under the
  // script's lock). Does not start the daemon: import needs the store to
  // itself, so tests import first and then call StartDaemon().
  void SetUp() override;

  const DebianCache& cache() const { return cache_; }

  // `hoodyfs import -c CONTAINER --create - < TAR`; fails the test unless it
  // succeeds.
  void ImportTar(const std::string& container, const std::string& tar);

  // Runs `/bin/sh -c SCRIPT` inside the root mounted at `root`, through
  // `sandbox`, as root with PATH, HOME=/root and LC_ALL=C only. Under
  // bubblewrap and systemd-nspawn, /tmp is a fresh tmpfs holding the cached
  // hello.deb as /tmp/x.deb (read-only).
  CommandResult InRoot(Sandbox sandbox, const std::string& root, const std::string& script);

  // Makes /tmp/x.deb (the cached hello.deb) visible inside `root` for
  // `sandbox`: a copy into the root for chroot, nothing for the others
  // (InRoot binds it).
  void ProvideDeb(Sandbox sandbox, const std::string& root);

  // Skips the test when `sandbox` is not installed. Else runs /bin/true in
  // the root mounted at `root`; when that fails, runs it again in a plain
  // host copy of the minbase root: failing there too means the environment
  // stops the sandbox, not hoodyfs (systemd-nspawn in a container without
  // cgroup rights, say), and the test skips with the sandbox's message;
  // working there is a test failure. Callers check IsSkipped() and
  // HasFatalFailure() afterwards.
  void RequireWorkingSandbox(Sandbox sandbox, const std::string& root);

  // Unmounts everything, stops the daemon, and checks the store with
  // `hoodyfs fsck`.
  void UnmountStopAndFsck();

 private:
  DebianCache cache_;
};

// "line\n" joined, for failure messages of CompareTrees.
std::string JoinLines(const std::vector<std::string>& lines);

}  // namespace hoodyfs::testing
