#include "fusefs/idle_while_committing.h"

#include <linux/capability.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "base/log.h"

namespace hoodyfs::fusefs {

bool MayLeaveIdlePolicy() {
  // RLIMIT_NICE r allows nice values down to 20 - r; SCHED_OTHER's is 0.
  rlimit nice_limit{};
  if (::getrlimit(RLIMIT_NICE, &nice_limit) == 0 &&
      (nice_limit.rlim_cur == RLIM_INFINITY || nice_limit.rlim_cur >= 20)) {
    return true;
  }
  __user_cap_header_struct header{};
  header.version = _LINUX_CAPABILITY_VERSION_3;
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3]{};
  if (::syscall(SYS_capget, &header, data) != 0) return false;
  return (data[CAP_TO_INDEX(CAP_SYS_NICE)].effective & CAP_TO_MASK(CAP_SYS_NICE)) != 0;
}

IdleWhileCommitting::IdleWhileCommitting(bool enabled) {
  if (!enabled || ::sched_getscheduler(0) != SCHED_OTHER) return;
  const sched_param param{};
  idle_ = ::sched_setscheduler(0, SCHED_IDLE, &param) == 0;
}

IdleWhileCommitting::~IdleWhileCommitting() {
  if (!idle_) return;
  const sched_param param{};
  if (::sched_setscheduler(0, SCHED_OTHER, &param) != 0) {
    // MayLeaveIdlePolicy said this could not happen; say so loudly, since
    // the thread now runs only when its CPU has nothing else to do.
    Log(LogLevel::kError, std::string("FUSE over io_uring: a ring thread could not leave "
                                      "SCHED_IDLE: ") +
                              std::strerror(errno));
  }
}

}  // namespace hoodyfs::fusefs
