// The JSON forms of the snapshot API's values: what `hoodyfs-snap --json`
// prints and what the REST API sends and accepts. docs/api.md documents
// every field; fields are only ever added, never renamed.
//
// Decoding (the REST client's side) is strict: a missing or mistyped field
// is kInvalidArgument naming it.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "base/status.h"
#include "cli/api/bisect_types.h"
#include "snapshotter/verbs/snapshotter.h"

namespace hoodyfs::cli {

nlohmann::json ToJson(const snapshotter::SnapshotInfo& info);
nlohmann::json ToJson(const snapshotter::ContainerInfo& info);
// {"snapshots": [...], "next": "NAME" | null}: one page of a list.
nlohmann::json ToJson(const snapshotter::SnapshotPage& page);
nlohmann::json ToJson(const snapshotter::Change& change);
nlohmann::json ToJson(const snapshotter::DiffResult& diff);
nlohmann::json ToJson(const snapshotter::GcStats& stats);
nlohmann::json ToJson(const snapshotter::RestoreResult& result);
nlohmann::json ToJson(const BisectStep& step);
nlohmann::json ToJson(const BisectReport& report);

Result<snapshotter::SnapshotInfo> SnapshotFromJson(const nlohmann::json& j);
Result<snapshotter::ContainerInfo> ContainerFromJson(const nlohmann::json& j);
Result<snapshotter::SnapshotPage> SnapshotPageFromJson(const nlohmann::json& j);
Result<snapshotter::DiffResult> DiffFromJson(const nlohmann::json& j);
Result<snapshotter::GcStats> GcStatsFromJson(const nlohmann::json& j);
Result<snapshotter::RestoreResult> RestoreFromJson(const nlohmann::json& j);
Result<BisectStep> BisectStepFromJson(const nlohmann::json& j);
Result<BisectReport> BisectReportFromJson(const nlohmann::json& j);

// "2026-03-04T10:30:00Z" (UTC) of a CLOCK_REALTIME time in ns: the JSON form
// of a time.
std::string IsoTime(int64_t ns);

// "file", "directory", "symlink", "fifo", "socket", "char", "block".
const char* FileTypeName(uint32_t mode);

}  // namespace hoodyfs::cli
