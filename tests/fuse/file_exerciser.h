// FileExerciser: seeded random operations on one file through a mount,
// checked against an in-memory copy of the file: write, pwrite, truncate,
// fallocate punch and zero-range, read, and reads and writes through a
// shared mapping. The whole file (size and every byte) is compared after
// every step and at the end. Bounded by operation count, never by time.
//
// Thread-safety: one exerciser per file; no shared state.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace hoodyfs::testing {

struct ExerciserOptions {
  uint64_t seed = 1;
  int operations = 1500;
  uint64_t max_size = 1 << 20;  // the file never grows past this
  uint32_t max_io_bytes = 96 << 10;
};

// Runs the exerciser on `path` (created or truncated). On failure the
// message names the seed, the step, the operation and the first differing
// byte. `final_contents` receives the model's last state, for checks after
// a remount.
::testing::AssertionResult RunFileExerciser(const std::string& path,
                                            const ExerciserOptions& options,
                                            std::string* final_contents);

// The same in another process (the `file_exerciser` program, forked and
// exec'd), as a process that is also the mount's FUSE daemon must: it maps
// the file (see mount_fixture.h). Exec, not a bare fork: a child forked from
// a process whose FUSE threads may hold the allocator's locks must not
// allocate (under ASan that deadlocked). The final contents come back
// through `contents_file`, a path outside the mount. Defined in
// file_exerciser_child.cc.
::testing::AssertionResult RunFileExerciserInChild(const std::string& path,
                                                   const ExerciserOptions& options,
                                                   const std::string& contents_file,
                                                   std::string* final_contents);

}  // namespace hoodyfs::testing
