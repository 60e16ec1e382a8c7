#include "cli/daemon/bisector.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "base/log.h"

extern char** environ;  // NOLINT: POSIX

namespace hoodyfs::cli {

namespace {

bool ValidId(const std::string& id) {
  if (id.empty() || id.size() > 32) return false;
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  }
  return true;
}

// The last `max` bytes of a file, from the start of a line.
std::string Tail(const std::string& path, size_t max = 2048) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  std::string all = s.str();
  if (all.size() <= max) return all;
  std::string tail = all.substr(all.size() - max);
  const size_t nl = tail.find('\n');
  return nl == std::string::npos ? tail : tail.substr(nl + 1);
}

// Where execve may find argv[0]: as given when it holds a '/', else each
// directory of PATH (resolved before fork: the child only calls execve).
std::vector<std::string> ExecCandidates(const std::string& program) {
  if (program.find('/') != std::string::npos) return {program};
  const char* path = std::getenv("PATH");  // NOLINT(concurrency-mt-unsafe): read-only use
  std::string dirs = path != nullptr && *path != '\0' ? path
                                                      : "/usr/local/sbin:/usr/local/bin:"
                                                        "/usr/sbin:/usr/bin:/sbin:/bin";
  std::vector<std::string> out;
  std::stringstream in(dirs);
  for (std::string dir; std::getline(in, dir, ':');) {
    if (!dir.empty()) out.push_back(dir + "/" + program);
  }
  return out;
}

// Removes what a step leaves whatever happens: the mount, then the copy.
class StepCleanup {
 public:
  StepCleanup(snapshotter::Snapshotter& snap, MountManager& mounts)
      : snap_(snap), mounts_(mounts) {}
  ~StepCleanup() {
    if (!mountpoint_.empty()) {
      Status s = mounts_.Unmount(mountpoint_);
      if (!s.ok()) Log(LogLevel::kError, "bisect: " + s.ToString());
      ::rmdir(mountpoint_.c_str());
    }
    if (!copy_.empty()) {
      Status s = snap_.DeleteContainer(copy_);
      if (!s.ok()) Log(LogLevel::kError, "bisect: " + s.ToString());
    }
  }
  void copy(std::string c) { copy_ = std::move(c); }
  void mountpoint(std::string m) { mountpoint_ = std::move(m); }

 private:
  snapshotter::Snapshotter& snap_;
  MountManager& mounts_;
  std::string copy_, mountpoint_;
};

}  // namespace

Bisector::Bisector(snapshotter::Snapshotter& snap, MountManager& mounts, std::string scratch)
    : snap_(snap), mounts_(mounts), scratch_(std::move(scratch)) {}

size_t Bisector::running() {
  MutexLock l(mu_);
  return running_.size();
}

Status Bisector::Cancel(const std::string& id) {
  std::shared_ptr<Running> run;
  {
    MutexLock l(mu_);
    auto it = running_.find(id);
    if (it == running_.end()) return Status::NotFound("no bisect '" + id + "' is running");
    run = it->second;
  }
  run->cancelled.store(true);
  if (const pid_t child = run->child.load(); child > 0) ::kill(-child, SIGTERM);
  return Status::OK();
}

void Bisector::CancelAll() {
  std::vector<std::string> ids;
  {
    MutexLock l(mu_);
    for (const auto& [id, run] : running_) ids.push_back(id);
  }
  for (const std::string& id : ids) Cancel(id).IgnoreError();
}

Result<std::vector<BisectStep>> Bisector::Progress(const std::string& id) {
  std::shared_ptr<Running> run;
  {
    MutexLock l(mu_);
    auto it = running_.find(id);
    if (it == running_.end()) return Status::NotFound("no bisect '" + id + "' is running");
    run = it->second;
  }
  MutexLock l(run->mu);
  return run->steps;
}

