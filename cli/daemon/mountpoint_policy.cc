#include "cli/daemon/mountpoint_policy.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <array>
#include <memory>
#include <string_view>

namespace hoodyfs::cli {

namespace {
// Directories a container must never be mounted over (after resolving
// symlinks: on a merged-/usr system /lib is /usr/lib).
constexpr std::array<std::string_view, 37> kSystemDirs = {
    "/bin",       "/boot",      "/etc",         "/home",        "/lib",         "/lib32",
    "/lib64",     "/libx32",    "/opt",         "/root",        "/run",         "/sbin",
    "/tmp",       "/usr",       "/var",         "/usr/bin",     "/usr/sbin",    "/usr/lib",
    "/usr/lib32", "/usr/lib64", "/usr/libx32",  "/usr/libexec", "/usr/include", "/usr/share",
    "/usr/local", "/usr/src",   "/var/lib",     "/var/log",     "/var/cache",   "/var/tmp",
    "/var/spool", "/var/mail",  "/var/backups", "/var/local",   "/var/opt",     "/var/run",
    "/run/lock",
};
// Kernel file systems: nothing under them is a place for a container.
constexpr std::array<std::string_view, 3> kKernelTrees = {"/proc", "/sys", "/dev"};

// Whether `path` is `dir` or lies inside it (both resolved, no trailing '/').
bool IsAtOrUnder(std::string_view path, std::string_view dir) {
  if (dir == "/") return true;
  return path == dir ||
         (path.size() > dir.size() && path.substr(0, dir.size()) == dir && path[dir.size()] == '/');
}

std::string Resolve(const std::string& path) {
  std::unique_ptr<char, decltype(&::free)> resolved(::realpath(path.c_str(), nullptr), &::free);
  return resolved ? std::string(resolved.get()) : std::string();
}
}  // namespace

Status CheckMountpoint(const std::string& mountpoint, const std::string& store_dir) {
  if (mountpoint.empty() || mountpoint[0] != '/') {
    return Status::InvalidArgument("mountpoint '" + mountpoint + "' is not absolute");
  }
  const std::string where = Resolve(mountpoint);
  if (where.empty()) return Status::NotFound("mountpoint " + mountpoint + " does not exist");
  const std::string shown = where == mountpoint ? mountpoint : mountpoint + " (" + where + ")";
  if (where == "/") {
    return Status::InvalidArgument("refusing to mount a container over / (the host's root)");
  }
  for (std::string_view dir : kSystemDirs) {
    if (where == dir) {
      return Status::InvalidArgument("refusing to mount a container over " + shown +
                                     ", a system directory of the host");
    }
  }
  for (std::string_view tree : kKernelTrees) {
    if (IsAtOrUnder(where, tree)) {
      return Status::InvalidArgument("refusing to mount a container at " + shown + ", inside " +
                                     std::string(tree));
    }
  }
  const std::string store = Resolve(store_dir);
  if (!store.empty() && (IsAtOrUnder(where, store) || IsAtOrUnder(store, where))) {
    return Status::InvalidArgument("refusing to mount a container at " + shown +
                                   ": it would hide the store " + store +
                                   " from the daemon that serves it; mount outside the store");
  }
  return Status::OK();
}

bool ReachableByOthers(const std::string& mountpoint) {
  const std::string where = Resolve(mountpoint);
  if (where.empty()) return false;
  for (size_t slash = where.rfind('/'); slash != std::string::npos && slash > 0;
       slash = where.rfind('/', slash - 1)) {
    struct stat st;
    if (::stat(where.substr(0, slash).c_str(), &st) != 0 || (st.st_mode & S_IXOTH) == 0) {
      return false;
    }
  }
  struct stat root;
  return ::stat("/", &root) == 0 && (root.st_mode & S_IXOTH) != 0;
}

}  // namespace hoodyfs::cli
