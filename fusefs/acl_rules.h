// The filesystem's share of POSIX ACL semantics once the kernel enforces
// ACLs (FUSE_CAP_POSIX_ACL): the kernel checks access against the ACLs it
// reads through getxattr, but leaves to the filesystem (1) keeping the mode
// in step when an access ACL is set, (2) keeping the access ACL in step when
// the mode changes (chmod), and (3) inheriting a directory's default ACL when
// a node is created in it, in place of the umask (which the kernel then no
// longer applies: FUSE_CAP_DONT_MASK). ACLs are stored as the plain xattrs
// system.posix_acl_access / system.posix_acl_default.
//
// Each function is two engine calls (an xattr and an attribute change), not
// one transaction; the order keeps a crash between them on the safe side
// (the mode is never more permissive than the ACL intended).
//
// Thread-safety: stateless; the FileSystem calls are thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "base/types.h"
#include "snapshotter/engine/filesystem.h"
#include "snapshotter/engine/posix_acl.h"

namespace hoodyfs::fusefs {

using snapshotter::NewNodeAcl;

// snapshotter::InheritAcl with the parent's stored default ACL: `mode` (type
// and permission bits) masked by it when there is one, else by `umask`.
// Errors: what GetXattr returns besides kNoData; kInvalidArgument for an
// unreadable stored ACL.
Result<NewNodeAcl> InheritAcl(snapshotter::FileSystem& fs, Ino parent, uint32_t mode,
                              uint32_t umask);
// Stores the xattrs InheritAcl chose on the new node.
Status StoreInheritedAcl(snapshotter::FileSystem& fs, Ino ino, const NewNodeAcl& acl);

// setxattr of system.posix_acl_access: the mode's permission bits take the
// ACL's; an ACL equivalent to the mode is not stored (any earlier one is
// removed). Errors: kInvalidArgument (not an ACL), engine errors.
Status SetAccessAcl(snapshotter::FileSystem& fs, Ino ino, std::string_view value);

// After chmod to `mode`: a stored access ACL takes the new bits.
Status ChmodAccessAcl(snapshotter::FileSystem& fs, Ino ino, uint32_t mode);

}  // namespace hoodyfs::fusefs
