#include "tests/util/tree_fixture.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "base/unique_fd.h"

namespace hoodyfs::testing {
namespace {

constexpr uint32_t kOwner = 1234;
constexpr uint32_t kGroup = 5678;
constexpr uint32_t kNoId = 0xffffffffu;
constexpr uint64_t kGiB = uint64_t{1} << 30;
constexpr uint64_t kMiB = uint64_t{1} << 20;

#define FIXTURE_SYS(expr, what)                                  \
  do {                                                           \
    if ((expr) != 0) return FromErrno(errno, std::string(what)); \
  } while (0)

class Builder {
 public:
  explicit Builder(std::string dir) : dir_(std::move(dir)) {}
  Status Build();

 private:
  std::string P(const std::string& rel) const { return dir_ + "/" + rel; }
  Status File(const std::string& rel, const std::string& data, mode_t mode = 0644);
  // Writes `data` at each offset, then sets the size.
  Status Sparse(const std::string& rel, uint64_t size,
                const std::vector<std::pair<uint64_t, std::string>>& islands);
  Status Dir(const std::string& rel, mode_t mode = 0755) {
    FIXTURE_SYS(::mkdir(P(rel).c_str(), mode), "mkdir " + rel);
    FIXTURE_SYS(::chmod(P(rel).c_str(), mode), "chmod " + rel);  // past the umask
    return Status::OK();
  }
  Status Xattr(const std::string& rel, const std::string& name, const std::string& value) {
    FIXTURE_SYS(::lsetxattr(P(rel).c_str(), name.c_str(), value.data(), value.size(), 0),
                "setxattr " + name + " on " + rel);
    return Status::OK();
  }
  Status Own(const std::string& rel, uint32_t uid, uint32_t gid) {
    FIXTURE_SYS(::lchown(P(rel).c_str(), uid, gid), "chown " + rel);
    return Status::OK();
  }
  Status Specials();
  Status Links();
  Status Attributes();
  Status Data();
  Status Names();
  // Gives every entry under `rel` distinct times, children first.
  Status SetTimes(const std::string& rel);

