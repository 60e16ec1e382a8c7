#include "tests/util/private_mount_namespace.h"

#include <sched.h>
#include <sys/mount.h>

#include <cerrno>
#include <cstring>

namespace hoodyfs::testing {
namespace {

std::string EnterPrivateNamespace() {
  if (::unshare(CLONE_NEWNS) != 0)
    return std::string("unshare(CLONE_NEWNS): ") + std::strerror(errno);
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return std::string("make / private: ") + std::strerror(errno);
  }
  return "";
}

// Before main: the process has one thread.
const std::string kError = EnterPrivateNamespace();

}  // namespace

const std::string& PrivateMountNamespaceError() { return kError; }

}  // namespace hoodyfs::testing
