#include "tests/debian/debian_fixture.h"

#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>

namespace hoodyfs::testing {
namespace {

constexpr const char* kEnv = "/usr/bin/env";
constexpr const char* kChroot = "/usr/sbin/chroot";
constexpr const char* kBwrap = "/usr/bin/bwrap";
constexpr const char* kNspawn = "/usr/bin/systemd-nspawn";

// What scripts/debian-root-cache.sh said, once per test process: every test
// of the binary shares one answer (and one build, if one was needed).
struct CacheAnswer {
  CommandResult result;
  double seconds = 0;
};

const CacheAnswer& EnsureCache() {
  static const CacheAnswer answer = [] {
    CacheAnswer a;
    const auto start = std::chrono::steady_clock::now();
    a.result = RunCommand("/bin/bash", {HOODYFS_SOURCE_DIR "/scripts/debian-root-cache.sh"});
    a.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return a;
  }();
  return answer;
}

std::string CacheDir() {
  const char* dir = std::getenv("HOODYFS_TEST_CACHE");
  return dir != nullptr && *dir != '\0' ? dir : "/var/cache/hoodyfs-test";
}

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

const char* SandboxName(Sandbox sandbox) {
  switch (sandbox) {
    case Sandbox::kChroot:
      return "chroot";
    case Sandbox::kBubblewrap:
      return "bwrap";
    case Sandbox::kNspawn:
      return "nspawn";
  }
  return "?";
}

Phase::Phase(std::string name) : name_(std::move(name)), start_(std::chrono::steady_clock::now()) {}

Phase::~Phase() {
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::printf("[  phase   ] %s: %.3f s\n", name_.c_str(), s);
  std::fflush(stdout);
}

std::string JoinLines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

void DebianRootTest::SetUp() {
  DaemonTest::SetUp();
  if (IsSkipped() || HasFatalFailure()) return;
  const CacheAnswer& answer = EnsureCache();
  if (answer.result.exit_code == 77) GTEST_SKIP() << answer.result.err;
  ASSERT_EQ(answer.result.exit_code, 0)
      << "scripts/debian-root-cache.sh: " << answer.result.Describe();
  std::printf("[  phase   ] Debian root cache (%s): %.3f s\n",
              answer.result.out.substr(0, answer.result.out.find('\n')).c_str(), answer.seconds);
  std::fflush(stdout);
  const std::string dir = CacheDir();
  cache_ = {dir + "/debian-bookworm-minbase.tar", dir + "/debian-bookworm-minbase-git.tar",
            dir + "/hello.deb"};
}

void DebianRootTest::ImportTar(const std::string& container, const std::string& tar) {
  const CommandResult r =
      RunCommand("/bin/sh", {"-c", ShellQuote(HoodyfsBinary()) + " --store " + ShellQuote(store()) +
                                       " import -c " + ShellQuote(container) + " --create - < " +
                                       ShellQuote(tar)});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  std::printf("%s", r.out.c_str());
}

CommandResult DebianRootTest::InRoot(Sandbox sandbox, const std::string& root,
                                     const std::string& script) {
  std::vector<std::string> args = {"-i", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin",
                                   "HOME=/root", "LC_ALL=C"};
  std::vector<std::string> run;
  switch (sandbox) {
    case Sandbox::kChroot:
      run = {kChroot, root};
      break;
    case Sandbox::kBubblewrap:
      // Root keeps its capabilities under bwrap; new pid, ipc and uts
      // namespaces; /proc, /dev, /tmp and /run are the sandbox's own.
      run = {kBwrap,
             "--bind",
             root,
             "/",
             "--proc",
             "/proc",
             "--dev",
             "/dev",
             "--tmpfs",
             "/tmp",
             "--tmpfs",
             "/run",
             "--ro-bind",
             cache_.hello_deb,
             "/tmp/x.deb",
             "--unshare-pid",
             "--unshare-ipc",
             "--unshare-uts",
             "--hostname",
             "deb",
             "--die-with-parent"};
      break;
    case Sandbox::kNspawn:
      // Without systemd as PID 1 (no system bus): --register=no (no
      // machined) and --keep-unit (no scope unit). The -off flags keep
      // nspawn from writing into the root by itself (/etc/resolv.conf,
      // /etc/localtime, /var/log/journal), so the tree changes only by
      // what the script does.
      run = {kNspawn,
             "--quiet",
             "--register=no",
             "--keep-unit",
             "--machine=hoodyfs-test-" + std::to_string(::getpid()),
             "--directory=" + root,
             "--bind-ro=" + cache_.hello_deb + ":/tmp/x.deb",
             "--resolv-conf=off",
             "--timezone=off",
             "--link-journal=no",
             "--console=pipe",
             "--setenv=LC_ALL=C"};
      break;
  }
  args.insert(args.end(), run.begin(), run.end());
  args.insert(args.end(), {"/bin/sh", "-c", script});
  return RunCommand(kEnv, args);
}

void DebianRootTest::ProvideDeb(Sandbox sandbox, const std::string& root) {
  if (sandbox != Sandbox::kChroot) return;
  std::error_code ec;
  std::filesystem::copy_file(cache_.hello_deb, root + "/tmp/x.deb",
                             std::filesystem::copy_options::overwrite_existing, ec);
  ASSERT_FALSE(ec) << "copy hello.deb into the root: " << ec.message();
}

void DebianRootTest::RequireWorkingSandbox(Sandbox sandbox, const std::string& root) {
  const char* binary = sandbox == Sandbox::kBubblewrap ? kBwrap
                       : sandbox == Sandbox::kNspawn   ? kNspawn
                                                       : kChroot;
  if (::access(binary, X_OK) != 0) {
    GTEST_SKIP() << binary << " is not installed (scripts/install-deps.sh installs it)";
  }
  const CommandResult on_mount = InRoot(sandbox, root, "true");
  if (on_mount.exit_code == 0) return;
  // Does it work at all here? Try a plain host copy of the same root.
  const std::string plain = dir().File("plain-root");
  ASSERT_EQ(::mkdir(plain.c_str(), 0755), 0);
  const CommandResult untar =
      RunCommand("/bin/tar", {"--numeric-owner", "-xpf", cache_.minbase_tar, "-C", plain});
  ASSERT_EQ(untar.exit_code, 0) << untar.Describe();
  const CommandResult on_host = InRoot(sandbox, plain, "true");
  if (on_host.exit_code != 0) {
    GTEST_SKIP() << SandboxName(sandbox)
                 << " cannot run a program in a plain host directory here either: "
                 << on_host.Describe();
  }
  FAIL() << SandboxName(sandbox) << " runs /bin/true in a host copy of the root but not in the "
         << "hoodyfs mount: " << on_mount.Describe();
}

void DebianRootTest::UnmountStopAndFsck() {
  while (!mounts_.empty()) Unmount(mounts_.back());
  StopDaemon(SIGTERM);
  const CommandResult fsck = Hoodyfs({"fsck"});
  EXPECT_EQ(fsck.exit_code, 0) << fsck.Describe();
}

}  // namespace hoodyfs::testing
