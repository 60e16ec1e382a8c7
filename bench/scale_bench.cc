// hoodyfs_scale_bench: one container with many snapshots, through the
// Snapshotter (the library behind hoodyfs-snap and the REST API), each verb
// timed on its own (synced commit included):
//   create    N snapshots, one file changed before each (untimed)
//   list      every snapshot (ListSnapshots), timed `lists` times
//   page      the same list a page of 1000 at a time (ListSnapshots with a
//             ListPage), each page timed; "paged" is each whole pass
//   restore   to R snapshots spread over the history (--discard-head)
//   delete    every snapshot, oldest first, then one collection (gc)
// and, at the end, whether the store is back to what it held before the
// snapshots: blocks in use against the base, and the consistency check.
// Issue 12 asks that create, list, restore and delete stay flat with the
// count (the last 100 as fast as the first 100) and that a list of 10,000
// take under 200 ms. docs/benchmarks.md quotes the output.
//
// usage: hoodyfs_scale_bench [--snapshots N] [--files F] [--tsv FILE]
//   --tsv writes one line per timed operation (verb, index, ms), which
//   bench/plot_scale.py draws as latency against count.
//   scratch: a fresh directory under $HOODYFS_BENCH_DIR, else /var/tmp.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "snapshotter/verbs/gc.h"
#include "snapshotter/verbs/snapshotter.h"

namespace hoodyfs::bench {
namespace {

using snapshotter::Snapshotter;

struct Config {
  int snapshots = 10000;
  int files = 1000;
  std::string tsv;
};

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

struct Series {
  std::string verb;
  std::vector<double> ms;

  double FirstP50(size_t n) const {
    return Median(std::vector<double>(ms.begin(), ms.begin() + std::min(n, ms.size())));
  }
  double LastP50(size_t n) const {
    return Median(std::vector<double>(ms.end() - std::min(n, ms.size()), ms.end()));
  }
  void Print() const {
    std::vector<double> sorted = ms;
    std::sort(sorted.begin(), sorted.end());
    const auto pct = [&](double p) {
      const size_t rank = static_cast<size_t>(p / 100.0 * static_cast<double>(sorted.size()));
      return sorted[std::min(sorted.size() - 1, rank)];
    };
    std::printf("| %s | %zu | %.2f | %.2f | %.2f | %.2f | %.2f |\n", verb.c_str(), ms.size(),
                pct(50), pct(99), sorted.back(), FirstP50(100), LastP50(100));
  }
};

template <class Op>
double TimeMs(Op&& op) {
  const auto t0 = Clock::now();
  op();
  return SecondsSince(t0) * 1e3;
}

int Run(const Config& config) {
  testing::TempDir dir = MakeScratchDir();
  const std::string store = dir.File("store");
  Must(Store::Init(store), "init");
  auto snap = Must(Snapshotter::Open(store, snapshotter::StoreOptions()), "open");
  Must(snap->CreateContainer("c").status(), "create container");
  FileSystem fs = Must(snap->store().Head("c"), "head");
  std::vector<Ino> inos;
  for (int i = 0; i < config.files; ++i) {
    inos.push_back(CreateFile(fs, kRootIno, Name("f", i), Filler(kBlockSize, i)));
  }
  Must(snap->store().Flush(), "flush");
  const uint64_t base_blocks = snap->store().used_blocks();
  std::mt19937_64 rng(42);

  Series create{"create", {}}, list{"list", {}}, restore{"restore", {}}, del{"delete", {}};
  Series page{"page", {}}, paged{"paged", {}};
  std::vector<std::string> names;
  for (int i = 0; i < config.snapshots; ++i) {
    Must(fs.Write(inos[rng() % inos.size()], 0, Filler(kBlockSize, i + 1)).status(), "change");
    create.ms.push_back(
        TimeMs([&] { names.push_back(Must(snap->CreateSnapshot("c", {}), "create").name); }));
  }
  size_t listed = 0;
  for (int i = 0; i < 20; ++i) {
    list.ms.push_back(TimeMs([&] { listed = Must(snap->ListSnapshots("c"), "list").size(); }));
  }
  size_t paged_count = 0;
  for (int i = 0; i < 20; ++i) {
    paged.ms.push_back(TimeMs([&] {
      paged_count = 0;
      snapshotter::ListPage at{"", 1000};
      for (;;) {
        snapshotter::SnapshotPage got;
        page.ms.push_back(TimeMs([&] { got = Must(snap->ListSnapshots("c", at), "page"); }));
        paged_count += got.snapshots.size();
        if (!got.next) break;
        at.after = *got.next;
      }
    }));
  }
  if (paged_count != listed) {
    std::fprintf(stderr, "pages listed %zu snapshots, the whole list %zu\n", paged_count, listed);
    std::exit(1);
  }
  snapshotter::RestoreRequest discard;
  discard.discard_head = true;
  for (int i = 0; i < 20; ++i) {
    const std::string& to = names[static_cast<size_t>(i) * names.size() / 20];
    restore.ms.push_back(
        TimeMs([&] { Must(snap->Restore("c", to, discard).status(), "restore"); }));
  }
  for (const std::string& name : names) {
    del.ms.push_back(TimeMs([&] { Must(snap->DeleteSnapshot("c", name), "delete"); }));
  }
  snapshotter::GcStats gc;
  const double gc_ms = TimeMs([&] { gc = Must(snap->CollectGarbage(), "gc"); });
  Must(snap->store().Flush(), "flush");
  const uint64_t end_blocks = snap->store().used_blocks();
  const Status check = snap->store().CheckInvariants();

  std::printf("%d snapshots of one container of %d files; %zu listed\n\n", config.snapshots,
              config.files, listed);
  std::printf("| verb | n | p50 ms | p99 ms | max ms | first 100 p50 | last 100 p50 |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|\n");
  for (const Series* s : {&create, &list, &page, &paged, &restore, &del}) s->Print();
  std::printf("\ngc after the deletes: %.0f ms, %llu generations reclaimed\n", gc_ms,
              static_cast<unsigned long long>(gc.generations));
  std::printf("blocks in use: %llu at the base, %llu after deleting everything\n",
              static_cast<unsigned long long>(base_blocks),
              static_cast<unsigned long long>(end_blocks));
  std::printf("consistency check: %s\n", check.ok() ? "clean" : check.ToString().c_str());
  if (!config.tsv.empty()) {
    std::ofstream out(config.tsv);
    out << "verb\tindex\tms\n";
    for (const Series* s : {&create, &list, &restore, &del}) {
      for (size_t i = 0; i < s->ms.size(); ++i)
        out << s->verb << "\t" << i << "\t" << s->ms[i] << "\n";
    }
  }
  return check.ok() && end_blocks <= base_blocks ? 0 : 1;
}

}  // namespace
}  // namespace hoodyfs::bench

int main(int argc, char** argv) {
  hoodyfs::bench::Config config;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--snapshots") {
      config.snapshots = std::atoi(argv[i + 1]);
    } else if (flag == "--files") {
      config.files = std::atoi(argv[i + 1]);
    } else if (flag == "--tsv") {
      config.tsv = argv[i + 1];
    } else {
      std::fprintf(stderr, "usage: %s [--snapshots N] [--files F] [--tsv FILE]\n", argv[0]);
      return 2;
    }
  }
  if (config.snapshots < 1 || config.files < 1) {
    std::fprintf(stderr, "--snapshots and --files must be positive\n");
    return 2;
  }
  return hoodyfs::bench::Run(config);
}