Result<std::vector<snapshotter::SnapshotInfo>> Bisector::Candidates(const BisectRequest& r) {
  HOODY_ASSIGN_OR_RETURN(snapshotter::SnapshotInfo good, snap_.GetSnapshot(r.container, r.good));
  HOODY_ASSIGN_OR_RETURN(snapshotter::SnapshotInfo bad, snap_.GetSnapshot(r.container, r.bad));
  std::vector<snapshotter::SnapshotInfo> path{bad};
  while (path.back().name != good.name) {
    const std::string& parent = path.back().parent;
    if (parent.empty() || parent.find('@') != std::string::npos || path.size() > 100000) {
      return Status::InvalidArgument("good snapshot " + good.name + " is not an ancestor of bad " +
                                     "snapshot " + bad.name + " in container '" + r.container +
                                     "'");
    }
    HOODY_ASSIGN_OR_RETURN(snapshotter::SnapshotInfo up, snap_.GetSnapshot(r.container, parent));
    path.push_back(std::move(up));
  }
  return std::vector<snapshotter::SnapshotInfo>(path.rbegin(), path.rend());
}

Result<BisectStep> Bisector::Test(const BisectRequest& r, Running& run, const std::string& snapshot,
                                  int step, const std::string& dir) {
  StepCleanup cleanup(snap_, mounts_);
  const std::string copy = "bisect-" + r.id + "-" + std::to_string(step);
  HOODY_RETURN_IF_ERROR(snap_.CopyContainer(r.container, snapshot, copy).status());
  cleanup.copy(copy);
  const std::string mountpoint = dir + "/" + copy;
  if (::mkdir(mountpoint.c_str(), 0755) != 0) return FromErrno(errno, "mkdir " + mountpoint);
  MountRequest mount;
  mount.container = copy;
  mount.mountpoint = mountpoint;
  HOODY_RETURN_IF_ERROR(mounts_.MountUnchecked(mount).status());
  cleanup.mountpoint(mountpoint);

  // Everything the child needs, prepared before fork: it only makes
  // async-signal-safe calls.
  const std::string log = dir + "/step-" + std::to_string(step) + ".log";
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "HOODYFS_ROOT=", 13) != 0) env.emplace_back(*e);
  }
  env.push_back("HOODYFS_ROOT=" + (r.chroot ? std::string("/") : mountpoint));
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = r.command;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::vector<std::string> programs = ExecCandidates(r.command[0]);
  if (run.cancelled.load()) return Status::Stale("bisect '" + r.id + "' was cancelled");
  const pid_t pid = ::fork();
  if (pid < 0) return FromErrno(errno, "fork");
  if (pid == 0) {
    // The daemon blocks its stop signals and ignores SIGPIPE; both would
    // survive exec: give the command the defaults.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    ::setpgid(0, 0);
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (out < 0 || null < 0 || ::dup2(null, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(out, 2) < 0) {
      ::_exit(126);
    }
    if (r.chroot ? (::chroot(mountpoint.c_str()) != 0 || ::chdir("/") != 0)
                 : ::chdir(mountpoint.c_str()) != 0) {
      ::_exit(126);
    }
    for (const std::string& p : programs) ::execve(p.c_str(), argv.data(), envp.data());
    const char msg[] = "hoodyfs bisect: command not found\n";
    if (::write(2, msg, sizeof msg - 1) < 0) ::_exit(127);
    ::_exit(127);
  }
  run.child.store(pid);
  // A cancel that came while forking finds the child now.
  if (run.cancelled.load()) ::kill(-pid, SIGTERM);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  run.child.store(0);
  if (run.cancelled.load()) return Status::Stale("bisect '" + r.id + "' was cancelled");
  BisectStep result;
  result.snapshot = snapshot;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.verdict = result.exit_code == 0 ? "good" : result.exit_code == 125 ? "skip" : "bad";
  result.output = Tail(log);
  ::unlink(log.c_str());
  return result;
}

namespace {
// Exit 126 and 127 are the shell's "cannot execute" and "not found": the
// command did not run, so the step says nothing about the snapshot.
Status CheckRunnable(const BisectStep& step) {
  if (step.exit_code != 126 && step.exit_code != 127) return Status::OK();
  return Status::InvalidArgument("the command could not run in snapshot " + step.snapshot +
                                 " (exit " + std::to_string(step.exit_code) +
                                 (step.exit_code == 127 ? ": not found" : ": cannot execute") +
                                 ")" +
                                 (step.output.empty() ? "" : "; its output ends: " + step.output));
}
}  // namespace

