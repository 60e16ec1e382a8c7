// Where a client may mount a container: not over the host's own system
// directories, and nowhere that would hide the store from the daemon that
// serves it. A container mounted over /etc replaced the host's /etc; one
// mounted over its own store directory deadlocked the daemon (every file it
// opened there became a FUSE request to itself) and left umount in D state.
//
// Thread-safety: a pure function of the file system's state.
#pragma once

#include <string>

#include "base/status.h"

namespace hoodyfs::cli {

// Checks `mountpoint` (absolute; symlinks resolved) against the rules:
// refused are "/", the system directories (/bin, /boot, /etc, /home, /lib*,
// /opt, /root, /run, /sbin, /tmp, /usr, /var and their standard
// sub-directories such as /usr/lib or /var/lib), anything under /proc, /sys
// and /dev, the store directory itself, anything inside it, and any
// directory that holds it.
// Errors: kInvalidArgument (not absolute; or refused, saying which rule),
// kNotFound (the mountpoint does not exist).
Status CheckMountpoint(const std::string& mountpoint, const std::string& store_dir);

// Whether every user of the host can reach `mountpoint`: each directory
// above it lets others search it (the x bit for others). A container root
// mounted there with suid and dev on lets any host user run the container's
// setuid programs as root and open its device nodes.
bool ReachableByOthers(const std::string& mountpoint);

}  // namespace hoodyfs::cli
