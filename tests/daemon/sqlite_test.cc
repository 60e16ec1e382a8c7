// A database file is the product brief's first promise: SQLite in WAL mode
// (its -wal and -shm files, the -shm one shared and mapped) takes inserts on
// a mounted container while a snapshot is taken; restoring the snapshot
// while mounted gives a database that passes PRAGMA integrity_check and
// holds every transaction committed before the snapshot.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>

#include "tests/daemon/daemon_fixture.h"

namespace hoodyfs::testing {
namespace {

constexpr char kSqlite[] = "/usr/bin/sqlite3";

// A sqlite3 shell fed through a pipe. After each committed transaction it
// prints "committed N", which a reader thread counts.
class SqliteShell {
 public:
  explicit SqliteShell(const std::string& db) {
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::dup2(out[1], 2);
      ::execl(kSqlite, "sqlite3", "-batch", db.c_str(), nullptr);
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    to_ = in[1];
    from_ = out[0];
    reader_ = std::thread([this] {
      std::string pending;
      char buf[4096];
      for (ssize_t n; (n = ::read(from_, buf, sizeof buf)) > 0;) {
        pending.append(buf, static_cast<size_t>(n));
        for (size_t nl; (nl = pending.find('\n')) != std::string::npos; pending.erase(0, nl + 1)) {
          const std::string line = pending.substr(0, nl);
          if (line.rfind("committed ", 0) == 0) {
            last_.store(std::stoull(line.substr(10)));
            committed_.store(last_.load());
            committed_.notify_all();
          } else if (line.find("rror") != std::string::npos) {  // "Error:", "Parse error"
            errors_ += line + "\n";
          }
        }
      }
      gone_.store(true);  // the shell is gone: wake waiters (wait needs a change)
      committed_.store(UINT64_MAX);
      committed_.notify_all();
    });
  }
  ~SqliteShell() { Close(); }

  bool Send(const std::string& sql) {
    return ::write(to_, sql.data(), sql.size()) == static_cast<ssize_t>(sql.size());
  }
  // Blocks until transaction n has committed (false: the shell died).
  bool WaitCommitted(uint64_t n) {
    for (uint64_t seen = committed_.load(); seen < n; seen = committed_.load()) {
      if (gone_.load()) return false;
      committed_.wait(seen);
    }
    return !gone_.load() || last_.load() >= n;
  }
  uint64_t committed() const { return last_.load(); }
  // Ends the shell (end of input) and returns what it printed that was no
  // progress marker.
  std::string Close() {
    if (to_ >= 0) ::close(to_);
    to_ = -1;
    if (pid_ > 0) {
      int status = 0;
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
    }
    if (reader_.joinable()) reader_.join();
    if (from_ >= 0) ::close(from_);
    from_ = -1;
    return errors_;
  }

 private:
  pid_t pid_ = -1;
  int to_ = -1, from_ = -1;
  std::thread reader_;
  std::atomic<uint64_t> committed_{0};  // what waiters wait on
  std::atomic<uint64_t> last_{0};       // the last transaction committed
  std::atomic<bool> gone_{false};
  std::string errors_;
};

std::string Transaction(uint64_t n) {
  std::string sql = "BEGIN;\n";
  for (int row = 0; row < 20; ++row) {
    sql += "INSERT INTO t(txn, payload) VALUES (" + std::to_string(n) + ", randomblob(300));\n";
  }
  sql += "COMMIT;\nSELECT 'committed " + std::to_string(n) + "';\n";
  return sql;
}

class SqliteTest : public DaemonTest {};

TEST_F(SqliteTest, WalDatabaseSurvivesSnapshotAndRestoreWhileMounted) {
  if (::access(kSqlite, X_OK) != 0) GTEST_SKIP() << kSqlite << " is not installed";
  StartDaemon();
  const std::string mp = MountContainer("db", {"--create"});
  const std::string db = mp + "/app.db";
  SqliteShell shell(db);
  ASSERT_TRUE(
      shell.Send("PRAGMA journal_mode=WAL;\nPRAGMA wal_autocheckpoint=0;\n"
                 "CREATE TABLE t(id INTEGER PRIMARY KEY, txn INTEGER, payload BLOB);\n"));
  // Inserts run on while the snapshot is taken.
  std::atomic<bool> stop{false};
  std::thread inserter([&] {
    for (uint64_t n = 1; !stop.load() && n < 100000; ++n) {
      if (!shell.Send(Transaction(n))) return;
      if (!shell.WaitCommitted(n)) return;
    }
  });
  struct Join {
    std::atomic<bool>& stop;
    std::thread& t;
    ~Join() {
      stop.store(true);
      if (t.joinable()) t.join();
    }
  } join{stop, inserter};
  ASSERT_TRUE(shell.WaitCommitted(100)) << shell.Close();
  const uint64_t before = shell.committed();
  const std::string name = Ok(Snap({"create", "-c", "db", "--alias", "mid-inserts"}));
  ASSERT_TRUE(shell.WaitCommitted(before + 100)) << shell.Close();
  stop.store(true);
  inserter.join();
  const uint64_t after = shell.committed();
  EXPECT_EQ(shell.Close(), "") << "sqlite3 reported errors";

  // The head as it ended: everything committed.
  const std::string check = "PRAGMA integrity_check; SELECT count(DISTINCT txn) FROM t;";
  CommandResult head = RunCommand(kSqlite, {db, check});
  EXPECT_EQ(head.out, "ok\n" + std::to_string(after) + "\n") << head.Describe();

  // Restore while mounted: the database is whole and holds every transaction
  // committed before the snapshot (and none that came after it).
  Ok(Snap({"restore", "-c", "db", "--name", "mid-inserts"}));
  const CommandResult restored = RunCommand(kSqlite, {db, check});
  ASSERT_EQ(restored.exit_code, 0) << restored.Describe();
  const size_t nl = restored.out.find('\n');
  ASSERT_NE(nl, std::string::npos) << restored.Describe();
  EXPECT_EQ(restored.out.substr(0, nl), "ok") << restored.Describe();
  const uint64_t kept = std::stoull(restored.out.substr(nl + 1));
  EXPECT_GE(kept, before) << "a transaction committed before the snapshot is missing";
  EXPECT_LT(kept, after) << "the restored database holds transactions from after the snapshot";
  // The same rows by every transaction: none half there.
  const CommandResult rows =
      RunCommand(kSqlite, {db, "SELECT count(*) FROM t GROUP BY txn HAVING count(*) != 20;"});
  EXPECT_EQ(rows.out, "") << rows.Describe();
}

}  // namespace
}  // namespace hoodyfs::testing
