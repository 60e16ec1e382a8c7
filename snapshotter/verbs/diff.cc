#include "snapshotter/verbs/diff.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <span>

#include "blockstore/aligned_buffer.h"
#include "blockstore/checksum.h"
#include "index/keys.h"
#include "snapshotter/engine/changelog.h"
#include "snapshotter/engine/changes_between.h"
#include "snapshotter/engine/filesystem.h"
#include "snapshotter/engine/meta.h"
#include "snapshotter/engine/store.h"

namespace hoodyfs::snapshotter {

using index::InodeRecord;
using index::KvScope;
using index::ReadScope;
using index::Table;

const char* ChangeSymbol(ChangeKind kind) {
  switch (kind) {
    case ChangeKind::kAdded:
      return "+";
    case ChangeKind::kDeleted:
      return "-";
    case ChangeKind::kModified:
      return "M";
    case ChangeKind::kRenamed:
      return "R";
  }
  return "?";
}

std::string ChangeWhatNames(uint32_t what) {
  static constexpr std::pair<uint32_t, const char*> kNames[] = {
      {kWhatContent, "content"}, {kWhatMode, "mode"},     {kWhatOwner, "owner"},
      {kWhatTimes, "times"},     {kWhatXattrs, "xattrs"}, {kWhatTarget, "target"},
      {kWhatRdev, "rdev"},       {kWhatLinks, "links"},   {kWhatReplaced, "replaced"},
  };
  std::string out;
  for (const auto& [bit, name] : kNames) {
    if ((what & bit) == 0) continue;
    if (!out.empty()) out += ',';
    out += name;
  }
  return out;
}

namespace {
// The length of the UTF-8 sequence at the start of `s` if it is a valid one
// that prints (not a C1 control, U+0080..U+009F), else 0.
size_t PrintableUtf8Length(std::string_view s) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char lead = byte(0);
  size_t length = 0;
  uint32_t code_point = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    code_point = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    code_point = lead & 0x0F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    code_point = lead & 0x07;
  } else {
    return 0;
  }
  if (s.size() < length) return 0;
  for (size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return 0;
    code_point = (code_point << 6) | (byte(i) & 0x3F);
  }
  const bool overlong =
      (length == 3 && code_point < 0x800) || (length == 4 && code_point < 0x10000);
  const bool surrogate = code_point >= 0xD800 && code_point <= 0xDFFF;
  const bool c1 = code_point >= 0x80 && code_point <= 0x9F;
  if (overlong || surrogate || c1 || code_point > 0x10FFFF) return 0;
  return length;
}
}  // namespace