Result<BisectReport> Bisector::Run(const BisectRequest& r) {
  if (!ValidId(r.id)) {
    return Status::InvalidArgument("bisect id '" + r.id + "' must be 1 to 32 letters, digits, " +
                                   "'_' or '-'");
  }
  if (r.command.empty() || r.command[0].empty()) {
    return Status::InvalidArgument("bisect needs a command to run");
  }
  auto run = std::make_shared<Running>();
  {
    MutexLock l(mu_);
    if (!running_.emplace(r.id, run).second) {
      return Status::Exists("a bisect '" + r.id + "' is running already");
    }
  }
  struct Unregister {
    Bisector* b;
    std::string id;
    ~Unregister() {
      MutexLock l(b->mu_);
      b->running_.erase(id);
    }
  } unregister{this, r.id};
  // The copies' space comes back once the bisect is over (after the pins
  // below are gone: destroyed before this guard).
  struct Collect {
    snapshotter::Snapshotter& snap;
    ~Collect() {
      snapshotter::GcOptions gc = snapshotter::ImplicitCollection();
      gc.prune_shared = false;
      snap.CollectGarbage(gc).status().IgnoreError();
    }
  } collect{snap_};

  HOODY_ASSIGN_OR_RETURN(std::vector<snapshotter::SnapshotInfo> candidates, Candidates(r));
  std::vector<snapshotter::Store::Pin> pins;
  for (const auto& c : candidates) pins.push_back(snap_.store().PinGeneration(c.gen, "bisect"));
  const std::string dir = scratch_ + "/" + r.id;
  ::mkdir(scratch_.c_str(), 0700);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return FromErrno(errno, "mkdir " + dir);
  struct RemoveDir {
    std::string dir;
    ~RemoveDir() { ::rmdir(dir.c_str()); }
  } remove_dir{dir};

  BisectReport report;
  for (const auto& c : candidates) report.candidates.push_back(c.name);
  // The command must work where the user says it does: a command that
  // cannot run at all (126, 127) or fails on the good endpoint would call
  // every step bad and name a wrong first-bad snapshot with success.
  HOODY_ASSIGN_OR_RETURN(BisectStep check, Test(r, *run, candidates.front().name, 0, dir));
  HOODY_RETURN_IF_ERROR(CheckRunnable(check));
  if (check.verdict != "good") {
    return Status::InvalidArgument(
        "the command does not succeed on the good snapshot " + check.snapshot + " (exit " +
        std::to_string(check.exit_code) + "); it must, for the bisect to mean anything" +
        (check.output.empty() ? "" : "; its output ends: " + check.output));
  }
  size_t lo = 0, hi = candidates.size() - 1;  // lo is good, hi is bad
  std::set<size_t> skipped;
  int step = 0;
  for (;;) {
    // The untested candidate between lo and hi nearest the middle.
    std::optional<size_t> mid;
    const size_t middle = lo + (hi - lo) / 2;
    for (size_t d = 0; d <= hi - lo && !mid; ++d) {
      for (size_t i : {middle - std::min(d, middle), middle + d}) {
        if (i > lo && i < hi && skipped.count(i) == 0) {
          mid = i;
          break;
        }
      }
    }
    if (!mid) break;
    HOODY_ASSIGN_OR_RETURN(BisectStep s, Test(r, *run, candidates[*mid].name, ++step, dir));
    HOODY_RETURN_IF_ERROR(CheckRunnable(s));
    {
      MutexLock l(run->mu);
      run->steps.push_back(s);
    }
    report.steps.push_back(s);
    if (s.verdict == "good") {
      lo = *mid;
    } else if (s.verdict == "bad") {
      hi = *mid;
    } else {
      skipped.insert(*mid);
    }
  }
  if (hi - lo > 1) {
    return Status::NotFound("the first bad snapshot is one of " + candidates[lo + 1].name + " .. " +
                            candidates[hi].name + ": every one between was skipped");
  }
  report.last_good = candidates[lo].name;
  report.first_bad = candidates[hi].name;
  HOODY_ASSIGN_OR_RETURN(report.diff, snap_.Diff(r.container, report.last_good, report.first_bad));
  return report;
}

}  // namespace hoodyfs::cli