  const std::string dir_;
  uint64_t time_counter_ = 0;
};

Status Builder::File(const std::string& rel, const std::string& data, mode_t mode) {
  UniqueFd fd(::open(P(rel).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (!fd.valid()) return FromErrno(errno, "create " + rel);
  if (::write(fd.get(), data.data(), data.size()) != static_cast<ssize_t>(data.size())) {
    return FromErrno(errno, "write " + rel);
  }
  FIXTURE_SYS(::fchmod(fd.get(), mode), "chmod " + rel);
  return Status::OK();
}

Status Builder::Sparse(const std::string& rel, uint64_t size,
                       const std::vector<std::pair<uint64_t, std::string>>& islands) {
  UniqueFd fd(::open(P(rel).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd.valid()) return FromErrno(errno, "create " + rel);
  for (const auto& [offset, data] : islands) {
    if (::pwrite(fd.get(), data.data(), data.size(), static_cast<off_t>(offset)) !=
        static_cast<ssize_t>(data.size())) {
      return FromErrno(errno, "write " + rel);
    }
  }
  FIXTURE_SYS(::ftruncate(fd.get(), static_cast<off_t>(size)), "truncate " + rel);
  return Status::OK();
}

Status Builder::Specials() {
  FIXTURE_SYS(::mkfifo(P("fifo").c_str(), 0640), "mkfifo");
  FIXTURE_SYS(::mknod(P("null").c_str(), S_IFCHR | 0666, makedev(1, 3)), "mknod null");
  FIXTURE_SYS(::mknod(P("loop").c_str(), S_IFBLK | 0660, makedev(7, 0)), "mknod loop");
  FIXTURE_SYS(::chmod(P("null").c_str(), 0666), "chmod null");
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  const std::string sock = P("sock");
  if (sock.size() >= sizeof(addr.sun_path)) {
    return Status::InvalidArgument("socket path over 107 bytes: " + sock);
  }
  std::memcpy(addr.sun_path, sock.c_str(), sock.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return FromErrno(errno, "socket");
  FIXTURE_SYS(::bind(fd.get(), reinterpret_cast<const struct sockaddr*>(&addr), sizeof(addr)),
              "bind " + sock);
  FIXTURE_SYS(::chmod(sock.c_str(), 0755), "chmod sock");
  return Status::OK();
}

Status Builder::Links() {
  HOODY_RETURN_IF_ERROR(Dir("links"));
  HOODY_RETURN_IF_ERROR(Dir("other"));
  HOODY_RETURN_IF_ERROR(File("links/a", "three names, one inode\n"));
  FIXTURE_SYS(::link(P("links/a").c_str(), P("links/b").c_str()), "link b");
  FIXTURE_SYS(::link(P("links/a").c_str(), P("other/c").c_str()), "link c");
  FIXTURE_SYS(::mkfifo(P("links/fifo").c_str(), 0600), "mkfifo links/fifo");
  FIXTURE_SYS(::link(P("links/fifo").c_str(), P("links/fifo2").c_str()), "link fifo2");
  FIXTURE_SYS(::symlink("links/a", P("rel").c_str()), "symlink rel");
  FIXTURE_SYS(::symlink("/etc/hostname", P("abs").c_str()), "symlink abs");
  FIXTURE_SYS(::symlink("does/not/exist", P("dangling").c_str()), "symlink dangling");
  return Status::OK();
}

Status Builder::Attributes() {
  HOODY_RETURN_IF_ERROR(File("setuid", "#!/bin/sh\n", 0755));
  FIXTURE_SYS(::chmod(P("setuid").c_str(), 04755), "chmod setuid");
  HOODY_RETURN_IF_ERROR(File("setgid", "#!/bin/sh\n", 0755));
  HOODY_RETURN_IF_ERROR(Own("setgid", kOwner, kGroup));  // chown first: it clears the bits
  FIXTURE_SYS(::chmod(P("setgid").c_str(), 02755), "chmod setgid");
  HOODY_RETURN_IF_ERROR(Dir("sticky", 01777));
  HOODY_RETURN_IF_ERROR(File("sticky/inside", "in a sticky directory\n", 0666));
  HOODY_RETURN_IF_ERROR(File("owned", "owned by 1234:5678\n", 0640));
  HOODY_RETURN_IF_ERROR(Own("owned", kOwner, kGroup));
  HOODY_RETURN_IF_ERROR(Dir("owned_dir", 0750));
  HOODY_RETURN_IF_ERROR(File("owned_dir/f", "f\n", 0600));
  HOODY_RETURN_IF_ERROR(Own("owned_dir/f", kOwner, kGroup));
  HOODY_RETURN_IF_ERROR(Own("owned_dir", kOwner, kGroup));
  FIXTURE_SYS(::symlink("owned", P("owned_link").c_str()), "symlink owned_link");
  HOODY_RETURN_IF_ERROR(Own("owned_link", kOwner, kGroup));

  HOODY_RETURN_IF_ERROR(File("xattrs", "has xattrs\n"));
  HOODY_RETURN_IF_ERROR(Xattr("xattrs", "user.plain", "value"));
  HOODY_RETURN_IF_ERROR(Xattr("xattrs", "user.binary", std::string("\0\1\xff", 3) + "tail"));
  HOODY_RETURN_IF_ERROR(Xattr("xattrs", "user.empty", ""));
  HOODY_RETURN_IF_ERROR(Xattr("xattrs", "trusted.secret", "trusted value"));
  HOODY_RETURN_IF_ERROR(Xattr("xattrs", "security.hoodyfs_test", "security value"));
  HOODY_RETURN_IF_ERROR(Dir("xattr_dir"));
  HOODY_RETURN_IF_ERROR(Xattr("xattr_dir", "user.on_a_directory", "yes"));
  HOODY_RETURN_IF_ERROR(Xattr("rel", "trusted.on_a_symlink", "yes"));

  // user::rw- user:1000:rwx group::r-- group:100:r-- mask::rwx other::---
  HOODY_RETURN_IF_ERROR(File("acl", "has an ACL\n", 0640));
  HOODY_RETURN_IF_ERROR(Xattr("acl", "system.posix_acl_access",
                              RawPosixAcl({{0x01, 6, kNoId},
                                           {0x02, 7, 1000},
                                           {0x04, 4, kNoId},
                                           {0x08, 4, 100},
                                           {0x10, 7, kNoId},
                                           {0x20, 0, kNoId}})));
  HOODY_RETURN_IF_ERROR(Dir("acl_dir"));
  HOODY_RETURN_IF_ERROR(Xattr("acl_dir", "system.posix_acl_default",
                              RawPosixAcl({{0x01, 7, kNoId},
                                           {0x02, 5, 1000},
                                           {0x04, 5, kNoId},
                                           {0x10, 5, kNoId},
                                           {0x20, 5, kNoId}})));
  return Status::OK();
}

Status Builder::Data() {
  HOODY_RETURN_IF_ERROR(Sparse("sparse", kGiB,
                               {{12345, "island one"},
                                {300 * kMiB + 7, std::string(4096, 'x')},
                                {kGiB - 10, "the end.\n!"}}));
  HOODY_RETURN_IF_ERROR(Sparse("sparse_tail", 64 * kMiB, {{5 * kMiB, "in the middle"}}));
  HOODY_RETURN_IF_ERROR(Sparse("all_hole", 10 * kMiB, {}));
  HOODY_RETURN_IF_ERROR(File("empty", ""));
  HOODY_RETURN_IF_ERROR(Dir("empty_dir"));
  HOODY_RETURN_IF_ERROR(File("inline_max", std::string(1536, 'i')));
  HOODY_RETURN_IF_ERROR(File("inline_plus", std::string(1537, 'j')));
  std::mt19937_64 rng(42);
  std::string medium(3 * kMiB + 123, '\0');
  for (char& c : medium) c = static_cast<char>(rng());
  return File("medium", medium);
}

Status Builder::Names() {
  HOODY_RETURN_IF_ERROR(File("caf\xc3\xa9", "UTF-8 name\n"));
  HOODY_RETURN_IF_ERROR(File("bad\xff", "not UTF-8\n"));
  HOODY_RETURN_IF_ERROR(File(std::string(255, 'n'), "longest name\n"));
  HOODY_RETURN_IF_ERROR(Dir("a"));
  HOODY_RETURN_IF_ERROR(Dir("a/b"));
  HOODY_RETURN_IF_ERROR(Dir("a/b/c"));
  HOODY_RETURN_IF_ERROR(Dir("a/b/c/d"));
  HOODY_RETURN_IF_ERROR(Dir("a/b/c/d/e"));
  return File("a/b/c/d/e/deep", "deep\n");
}

Status Builder::SetTimes(const std::string& rel) {
  const std::string path = rel.empty() ? dir_ : P(rel);
  struct stat st;
  FIXTURE_SYS(::lstat(path.c_str(), &st), "lstat " + rel);
  if (S_ISDIR(st.st_mode)) {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(path)) {
      names.push_back(e.path().filename().string());
    }
    for (const std::string& name : names) {
      HOODY_RETURN_IF_ERROR(SetTimes(rel.empty() ? name : rel + "/" + name));
    }
  }
  const uint64_t k = ++time_counter_;
  struct timespec times[2];
  times[0].tv_sec = static_cast<time_t>(1700000000 + 3600 * k);
  times[0].tv_nsec = static_cast<long>((123456789 + 7919 * k) % 1000000000);
  times[1].tv_sec = static_cast<time_t>(1500000000 + 7200 * k);
  times[1].tv_nsec = static_cast<long>((987654321 + 104729 * k) % 1000000000);
  FIXTURE_SYS(::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW), "utimens " + rel);
  return Status::OK();
}

Status Builder::Build() {
  HOODY_RETURN_IF_ERROR(Specials());
  HOODY_RETURN_IF_ERROR(Links());
  HOODY_RETURN_IF_ERROR(Attributes());
  HOODY_RETURN_IF_ERROR(Data());
  HOODY_RETURN_IF_ERROR(Names());
  // The top directory's own attributes.
  FIXTURE_SYS(::chown(dir_.c_str(), kOwner, kGroup), "chown top");
  FIXTURE_SYS(::chmod(dir_.c_str(), 0751), "chmod top");
  FIXTURE_SYS(::setxattr(dir_.c_str(), "user.top", "top value", 9, 0), "setxattr top");
  return SetTimes("");
}

}  // namespace

Status BuildSpecialTree(const std::string& dir) { return Builder(dir).Build(); }

std::string RawPosixAcl(std::initializer_list<RawAclEntry> entries) {
  std::string out;
  auto put = [&](uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  };
  put(2, 4);
  for (const RawAclEntry& e : entries) {
    put(e.tag, 2);
    put(e.perm, 2);
    put(e.id, 4);
  }
  return out;
}

}  // namespace hoodyfs::testing
