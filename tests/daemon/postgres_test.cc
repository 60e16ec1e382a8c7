// A database server is the product's hardest tenant: PostgreSQL keeps its
// tables, indexes and write-ahead log in many files it writes and fsyncs in
// a careful order, and recovers after a crash by replaying the log from the
// last checkpoint. A snapshot of its container taken while it works must be
// a state it recovers from, exactly as after a power cut (issue 11).
//
// A private PostgreSQL 15 server (scripts/postgres.sh) runs pgbench's
// TPC-B-like transactions (scale 1, 4 clients, a fixed number of
// transactions each) in container `pg`. A snapshot is taken when the run
// starts and at each of pgbench's progress reports (-P 1, one a second: the
// reports are events the test waits on; nothing is slept or timed), the
// third right after a CHECKPOINT, so one copy recovers from a redo point in
// the middle of the run. pgbench's rate limit (-R) spreads the transactions
// over about five seconds whatever the machine's speed, so the snapshots
// fall inside the run on a fast machine too (on a slow one the run only
// takes longer). Then each snapshot is copied into a new container
// (`hoodyfs-snap copy`), mounted, and a server started on the copy, which
// must replay its WAL ("automatic recovery in progress"); pg_amcheck must
// find every table and B-tree index of every database clean; and pgbench's
// invariant must hold. Each transaction adds its delta to one account, one
// teller and one branch and inserts it into pgbench_history, so
// sum(abalance) = sum(tbalance) = sum(bbalance) = sum(delta): a snapshot
// that split a transaction or mixed pages from two moments breaks it. The
// history only grows from one snapshot to the next.
//
// Needs root and /dev/fuse (else DaemonTest skips) and PostgreSQL 15 from
// Debian's postgresql and postgresql-contrib packages, which
// scripts/install-deps.sh installs; without them the test skips saying so.
// The server runs as user postgres: mounts are allow_other (the default),
// and `postgres.sh init` chowns the data directory through the mount.
// About 30 s on the 2-core development VM, most of it the copies' recovery
// and pg_amcheck, and the CHECKPOINT (seconds on hoodyfs, issue 11).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

#include "tests/daemon/daemon_fixture.h"
#include "tests/daemon/pgbench_balances.h"
#include "tests/daemon/postgres_server.h"
#include "tests/daemon/streaming_process.h"

