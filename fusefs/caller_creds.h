// The credentials of the process behind a FUSE request, as far as Linux's
// setgid rules ask (snapshotter::CallerGroups): the request carries the
// caller's pid, fsuid and fsgid, but not its supplementary groups or
// capabilities, which /proc/<pid>/status holds (libfuse's
// fuse_req_getgroups reads the same file). Internal to fusefs/; no libfuse.
//
// Limits: a caller whose pid the daemon's pid namespace cannot see (pid 0)
// or that is gone has no status file: kNotFound, and the callers then keep
// the bit, as the kernel's FUSE path would. CapEff is read as the caller's
// own user namespace shows it; a process in a child user namespace with
// CAP_FSETID there counts as capable (the kernel would also ask whether the
// file's owner maps into that namespace).
//
// Thread-safety: free functions, no state.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string_view>

#include "base/status.h"
#include "snapshotter/engine/filesystem.h"

namespace hoodyfs::fusefs {

// From the text of /proc/<pid>/status: "Groups:" and CAP_FSETID of
// "CapEff:"; `fsgid` is the request's (the kernel's current_fsgid()).
// Errors: kInvalidArgument (no CapEff line, or one that is not hex).
Result<snapshotter::CallerGroups> ParseProcStatus(std::string_view status, uint32_t fsgid);

// Reads /proc/<pid>/status. Errors: kNotFound (pid 0, or no such process),
// kIoError, and ParseProcStatus's.
Result<snapshotter::CallerGroups> ReadCallerGroups(pid_t pid, uint32_t fsgid);

}  // namespace hoodyfs::fusefs
