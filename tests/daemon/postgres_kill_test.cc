// kill -9 of the daemon under a running database (issue 11): everything
// PostgreSQL was told is durable must be there when it starts again, and
// nothing else half-written.
//
// A private PostgreSQL 15 server (scripts/postgres.sh) runs pgbench's
// TPC-B-like transactions in container `pg`, rate-limited and time-bounded
// so it is still running when the test ends it. At each of pgbench's
// progress reports (events the test waits on; nothing is slept or timed) a
// separate client commits a marker row holding the number of pgbench
// transactions it saw committed. A commit PostgreSQL acknowledged has had its
// WAL fsync'd through the mount, so every marker, and at least as many
// pgbench transactions as the last marker saw, must survive.
//
// Then the machine "dies": the postmaster is stopped (SIGSTOP, so it forks
// no new backend while its children are listed), the daemon is killed with
// SIGKILL while the backends keep writing (whatever the daemon held in
// memory or in the host's page cache without a commit is lost, the
// FUSE requests in flight fail), then every PostgreSQL process is killed.
// A new daemon mounts the container again, and the server must recover from
// its WAL ("not properly shut down; automatic recovery in progress"),
// pg_amcheck must find every table and B-tree index clean, pgbench's
// invariant must hold, and fsck must find the store consistent.
//
// Needs root, /dev/fuse and PostgreSQL 15 (see postgres_test.cc); without
// them the test skips saying so. About 20 s on the 2-core development VM.
#include <dirent.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "tests/daemon/daemon_fixture.h"
#include "tests/daemon/pgbench_balances.h"
#include "tests/daemon/postgres_server.h"
#include "tests/daemon/streaming_process.h"

namespace hoodyfs::testing {
namespace {

constexpr int kScale = 1;
constexpr int kClients = 4;
constexpr int kRateTps = 60;  // as postgres_test.cc: about what hoodyfs sustains at scale 1
constexpr int kMarkers = 4;   // acknowledged commits before the crash
constexpr int kHeadPort = 55532;

// The postmaster's pid: the first line of DATADIR/postmaster.pid.
pid_t PostmasterPid(const std::string& data_dir) {
  std::ifstream in(data_dir + "/postmaster.pid");
  pid_t pid = 0;
  in >> pid;
  return pid;
}

// The pids of `parent`'s children, from /proc/PID/stat (field 4).
std::vector<pid_t> ChildrenOf(pid_t parent) {
  std::vector<pid_t> out;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return out;
  while (const dirent* e = ::readdir(proc)) {
    const pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid <= 0) continue;
    std::ifstream stat("/proc/" + std::string(e->d_name) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    // "pid (comm) state ppid ...": comm may hold spaces, so start after ')'.
    const size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 1));
    char state = 0;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent) out.push_back(pid);
  }
  ::closedir(proc);
  return out;
}

// Kills every process of `pids` with SIGKILL and waits (pidfd: no sleeps,
// they are not our children) until each is gone; false if one outlived a
// minute.
bool KillAndWait(const std::vector<pid_t>& pids) {
  std::vector<UniqueFd> fds;
  for (pid_t pid : pids) {
    // Opened before the signal, so a reused pid is never waited for.
    UniqueFd fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (!fd.valid()) continue;  // gone already
    ::syscall(SYS_pidfd_send_signal, fd.get(), SIGKILL, nullptr, 0);
    fds.push_back(std::move(fd));
  }
  for (const UniqueFd& fd : fds) {
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, 60000) != 1) return false;
  }
  return true;
}

class PostgresKillTest : public DaemonTest {};

