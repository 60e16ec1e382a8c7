// CompareTrees: compares two host directory trees entry by entry, for tests
// that copy a tree through hoodyfs (import/export, later the FUSE mount) and
// check that nothing was lost.
//
// Compared, for the two top directories and every path below them: the type;
// the permission bits with setuid/setgid/sticky; uid and gid; the size (not
// of directories, whose size is the file system's business); rdev of
// devices; mtime and (optionally) atime to the nanosecond; nlink and the
// hard-link structure (which paths share an inode); symlink targets; every
// xattr as sorted (name, value) pairs; the bytes of regular files; and
// (optionally) their data/hole maps as SEEK_DATA and SEEK_HOLE report them.
// ctime is not compared: no host interface sets it. Nor is the atime of a
// symlink: reading its target moves it (readlink has no O_NOATIME), so any
// reader of the tree, this comparison included, changes it; check it
// before reading the link where it matters.
//
// The trees are walked in parallel, one directory at a time in name order,
// so memory stays bounded by one directory listing plus the inodes with
// several links. Files are read with O_NOATIME, and directories listed
// through O_NOATIME descriptors, so a comparison leaves atimes as they were
// (given the caller owns the files or is root).
//
// Thread-safety: none needed; a comparison touches only its arguments.
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace hoodyfs::testing {

struct TreeCompareOptions {
  // Off for trees extracted by GNU tar, which sets atimes to the time of
  // extraction.
  bool atime = true;
  // Off for trees whose writer does not keep holes.
  bool holes = true;
  // Paths (relative, as reported) left out of both trees, e.g. a socket a
  // tar stream cannot hold.
  std::set<std::string> skip;
  // The comparison stops after this many differences.
  size_t max_differences = 20;
};

// One line per difference, "path: what: expected ..., actual ...", paths
// relative to the tops ("." for the tops themselves); empty when the trees
// are equal. Errors reading either tree are differences too.
std::vector<std::string> CompareTrees(const std::string& expected, const std::string& actual,
                                      const TreeCompareOptions& options = {});

// The data ranges [start, end) of an open file, from SEEK_DATA/SEEK_HOLE.
std::vector<std::pair<uint64_t, uint64_t>> DataMap(int fd);

}  // namespace hoodyfs::testing
