// hoodyfs-demo: shows the storage engine at work on a real store, before
// the FUSE mount exists: create files, freeze, change them, branch back, and
// print what each generation holds.
//
// Usage: hoodyfs-demo STORE_DIR
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "snapshotter/filesystem.h"
#include "snapshotter/store.h"

namespace hoodyfs {
namespace {

using snapshotter::FileSystem;
using snapshotter::Store;

void Die(const Status& s, const char* what) {
  std::fprintf(stderr, "hoodyfs-demo: %s: %s\n", what, s.ToString().c_str());
  std::exit(1);
}

template <class T>
T Must(Result<T> r, const char* what) {
  if (!r.ok()) Die(r.status(), what);
  return std::move(r).value();
}

void Must(const Status& s, const char* what) {
  if (!s.ok()) Die(s, what);
}

// FNV-1a of a file's bytes: a short fingerprint to compare generations by eye.
uint32_t Fingerprint(FileSystem& fs, Ino ino, uint64_t size) {
  uint32_t h = 2166136261u;
  std::vector<char> buf(1 << 20);
  for (uint64_t off = 0; off < size;) {
    size_t n = Must(fs.Read(ino, off, buf), "read");
    for (size_t i = 0; i < n; ++i) h = (h ^ static_cast<uint8_t>(buf[i])) * 16777619u;
    off += n;
    if (n == 0) break;
  }
  return h;
}

void PrintTree(FileSystem& fs, Ino dir, const std::string& path) {
  std::vector<snapshotter::DirEntry> entries;
  Must(fs.ReadDir(dir, 2,
                  [&](const snapshotter::DirEntry& e) {
                    entries.push_back(e);
                    return true;
                  }),
       "readdir");
  for (const auto& e : entries) {
    const std::string child = path + "/" + e.name;
    snapshotter::Attr a = Must(fs.GetAttr(e.ino), "getattr");
    std::printf("  %06o %3u %8llu  ", a.mode, a.nlink, static_cast<unsigned long long>(a.size));
    if (S_ISDIR(a.mode)) {
      std::printf("%s/\n", child.c_str());
      PrintTree(fs, e.ino, child);
    } else if (S_ISLNK(a.mode)) {
      std::printf("%s -> %s\n", child.c_str(), Must(fs.ReadLink(e.ino), "readlink").c_str());
    } else {
      std::printf("%s  [ino %llu, fnv %08x]\n", child.c_str(),
                  static_cast<unsigned long long>(e.ino.value), Fingerprint(fs, e.ino, a.size));
    }
  }
}

void Show(Store& store, GenId gen, const char* label) {
  FileSystem fs = Must(store.AtGeneration(gen), "open generation");
  std::printf("generation %llu (%s):\n", static_cast<unsigned long long>(gen.value), label);
  PrintTree(fs, kRootIno, "");
}

Ino WriteFile(FileSystem& fs, Ino dir, const char* name, const std::string& data) {
  auto entry = fs.Lookup(dir, name);
  Ino ino =
      entry.ok() ? entry->ino : Must(fs.Mknod(dir, name, S_IFREG | 0644, 0, {}), "create").ino;
  snapshotter::SetAttrRequest truncate;
  truncate.size = 0;
  Must(fs.SetAttr(ino, truncate).status(), "truncate");
  Must(fs.Write(ino, 0, data).status(), "write");
  return ino;
}

int Main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: hoodyfs-demo STORE_DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  Must(Store::Init(dir), "init store");
  snapshotter::StoreOptions options;
  auto store = Must(Store::Open(dir, std::move(options)), "open store");
  std::printf("store %s, data device: %s\n", dir.c_str(), store->DescribeDevice().c_str());
  Must(store->CreateContainer("web1"), "create container");
  FileSystem fs = Must(store->Head("web1"), "head");

  // A little root filesystem.
  Ino etc = Must(fs.Mkdir(kRootIno, "etc", 0755, {}), "mkdir").ino;
  Ino app = Must(fs.Mkdir(kRootIno, "app", 0755, {}), "mkdir").ino;
  WriteFile(fs, etc, "motd", "Welcome to web1\n");
  Ino config = WriteFile(fs, app, "config.yaml", "auth: sessions-v1\nworkers: 4\n");
  Must(fs.Link(config, etc, "app.yaml").status(), "link");
  Must(fs.Symlink(app, "current", "config.yaml", {}).status(), "symlink");
  Must(fs.SetXattr(config, "user.owner", "platform-team"), "setxattr");
  std::string big(3 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  WriteFile(fs, app, "data.bin", big);

  auto t0 = std::chrono::steady_clock::now();
  GenId before = Must(store->Freeze("web1"), "freeze");
  auto t1 = std::chrono::steady_clock::now();
  std::printf("froze generation %llu in %.3f ms\n", static_cast<unsigned long long>(before.value),
              std::chrono::duration<double, std::milli>(t1 - t0).count());

  // "The AI rewrites the auth module": change, delete, add.
  WriteFile(fs, app, "config.yaml", "auth: sessions-v2-broken\nworkers: 4\n");
  Must(fs.Unlink(etc, "motd"), "unlink");
  WriteFile(fs, app, "migration.sql", "DROP TABLE sessions;\n");
  Must(
      fs.Write(Must(fs.Lookup(app, "data.bin"), "lookup").ino, 4096, std::string(10, 'X')).status(),
      "overwrite");
  GenId after = Must(store->Freeze("web1"), "freeze");

  Show(*store, before, "frozen before the change");
  Show(*store, after, "frozen after the change");

  t0 = std::chrono::steady_clock::now();
  GenId head = Must(store->Branch("web1", before), "branch");
  t1 = std::chrono::steady_clock::now();
  std::printf("branched web1 back to generation %llu in %.3f ms; new head %llu\n",
              static_cast<unsigned long long>(before.value),
              std::chrono::duration<double, std::milli>(t1 - t0).count(),
              static_cast<unsigned long long>(head.value));
  Show(*store, head, "live head after branching back");
  Must(store->CheckInvariants(), "consistency check");
  std::printf("consistency check: OK (%llu data blocks in use)\n",
              static_cast<unsigned long long>(store->used_blocks()));
  return 0;
}

}  // namespace
}  // namespace hoodyfs

int main(int argc, char** argv) { return hoodyfs::Main(argc, argv); }
