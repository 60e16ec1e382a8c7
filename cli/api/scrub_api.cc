#include "cli/api/scrub_api.h"

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <set>
#include <utility>

#include "cli/api/json_codec.h"

namespace hoodyfs::cli {

using nlohmann::json;

namespace {

// What each generation is to a user: a container's head or a snapshot.
struct GenName {
  std::string container, snapshot, alias;
};

std::map<uint64_t, GenName> NameGenerations(snapshotter::Snapshotter& snap) {
  std::map<uint64_t, GenName> names;
  for (const snapshotter::ContainerInfo& c : snap.ListContainers()) {
    names[c.head.value] = {c.name, "", ""};
    auto snaps = snap.ListSnapshots(c.name);
    if (!snaps.ok()) continue;  // deleted meanwhile
    for (const snapshotter::SnapshotInfo& s : *snaps)
      names[s.gen.value] = {c.name, s.name, s.alias};
  }
  return names;
}

std::string Hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
  return buf;
}

void CopyProgress(const snapshotter::ScrubProgress& p, ScrubStatus* s) {
  s->blocks_total = p.blocks_total;
  s->blocks_checked = p.blocks_checked;
  s->bytes_read = p.bytes_read;
  s->blocks_damaged = p.blocks_damaged;
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Result<ScrubStatus> RunScrub(snapshotter::Snapshotter& snap, const ScrubRequest& request,
                             const std::function<void(const ScrubStatus&)>& progress,
                             const std::atomic<bool>* cancel) {
  ScrubStatus status;
  status.started = IsoTime(NowNs());
  const auto t0 = std::chrono::steady_clock::now();
  const auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  snapshotter::ScrubOptions options;
  options.max_bytes_per_second = request.max_bytes_per_second;
  options.cancel = cancel;
  if (progress) {
    options.progress = [&](const snapshotter::ScrubProgress& p) {
      CopyProgress(p, &status);
      status.seconds = elapsed();
      progress(status);
    };
  }
  HOODY_ASSIGN_OR_RETURN(snapshotter::ScrubReport report,
                         snapshotter::Scrubber(snap.store()).Run(options));
  CopyProgress(report.progress, &status);
  status.seconds = elapsed();
  status.state = report.cancelled ? "cancelled" : "done";
  const std::map<uint64_t, GenName> names = NameGenerations(snap);
  for (const snapshotter::DamagedBlock& d : report.damaged) {
    ScrubBlock b;
    b.block = d.block.value;
    b.checksum = Hex(d.checksum);
    b.error = d.why;
    for (const snapshotter::BlockHolder& h : d.holders) {
      ScrubHolder out;
      if (auto n = names.find(h.gen.value); n != names.end()) {
        out.container = n->second.container;
        out.snapshot = n->second.snapshot;
        out.alias = n->second.alias;
      }
      out.generation = h.gen.value;
      out.written_in = h.written_in.value;
      out.ino = h.ino.value;
      out.offset = h.offset;
      out.paths = h.paths;
      b.holders.push_back(std::move(out));
    }
    status.damaged.push_back(std::move(b));
  }
  return status;
}

std::string HolderLabel(const ScrubHolder& h) {
  if (h.container.empty()) return "generation " + std::to_string(h.generation);
  if (h.snapshot.empty()) return h.container + " (head)";
  return h.container + "@" + h.snapshot + (h.alias.empty() ? "" : " (" + h.alias + ")");
}

namespace {
std::string PathsOrInode(const ScrubHolder& h) {
  if (h.paths.empty()) return "inode " + std::to_string(h.ino) + " (unlinked, still open)";
  std::string out;
  for (const std::string& p : h.paths) out += (out.empty() ? "" : ", ") + p;
  return out;
}

std::string Rate(uint64_t bytes, double seconds) {
  if (seconds <= 0) return "";
  char buf[48];
  std::snprintf(buf, sizeof buf, ", %.1f MB/s", static_cast<double>(bytes) / 1e6 / seconds);
  return buf;
}
}  // namespace

void PrintScrub(const ScrubStatus& s, std::ostream& out) {
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.1f s", s.seconds);
  out << "scrub " << s.state << ": " << s.blocks_checked << " of " << s.blocks_total
      << " blocks checked, " << s.bytes_read << " bytes read in " << secs
      << Rate(s.bytes_read, s.seconds) << "; " << s.blocks_damaged << " damaged";
  if (s.blocks_repaired > 0) out << ", " << s.blocks_repaired << " repaired";
  out << "\n";
  if (!s.error.empty()) out << "error: " << s.error << "\n";
  if (s.damaged.empty()) return;
  // The files first, by the view a person would open: each (view, file)
  // once however many of its blocks are damaged.
  std::map<std::string, std::set<std::string>> files;
  for (const ScrubBlock& b : s.damaged) {
    for (const ScrubHolder& h : b.holders) files[HolderLabel(h)].insert(PathsOrInode(h));
  }
  out << "damaged files (reads of the damaged blocks fail with EIO):\n";
  for (const auto& [view, paths] : files) {
    for (const std::string& p : paths) out << "  " << view << ": " << p << "\n";
  }
  for (const ScrubBlock& b : s.damaged) {
    out << "block " << b.block << ": " << b.error << "; repair: " << b.repair
        << (b.repair_detail.empty() ? "" : " (" + b.repair_detail + ")") << "\n";
    if (b.holders.empty()) out << "  held by no head or snapshot (awaiting collection)\n";
    for (const ScrubHolder& h : b.holders) {
      out << "  " << HolderLabel(h) << ": " << PathsOrInode(h) << " at offset " << h.offset << "\n";
    }
  }
}

json ToJson(const ScrubStatus& s) {
  json damaged = json::array();
  for (const ScrubBlock& b : s.damaged) {
    json holders = json::array();
    for (const ScrubHolder& h : b.holders) {
      holders.push_back({{"container", h.container.empty() ? json(nullptr) : json(h.container)},
                         {"snapshot", h.snapshot.empty() ? json(nullptr) : json(h.snapshot)},
                         {"alias", h.alias.empty() ? json(nullptr) : json(h.alias)},
                         {"generation", h.generation},
                         {"written_in", h.written_in},
                         {"ino", h.ino},
                         {"offset", h.offset},
                         {"paths", h.paths}});
    }
    damaged.push_back(
        {{"block", b.block},
         {"checksum", b.checksum},
         {"error", b.error},
         {"repair", b.repair},
         {"repair_detail", b.repair_detail.empty() ? json(nullptr) : json(b.repair_detail)},
         {"holders", holders}});
  }
  return json{{"state", s.state},
              {"error", s.error.empty() ? json(nullptr) : json(s.error)},
              {"started", s.started},
              {"seconds", s.seconds},
              {"blocks_total", s.blocks_total},
              {"blocks_checked", s.blocks_checked},
              {"bytes_read", s.bytes_read},
              {"blocks_damaged", s.blocks_damaged},
              {"blocks_repaired", s.blocks_repaired},
              {"damaged", damaged}};
}

namespace {

// Strict decoding: the first missing or mistyped field is the error.
class Decoder {
 public:
  explicit Decoder(const json& j) : j_(j) {}
  const Status& status() const { return status_; }
  std::string Str(const char* key, bool nullable = false) {
    const json* v = Find(key);
    if (v == nullptr || (nullable && v->is_null())) return "";
    if (!v->is_string()) return Fail(key), "";
    return v->get<std::string>();
  }
  uint64_t Uint(const char* key) {
    const json* v = Find(key);
    if (v == nullptr) return 0;
    if (!v->is_number_unsigned()) return Fail(key), 0;
    return v->get<uint64_t>();
  }
  double Real(const char* key) {
    const json* v = Find(key);
    if (v == nullptr) return 0;
    if (!v->is_number()) return Fail(key), 0;
    return v->get<double>();
  }
  const json* Array(const char* key) {
    const json* v = Find(key);
    if (v != nullptr && !v->is_array()) return Fail(key), nullptr;
    return v;
  }

 private:
  const json* Find(const char* key) {
    if (!status_.ok()) return nullptr;
    if (!j_.is_object() || !j_.contains(key)) return Fail(key), nullptr;
    return &j_[key];
  }
  void Fail(const char* key) {
    if (status_.ok()) {
      status_ = Status::InvalidArgument(std::string("scrub status: field '") + key +
                                        "' missing or of the wrong type");
    }
  }
  const json& j_;
  Status status_;
};

}  // namespace

Result<ScrubStatus> ScrubStatusFromJson(const json& j) {
  Decoder d(j);
  ScrubStatus s;
  s.state = d.Str("state");
  s.error = d.Str("error", /*nullable=*/true);
  s.started = d.Str("started");
  s.seconds = d.Real("seconds");
  s.blocks_total = d.Uint("blocks_total");
  s.blocks_checked = d.Uint("blocks_checked");
  s.bytes_read = d.Uint("bytes_read");
  s.blocks_damaged = d.Uint("blocks_damaged");
  s.blocks_repaired = d.Uint("blocks_repaired");
  const json* damaged = d.Array("damaged");
  HOODY_RETURN_IF_ERROR(d.status());
  for (const json& jb : *damaged) {
    Decoder db(jb);
    ScrubBlock b;
    b.block = db.Uint("block");
    b.checksum = db.Str("checksum");
    b.error = db.Str("error");
    b.repair = db.Str("repair");
    b.repair_detail = db.Str("repair_detail", /*nullable=*/true);
    const json* holders = db.Array("holders");
    HOODY_RETURN_IF_ERROR(db.status());
    for (const json& jh : *holders) {
      Decoder dh(jh);
      ScrubHolder h;
      h.container = dh.Str("container", true);
      h.snapshot = dh.Str("snapshot", true);
      h.alias = dh.Str("alias", true);
      h.generation = dh.Uint("generation");
      h.written_in = dh.Uint("written_in");
      h.ino = dh.Uint("ino");
      h.offset = dh.Uint("offset");
      const json* paths = dh.Array("paths");
      HOODY_RETURN_IF_ERROR(dh.status());
      for (const json& p : *paths) {
        if (!p.is_string()) return Status::InvalidArgument("scrub status: a path is no string");
        h.paths.push_back(p.get<std::string>());
      }
      b.holders.push_back(std::move(h));
    }
    s.damaged.push_back(std::move(b));
  }
  return s;
}

const char* BlockRepairResultCode(snapshotter::BlockRepairResult r) {
  switch (r) {
    case snapshotter::BlockRepairResult::kRepaired:
      return "repaired";
    case snapshotter::BlockRepairResult::kAlreadyGood:
      return "already_good";
    case snapshotter::BlockRepairResult::kNoLongerInUse:
      return "no_longer_in_use";
    case snapshotter::BlockRepairResult::kRecordChanged:
      return "record_changed";
  }
  return "?";
}

Result<snapshotter::BlockRepairResult> BlockRepairResultFromCode(const std::string& code) {
  for (snapshotter::BlockRepairResult r :
       {snapshotter::BlockRepairResult::kRepaired, snapshotter::BlockRepairResult::kAlreadyGood,
        snapshotter::BlockRepairResult::kNoLongerInUse,
        snapshotter::BlockRepairResult::kRecordChanged}) {
    if (code == BlockRepairResultCode(r)) return r;
  }
  return Status::InvalidArgument("unknown block repair result '" + code + "'");
}

void RecordRepair(snapshotter::BlockRepairResult result, const std::string& source, ScrubBlock& b,
                  ScrubStatus& status) {
  const bool was_repaired = b.repair == "repaired";
  // The same bytes again: the first repair's record stays.
  if (was_repaired && result == snapshotter::BlockRepairResult::kAlreadyGood) return;
  switch (result) {
    case snapshotter::BlockRepairResult::kRepaired:
      b.repair = "repaired";
      b.repair_detail = "from " + source;
      break;
    case snapshotter::BlockRepairResult::kAlreadyGood:
      b.repair = "repaired";
      b.repair_detail = "the disk reads right already (verified against " + source + ")";
      break;
    case snapshotter::BlockRepairResult::kNoLongerInUse:
    case snapshotter::BlockRepairResult::kRecordChanged:
      b.repair = "unneeded";
      b.repair_detail = std::string("the block was ") + snapshotter::BlockRepairResultName(result);
      break;
  }
  if (b.repair == "repaired" && !was_repaired) ++status.blocks_repaired;
  if (b.repair != "repaired" && was_repaired) --status.blocks_repaired;
}

bool StillDamaged(const ScrubBlock& b) { return b.repair != "repaired" && b.repair != "unneeded"; }

Status ScrubOutcome(const ScrubStatus& s) {
  if (s.state == "failed") return Status::IoError("scrub failed: " + s.error);
  std::set<std::pair<std::string, std::string>> files;
  uint64_t damaged = 0;
  for (const ScrubBlock& b : s.damaged) {
    if (!StillDamaged(b)) continue;
    ++damaged;
    for (const ScrubHolder& h : b.holders) files.insert({HolderLabel(h), PathsOrInode(h)});
  }
  // A scrub still running (a daemon's, followed) has no list yet.
  if (s.damaged.empty()) damaged = s.blocks_damaged;
  if (damaged > 0) {
    const auto count = [](uint64_t n, const char* one, const char* many) {
      return std::to_string(n) + " " + (n == 1 ? one : many);
    };
    return Status::Corruption(
        count(damaged, "damaged data block", "damaged data blocks") + " in " +
        count(files.size(), "file", "files") +
        " (counted per head and snapshot); reads of them fail with EIO (listed above)" +
        (s.blocks_repaired > 0 ? "; " + count(s.blocks_repaired, "block", "blocks") + " repaired"
                               : ""));
  }
  if (s.state == "cancelled") {
    return Status::Stale("scrub cancelled after " + std::to_string(s.blocks_checked) + " of " +
                         std::to_string(s.blocks_total) + " blocks; no damage found so far");
  }
  return Status::OK();
}

}  // namespace hoodyfs::cli
