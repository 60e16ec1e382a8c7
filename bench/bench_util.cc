#include "bench/bench_util.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace hoodyfs::bench {

std::string BenchParentDir() {
  const char* env = std::getenv("HOODYFS_BENCH_DIR");  // NOLINT(concurrency-mt-unsafe)
  return env != nullptr && env[0] != '\0' ? env : "/var/tmp";
}

testing::TempDir MakeScratchDir() {
  return Must(testing::TempDir::Create(BenchParentDir()), "create scratch directory");
}

void Die(const Status& s, const char* what) {
  std::fprintf(stderr, "hoodyfs_bench: %s: %s\n", what, s.ToString().c_str());
  std::abort();
}

std::unique_ptr<BenchStore> BenchStore::Create(snapshotter::StoreOptions options) {
  std::unique_ptr<BenchStore> b(new BenchStore{MakeScratchDir(), nullptr, std::nullopt});
  const std::string dir = b->dir.File("store");
  Must(Store::Init(dir), "init store");
  const char* device = std::getenv("HOODYFS_BENCH_DEVICE");  // NOLINT(concurrency-mt-unsafe)
  if (device != nullptr && std::string(device) == "posix") {
    options.device.kind = blockstore::DeviceOptions::Kind::kPosix;
  }
  b->store = Must(Store::Open(dir, std::move(options)), "open store");
  Must(b->store->CreateContainer("c"), "create container");
  b->fs.emplace(Must(b->store->Head("c"), "head"));
  return b;
}

Ino CreateFile(FileSystem& fs, Ino dir, const std::string& name, const std::string& content) {
  const Ino ino = Must(fs.Mknod(dir, name, S_IFREG | 0644, 0, {}), "create file").ino;
  if (!content.empty()) Must(fs.Write(ino, 0, content).status(), "write file");
  return ino;
}

std::string Name(const char* prefix, uint64_t i) {
  std::string s(prefix);
  s += std::to_string(i);
  return s;
}

std::string RandomName(std::mt19937_64& rng) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%012llx",
                static_cast<unsigned long long>(rng() & 0xffffffffffffull));
  return buf;
}

std::string Filler(size_t n, uint64_t seed) {
  std::string s(n, '\0');
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    s[i] = static_cast<char>('a' + x % 26);
  }
  return s;
}

double Latencies::Percentile(double p) const {
  if (s_.empty()) return 0;
  std::vector<double> v = s_;
  std::sort(v.begin(), v.end());
  const double rank = std::ceil(p / 100.0 * static_cast<double>(v.size()));
  const size_t i = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  return v[std::min(i, v.size() - 1)];
}

void Latencies::Report(benchmark::State& state, const std::string& prefix) const {
  state.counters[prefix + "p50_ms"] = Percentile(50) * 1e3;
  state.counters[prefix + "p99_ms"] = Percentile(99) * 1e3;
  state.counters[prefix + "max_ms"] = Percentile(100) * 1e3;
}

Rss ReadRss() {
  Rss r;
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string key;
    uint64_t kib = 0;
    fields >> key >> kib;
    if (key == "VmRSS:") r.total_kib = kib;
    if (key == "RssAnon:") r.anon_kib = kib;
    if (key == "RssFile:") r.file_kib = kib;
  }
  return r;
}

}  // namespace hoodyfs::bench
