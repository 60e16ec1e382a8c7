// `hoodyfs-snap push|pull|remote ...` runs hoodyfs-snap-remote, git-style:
// the remote verbs need libcurl, which hoodyfs-snap does not load (docs/
// design.md, "What a command costs"), so they live in a program of their
// own that hoodyfs-snap execs with the same arguments.
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace hoodyfs::cli {

inline constexpr char kRemoteHelper[] = "hoodyfs-snap-remote";

// When the command (the first argument that is neither a flag nor the value
// of --store or --remote) is push or pull, the helper's argument list: the same
// arguments; for `remote SUB ...`, the same without "remote". Else nullopt.
// argv[0] of the result is kRemoteHelper.
std::optional<std::vector<std::string>> RemoteHelperArgv(int argc, const char* const* argv);

// The path of program `name` beside this process's executable when there,
// else `name` (to be found on PATH).
std::string ProgramBeside(const std::string& name);

// Replaces this process with kRemoteHelper (ProgramBeside) run with `args`
// (argv[0] not included). Returns only when exec failed: kNotFound or what
// FromErrno maps.
Status ExecRemoteHelper(const std::vector<std::string>& args);

}  // namespace hoodyfs::cli
