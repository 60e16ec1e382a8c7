// opendir, readdir, readdirplus, releasedir, fsyncdir.
//
// Offsets are the engine's per-directory cookies: stable 64-bit positions,
// so entries added or removed while a directory is read never make others
// repeat or vanish. The offset stored with each entry is that entry's own
// cookie; ReadDir continues after it.
#include <fcntl.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "fusefs/limits.h"
#include "fusefs/ops.h"

namespace hoodyfs::fusefs {

using snapshotter::DirEntry;

namespace {

// Rough lower bound of the space one entry takes in a readdirplus reply
// (struct fuse_direntplus is 152 bytes before the name).
constexpr size_t kPlusEntryBytes = 152;

bool IsDotOrDotDot(const std::string& name) { return name == "." || name == ".."; }

void Opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) noexcept {
  Serve(req, "opendir", [&](Reply& r) {
    FuseFs& fs = FsOf(req);
    // Directory handles are stamped like file handles: a listing begun
    // before a restore does not continue in the restored tree.
    Result<OpenFile*> h =
        OpenHandle(fs, Ino(ino), OpenRequest{false, (fi->flags & O_NOATIME) != 0});
    if (!h.ok()) return r.Error(h.status());
    fi->fh = reinterpret_cast<uintptr_t>(*h);
    if (!r.Open(fi)) CloseHandle(fs, *h);
  });
}

void Readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset,
             fuse_file_info* fi) noexcept {
  Serve(req, "readdir", [&](Reply& r) {
    OpenFile* h = HandleOf(fi);
    std::vector<char> buf(size);
    size_t used = 0;
    const snapshotter::AtimeUpdate atime = AtimeFor(FsOf(req), *h);
    Status st = h->view.ReadDir(
        Ino(ino), static_cast<uint64_t>(offset),
        [&](const DirEntry& e) {
          struct stat st_entry = {};
          st_entry.st_ino = e.ino.value;
          st_entry.st_mode = static_cast<mode_t>(e.type) << 12;
          const size_t need = fuse_add_direntry(req, buf.data() + used, size - used, e.name.c_str(),
                                                &st_entry, static_cast<off_t>(e.cookie));
          if (need > size - used) return false;  // does not fit: the next call starts here
          used += need;
          return true;
        },
        atime);
    if (!st.ok()) return r.Error(st);
    r.Buf(buf.data(), used);
  });
}

// readdirplus hands the kernel an entry (and a lookup) per name, so
// attributes come from separate engine reads after the listing, never from
// inside ReadDir's scope.
void Readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset,
                 fuse_file_info* fi) noexcept {
  Serve(req, "readdirplus", [&](Reply& r) {
    FuseFs& fs = FsOf(req);
    OpenFile* h = HandleOf(fi);
    std::vector<DirEntry> entries;
    size_t estimate = 0;
    Status st = h->view.ReadDir(
        Ino(ino), static_cast<uint64_t>(offset),
        [&](const DirEntry& e) {
          estimate += kPlusEntryBytes + ((e.name.size() + 7) & ~size_t{7});
          if (estimate > size && !entries.empty()) return false;
          entries.push_back(e);
          return true;
        },
        AtimeFor(fs, *h));
    if (!st.ok()) return r.Error(st);
    std::vector<char> buf(size);
    size_t used = 0;
    // The lookups this reply hands the kernel, taken back if it never
    // arrives (an error, or the kernel no longer waited).
    std::vector<Ino> counted;
    auto take_back = [&] {
      for (Ino i : counted) fs.inodes.Forget(i, 1);
    };
    for (const DirEntry& e : entries) {
      fuse_entry_param param = {};
      bool counts = false;
      if (IsDotOrDotDot(e.name)) {
        // The kernel takes no reference for . and ..: inode 0, attributes
        // only for the type.
        param.attr.st_ino = e.ino.value;
        param.attr.st_mode = static_cast<mode_t>(e.type) << 12;
      } else {
        Result<snapshotter::Attr> a = h->view.GetAttr(e.ino);
        if (!a.ok() && a.status().code() != Code::kNotFound) {
          take_back();
          return r.Error(a.status());
        }
        if (a.ok()) {
          // Counted before the entry is built, so it carries the
          // generation the table answers with (as ReplyEntry does).
          const uint64_t generation = fs.inodes.Remember(Ino(ino), e.name, e.ino);
          param = ToEntryParam(snapshotter::Entry{e.ino, *a}, generation);
          counts = true;
        } else {
          // Removed since the listing: a plain entry, no reference.
          param.attr.st_ino = e.ino.value;
          param.attr.st_mode = static_cast<mode_t>(e.type) << 12;
        }
      }
      const size_t need =
          fuse_add_direntry_plus(req, buf.data() + used, size - used, e.name.c_str(), &param,
                                 static_cast<off_t>(e.cookie));
      if (need > size - used) {
        if (counts) fs.inodes.Forget(e.ino, 1);
        break;
      }
      used += need;
      if (counts) counted.push_back(e.ino);
    }
    if (!r.Buf(buf.data(), used)) take_back();
  });
}

void Releasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) noexcept {
  Serve(req, "releasedir", [&](Reply& r) {
    CloseHandle(FsOf(req), HandleOf(fi));
    r.Ok();
  });
}

void Fsyncdir(fuse_req_t req, fuse_ino_t ino, int, fuse_file_info*) noexcept {
  Serve(req, "fsyncdir", [&](Reply& r) { r.Error(FsOf(req).view.Fsync(Ino(ino))); });
}

}  // namespace

void AddDirOps(fuse_lowlevel_ops* ops) {
  ops->opendir = Opendir;
  ops->readdir = Readdir;
  ops->readdirplus = Readdirplus;
  ops->releasedir = Releasedir;
  ops->fsyncdir = Fsyncdir;
}

}  // namespace hoodyfs::fusefs
