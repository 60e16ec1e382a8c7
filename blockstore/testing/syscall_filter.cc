#include "blockstore/testing/syscall_filter.h"

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <vector>

namespace hoodyfs::blockstore::testing {
namespace {

#if defined(__x86_64__)
constexpr uint32_t kArch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr uint32_t kArch = AUDIT_ARCH_AARCH64;
#else
constexpr uint32_t kArch = 0;
#endif

sock_filter Stmt(uint16_t code, uint32_t k) { return BPF_STMT(code, k); }
sock_filter Jump(uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) {
  return BPF_JUMP(code, k, jt, jf);
}

void AppendRule(const SyscallRule& rule, std::vector<sock_filter>* prog) {
  const bool masked = rule.flag_arg_index >= 0;
  prog->push_back(Stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)));
  // On a different syscall skip the rest of this rule (1 or 3 instructions).
  prog->push_back(
      Jump(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(rule.syscall_nr), 0, masked ? 3 : 1));
  if (masked) {
    // Low word of the argument: the targets are little-endian.
    prog->push_back(
        Stmt(BPF_LD | BPF_W | BPF_ABS,
             offsetof(seccomp_data, args) + 8 * static_cast<uint32_t>(rule.flag_arg_index)));
    prog->push_back(Jump(BPF_JMP | BPF_JSET | BPF_K, rule.flag_bits, 0, 1));
  }
  prog->push_back(Stmt(BPF_RET | BPF_K,
                       SECCOMP_RET_ERRNO | (static_cast<uint32_t>(rule.error) & SECCOMP_RET_DATA)));
}

}  // namespace

Status DenySyscalls(std::span<const SyscallRule> rules) {
  if (kArch == 0) return Status::NotSupported("syscall filter: unknown architecture");
  std::vector<sock_filter> prog;
  prog.push_back(Stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)));
  prog.push_back(Jump(BPF_JMP | BPF_JEQ | BPF_K, kArch, 1, 0));
  prog.push_back(Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  for (const SyscallRule& rule : rules) AppendRule(rule, &prog);
  prog.push_back(Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));

  // Unprivileged processes may install filters only with no_new_privs.
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return FromErrno(errno, "PR_SET_NO_NEW_PRIVS");
  sock_fprog fprog{static_cast<unsigned short>(prog.size()), prog.data()};
  // TSYNC: every thread of the process, not only the caller.
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &fprog) != 0) {
    return FromErrno(errno, "seccomp(SET_MODE_FILTER)");
  }
  return Status::OK();
}

}  // namespace hoodyfs::blockstore::testing
