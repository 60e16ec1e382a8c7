#include "cli/mount_helper.h"

#include <cstring>
#include <ostream>
#include <sstream>

#include "cli/exit_codes.h"
#include "cli/store_path.h"

namespace hoodyfs::cli {

namespace {
bool IsMountsOwn(const std::string& o) {
  static const char* const kOwn[] = {"defaults", "auto",  "noauto", "user",   "users",
                                     "nouser",   "owner", "group",  "nofail", "_netdev"};
  for (const char* own : kOwn) {
    if (o == own) return true;
  }
  return o.rfind("x-", 0) == 0 || o.rfind("comment=", 0) == 0;
}
}  // namespace

bool IsMountHelper(const char* argv0) {
  const char* base = std::strrchr(argv0, '/');
  base = base == nullptr ? argv0 : base + 1;
  return std::strcmp(base, "mount.fuse.hoodyfs") == 0 || std::strcmp(base, "mount.hoodyfs") == 0;
}

Result<MountArgs> ParseMountHelperArgs(const std::vector<std::string>& args) {
  std::vector<std::string> positional;
  std::vector<std::string> options;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-o") {
      if (i + 1 == args.size()) return Status::InvalidArgument("-o without options");
      std::stringstream in(args[++i]);
      for (std::string o; std::getline(in, o, ',');) {
        if (!o.empty()) options.push_back(o);
      }
    } else if (a.size() > 2 && a.rfind("-o", 0) == 0) {
      std::stringstream in(a.substr(2));
      for (std::string o; std::getline(in, o, ',');) {
        if (!o.empty()) options.push_back(o);
      }
    } else if (a == "-s" || a == "-f" || a == "-n" || a == "-v") {
      continue;  // sloppy, fake, no mtab, verbose: nothing to do for us
    } else if (!a.empty() && a[0] == '-') {
      return Status::InvalidArgument("unknown mount helper flag '" + a + "'");
    } else {
      positional.push_back(a);
    }
  }
  if (positional.size() != 2) {
    return Status::InvalidArgument("usage: mount.fuse.hoodyfs CONTAINER[@STORE] DIR [-o OPTIONS]");
  }
  MountArgs m;
  std::string source = positional[0];
  m.mountpoint = positional[1];
  std::string store;
  std::string kept;
  for (const std::string& o : options) {
    if (IsMountsOwn(o)) continue;
    if (o.rfind("store=", 0) == 0) {
      store = o.substr(6);
    } else if (o == "create") {
      m.create = true;
    } else if (o == "remount") {
      m.remount = true;
    } else if (o.rfind("snapshot=", 0) == 0) {
      m.snapshot = o.substr(9);
    } else {
      kept += (kept.empty() ? "" : ",") + o;
    }
  }
  if (const size_t at = source.find('@'); at != std::string::npos) {
    if (!store.empty()) {
      return Status::InvalidArgument("the store is named twice: in " + source + " and store=");
    }
    store = source.substr(at + 1);
    source = source.substr(0, at);
  }
  if (source.empty()) return Status::InvalidArgument("no container in the mount source");
  m.container = source;
  m.store = ResolveStorePath(store);
  m.options = kept;
  return m;
}

int RunMountHelper(int argc, const char* const* argv, std::ostream& err) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto parsed = ParseMountHelperArgs(args);
  Status s = !parsed.ok() ? parsed.status() : parsed->remount ? Remount(*parsed) : Mount(*parsed);
  if (s.ok()) return kExitOk;
  err << "mount.fuse.hoodyfs: " << s.message() << "\n";
  return ExitCodeFor(s);
}

}  // namespace hoodyfs::cli