TEST_F(PostgresKillTest, AcknowledgedCommitsSurviveAKilledDaemon) {
  if (const CommandResult have = PgScript({"check"}); have.exit_code != 0) {
    GTEST_SKIP() << "PostgreSQL 15 is not usable, this test cannot run: " << have.out << have.err;
  }
  StartDaemon();
  const std::string mp = MountContainer("pg", {"--create", "-o", "nosuid,nodev"});
  ASSERT_FALSE(HasFailure());
  const std::string data = mp + "/pgdata";
  const CommandResult init = PgScript({"init", data}, {"PG_INITDB_OPTS=--no-sync"});
  ASSERT_EQ(init.exit_code, 0) << init.Describe();
  {
    PgServer head(data, kHeadPort, dir().File("sock-head"));
    const CommandResult started = head.Start();
    ASSERT_EQ(started.exit_code, 0) << started.Describe();
    const CommandResult load =
        head.Client("pgbench", {"-i", "-s", std::to_string(kScale), "-q", "postgres"});
    ASSERT_EQ(load.exit_code, 0) << load.Describe();
    // The load ran with initdb's files unsynced (--no-sync): a CHECKPOINT
    // makes the starting point durable, as a real server's would be.
    const CommandResult setup = head.Psql(
        "CREATE TABLE acked (n int PRIMARY KEY, history_seen bigint NOT NULL); CHECKPOINT");
    ASSERT_EQ(setup.exit_code, 0) << setup.Describe();

    std::vector<std::string> args = head.ConnectArgs();
    args.insert(args.end(), {"-c", std::to_string(kClients), "-j", "2", "-T", "600", "-R",
                             std::to_string(kRateTps), "-P", "1", "postgres"});
    StreamingProcess bench(PgProgram("pgbench"), args, dir().File("pgbench.out"));
    ASSERT_TRUE(bench.started()) << bench.Wait().Describe();
    // The crash follows the last acknowledgement at once: the daemon's
    // once-a-second background commit has no time to make it durable, only
    // the fsync PostgreSQL asked for can have.
    int markers = 0;
    while (markers < kMarkers) {
      const std::optional<std::string> line = bench.NextLine();
      ASSERT_TRUE(line.has_value()) << "pgbench ended early: " << bench.Wait().Describe();
      if (line->rfind("progress:", 0) != 0) continue;
      const CommandResult acked = head.Psql("INSERT INTO acked SELECT " + std::to_string(markers) +
                                            ", count(*) FROM pgbench_history");
      ASSERT_EQ(acked.exit_code, 0) << acked.Describe();
      ++markers;
      bench.SkipWrittenLines();
    }

    // The crash. The postmaster first stops forking, so its children can
    // be listed; the daemon dies while the backends still write.
    const pid_t postmaster = PostmasterPid(data);
    ASSERT_GT(postmaster, 0) << "no postmaster.pid in " << data;
    ASSERT_EQ(::kill(postmaster, SIGSTOP), 0) << std::strerror(errno);
    std::vector<pid_t> server = ChildrenOf(postmaster);
    server.push_back(postmaster);
    StopDaemon(SIGKILL);
    ASSERT_TRUE(KillAndWait(server)) << "a PostgreSQL process outlived SIGKILL for a minute";
    // pgbench sees its connections drop and exits with an error.
    const CommandResult run = bench.Wait();
    EXPECT_NE(run.exit_code, 0) << "pgbench finished before the crash: " << run.Describe();
    // `head` has nothing left to stop; its destructor's `postgres.sh stop`
    // finds no running server once the mount is back.
  }

  // A new daemon; `hoodyfs mount` clears the killed daemon's dead mount.
  StartDaemon();
  Ok(Hoodyfs({"mount", "-c", "pg", "-o", "nosuid,nodev", mp}));
  // The lock file names the killed postmaster, whose pid another process
  // may hold by now; a server started on a crashed data directory would
  // refuse to start then (postgres_test.cc removes it for the same reason).
  ::unlink((data + "/postmaster.pid").c_str());
  {
    PgServer server(data, kHeadPort + 1, dir().File("sock-after"));
    const CommandResult up = server.Start();
    ASSERT_EQ(up.exit_code, 0) << up.Describe();
    const CommandResult log = RunCommand("/bin/cat", {server.log_path()});
    EXPECT_NE(log.out.find("automatic recovery in progress"), std::string::npos)
        << "the server started without WAL recovery after a crash: " << log.out;
    const CommandResult markers = server.Psql("SELECT count(*), max(history_seen) FROM acked");
    ASSERT_EQ(markers.exit_code, 0) << markers.Describe();
    std::istringstream in(markers.out);
    int64_t count = 0, history_seen = 0;
    char bar = 0;
    in >> count >> bar >> history_seen;
    EXPECT_EQ(count, kMarkers) << "an acknowledged commit was lost: " << markers.out;
    const CommandResult check =
        server.Client("pg_amcheck", {"--install-missing", "--all", "--heapallindexed"});
    EXPECT_EQ(check.exit_code, 0) << "pg_amcheck: " << check.Describe();
    PgbenchBalances b;
    ASSERT_TRUE(ReadPgbenchBalances(server, &b));
    ExpectPgbenchInvariant(b, "after the crash");
    EXPECT_GE(b.history_rows, history_seen)
        << "pgbench transactions committed before the last marker were lost";
    std::cout << b.history_rows << " pgbench transactions survived; the last marker saw "
              << history_seen << "\n";
    const CommandResult down = server.Stop();
    EXPECT_EQ(down.exit_code, 0) << down.Describe();
  }
  EXPECT_EQ(Ok(Hoodyfs({"umount", mp})), "");
  std::erase(mounts_, mp);
  StopDaemon();
  EXPECT_NE(Ok(Hoodyfs({"fsck"})).find("consistent"), std::string::npos);
}

}  // namespace
}  // namespace hoodyfs::testing
