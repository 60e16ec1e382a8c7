// hoodyfs_inode_table_memory: the heap one fusefs::InodeTable takes for N
// inodes the kernel holds, laid out as fs_mark leaves them (directories of
// 1000 files under the root, every file remembered under one name of
// NAME_BYTES bytes), then after the kernel forgot them all, then after
// malloc_trim(0). docs/benchmarks.md ("Daemon memory per million cached
// inodes") quotes its output; the daemon's own RSS is measured through a
// mount by bench/run_fuse_benchmarks.sh (STAGES=memory).
//
// usage: hoodyfs_inode_table_memory [N (1000000)] [NAME_BYTES (25)]
// Uses only InodeTable's public interface, so the same file measures an
// older table compiled beside it.
#include <malloc.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "fusefs/inode_table.h"

namespace {

struct Heap {
  size_t in_use;  // bytes handed out by malloc (mallinfo2 uordblks + hblkhd)
  size_t free;    // free bytes the arenas keep (fordblks)
  size_t anon_kib;
};

Heap Measure() {
  const struct mallinfo2 mi = mallinfo2();
  Heap h{mi.uordblks + mi.hblkhd, mi.fordblks, 0};
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string key;
    size_t kib = 0;
    fields >> key >> kib;
    if (key == "RssAnon:") h.anon_kib = kib;
  }
  return h;
}

void Print(const char* when, const Heap& h, const Heap& base, size_t n) {
  const double mib = 1024.0 * 1024.0;
  std::printf("%-26s in use %8.1f MiB (%6.1f B/inode), arena free %7.1f MiB, RssAnon %7.1f MiB\n",
              when, (h.in_use - base.in_use) / mib,
              n == 0 ? 0.0 : double(h.in_use - base.in_use) / double(n), h.free / mib,
              (h.anon_kib - base.anon_kib) / 1024.0);
}

// fs_mark's names: hex digits, NAME_BYTES of them, ending in the file's
// number so they are unique.
std::string FileName(size_t i, size_t bytes) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx",
                static_cast<unsigned long long>(i * 0x9e3779b97f4a7c15ull));
  std::string name = std::to_string(i);
  while (name.size() < bytes) name.insert(0, hex, std::min<size_t>(16, bytes - name.size()));
  return name;
}

}  // namespace

int main(int argc, char** argv) {
  using hoodyfs::Ino;
  const size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1000000;
  const size_t bytes = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 25;
  constexpr size_t kPerDir = 1000;
  const size_t dirs = (n + kPerDir - 1) / kPerDir;
  const Heap base = Measure();
  {
    hoodyfs::fusefs::InodeTable table(1u << 16);
    const uint64_t first_file = 2 + dirs;
    for (size_t d = 0; d < dirs; ++d) table.Remember(Ino(1), "d" + std::to_string(d), Ino(2 + d));
    for (size_t i = 0; i < n; ++i) {
      table.Remember(Ino(2 + i / kPerDir), FileName(i, bytes), Ino(first_file + i));
    }
    std::printf("%zu inodes in %zu directories, names of %zu bytes: %zu names\n", n, dirs, bytes,
                table.name_count());
    Print("held", Measure(), base, n + dirs);
    for (size_t i = 0; i < n; ++i) table.Forget(Ino(first_file + i), 1);
    for (size_t d = 0; d < dirs; ++d) table.Forget(Ino(2 + d), 1);
    Print("forgotten", Measure(), base, n + dirs);
  }
  malloc_trim(0);
  Print("forgotten, malloc_trim", Measure(), base, n + dirs);
  return 0;
}