std::string EscapePath(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  for (size_t i = 0; i < path.size();) {
    const auto c = static_cast<unsigned char>(path[i]);
    if (c >= 0x20 && c < 0x7F && c != '\\') {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    if (const size_t n = c >= 0x80 ? PrintableUtf8Length(path.substr(i)) : 0; n > 0) {
      out.append(path.substr(i, n));
      i += n;
      continue;
    }
    const char octal[5] = {'\\', static_cast<char>('0' + (c >> 6)),
                           static_cast<char>('0' + ((c >> 3) & 7)),
                           static_cast<char>('0' + (c & 7)), '\0'};
    out += octal;
    ++i;
  }
  return out;
}

std::string FormatChange(const Change& c) {
  std::string line = std::string(ChangeSymbol(c.kind)) + "\t" + EscapePath(c.path);
  if (c.kind == ChangeKind::kRenamed) line += " -> " + EscapePath(c.new_path);
  if (c.kind == ChangeKind::kModified && (c.what & kWhatReplaced) != 0) line += "\treplaced";
  if (c.kind == ChangeKind::kModified && (c.what & kWhatMode) != 0) {
    char mode[16];
    std::snprintf(mode, sizeof mode, "\tmode %04o", c.mode & 07777);
    line += mode;
  }
  return line;
}

namespace {
constexpr size_t kLogBatch = 1024;  // change-log entries read per scope

// A path deleted and added in one diff names two inodes: one change of that
// path, "replaced", as a person sees it (sed -i, an editor's save-by-rename,
// rm and re-create). REQUIRES: `changes` sorted by (path, kind), so the
// kAdded of a path comes right before its kDeleted.
void MergeReplacements(std::vector<Change>* changes) {
  std::vector<Change> merged;
  merged.reserve(changes->size());
  for (size_t i = 0; i < changes->size(); ++i) {
    Change& c = (*changes)[i];
    if (c.kind == ChangeKind::kAdded && i + 1 < changes->size() &&
        (*changes)[i + 1].kind == ChangeKind::kDeleted && (*changes)[i + 1].path == c.path) {
      c.kind = ChangeKind::kModified;
      c.what = kWhatReplaced;
      ++i;  // the deleted inode's line is this one now
    }
    merged.push_back(std::move(c));
  }
  *changes = std::move(merged);
}
constexpr size_t kInodeBatch = 256;  // inodes compared per scope

// What the path's change logs say about one inode.
struct Touched {
  bool xattrs = false;
  std::set<uint64_t> chunks;
};

// One name of an inode: the directory entry (parent, name) and the full path
// it gives. Renames are decided on (parent, name), so moving a directory
// reports the directory, not everything below it (as zfs diff does).
struct Link {
  uint64_t parent = 0;
  std::string name;
  std::string path;
  bool operator<(const Link& o) const {
    return std::tie(parent, name) < std::tie(o.parent, o.name);
  }
};

// Names of inodes in one generation, with directory paths memoized.
class PathResolver {
 public:
  PathResolver(Meta& meta, GenId gen) : meta_(meta), gen_(gen) {}

  // Every name of `ino`, sorted by (parent, name); empty when it has none
  // (an unlinked file still open) or none reachable from the root.
  Result<std::vector<Link>> Links(const KvScope& s, Ino ino) {
    std::vector<Link> out;
    if (ino == kRootIno) return std::vector<Link>{Link{0, "", "/"}};
    std::vector<std::pair<Ino, std::string>> links;
    HOODY_RETURN_IF_ERROR(meta_.backrefs().ForEach(
        s, index::InoPrefix(ino), "", gen_,
        [&](std::string_view logical, const index::VisibleVersion&) -> Result<bool> {
          if (logical.size() < 17) return Status::Corruption("short back-reference key");
          links.emplace_back(Ino(GetBig64(logical.data() + 8)),
                             std::string(logical.substr(16, logical.size() - 17)));
          return true;
        }));
    for (auto& [parent, name] : links) {
      HOODY_ASSIGN_OR_RETURN(std::optional<std::string> dir, DirPath(s, parent));
      if (!dir) continue;
      std::string path = (*dir == "/" ? "" : *dir) + "/" + name;
      out.push_back(Link{parent.value, std::move(name), std::move(path)});
    }
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  // A directory's path; nullopt when it is not reachable from the root.
  Result<std::optional<std::string>> DirPath(const KvScope& s, Ino dir) {
    std::vector<std::pair<Ino, std::string>> walked;  // (dir, its name), upwards
    std::optional<std::string> base;
    for (Ino at = dir; !base;) {
      if (at == kRootIno) {
        base = "";
        break;
      }
      if (auto hit = memo_.find(at.value); hit != memo_.end()) {
        if (!hit->second) return std::optional<std::string>();
        base = *hit->second;
        break;
      }
      HOODY_ASSIGN_OR_RETURN(auto up, meta_.AnyBackref(s, gen_, at));
      if (!up || walked.size() > 4096) {
        memo_[dir.value] = std::nullopt;
        return std::optional<std::string>();
      }
      walked.emplace_back(at, up->second);
      at = up->first;
    }
    std::string path = *base;
    for (auto it = walked.rbegin(); it != walked.rend(); ++it) {
      path += "/" + it->second;
      memo_[it->first.value] = path;
    }
    return std::optional<std::string>(path.empty() ? "/" : path);
  }

  Meta& meta_;
  GenId gen_;
  std::map<uint64_t, std::optional<std::string>> memo_;  // "" is the root
};

using XattrMap = std::map<std::string, std::string>;

Result<XattrMap> Xattrs(const KvScope& s, Meta& meta, GenId gen, Ino ino) {
  XattrMap out;
  HOODY_RETURN_IF_ERROR(meta.xattrs().ForEach(
      s, index::InoPrefix(ino), "", gen,
      [&](std::string_view logical, const index::VisibleVersion& v) -> Result<bool> {
        out.emplace(std::string(logical.substr(8, logical.size() - 9)), std::string(v.data));
        return true;
      }));
  return out;
}

uint64_t ZeroBlockChecksum() {
  static const uint64_t sum = [] {
    blockstore::AlignedBuffer zeros(kBlockSize);
    return blockstore::BlockChecksum(zeros.data());
  }();
  return sum;
}

Result<uint64_t> ChecksumOf(const KvScope& s, Meta& meta, BlockNo b) {
  if (!b.valid()) return ZeroBlockChecksum();
  HOODY_ASSIGN_OR_RETURN(index::BlockRecord rec, meta.GetBlock(s, b));
  return rec.checksum;
}

// Bytes of content that differ between two block-mapped versions of a
// file, over the chunks the change logs touched.
Result<uint64_t> ChangedBlockBytes(const KvScope& s, Meta& meta, GenId a, GenId b, Ino ino,
                                   const std::set<uint64_t>& chunks, uint64_t max_size) {
  uint64_t bytes = 0;
  for (uint64_t c : chunks) {
    HOODY_ASSIGN_OR_RETURN(VisibleChunk va, meta.GetChunk(s, a, ino, c));
    HOODY_ASSIGN_OR_RETURN(VisibleChunk vb, meta.GetChunk(s, b, ino, c));
    if (va.owner == vb.owner) continue;  // one version seen from both sides
    for (uint32_t i = 0; i < index::kChunkBlocks; ++i) {
      const uint64_t at = (c * index::kChunkBlocks + i) * uint64_t{kBlockSize};
      if (at >= max_size) break;
      if (va.blocks[i] == vb.blocks[i]) continue;
      HOODY_ASSIGN_OR_RETURN(uint64_t sa, ChecksumOf(s, meta, va.blocks[i]));
      HOODY_ASSIGN_OR_RETURN(uint64_t sb, ChecksumOf(s, meta, vb.blocks[i]));
      if (sa != sb) bytes += std::min<uint64_t>(kBlockSize, max_size - at);
    }
  }
  return bytes;
}

Result<std::string> ReadWhole(FileSystem& fs, Ino ino, uint64_t size) {
  std::string out(size, '\0');
  HOODY_ASSIGN_OR_RETURN(size_t n, fs.Read(ino, 0, std::span<char>(out.data(), out.size())));
  out.resize(n);
  return out;
}

// One inode on both sides, ready to classify.
struct Compared {
  Ino ino;
  std::optional<InodeRecord> a, b;
  std::vector<Link> links_a, links_b;
  uint32_t what = 0;
  uint64_t bytes = 0;
  bool compare_bytes = false;  // inline on one side only: read both after the scope
};

void Classify(const Compared& c, std::vector<Change>* out) {
  const bool in_a = c.a && !c.links_a.empty();
  const bool in_b = c.b && !c.links_b.empty();
  if (!in_a && !in_b) return;
  if (!in_a || !in_b) {
    const InodeRecord& rec = in_a ? *c.a : *c.b;
    const uint64_t size = S_ISDIR(rec.mode) ? 0 : rec.size;
    for (const Link& l : in_a ? c.links_a : c.links_b) {
      out->push_back(Change{in_a ? ChangeKind::kDeleted : ChangeKind::kAdded, l.path, "", c.ino,
                            rec.mode, 0, size});
    }
    return;
  }
  std::vector<Link> gone, fresh;
  std::set_difference(c.links_a.begin(), c.links_a.end(), c.links_b.begin(), c.links_b.end(),
                      std::back_inserter(gone));
  std::set_difference(c.links_b.begin(), c.links_b.end(), c.links_a.begin(), c.links_a.end(),
                      std::back_inserter(fresh));
  const size_t pairs = std::min(gone.size(), fresh.size());
  for (size_t i = 0; i < pairs; ++i) {
    out->push_back(
        Change{ChangeKind::kRenamed, gone[i].path, fresh[i].path, c.ino, c.b->mode, 0, 0});
  }
  for (size_t i = pairs; i < gone.size(); ++i) {
    out->push_back(Change{ChangeKind::kDeleted, gone[i].path, "", c.ino, c.a->mode, 0, 0});
  }
  for (size_t i = pairs; i < fresh.size(); ++i) {
    out->push_back(Change{ChangeKind::kAdded, fresh[i].path, "", c.ino, c.b->mode, 0, 0});
  }
  if (c.what != 0) {
    // Named by a name it kept, when it kept one.
    std::vector<Link> kept;
    std::set_intersection(c.links_b.begin(), c.links_b.end(), c.links_a.begin(), c.links_a.end(),
                          std::back_inserter(kept));
    const std::string& path = kept.empty() ? c.links_b.front().path : kept.front().path;
    out->push_back(Change{ChangeKind::kModified, path, "", c.ino, c.b->mode, c.what, c.bytes});
  }
}

// Everything but content: the attribute bits that differ.
uint32_t AttributeChanges(const InodeRecord& a, const InodeRecord& b) {
  uint32_t what = 0;
  if ((a.mode & 07777) != (b.mode & 07777)) what |= kWhatMode;
  if (a.uid != b.uid || a.gid != b.gid) what |= kWhatOwner;
  // mtime only: reads move atime (relatime, docs/design.md "Access times"),
  // so a diff that counted it would list every file read since FROM.
  if (a.mtime != b.mtime) what |= kWhatTimes;
  if (a.rdev != b.rdev) what |= kWhatRdev;
  if (S_ISLNK(b.mode) && a.inline_data != b.inline_data) what |= kWhatTarget;
  if (!S_ISDIR(b.mode) && a.nlink != b.nlink) what |= kWhatLinks;
  return what;
}
}  // namespace

Result<DiffResult> Differ::Diff(GenId a, GenId b, const DiffProgressFn& progress) {
  DiffResult result;
  result.from = a;
  result.to = b;
  // 1. The generations whose change logs can hold a difference, pinned
  // for the diff's duration.
  HOODY_ASSIGN_OR_RETURN(GenerationPath path, PathBetween(store_, a, b, "diff"));

  // 2. The inodes those generations touched.
  std::map<uint64_t, Touched> touched;
  for (GenId g : path.gens) {
    ChangeLogCursor cursor(g);
    while (!cursor.done()) {
      ReadScope s(internals_.kv());
      HOODY_ASSIGN_OR_RETURN(std::vector<ChangedKey> batch, cursor.Next(s, kLogBatch));
      for (const ChangedKey& c : batch) {
        ++result.records_examined;
        if (c.logical.size() < 8) return Status::Corruption("short versioned key in a change log");
        Touched& t = touched[GetBig64(c.logical.data())];
        if (c.table == Table::kXattrs) t.xattrs = true;
        if (c.table == Table::kChunks && c.logical.size() >= 16) {
          t.chunks.insert(GetBig64(c.logical.data() + 8));
        }
      }
      if (progress) progress(result.records_examined, 0, 0);
    }
  }

  // 3. Compare them, a batch of inodes per scope.
  std::vector<Compared> compared;
  compared.reserve(touched.size());
  for (auto it = touched.begin(); it != touched.end();) {
    ReadScope s(internals_.kv());
    Meta meta(internals_.tree(), internals_.allocator());
    PathResolver paths_a(meta, a), paths_b(meta, b);
    for (size_t n = 0; n < kInodeBatch && it != touched.end(); ++n, ++it) {
      const Ino ino(it->first);
      const Touched& t = it->second;
      Compared c;
      c.ino = ino;
      HOODY_ASSIGN_OR_RETURN(c.a, meta.GetInode(s, a, ino));
      HOODY_ASSIGN_OR_RETURN(c.b, meta.GetInode(s, b, ino));
      if (c.a) {
        HOODY_ASSIGN_OR_RETURN(c.links_a, paths_a.Links(s, ino));
      }
      if (c.b) {
        HOODY_ASSIGN_OR_RETURN(c.links_b, paths_b.Links(s, ino));
      }
      if (c.a && c.b && (c.a->mode & S_IFMT) == (c.b->mode & S_IFMT)) {
        c.what = AttributeChanges(*c.a, *c.b);
        if (t.xattrs) {
          HOODY_ASSIGN_OR_RETURN(XattrMap xa, Xattrs(s, meta, a, ino));
          HOODY_ASSIGN_OR_RETURN(XattrMap xb, Xattrs(s, meta, b, ino));
          if (xa != xb) c.what |= kWhatXattrs;
        }
        if (S_ISREG(c.b->mode)) {
          const uint64_t max_size = std::max(c.a->size, c.b->size);
          const uint64_t delta = max_size - std::min(c.a->size, c.b->size);
          if (c.a->has_inline && c.b->has_inline) {
            if (c.a->inline_data != c.b->inline_data) c.bytes = max_size;
          } else if (c.a->has_inline != c.b->has_inline) {
            if (delta == 0) {
              c.compare_bytes = true;
            } else {
              c.bytes = max_size;
            }
          } else {
            HOODY_ASSIGN_OR_RETURN(c.bytes,
                                   ChangedBlockBytes(s, meta, a, b, ino, t.chunks, max_size));
            c.bytes = std::max(c.bytes, delta);
          }
          if (c.bytes > 0) c.what |= kWhatContent;
        }
      }
      compared.push_back(std::move(c));
    }
    if (progress) progress(result.records_examined, compared.size(), touched.size());
  }
  // Inline on one side, mapped on the other, same size: compare the bytes.
  for (Compared& c : compared) {
    if (!c.compare_bytes) continue;
    HOODY_ASSIGN_OR_RETURN(FileSystem fa, store_.AtGeneration(a));
    HOODY_ASSIGN_OR_RETURN(FileSystem fb, store_.AtGeneration(b));
    HOODY_ASSIGN_OR_RETURN(std::string da, ReadWhole(fa, c.ino, c.a->size));
    HOODY_ASSIGN_OR_RETURN(std::string db, ReadWhole(fb, c.ino, c.b->size));
    if (da != db) {
      c.bytes = c.b->size;
      c.what |= kWhatContent;
    }
  }
  for (const Compared& c : compared) Classify(c, &result.changes);
  std::sort(result.changes.begin(), result.changes.end(), [](const Change& x, const Change& y) {
    return std::tie(x.path, x.kind, x.new_path) < std::tie(y.path, y.kind, y.new_path);
  });
  MergeReplacements(&result.changes);
  return result;
}

}  // namespace hoodyfs::snapshotter