namespace hoodyfs::testing {
namespace {

constexpr int kScale = 1;
constexpr int kClients = 4;
constexpr int kTransactionsPerClient = 75;
// All clients together: about what hoodyfs sustained at this scale on the
// 2-core development VM (55-70 TPS), so the run lasts about five seconds.
constexpr int kRateTps = 60;
constexpr size_t kSnapshots = 4;
constexpr size_t kCheckpointBefore = 2;  // the snapshot that follows a CHECKPOINT
constexpr int kHeadPort = 55432;         // names the socket file; no TCP listener

class PostgresTest : public DaemonTest {};

TEST_F(PostgresTest, EverySnapshotOfARunningServerRecoversConsistent) {
  if (const CommandResult have = PgScript({"check"}); have.exit_code != 0) {
    GTEST_SKIP() << "PostgreSQL 15 is not usable, this test cannot run: " << have.out << have.err;
  }
  StartDaemon();
  // nosuid,nodev: a database needs neither, and without them hoodyfs warns
  // that the mountpoint is reachable by every user.
  const std::string mp = MountContainer("pg", {"--create", "-o", "nosuid,nodev"});
  ASSERT_FALSE(HasFailure());
  // --no-sync: initdb's own flush of ~1000 files takes seconds here and
  // decides nothing; what the server writes later it fsyncs itself.
  const CommandResult init = PgScript({"init", mp + "/pgdata"}, {"PG_INITDB_OPTS=--no-sync"});
  ASSERT_EQ(init.exit_code, 0) << init.Describe();
  PgServer head(mp + "/pgdata", kHeadPort, dir().File("sock-head"));
  const CommandResult started = head.Start();
  ASSERT_EQ(started.exit_code, 0) << started.Describe();
  const CommandResult load =
      head.Client("pgbench", {"-i", "-s", std::to_string(kScale), "-q", "postgres"});
  ASSERT_EQ(load.exit_code, 0) << load.Describe();

  std::vector<std::string> args = head.ConnectArgs();
  args.insert(args.end(), {"-c", std::to_string(kClients), "-j", "2", "-t",
                           std::to_string(kTransactionsPerClient), "-R", std::to_string(kRateTps),
                           "-P", "1", "postgres"});
  std::vector<std::string> aliases;
  auto take_snapshot = [&] {
    aliases.push_back("pg" + std::to_string(aliases.size()));
    Ok(Snap({"create", "-c", "pg", "--alias", aliases.back()}));
  };
  size_t during_run = 0;
  CommandResult run;
  {
    StreamingProcess bench(PgProgram("pgbench"), args, dir().File("pgbench.out"));
    ASSERT_TRUE(bench.started()) << bench.Wait().Describe();
    for (auto line = bench.NextLine(); line && aliases.size() < kSnapshots;
         line = bench.NextLine()) {
      // "starting vacuum...end." ends the preparation; the clients start.
      if (line->find("vacuum...end.") == std::string::npos && line->rfind("progress:", 0) != 0) {
        continue;
      }
      if (aliases.size() == kCheckpointBefore) {
        const CommandResult cp = head.Psql("CHECKPOINT");
        ASSERT_EQ(cp.exit_code, 0) << cp.Describe();
      }
      take_snapshot();
      ++during_run;
      // Reports written while the CHECKPOINT or the snapshot ran are past:
      // the next snapshot waits for one written after this one.
      bench.SkipWrittenLines();
    }
    run = bench.Wait();
  }
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  const int total = kClients * kTransactionsPerClient;
  EXPECT_NE(run.out.find("actually processed: " + std::to_string(total) + "/"), std::string::npos)
      << run.out;
  // pgbench outran its progress reports (a fast machine): the remaining
  // snapshots see the finished run, which still has to recover.
  while (aliases.size() < kSnapshots) take_snapshot();
  std::cout << during_run << " of " << kSnapshots << " snapshots taken while pgbench ran\n";

  PgbenchBalances end;
  ASSERT_TRUE(ReadPgbenchBalances(head, &end));
  ExpectPgbenchInvariant(end, "the live server");
  EXPECT_EQ(end.history_rows, total);
  const CommandResult stopped = head.Stop();
  ASSERT_EQ(stopped.exit_code, 0) << stopped.Describe();

  int64_t rows_before = 0;
  for (size_t i = 0; i < aliases.size(); ++i) {
    SCOPED_TRACE("snapshot " + aliases[i]);
    const std::string copy = "copy" + std::to_string(i);
    Ok(Snap({"copy", "-c", "pg", "--source-snapshot", aliases[i], "--name", copy}));
    const std::string copy_mp = MountContainer(copy, {"-o", "nosuid,nodev"});
    ASSERT_FALSE(HasFailure());
    // The snapshot holds the running server's lock file, naming its
    // postmaster's pid; a server started on the copy refuses to start while
    // a process of that pid lives (the original, or a process that reused the
    // pid). As for any file-system-level backup of a running server, the
    // copy's lock file is removed first.
    ASSERT_EQ(::unlink((copy_mp + "/pgdata/postmaster.pid").c_str()), 0) << copy_mp;
    {
      PgServer server(copy_mp + "/pgdata", kHeadPort + 1 + static_cast<int>(i),
                      dir().File("sock-" + copy));
      const CommandResult up = server.Start();
      ASSERT_EQ(up.exit_code, 0) << up.Describe();
      const CommandResult log = RunCommand("/bin/cat", {server.log_path()});
      EXPECT_NE(log.out.find("automatic recovery in progress"), std::string::npos)
          << "the copy of a running server started without WAL recovery: " << log.out;
      const CommandResult check =
          server.Client("pg_amcheck", {"--install-missing", "--all", "--heapallindexed"});
      EXPECT_EQ(check.exit_code, 0) << "pg_amcheck: " << check.Describe();
      PgbenchBalances b;
      ASSERT_TRUE(ReadPgbenchBalances(server, &b));
      ExpectPgbenchInvariant(b, aliases[i]);
      EXPECT_GE(b.history_rows, rows_before) << "history shrank from one snapshot to the next";
      EXPECT_LE(b.history_rows, end.history_rows);
      rows_before = b.history_rows;
      std::cout << aliases[i] << ": " << b.history_rows << " of " << total
                << " transactions, balances " << b.history_delta << "\n";
      const CommandResult down = server.Stop("immediate");  // thrown away: no checkpoint
      EXPECT_EQ(down.exit_code, 0) << down.Describe();
    }
    Unmount(copy_mp);
  }
}

}  // namespace
}  // namespace hoodyfs::testing
