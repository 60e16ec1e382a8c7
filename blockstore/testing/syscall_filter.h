// DenySyscalls: makes chosen system calls fail with a chosen errno for the
// rest of the process's life (a seccomp filter), so tests can see how code
// behaves on a host that lacks a feature: a kernel without io_uring, a
// filesystem that refuses O_DIRECT or fallocate, a ring whose submissions fail.
//
// Irreversible and process-wide (all threads): call it only in a child
// process, i.e. inside a gtest death test's statement.
#pragma once

#include <cstdint>
#include <span>

#include "base/status.h"

namespace hoodyfs::blockstore::testing {

struct SyscallRule {
  long syscall_nr;  // SYS_openat, SYS_io_uring_setup, ...
  int error;        // the errno the call fails with
  // When flag_arg_index >= 0, the rule applies only to calls whose argument
  // of that index (low 32 bits) has any of `flag_bits` set, e.g. openat's
  // flags argument (index 2) and O_DIRECT.
  int flag_arg_index = -1;
  uint32_t flag_bits = 0;
};

// Installs the rules. Errors: kNotSupported on an architecture the filter
// does not know; what FromErrno maps for prctl/seccomp.
Status DenySyscalls(std::span<const SyscallRule> rules);

}  // namespace hoodyfs::blockstore::testing
