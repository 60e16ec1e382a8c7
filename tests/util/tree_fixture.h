// BuildSpecialTree: a host directory tree with one of everything a copy of
// a root filesystem must keep, for tests that copy trees through hoodyfs
// and compare them with CompareTrees (tree_compare.h).
//
// Under `dir` (which must exist; its own mode, owner, xattr and times are
// set too):
//   fifo, sock (a bound unix socket), null (char 1,3), loop (block 7,0)
//   setuid (04755), setgid (02755, owner 1234:5678), sticky/ (01777) with a file
//   links/a, links/b, other/c: three links to one file; links/fifo, links/fifo2:
//     two links to one fifo
//   rel -> links/a, abs -> /etc/hostname, dangling -> does/not/exist
//   xattrs (user.*, binary, empty, trusted.*, security.* values), xattr_dir/ (user.*),
//     rel carries a trusted.* xattr
//   acl (system.posix_acl_access, mode 0670 from its mask),
//     acl_dir/ (system.posix_acl_default)
//   sparse (1 GiB, three small islands of data, the last at the end),
//     sparse_tail (64 MiB, one island, ending in a hole), all_hole (10 MiB, no data)
//   empty, empty_dir/, inline_max (1536 bytes), inline_plus (1537), medium (3 MiB + 123)
//   owned (1234:5678), owned_dir/ (1234:5678) with owned_dir/f, owned_link (1234:5678)
//   café, bad\xff (not UTF-8), a 255-byte name, a/b/c/d/e/deep
// and every entry gets its own atime and mtime with odd nanoseconds, set
// last (directories after what they hold).
//
// Needs root (devices, owners, trusted.* xattrs) and a file system with
// xattrs, ACLs and holes (ext4, xfs, btrfs, tmpfs from Linux 6.6).
// Thread-safety: none; call it from one thread.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>

#include "base/status.h"

namespace hoodyfs::testing {

Status BuildSpecialTree(const std::string& dir);

// The raw value of a POSIX ACL xattr (version 2, entries as given: tag,
// perm, id), for tests that write or check ACLs without libacl.
struct RawAclEntry {
  uint16_t tag;
  uint16_t perm;
  uint32_t id;
};
std::string RawPosixAcl(std::initializer_list<RawAclEntry> entries);

}  // namespace hoodyfs::testing
