// hoodyfs-snap: the snapshot verbs on the command line (docs/cli.md is the
// reference). Parses flags, calls a SnapshotApi, prints for people or, with
// --json, the documented JSON; holds no snapshot logic of its own.
//
// Output goes to `out`; errors are one line on `err` ("hoodyfs-snap: ...")
// and a non-zero exit code from cli/exit_codes.h.
#pragma once

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>

#include "cli/api/snapshot_api.h"

namespace hoodyfs::cli {

// Opens the API for a store directory (a local store, or the daemon that
// owns it).
using ApiOpener = std::function<Result<std::unique_ptr<SnapshotApi>>(const std::string& store)>;

int RunSnapCommand(int argc, const char* const* argv, const ApiOpener& open, std::ostream& out,
                   std::ostream& err);

}  // namespace hoodyfs::cli
