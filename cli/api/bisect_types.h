// The values of a bisect (hoodyfs-snap bisect, POST .../bisect) and the
// service that runs one: the daemon's Bisector (cli/daemon/bisector.h).
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "snapshotter/verbs/diff.h"

namespace hoodyfs::cli {

struct BisectRequest {
  std::string id;  // the caller's: [A-Za-z0-9_-]{1,32}, to cancel by
  std::string container;
  std::string good, bad;             // snapshot names or aliases
  std::vector<std::string> command;  // argv; argv[0] looked up in PATH
  bool chroot = false;
};

struct BisectStep {
  std::string snapshot;
  int exit_code = 0;    // -1: killed by a signal
  std::string verdict;  // "good", "bad", "skip"
  std::string output;   // the last lines the command printed
};

struct BisectReport {
  std::string first_bad;  // a snapshot name
  std::string last_good;
  std::vector<std::string> candidates;  // good ... bad, oldest first
  std::vector<BisectStep> steps;        // in the order they ran
  snapshotter::DiffResult diff;         // last_good -> first_bad
};

class BisectService {
 public:
  virtual ~BisectService() = default;
  virtual Result<BisectReport> Run(const BisectRequest& request) = 0;
  virtual Status Cancel(const std::string& id) = 0;
  virtual Result<std::vector<BisectStep>> Progress(const std::string& id) = 0;
};

}  // namespace hoodyfs::cli
