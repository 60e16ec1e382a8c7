#include "tests/daemon/postgres_server.h"

#include <cstdlib>
#include <utility>

namespace hoodyfs::testing {

std::string PgProgram(const std::string& name) {
  // PG_BIN, as scripts/postgres.sh reads it, so the script and the clients agree.
  const char* dir = std::getenv("PG_BIN");  // NOLINT(concurrency-mt-unsafe): tests set no env
  return std::string(dir != nullptr && *dir != '\0' ? dir : "/usr/lib/postgresql/15/bin") + "/" +
         name;
}

CommandResult PgScript(const std::vector<std::string>& args, const std::vector<std::string>& env) {
  std::vector<std::string> argv = {HOODYFS_SOURCE_DIR "/scripts/postgres.sh"};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand("/bin/bash", argv, env);
}

PgServer::PgServer(std::string data_dir, int port, std::string socket_dir)
    : data_dir_(std::move(data_dir)), port_(port), socket_dir_(std::move(socket_dir)) {}

// Immediate: a server still running here is being abandoned after a failure.
PgServer::~PgServer() { Stop("immediate"); }

CommandResult PgServer::Start() {
  // Marked started before trying: a server that came up but was not seen
  // to (pg_ctl gave up waiting) must still be stopped.
  started_ = true;
  return PgScript({"start", data_dir_, std::to_string(port_), socket_dir_});
}

CommandResult PgServer::Stop(const std::string& mode) {
  if (!started_) {
    CommandResult nothing_to_do;
    nothing_to_do.exit_code = 0;
    return nothing_to_do;
  }
  started_ = false;
  return PgScript({"stop", data_dir_, mode});
}

std::vector<std::string> PgServer::ConnectArgs() const {
  return {"-h", socket_dir_, "-p", std::to_string(port_), "-U", "postgres"};
}

CommandResult PgServer::Psql(const std::string& sql) const {
  return Client("psql",
                {"-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-d", "postgres", "-c", sql});
}

CommandResult PgServer::Client(const std::string& program,
                               const std::vector<std::string>& args) const {
  std::vector<std::string> argv = ConnectArgs();
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(PgProgram(program), argv);
}

}  // namespace hoodyfs::testing
