// PgServer: a private PostgreSQL 15 server for a test, started and stopped
// through scripts/postgres.sh (the same script the database benchmarks use):
// its own data directory, Unix socket directory and port, no TCP, run as the
// `postgres` user, clients connecting as role `postgres` over the socket.
//
// The destructor stops a server still running (fast shutdown, immediate if
// that fails), so a failed assertion never leaves a server holding files on
// a mount the test's TearDown is about to unmount. Should the test process
// be killed outright, the daemon dies with it (PR_SET_PDEATHSIG), its mounts
// go dead, and the postmaster, which rechecks its lock file in the data
// directory every minute, shuts itself down when it can no longer read it.
//
// Ownership: owns the running server, not its directories. Neither copyable
// nor movable. Thread-safety: one thread at a time.
#pragma once

#include <string>
#include <vector>

#include "tests/cli/run_command.h"

namespace hoodyfs::testing {

// The path of a PostgreSQL 15 program: in $PG_BIN if set, else Debian's
// /usr/lib/postgresql/15/bin.
std::string PgProgram(const std::string& name);
// scripts/postgres.sh ARGS... with `env` (NAME=VALUE) added to the environment.
CommandResult PgScript(const std::vector<std::string>& args,
                       const std::vector<std::string>& env = {});

class PgServer {
 public:
  // Nothing starts until Start().
  PgServer(std::string data_dir, int port, std::string socket_dir);
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;
  ~PgServer();

  // Starts the server on an initialised data directory (`postgres.sh init`)
  // or a copy of one, returning once it accepts connections, that is after
  // WAL recovery when the copy was taken from a running server. The log is
  // socket_dir/postgres.log.
  CommandResult Start();
  // Stops it if it runs: "fast" writes a checkpoint, then exits;
  // "immediate" exits at once, leaving recovery to the next start (for a
  // cluster that is thrown away).
  CommandResult Stop(const std::string& mode = "fast");

  // -h SOCKET_DIR -p PORT -U postgres, what every client program takes.
  std::vector<std::string> ConnectArgs() const;
  // Runs `sql` with psql in database `postgres`: unaligned tuples only, and
  // stops at the first error (exit 3).
  CommandResult Psql(const std::string& sql) const;
  // Runs PostgreSQL program `program` (pgbench, pg_amcheck...) with the
  // connection arguments first, then `args`.
  CommandResult Client(const std::string& program, const std::vector<std::string>& args) const;

  std::string log_path() const { return socket_dir_ + "/postgres.log"; }
  const std::string& data_dir() const { return data_dir_; }

 private:
  std::string data_dir_;
  int port_;
  std::string socket_dir_;
  bool started_ = false;
};

}  // namespace hoodyfs::testing
