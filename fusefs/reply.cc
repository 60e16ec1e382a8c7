#include "fusefs/reply.h"

#include <ctime>

#include "base/assert.h"
#include "base/log.h"
#include "fusefs/errno_map.h"
#include "fusefs/generation.h"

namespace hoodyfs::fusefs {

struct stat ToStat(const snapshotter::Attr& a) {
  struct stat st = {};
  st.st_ino = a.ino.value;
  st.st_mode = a.mode;
  st.st_nlink = a.nlink;
  st.st_uid = a.uid;
  st.st_gid = a.gid;
  st.st_rdev = a.rdev;
  st.st_size = static_cast<off_t>(a.size);
  st.st_blocks = static_cast<blkcnt_t>(a.blocks_512);
  st.st_blksize = kBlockSize;
  st.st_atim = timespec{a.atime.sec, static_cast<long>(a.atime.nsec)};
  st.st_mtim = timespec{a.mtime.sec, static_cast<long>(a.mtime.nsec)};
  st.st_ctim = timespec{a.ctime.sec, static_cast<long>(a.ctime.nsec)};
  return st;
}

fuse_entry_param ToEntryParam(const snapshotter::Entry& entry, uint64_t replaced) {
  fuse_entry_param e = {};
  e.ino = entry.ino.value;
  e.generation = EntryGeneration(entry.attr, replaced);
  e.attr = ToStat(entry.attr);
  e.attr_timeout = kCacheTimeoutSeconds;
  e.entry_timeout = kCacheTimeoutSeconds;
  return e;
}

index::Timespec NowTimespec() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return index::Timespec{ts.tv_sec, static_cast<uint32_t>(ts.tv_nsec)};
}

Reply::~Reply() {
  if (done_) return;
  Log(LogLevel::kError,
      std::string("fuse ") + op_ + ": handler sent no reply (bug); answering EIO");
  fuse_reply_err(req_, EIO);
}

void Reply::Done() {
  HOODY_ASSERT(!done_, "a FUSE request answered twice");
  done_ = true;
}

void Reply::Error(int err) {
  Done();
  fuse_reply_err(req_, err);
}

void Reply::Error(const Status& status) {
  const int err = ToFuseErrno(status);
  if (err == EIO) Log(LogLevel::kError, std::string("fuse ") + op_ + ": " + status.ToString());
  Error(err);
}

void Reply::None() {
  Done();
  fuse_reply_none(req_);
}

bool Reply::Entry(const fuse_entry_param& e) {
  Done();
  return fuse_reply_entry(req_, &e) == 0;
}

bool Reply::Create(const fuse_entry_param& e, const fuse_file_info* fi) {
  Done();
  return fuse_reply_create(req_, &e, fi) == 0;
}

void Reply::Attr(const struct stat& st, double timeout) {
  Done();
  fuse_reply_attr(req_, &st, timeout);
}

void Reply::Readlink(const char* target) {
  Done();
  fuse_reply_readlink(req_, target);
}

bool Reply::Open(const fuse_file_info* fi) {
  Done();
  return fuse_reply_open(req_, fi) == 0;
}

void Reply::Write(size_t count) {
  Done();
  fuse_reply_write(req_, count);
}

bool Reply::Buf(const char* data, size_t size) {
  Done();
  return fuse_reply_buf(req_, data, size) == 0;
}

void Reply::Statfs(const struct statvfs& st) {
  Done();
  fuse_reply_statfs(req_, &st);
}

void Reply::Xattr(size_t size) {
  Done();
  fuse_reply_xattr(req_, size);
}

void Reply::Lseek(off_t offset) {
  Done();
  fuse_reply_lseek(req_, offset);
}

}  // namespace hoodyfs::fusefs
