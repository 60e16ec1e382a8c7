// HandleTable: the open files and directories of one session. A handle is
// stamped at open with the view it reads and writes through: the session's
// view pinned to the container's lineage at that moment
// (FileSystem::PinnedTo), so after a restore every call through a handle
// opened before it fails with ESTALE instead of reaching the restored tree.
//
// Ownership: the table owns the handles; fuse_file_info::fh carries the raw
// pointer, valid from Open until Close (the kernel sends no request on a
// handle after its RELEASE). The table also counts writable handles per
// inode for Session::FlushDirtyData.
//
// Thread-safety: all methods may be called from any thread. A handle's
// fields are set by Open and never change.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "base/types.h"
#include "snapshotter/engine/filesystem.h"

namespace hoodyfs::fusefs {

struct OpenFile {
  OpenFile(Ino ino_in, snapshotter::FileSystem view_in, bool writable_in, bool noatime_in)
      : ino(ino_in), view(std::move(view_in)), writable(writable_in), noatime(noatime_in) {}
  Ino ino;
  snapshotter::FileSystem view;  // pinned to the lineage at open
  bool writable;
  bool noatime;  // opened with O_NOATIME: reads through it leave atime alone
};

class HandleTable {
 public:
  // Registers a handle; the pointer stays valid until Close.
  OpenFile* Open(Ino ino, snapshotter::FileSystem view, bool writable, bool noatime);
  // REQUIRES: `handle` came from Open and was not closed.
  void Close(OpenFile* handle);

  // Inodes with at least one writable handle (dirty pages can only belong
  // to those: close flushes them, and a shared mapping holds its file open).
  std::vector<Ino> OpenForWriting() const;
  // Inodes with at least one handle, files and directories (each once).
  std::vector<Ino> OpenInodes() const;
  size_t size() const;
  // Every handle still open, removed from the table: the kernel drops
  // RELEASE requests it has not sent yet when the connection ends at
  // unmount, so the session closes these itself.
  std::vector<std::unique_ptr<OpenFile>> TakeAll();

 private:
  mutable std::mutex mu_;
  std::unordered_map<const OpenFile*, std::unique_ptr<OpenFile>> open_;
  std::unordered_map<uint64_t, uint32_t> writers_;  // ino -> writable handles
};

}  // namespace hoodyfs::fusefs
