#include "cli/api/json_codec.h"

#include <sys/stat.h>

#include <ctime>

namespace hoodyfs::cli {

using nlohmann::json;
using snapshotter::Change;
using snapshotter::ChangeKind;
using snapshotter::ContainerInfo;
using snapshotter::DiffResult;
using snapshotter::GcStats;
using snapshotter::RestoreResult;
using snapshotter::SnapshotInfo;
using snapshotter::SnapshotPage;

namespace {
json NullIfEmpty(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

const char* KindName(ChangeKind kind) {
  switch (kind) {
    case ChangeKind::kAdded:
      return "added";
    case ChangeKind::kDeleted:
      return "deleted";
    case ChangeKind::kModified:
      return "modified";
    case ChangeKind::kRenamed:
      return "renamed";
  }
  return "?";
}

// Typed field access for decoding, with errors naming the field.
class Fields {
 public:
  Fields(const json& j, const char* what) : j_(j), what_(what) {}
  Status status() const { return status_; }

  std::string Str(const char* key, bool nullable = false) {
    const json* v = Find(key);
    if (v == nullptr) return "";
    if (nullable && v->is_null()) return "";
    if (!v->is_string()) return Fail(key, "a string"), "";
    return v->get<std::string>();
  }
  int64_t Int(const char* key, bool nullable = false) {
    const json* v = Find(key);
    if (v == nullptr) return 0;
    if (nullable && v->is_null()) return 0;
    if (!v->is_number_integer()) return Fail(key, "an integer"), 0;
    return v->get<int64_t>();
  }
  std::optional<uint64_t> OptUint(const char* key) {
    const json* v = Find(key);
    if (v == nullptr || v->is_null()) return std::nullopt;
    if (!v->is_number_unsigned() && !v->is_number_integer()) return Fail(key, "a count"), 0;
    return v->get<uint64_t>();
  }

 private:
  const json* Find(const char* key) {
    if (!status_.ok()) return nullptr;
    if (!j_.is_object()) {
      status_ = Status::InvalidArgument(std::string(what_) + " is not a JSON object");
      return nullptr;
    }
    auto it = j_.find(key);
    if (it == j_.end()) {
      status_ = Status::InvalidArgument(std::string(what_) + " has no field '" + key + "'");
      return nullptr;
    }
    return &*it;
  }
  void Fail(const char* key, const char* want) {
    status_ = Status::InvalidArgument(std::string(what_) + " field '" + key + "' is not " + want);
  }
  const json& j_;
  const char* what_;
  Status status_;
};
}  // namespace

std::string IsoTime(int64_t ns) {
  const time_t secs = static_cast<time_t>(ns / 1000000000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

const char* FileTypeName(uint32_t mode) {
  switch (mode & S_IFMT) {
    case S_IFDIR:
      return "directory";
    case S_IFLNK:
      return "symlink";
    case S_IFIFO:
      return "fifo";
    case S_IFSOCK:
      return "socket";
    case S_IFCHR:
      return "char";
    case S_IFBLK:
      return "block";
    default:
      return "file";
  }
}

json ToJson(const SnapshotInfo& s) {
  json j;
  j["container"] = s.container;
  j["name"] = s.name;
  j["alias"] = NullIfEmpty(s.alias);
  j["generation"] = s.gen.value;
  j["created"] = IsoTime(s.created_ns);
  j["created_ns"] = s.created_ns;
  j["expires"] = s.expires_ns == 0 ? json(nullptr) : json(IsoTime(s.expires_ns));
  j["expires_ns"] = s.expires_ns == 0 ? json(nullptr) : json(s.expires_ns);
  j["parent"] = NullIfEmpty(s.parent);
  j["guid"] = NullIfEmpty(s.guid);
  j["referenced_bytes"] = s.referenced_bytes ? json(*s.referenced_bytes) : json(nullptr);
  j["written_bytes"] = s.written_bytes ? json(*s.written_bytes) : json(nullptr);
  return j;
}

json ToJson(const SnapshotPage& page) {
  json list = json::array();
  for (const SnapshotInfo& s : page.snapshots) list.push_back(ToJson(s));
  json j;
  j["snapshots"] = std::move(list);
  j["next"] = page.next ? json(*page.next) : json(nullptr);
  return j;
}

json ToJson(const ContainerInfo& c) {
  json j;
  j["name"] = c.name;
  j["head_generation"] = c.head.value;
  j["created"] = IsoTime(c.created_ns);
  j["created_ns"] = c.created_ns;
  j["origin"] = NullIfEmpty(c.origin);
  j["project"] = NullIfEmpty(c.project);
  j["snapshots"] = c.snapshots;
  return j;
}

json ToJson(const Change& c) {
  json j;
  j["change"] = KindName(c.kind);
  j["path"] = c.path;
  if (c.kind == ChangeKind::kRenamed) j["new_path"] = c.new_path;
  j["type"] = FileTypeName(c.mode);
  j["mode"] = c.mode;
  j["inode"] = c.ino.value;
  if (c.kind == ChangeKind::kModified) {
    json what = json::array();
    const std::string names = snapshotter::ChangeWhatNames(c.what);
    for (size_t start = 0; start < names.size();) {
      size_t end = names.find(',', start);
      if (end == std::string::npos) end = names.size();
      what.push_back(names.substr(start, end - start));
      start = end + 1;
    }
    j["what"] = what;
  }
  j["bytes"] = c.bytes;
  return j;
}

json ToJson(const DiffResult& d) {
  json j;
  j["from_generation"] = d.from.value;
  j["to_generation"] = d.to.value;
  json changes = json::array();
  for (const Change& c : d.changes) changes.push_back(ToJson(c));
  j["changes"] = changes;
  j["records_examined"] = d.records_examined;
  return j;
}

json ToJson(const GcStats& s) {
  json j;
  j["expired_snapshots"] = s.expired;
  j["generations_reclaimed"] = s.generations;
  j["records_removed"] = s.records;
  j["bytes_freed"] = s.blocks_freed * kBlockSize;
  return j;
}

json ToJson(const RestoreResult& r) {
  json j;
  j["head_generation"] = r.new_head.value;
  j["saved_head"] = r.saved_head ? ToJson(*r.saved_head) : json(nullptr);
  return j;
}

Result<SnapshotInfo> SnapshotFromJson(const json& j) {
  Fields f(j, "snapshot");
  SnapshotInfo s;
  s.container = f.Str("container");
  s.name = f.Str("name");
  s.alias = f.Str("alias", true);
  s.gen = GenId(static_cast<uint64_t>(f.Int("generation")));
  s.created_ns = f.Int("created_ns");
  s.expires_ns = f.Int("expires_ns", true);
  s.parent = f.Str("parent", true);
  s.guid = f.Str("guid", true);
  s.referenced_bytes = f.OptUint("referenced_bytes");
  s.written_bytes = f.OptUint("written_bytes");
  HOODY_RETURN_IF_ERROR(f.status());
  return s;
}

Result<SnapshotPage> SnapshotPageFromJson(const json& j) {
  Fields f(j, "snapshot page");
  SnapshotPage page;
  const std::string next = f.Str("next", true);
  HOODY_RETURN_IF_ERROR(f.status());
  if (!next.empty()) page.next = next;
  if (!j.contains("snapshots") || !j["snapshots"].is_array()) {
    return Status::InvalidArgument("field 'snapshots' of a snapshot page must be an array");
  }
  page.snapshots.reserve(j["snapshots"].size());
  for (const json& e : j["snapshots"]) {
    HOODY_ASSIGN_OR_RETURN(SnapshotInfo s, SnapshotFromJson(e));
    page.snapshots.push_back(std::move(s));
  }
  return page;
}

Result<ContainerInfo> ContainerFromJson(const json& j) {
  Fields f(j, "container");
  ContainerInfo c;
  c.name = f.Str("name");
  c.head = GenId(static_cast<uint64_t>(f.Int("head_generation")));
  c.created_ns = f.Int("created_ns");
  c.origin = f.Str("origin", true);
  c.project = f.Str("project", true);
  c.snapshots = static_cast<size_t>(f.Int("snapshots"));
  HOODY_RETURN_IF_ERROR(f.status());
  return c;
}

Result<DiffResult> DiffFromJson(const json& j) {
  Fields f(j, "diff");
  DiffResult d;
  d.from = GenId(static_cast<uint64_t>(f.Int("from_generation")));
  d.to = GenId(static_cast<uint64_t>(f.Int("to_generation")));
  d.records_examined = static_cast<uint64_t>(f.Int("records_examined"));
  HOODY_RETURN_IF_ERROR(f.status());
  if (!j.contains("changes") || !j["changes"].is_array()) {
    return Status::InvalidArgument("diff has no 'changes' array");
  }
  for (const json& c : j["changes"]) {
    Fields cf(c, "change");
    Change ch;
    const std::string kind = cf.Str("change");
    if (kind == "added") {
      ch.kind = ChangeKind::kAdded;
    } else if (kind == "deleted") {
      ch.kind = ChangeKind::kDeleted;
    } else if (kind == "renamed") {
      ch.kind = ChangeKind::kRenamed;
    } else {
      ch.kind = ChangeKind::kModified;
    }
    ch.path = cf.Str("path");
    if (ch.kind == ChangeKind::kRenamed) ch.new_path = cf.Str("new_path");
    ch.ino = Ino(static_cast<uint64_t>(cf.Int("inode")));
    ch.bytes = static_cast<uint64_t>(cf.Int("bytes"));
    ch.mode = static_cast<uint32_t>(cf.Int("mode"));
    if (ch.kind == ChangeKind::kModified && c.contains("what") && c["what"].is_array()) {
      for (const json& w : c["what"]) {
        if (!w.is_string()) continue;
        for (uint32_t bit = 1; bit != 0 && bit <= snapshotter::kWhatLast; bit <<= 1) {
          if (snapshotter::ChangeWhatNames(bit) == w.get<std::string>()) ch.what |= bit;
        }
      }
    }
    HOODY_RETURN_IF_ERROR(cf.status());
    d.changes.push_back(std::move(ch));
  }
  return d;
}

Result<GcStats> GcStatsFromJson(const json& j) {
  Fields f(j, "gc result");
  GcStats s;
  s.expired = static_cast<size_t>(f.Int("expired_snapshots"));
  s.generations = static_cast<size_t>(f.Int("generations_reclaimed"));
  s.records = static_cast<uint64_t>(f.Int("records_removed"));
  s.blocks_freed = static_cast<uint64_t>(f.Int("bytes_freed")) / kBlockSize;
  HOODY_RETURN_IF_ERROR(f.status());
  return s;
}

Result<RestoreResult> RestoreFromJson(const json& j) {
  Fields f(j, "restore result");
  RestoreResult r;
  r.new_head = GenId(static_cast<uint64_t>(f.Int("head_generation")));
  HOODY_RETURN_IF_ERROR(f.status());
  if (j.contains("saved_head") && !j["saved_head"].is_null()) {
    HOODY_ASSIGN_OR_RETURN(SnapshotInfo saved, SnapshotFromJson(j["saved_head"]));
    r.saved_head = std::move(saved);
  }
  return r;
}

json ToJson(const BisectStep& s) {
  return json{{"snapshot", s.snapshot},
              {"exit_code", s.exit_code},
              {"verdict", s.verdict},
              {"output", s.output}};
}

json ToJson(const BisectReport& r) {
  json steps = json::array();
  for (const BisectStep& s : r.steps) steps.push_back(ToJson(s));
  return json{{"first_bad", r.first_bad},
              {"last_good", r.last_good},
              {"candidates", r.candidates},
              {"steps", steps},
              {"diff", ToJson(r.diff)}};
}

Result<BisectStep> BisectStepFromJson(const json& j) {
  Fields f(j, "bisect step");
  BisectStep s;
  s.snapshot = f.Str("snapshot");
  s.exit_code = static_cast<int>(f.Int("exit_code"));
  s.verdict = f.Str("verdict");
  s.output = f.Str("output");
  HOODY_RETURN_IF_ERROR(f.status());
  return s;
}

Result<BisectReport> BisectReportFromJson(const json& j) {
  Fields f(j, "bisect report");
  BisectReport r;
  r.first_bad = f.Str("first_bad");
  r.last_good = f.Str("last_good");
  HOODY_RETURN_IF_ERROR(f.status());
  if (!j.contains("candidates") || !j["candidates"].is_array() || !j.contains("steps") ||
      !j["steps"].is_array() || !j.contains("diff")) {
    return Status::InvalidArgument("bisect report lacks candidates, steps or diff");
  }
  for (const json& c : j["candidates"]) {
    if (!c.is_string()) return Status::InvalidArgument("bisect report candidate is no string");
    r.candidates.push_back(c.get<std::string>());
  }
  for (const json& s : j["steps"]) {
    HOODY_ASSIGN_OR_RETURN(BisectStep step, BisectStepFromJson(s));
    r.steps.push_back(std::move(step));
  }
  HOODY_ASSIGN_OR_RETURN(r.diff, DiffFromJson(j["diff"]));
  return r;
}

}  // namespace hoodyfs::cli
