// The daemon's commands: `hoodyfs serve`, `hoodyfs mount`, `hoodyfs umount`
// (docs/cli.md). Each returns a Status; hoodyfs_command.cc prints it.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "base/status.h"

namespace hoodyfs::cli {

struct ServeArgs {
  std::string store;
  std::string listen;
  std::string token_file;
  bool exit_when_idle = false;
  int ready_fd = -1;
  unsigned gc_interval_s = 60;
};
Status Serve(const ServeArgs& args);

struct MountArgs {
  std::string store;
  std::string container;
  bool create = false;
  std::string snapshot;
  std::string options;   // -o a,b,c
  bool remount = false;  // mount -o remount: change a live mount's options (Remount)
  bool foreground = false;
  std::string mountpoint;
};
// Returns once the mount is live (or, with foreground, once it is unmounted).
Status Mount(const MountArgs& args);

// mount -o remount (the mount helper): the daemon serving the hoodyfs
// mount at args.mountpoint (found in /proc/self/mountinfo) applies
// args.options to it without dropping it (MountService::Remount).
// Errors: kNotFound (no hoodyfs mount there), and the daemon's.
Status Remount(const MountArgs& args);

// `store` may be empty: the mount's own record (/proc/self/mountinfo) says
// which store serves it.
Status Umount(const std::string& store, const std::string& mountpoint);

// The store a hoodyfs mount at `mountpoint` belongs to, from
// /proc/self/mountinfo (its source is "hoodyfs:CONTAINER@STORE");
// kNotFound when no hoodyfs mount is there.
Result<std::string> StoreOfMount(const std::string& mountpoint);

}  // namespace hoodyfs::cli
