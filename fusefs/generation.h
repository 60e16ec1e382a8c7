// The generation an entry reply hands the kernel with an inode number. The
// kernel keeps it as the inode's i_generation and puts it in every file
// handle (name_to_handle_at, NFS) beside the number, and a handle whose
// generation differs from the inode's is stale (docs/design.md, "Export
// handles"). So it must be a function of the inode, the same in every reply,
// mount and daemon run, and differ between two inodes that ever share a
// number.
//
// Inode numbers are never reused in a store, but for one case: a crash that
// loses the commit which made a file lets its number be allocated again.
// Birth time tells the two apart (set once at creation, never moved, the
// same in every generation and copy), so the generation is a fold of it.
//
// `replaced` is the inode's generation in the InodeTable: 0, except after a
// restore with the writeback cache changed the file while the kernel held
// it, when the kernel's inode must be replaced (inode_table.h). It goes
// back to 0 once the kernel forgets the inode, so a handle made before such
// a restore may turn stale or not; without the writeback cache it is
// always 0.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>

#include "snapshotter/engine/filesystem.h"

namespace hoodyfs::fusefs {

// 0 for the root (the kernel made its root inode at mount with generation
// 0 and would mark it bad on any other value) and for inodes made before
// records had a birth time; else a 32-bit fold of the birth time (the
// kernel keeps 32 bits), plus `epoch`.
uint32_t EntryGeneration(const snapshotter::Attr& attr, uint64_t replaced);

}  // namespace hoodyfs::fusefs
