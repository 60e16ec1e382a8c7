// Reply and Serve: how every request handler answers. Serve runs a handler
// body with a Reply; the Reply sends exactly one answer (a second one is an
// assertion failure), and a body that throws or forgets to answer gets EIO,
// so no exception crosses into libfuse's C code and no request hangs.
// Also the conversions from engine values to the kernel's structures.
// Internal to fusefs/; the only header besides ops that includes libfuse.
#pragma once

#include <fuse_lowlevel.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <new>

#include "base/status.h"
#include "fusefs/fuse_fs.h"
#include "snapshotter/engine/filesystem.h"

namespace hoodyfs::fusefs {

inline FuseFs& FsOf(fuse_req_t req) { return *static_cast<FuseFs*>(fuse_req_userdata(req)); }
inline OpenFile* HandleOf(const fuse_file_info* fi) {
  return reinterpret_cast<OpenFile*>(static_cast<uintptr_t>(fi->fh));
}

struct stat ToStat(const snapshotter::Attr& attr);
// The reply's generation is EntryGeneration(entry.attr, replaced), where
// `replaced` is the inode's generation in the InodeTable (how often a
// restore replaced the kernel's inode; see there).
fuse_entry_param ToEntryParam(const snapshotter::Entry& entry, uint64_t replaced);
// The kernel's CLOCK_REALTIME, for UTIME_NOW.
index::Timespec NowTimespec();

class Reply {
 public:
  Reply(fuse_req_t req, const char* op) : req_(req), op_(op) {}
  ~Reply();
  Reply(const Reply&) = delete;
  Reply& operator=(const Reply&) = delete;

  fuse_req_t req() const { return req_; }
  const char* op() const { return op_; }
  bool pending() const { return !done_; }

  void Error(int err);  // err > 0
  void Error(const Status& status);
  void Ok() { Error(0); }
  void None();
  // Entry and Create return false when the kernel no longer waited for the
  // reply (interrupted): the caller takes back the lookup it counted.
  bool Entry(const fuse_entry_param& e);
  bool Create(const fuse_entry_param& e, const fuse_file_info* fi);
  void Attr(const struct stat& st, double timeout);
  void Readlink(const char* target);
  // False when the kernel no longer waited: the caller closes the handle.
  bool Open(const fuse_file_info* fi);
  void Write(size_t count);
  // False when the kernel no longer waited: a readdirplus takes back the
  // lookups its entries counted.
  bool Buf(const char* data, size_t size);
  void Statfs(const struct statvfs& st);
  void Xattr(size_t size);
  void Lseek(off_t offset);

 private:
  void Done();
  fuse_req_t req_;
  const char* op_;
  bool done_ = false;
};

// Runs `body(reply)`; see the file comment.
template <class Fn>
void Serve(fuse_req_t req, const char* op, Fn&& body) noexcept {
  Reply reply(req, op);
  try {
    body(reply);
  } catch (const std::bad_alloc&) {
    if (reply.pending()) reply.Error(ENOMEM);
  } catch (...) {
    if (reply.pending()) reply.Error(EIO);
  }
}

}  // namespace hoodyfs::fusefs
