// Lookup + GetAttr of one file, from a container's head, as the visibility
// rule has to work harder:
//   own       : the head wrote the records itself (no history): one point
//               Get per record.
//   depth1    : one freeze; the head inherits every record from its parent:
//               a point Get misses, then one seek lands on the parent's version.
//   chain1000 : 1000 freezes, each changing another file ("hot"); the file
//               looked up was written only at the base, 1000 generations up.
//   siblings100: from one frozen base generation, 100 branches (restore
//               branches, as Store::Branch makes them) each rewrite the looked-up
//               file; then a fresh branch of the base looks it up. Its seek
//               lands on the newest sibling's version and must skip all 100
//               siblings' versions of that inode to reach the base's.
//   siblings1000: the same with 1000 branches (the design's "1000 copies of
//               one snapshot"), to show how the skip scales.
// Setup (untimed, once per process per variant): 1000 files of 100 bytes in
// the root directory, flushed; everything lives in LMDB when timing starts.
// One iteration = Lookup(root, name) + GetAttr(ino).
//
// BM_ListXattr/{own,chain10000}: ListXattr of a file with one xattr that
// the head wrote, and the same after 10,000 snapshots that each rewrote it
// (10,000 older versions of one key sort after the visible one: a scan
// must step over them, or seek past them).
#include <sys/stat.h>

#include <map>

#include "bench/bench_util.h"

namespace hoodyfs::bench {
namespace {

enum Variant { kOwn, kDepth1, kChain1000, kSiblings100, kSiblings1000 };
constexpr size_t kFiles = 1000;

struct LookupFixture {
  std::unique_ptr<BenchStore> b;
  std::string name;  // the file looked up
  uint32_t depth = 0;
};

std::unique_ptr<LookupFixture> Build(Variant v) {
  auto f = std::make_unique<LookupFixture>();
  f->b = BenchStore::Create();
  Store& store = *f->b->store;
  FileSystem& fs = *f->b->fs;
  for (size_t i = 0; i < kFiles; ++i) {
    CreateFile(fs, kRootIno, Name("f", i), Filler(100, i));
  }
  const Ino hot = CreateFile(fs, kRootIno, "hot", Filler(100, 0));
  f->name = "f500";
  switch (v) {
    case kOwn:
      break;
    case kDepth1:
      Must(store.Freeze("c").status(), "freeze");
      f->depth = 1;
      break;
    case kChain1000:
      for (int i = 0; i < 1000; ++i) {
        Must(fs.Write(hot, 0, Filler(100, i + 1)).status(), "write hot");
        Must(store.Freeze("c").status(), "freeze");
      }
      f->depth = 1000;
      break;
    case kSiblings100:
    case kSiblings1000: {
      const GenId base = Must(store.Freeze("c"), "freeze");
      const Ino target = Must(fs.Lookup(kRootIno, f->name), "lookup").ino;
      const int siblings = v == kSiblings100 ? 100 : 1000;
      for (int i = 0; i < siblings; ++i) {
        Must(store.Branch("c", base).status(), "branch");
        Must(fs.Write(target, 0, Filler(100, i + 1)).status(), "write in branch");
      }
      Must(store.Branch("c", base).status(), "fresh branch");
      f->depth = 1;
      break;
    }
  }
  Must(store.Flush(), "flush");
  return f;
}

void BM_Lookup(benchmark::State& state, Variant v) {
  static std::map<Variant, std::unique_ptr<LookupFixture>> fixtures;
  auto& f = fixtures[v];
  if (!f) f = Build(v);
  FileSystem& fs = *f->b->fs;
  for (auto _ : state) {
    const snapshotter::Entry e = Must(fs.Lookup(kRootIno, f->name), "lookup");
    const snapshotter::Attr a = Must(fs.GetAttr(e.ino), "getattr");
    benchmark::DoNotOptimize(a.size);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["depth"] = f->depth;
}

struct XattrFixture {
  std::unique_ptr<BenchStore> b;
  Ino ino;
};

void BM_ListXattr(benchmark::State& state, int snapshots) {
  static std::map<int, std::unique_ptr<XattrFixture>> fixtures;
  auto& f = fixtures[snapshots];
  if (!f) {
    f = std::make_unique<XattrFixture>();
    f->b = BenchStore::Create();
    f->ino = CreateFile(*f->b->fs, kRootIno, "f", Filler(100, 0));
    for (int i = 0; i <= snapshots; ++i) {
      Must(f->b->fs->SetXattr(f->ino, "user.v", std::to_string(i)), "setxattr");
      if (i < snapshots) Must(f->b->store->Freeze("c").status(), "freeze");
    }
    Must(f->b->store->Freeze("c").status(), "freeze");  // the head inherits every version
    Must(f->b->store->Flush(), "flush");
  }
  for (auto _ : state) {
    const std::vector<std::string> names = Must(f->b->fs->ListXattr(f->ino), "listxattr");
    benchmark::DoNotOptimize(names.size());
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["versions"] = snapshots + 1;
}

[[maybe_unused]] const bool registered = [] {
  for (auto [name, v] : {std::pair{"BM_Lookup/own", kOwn}, std::pair{"BM_Lookup/depth1", kDepth1},
                         std::pair{"BM_Lookup/chain1000", kChain1000},
                         std::pair{"BM_Lookup/siblings100", kSiblings100},
                         std::pair{"BM_Lookup/siblings1000", kSiblings1000}}) {
    benchmark::RegisterBenchmark(name, BM_Lookup, v)->UseRealTime()->Unit(benchmark::kMicrosecond);
  }
  for (auto [name, n] :
       {std::pair{"BM_ListXattr/own", 0}, std::pair{"BM_ListXattr/chain10000", 10000}}) {
    benchmark::RegisterBenchmark(name, BM_ListXattr, n)
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
  }
  return true;
}();

}  // namespace
}  // namespace hoodyfs::bench
