// `hoodyfs-snap list`: a container's snapshots fetched a page at a time
// (SnapshotApi::ListSnapshotPage) and printed as each page arrives, so a
// container of 10,000 snapshots is never held, encoded or parsed whole
// (issue 12; docs/benchmarks.md, "10,000 snapshots of one container").
//
// Output is what the whole list printed at once was: a table whose columns
// are as wide as the first page needs (a later, wider value widens its
// column from there on), or with --json one array written element by
// element, byte for byte what dump(2) of the whole array gives. With a
// limit the JSON is one page document instead ({"snapshots", "next"}, as
// the REST API's page) and the table says on `err` where the next one
// starts.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>

#include "base/status.h"
#include "cli/api/snapshot_api.h"

namespace hoodyfs::cli {

struct SnapshotListOptions {
  std::string container;
  std::string after;             // start after this snapshot; "" from the first
  std::optional<int64_t> limit;  // print at most this many (1 to catalog::kListPageMax)
  bool json = false;
  int64_t page_size = 1000;  // snapshots per request
};

// Prints the list to `out`. `on_output` runs once, before the first byte
// is written (after which a failure cannot be retried without repeating
// lines). Errors: those of ListSnapshotPage; output already printed stays.
Status PrintSnapshotList(SnapshotApi& api, const SnapshotListOptions& options, std::ostream& out,
                         std::ostream& err, const std::function<void()>& on_output);

}  // namespace hoodyfs::cli
