// O_TMPFILE through a real mount (issue 14). The kernel asks a FUSE
// filesystem for an unnamed file with FUSE_TMPFILE (Linux 6.3+), which
// libfuse handles from 3.17 on (libfuse/libfuse#1071); Debian 12's libfuse
// 3.14 answers it ENOSYS for us, and the kernel then reports EOPNOTSUPP,
// the documented "this filesystem has no O_TMPFILE" answer that glibc's
// tmpfile(3), Python's tempfile and systemd fall back from to a named file.
// This test holds that contract: the refusal is clean, leaves nothing
// behind, and the fallback (a named file renamed into place) works.
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "tests/fuse/mount_fixture.h"

namespace hoodyfs::testing {
namespace {

size_t EntriesIn(const std::string& dir) {
  size_t n = 0;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return 0;
  while (dirent* e = ::readdir(d)) {
    if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") ++n;
  }
  ::closedir(d);
  return n;
}

TEST_F(MountTest, OTmpfileIsRefusedCleanlyAndTheNamedFallbackWorks) {
  ASSERT_EQ(::mkdir(P("d").c_str(), 0755), 0);
  const int fd = ::open(P("d").c_str(), O_TMPFILE | O_RDWR, 0600);
  if (fd >= 0) ::close(fd);
  ASSERT_LT(fd, 0) << "O_TMPFILE opened: libfuse now has tmpfile, update docs/design.md";
  EXPECT_EQ(errno, EOPNOTSUPP);
  EXPECT_EQ(EntriesIn(P("d")), 0u) << "a refused O_TMPFILE left a name behind";
  // What programs do next: a named file, written, renamed into place.
  WriteFile(P("d/.tmp.x"), "content");
  ASSERT_EQ(::rename(P("d/.tmp.x").c_str(), P("d/x").c_str()), 0);
  EXPECT_EQ(ReadFile(P("d/x")), "content");
  EXPECT_EQ(EntriesIn(P("d")), 1u);
}

}  // namespace
}  // namespace hoodyfs::testing
