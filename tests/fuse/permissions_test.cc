// Permissions as an unprivileged user (uid/gid 65534 in a forked child):
// what the mode bits and POSIX ACLs refuse, and the clearing of setuid and
// setgid bits by writes, truncates, fallocate, chown and setting an ACL, as
// on a local filesystem (Linux 6.x rules).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "base/unique_fd.h"
#include "snapshotter/engine/posix_acl.h"
#include "tests/fuse/mount_fixture.h"

namespace hoodyfs::testing {
namespace {

using snapshotter::Acl;
using snapshotter::AclEntry;
using snapshotter::AclTag;

constexpr uid_t kNobody = 65534;
constexpr gid_t kNogroup = 65534;

class PermissionsTest : public MountTest {};

// 0 when open(path, flags) succeeds, else errno.
int TryOpen(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0666);
  if (fd < 0) return errno;
  ::close(fd);
  return 0;
}

int AsNobody(const std::function<int()>& fn) { return RunAs(kNobody, kNogroup, fn); }

mode_t ModeOf(const std::string& path) {
  struct stat st = {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

void SetAcl(const std::string& path, const char* name, const Acl& acl) {
  const std::string raw = snapshotter::EncodeAcl(acl);
  ASSERT_EQ(::setxattr(path.c_str(), name, raw.data(), raw.size(), 0), 0)
      << path << " " << name << ": " << std::strerror(errno);
}

TEST_F(PermissionsTest, ModeBitsAreEnforced) {
  WriteFile(P("private"), "secret", 0600);
  WriteFile(P("public"), "hello", 0644);
  ASSERT_EQ(::mkdir(P("closed").c_str(), 0700), 0);
  WriteFile(P("closed/inner"), "x", 0644);
  const std::string priv = P("private"), pub = P("public"), inner = P("closed/inner");
  EXPECT_EQ(AsNobody([&] { return TryOpen(priv, O_RDONLY); }), EACCES);
  EXPECT_EQ(AsNobody([&] { return TryOpen(pub, O_RDONLY); }), 0);
  EXPECT_EQ(AsNobody([&] { return TryOpen(pub, O_WRONLY); }), EACCES);
  EXPECT_EQ(AsNobody([&] { return TryOpen(inner, O_RDONLY); }), EACCES);
  const std::string create = P("nobody-was-here");
  EXPECT_EQ(AsNobody([&] { return TryOpen(create, O_CREAT | O_WRONLY); }), EACCES);
  EXPECT_EQ(AsNobody([&] { return ::chmod(pub.c_str(), 0777) == 0 ? 0 : errno; }), EPERM);
  // A directory the user may write: files it creates are its own.
  ASSERT_EQ(::mkdir(P("tmp").c_str(), 01777), 0);
  ASSERT_EQ(::chmod(P("tmp").c_str(), 01777), 0);
  const std::string mine = P("tmp/mine");
  EXPECT_EQ(AsNobody([&] { return TryOpen(mine, O_CREAT | O_WRONLY); }), 0);
  struct stat st;
  ASSERT_EQ(::stat(mine.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, kNobody);
  EXPECT_EQ(st.st_gid, kNogroup);
  // Sticky directory: root's file in it cannot be removed by nobody.
  WriteFile(P("tmp/roots"), "r", 0666);
  const std::string roots = P("tmp/roots");
  EXPECT_EQ(AsNobody([&] { return ::unlink(roots.c_str()) == 0 ? 0 : errno; }), EPERM);
}

TEST_F(PermissionsTest, AccessAclGrantsAndDenies) {
  // 0600 root file; the ACL grants nobody read.
  WriteFile(P("granted"), "for nobody", 0600);
  SetAcl(P("granted"), snapshotter::kAclAccessXattr,
         Acl{{{AclTag::kUserObj, 6, 0},
              {AclTag::kUser, 4, kNobody},
              {AclTag::kGroupObj, 0, 0},
              {AclTag::kMask, 4, 0},
              {AclTag::kOther, 0, 0}}});
  // The mode follows the ACL: group bits show the mask.
  EXPECT_EQ(ModeOf(P("granted")), 0640u);
  // 0644 file; the ACL denies nobody everything.
  WriteFile(P("denied"), "not for nobody", 0644);
  SetAcl(P("denied"), snapshotter::kAclAccessXattr,
         Acl{{{AclTag::kUserObj, 6, 0},
              {AclTag::kUser, 0, kNobody},
              {AclTag::kGroupObj, 4, 0},
              {AclTag::kMask, 4, 0},
              {AclTag::kOther, 4, 0}}});
  const std::string granted = P("granted"), denied = P("denied");
  EXPECT_EQ(AsNobody([&] { return TryOpen(granted, O_RDONLY); }), 0);
  EXPECT_EQ(AsNobody([&] { return TryOpen(granted, O_WRONLY); }), EACCES);
  EXPECT_EQ(AsNobody([&] { return TryOpen(denied, O_RDONLY); }), EACCES);
  // chmod moves the mask: group read off takes nobody's grant away.
  ASSERT_EQ(::chmod(granted.c_str(), 0600), 0);
  EXPECT_EQ(AsNobody([&] { return TryOpen(granted, O_RDONLY); }), EACCES);
  // Removing the ACL leaves the mode in charge.
  ASSERT_EQ(::removexattr(denied.c_str(), snapshotter::kAclAccessXattr), 0);
  EXPECT_EQ(AsNobody([&] { return TryOpen(denied, O_RDONLY); }), 0);
}

TEST_F(PermissionsTest, DefaultAclIsInheritedAndReplacesTheUmask) {
  ASSERT_EQ(::mkdir(P("team").c_str(), 0755), 0);
  const Acl inherit{{{AclTag::kUserObj, 7, 0},
                     {AclTag::kUser, 7, kNobody},
                     {AclTag::kGroupObj, 5, 0},
                     {AclTag::kMask, 7, 0},
                     {AclTag::kOther, 5, 0}}};
  SetAcl(P("team"), snapshotter::kAclDefaultXattr, inherit);
  SetAcl(P("team"), snapshotter::kAclAccessXattr, inherit);
  const std::string file = P("team/by-root"), sub = P("team/sub");
  // Created by root with umask 077: the default ACL wins over the umask.
  EXPECT_EQ(RunInChild([&] {
              ::umask(077);
              if (TryOpen(file, O_CREAT | O_WRONLY) != 0) return 1;
              return ::mkdir(sub.c_str(), 0777) == 0 ? 0 : 2;
            }),
            0);
  EXPECT_EQ(ModeOf(file), 0664u);
  EXPECT_EQ(ModeOf(sub), 0775u);
  EXPECT_EQ(AsNobody([&] { return TryOpen(file, O_WRONLY); }), 0);
  EXPECT_GT(::getxattr(sub.c_str(), snapshotter::kAclDefaultXattr, nullptr, 0), 0);
  // Without a default ACL the umask applies.
  const std::string plain = P("plain");
  EXPECT_EQ(RunInChild([&] {
              ::umask(027);
              return TryOpen(plain, O_CREAT | O_WRONLY);
            }),
            0);
  EXPECT_EQ(ModeOf(plain), 0640u);
}

// Writes one byte at offset 0 through a fresh descriptor.
int WriteByte(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  const int rc = ::write(fd, "w", 1) == 1 ? 0 : errno;
  ::close(fd);
  return rc;
}

TEST_F(PermissionsTest, SetuidAndSetgidBitsAreClearedLikeOnALocalFilesystem) {
  const std::string written = P("written"), truncated = P("truncated"), chowned = P("chowned"),
                    by_root = P("by-root");
  for (const std::string& path : {written, truncated, chowned, by_root}) {
    WriteFile(path, "binary", 0755);
    ASSERT_EQ(::chown(path.c_str(), kNobody, kNogroup), 0);
    ASSERT_EQ(::chmod(path.c_str(), 06755), 0);
    ASSERT_EQ(ModeOf(path), 06755u);
  }
  // A write by an unprivileged owner clears both (setgid because g+x).
  EXPECT_EQ(AsNobody([&] { return WriteByte(written); }), 0);
  EXPECT_EQ(ModeOf(written), 0755u);
  EXPECT_EQ(AsNobody([&] { return ::truncate(truncated.c_str(), 2) == 0 ? 0 : errno; }), 0);
  EXPECT_EQ(ModeOf(truncated), 0755u);
  // root keeps them on write (CAP_FSETID), but chown clears them for anyone.
  EXPECT_EQ(WriteByte(by_root), 0);
  EXPECT_EQ(ModeOf(by_root), 06755u);
  ASSERT_EQ(::chown(chowned.c_str(), 0, 0), 0);
  EXPECT_EQ(ModeOf(chowned), 0755u);
  // open(O_TRUNC) by the unprivileged owner clears them too.
  ASSERT_EQ(::chmod(written.c_str(), 06755), 0);
  EXPECT_EQ(AsNobody([&] { return TryOpen(written, O_WRONLY | O_TRUNC); }), 0);
  EXPECT_EQ(ModeOf(written), 0755u);
}

// A file capability (VFS_CAP_REVISION_2: CAP_NET_BIND_SERVICE permitted).
void SetCapability(const std::string& path) {
  const uint32_t caps[5] = {0x02000000u, 1u << 10, 0, 0, 0};
  ASSERT_EQ(::setxattr(path.c_str(), "security.capability", caps, sizeof caps, 0), 0)
      << path << ": " << std::strerror(errno);
}

bool HasCapability(const std::string& path) {
  return ::getxattr(path.c_str(), "security.capability", nullptr, 0) > 0;
}

// File capabilities go with any change to the data or the owner, whoever
// makes it, root included (cap_inode_killpriv). With HANDLE_KILLPRIV_V2 the
// kernel stops asking about a file once it found none (S_NOSEC); each file
// here is written once before it gains the capability, which must end that
// (a security.* setxattr clears S_NOSEC).
TEST_F(PermissionsTest, FileCapabilitiesGoWithAWriteATruncateAndAChown) {
  const std::string written = P("written"), truncated = P("truncated"), chowned = P("chowned");
  for (const std::string& path : {written, truncated, chowned}) {
    WriteFile(path, "binary", 0755);
    ASSERT_EQ(WriteByte(path), 0);
    SetCapability(path);
    ASSERT_TRUE(HasCapability(path)) << path;
  }
  EXPECT_EQ(WriteByte(written), 0);
  EXPECT_FALSE(HasCapability(written));
  ASSERT_EQ(::truncate(truncated.c_str(), 2), 0);
  EXPECT_FALSE(HasCapability(truncated));
  ASSERT_EQ(::chown(chowned.c_str(), kNobody, kNogroup), 0);
  EXPECT_FALSE(HasCapability(chowned));
  // A file that keeps its data keeps its capability.
  const std::string kept = P("kept");
  WriteFile(kept, "binary", 0755);
  SetCapability(kept);
  ASSERT_EQ(::chmod(kept.c_str(), 0750), 0);
  EXPECT_TRUE(HasCapability(kept));
}

// fallocate(2) with `mode` on the first 4 KiB through a fresh descriptor.
int Fallocate(const std::string& path, int mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  const int rc = ::fallocate(fd, mode, 0, 4096) == 0 ? 0 : errno;
  ::close(fd);
  return rc;
}

constexpr int kFallocateModes[] = {
    0, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, FALLOC_FL_ZERO_RANGE};

// A file of 8 KiB owned by `uid`:`gid` with `mode`.
void MakeFile(const std::string& path, uid_t uid, gid_t gid, mode_t mode) {
  WriteFile(path, std::string(8192, 'b'), 0755);
  ASSERT_EQ(::chown(path.c_str(), uid, gid), 0);
  ASSERT_EQ(::chmod(path.c_str(), mode), 0);
  ASSERT_EQ(ModeOf(path), mode);
}

// fallocate changes data as write does: mode 0, KEEP_SIZE, PUNCH_HOLE and
// ZERO_RANGE by an unprivileged owner drop setuid, and setgid with
// group-exec (ext4; the kernel's file_modified), while root keeps both.
TEST_F(PermissionsTest, FallocateDropsSetuidAndSetgidLikeAWrite) {
  for (const int mode : kFallocateModes) {
    SCOPED_TRACE("fallocate mode " + std::to_string(mode));
    const std::string path = P("f" + std::to_string(mode));
    MakeFile(path, kNobody, kNogroup, 06755);
    EXPECT_EQ(AsNobody([&] { return Fallocate(path, mode); }), 0);
    EXPECT_EQ(ModeOf(path), 0755u);
    const std::string by_root = P("root" + std::to_string(mode));
    MakeFile(by_root, kNobody, kNogroup, 06755);
    EXPECT_EQ(Fallocate(by_root, mode), 0);
    EXPECT_EQ(ModeOf(by_root), 06755u);
  }
}

// Linux 6.2+ (setattr_should_drop_sgid): a setgid file its group cannot
// execute loses the bit when a writer outside its group without
// CAP_FSETID changes its data (write, truncate, every fallocate mode), and
// keeps it for a writer in the group. The kernel's FUSE layer leaves this
// case to the daemon.
TEST_F(PermissionsTest, SetgidWithoutGroupExecGoesForAWriterOutsideTheGroup) {
  // Owned by nobody, group root: nobody is not in it.
  const std::string written = P("written"), truncated = P("truncated"), member = P("member");
  MakeFile(written, kNobody, 0, 02644);
  MakeFile(truncated, kNobody, 0, 02644);
  MakeFile(member, kNobody, kNogroup, 02644);
  EXPECT_EQ(AsNobody([&] { return WriteByte(written); }), 0);
  EXPECT_EQ(ModeOf(written), 0644u);
  EXPECT_EQ(AsNobody([&] { return ::truncate(truncated.c_str(), 2) == 0 ? 0 : errno; }), 0);
  EXPECT_EQ(ModeOf(truncated), 0644u);
  for (const int mode : kFallocateModes) {
    SCOPED_TRACE("fallocate mode " + std::to_string(mode));
    const std::string path = P("f" + std::to_string(mode));
    MakeFile(path, kNobody, 0, 02644);
    EXPECT_EQ(AsNobody([&] { return Fallocate(path, mode); }), 0);
    EXPECT_EQ(ModeOf(path), 0644u);
  }
  // In the file's group: the bit stays, whatever changes the data.
  EXPECT_EQ(AsNobody([&] { return WriteByte(member); }), 0);
  EXPECT_EQ(AsNobody([&] { return Fallocate(member, 0); }), 0);
  EXPECT_EQ(AsNobody([&] { return ::truncate(member.c_str(), 2) == 0 ? 0 : errno; }), 0);
  EXPECT_EQ(ModeOf(member), 02644u);
}

// setfacl by the owner (posix_acl_update_mode): outside the file's group
// and without CAP_FSETID the setgid bit goes with the new mode; a member
// keeps it.
TEST_F(PermissionsTest, SettingAnAccessAclOutsideTheGroupDropsSetgid) {
  const std::string outside = P("outside"), member = P("member");
  MakeFile(outside, kNobody, 0, 02755);
  MakeFile(member, kNobody, kNogroup, 02755);
  const std::string acl = snapshotter::EncodeAcl(Acl{{{AclTag::kUserObj, 7, 0},
                                                      {AclTag::kUser, 4, 1234},
                                                      {AclTag::kGroupObj, 5, 0},
                                                      {AclTag::kMask, 5, 0},
                                                      {AclTag::kOther, 5, 0}}});
  auto set = [&](const std::string& path) {
    return AsNobody([&] {
      return ::setxattr(path.c_str(), snapshotter::kAclAccessXattr, acl.data(), acl.size(), 0) == 0
                 ? 0
                 : errno;
    });
  };
  EXPECT_EQ(set(outside), 0);
  EXPECT_EQ(ModeOf(outside), 0755u);
  EXPECT_EQ(set(member), 0);
  EXPECT_EQ(ModeOf(member), 02755u);
  // root (CAP_FSETID) keeps it outside the group too.
  ASSERT_EQ(::chmod(outside.c_str(), 02755), 0);
  ASSERT_EQ(::setxattr(outside.c_str(), snapshotter::kAclAccessXattr, acl.data(), acl.size(), 0),
            0);
  EXPECT_EQ(ModeOf(outside), 02755u);
}

}  // namespace
}  // namespace hoodyfs::testing
