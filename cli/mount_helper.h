// The mount(8) helper: `mount -t fuse.hoodyfs SOURCE DIR -o OPTIONS` and
// /etc/fstab lines such as
//   web1@/var/lib/hoodyfs  /srv/web1  fuse.hoodyfs  defaults,nosuid  0 0
// run /sbin/mount.fuse.hoodyfs (a link to the hoodyfs program), which
// mount(8) calls as `mount.fuse.hoodyfs SOURCE DIR [-sfnv] [-o OPTIONS]`.
//
// SOURCE is CONTAINER@STORE, or CONTAINER with the store from the option
// store=DIR (else $HOODYFS_STORE, else /var/lib/hoodyfs). The options that
// are mount(8)'s own (defaults, auto, noauto, user, users, nouser, owner,
// group, nofail, _netdev, x-*, comment=*) are dropped; create and
// snapshot=NAME are `hoodyfs mount`'s --create and --snapshot; the rest go
// to the mount as `-o`. docs/operations.md has the fstab examples.
//
// `mount -o remount,ro DIR` runs the helper too (util-linux calls it for
// any fuse.* type, with the options mountinfo shows plus the new ones):
// then the daemon serving DIR changes the live mount (Remount), and the
// source is not used.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "base/status.h"
#include "cli/daemon_commands.h"

namespace hoodyfs::cli {

// True when the program was called as a mount helper (its name).
bool IsMountHelper(const char* argv0);
// Parses mount(8)'s helper arguments (argv without the program name).
// Errors: kInvalidArgument naming what is wrong.
Result<MountArgs> ParseMountHelperArgs(const std::vector<std::string>& args);
int RunMountHelper(int argc, const char* const* argv, std::ostream& err);

}  // namespace hoodyfs::cli
