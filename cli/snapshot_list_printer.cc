#include "cli/snapshot_list_printer.h"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>
#include <ostream>
#include <vector>

#include "cli/api/json_codec.h"
#include "cli/human.h"

namespace hoodyfs::cli {

using snapshotter::SnapshotInfo;

namespace {

std::string Or(const std::string& s, const char* fallback) { return s.empty() ? fallback : s; }
std::string Bytes(const std::optional<uint64_t>& b) { return b ? HumanBytes(*b) : "-"; }

// A table printed a batch of rows at a time: FormatTable's layout, with
// widths that only grow (rows already printed cannot be re-aligned).
class StreamedTable {
 public:
  void Print(const std::vector<std::vector<std::string>>& rows, std::ostream& out) {
    for (const auto& row : rows) {
      if (widths_.size() < row.size()) widths_.resize(row.size(), 0);
      for (size_t i = 0; i < row.size(); ++i) widths_[i] = std::max(widths_[i], row[i].size());
    }
    std::string text;
    for (const auto& row : rows) {
      for (size_t i = 0; i < row.size(); ++i) {
        text += row[i];
        if (i + 1 < row.size()) text.append(widths_[i] - row[i].size() + 2, ' ');
      }
      text += '\n';
    }
    out << text;
  }

 private:
  std::vector<size_t> widths_;
};

std::vector<std::string> Row(const SnapshotInfo& s) {
  return {s.name,
          Or(s.alias, "-"),
          HumanTime(s.created_ns),
          s.expires_ns == 0 ? "never" : HumanTime(s.expires_ns),
          Bytes(s.referenced_bytes),
          Bytes(s.written_bytes)};
}

// One element of a pretty-printed array: dump(2), every line indented by two.
void AppendIndented(const nlohmann::json& j, std::string* text) {
  const std::string dumped = j.dump(2);
  *text += "  ";
  for (char c : dumped) {
    *text += c;
    if (c == '\n') *text += "  ";
  }
}

}  // namespace

Status PrintSnapshotList(SnapshotApi& api, const SnapshotListOptions& options, std::ostream& out,
                         std::ostream& err, const std::function<void()>& on_output) {
  bool started = false;
  auto start = [&] {
    if (!started) on_output();
    started = true;
  };
  StreamedTable table;
  bool table_has_header = false;
  size_t json_elements = 0;
  snapshotter::SnapshotPage all;  // with a limit and --json: the one page document
  snapshotter::ListPage page{options.after, options.page_size};
  int64_t remaining = options.limit.value_or(std::numeric_limits<int64_t>::max());
  std::optional<std::string> next;
  while (remaining > 0) {
    page.limit = std::min(options.page_size, remaining);
    HOODY_ASSIGN_OR_RETURN(snapshotter::SnapshotPage got,
                           api.ListSnapshotPage(options.container, page));
    remaining -= static_cast<int64_t>(got.snapshots.size());
    next = got.next;
    start();
    if (options.json && options.limit) {
      for (SnapshotInfo& s : got.snapshots) all.snapshots.push_back(std::move(s));
    } else if (options.json) {
      std::string text;
      for (const SnapshotInfo& s : got.snapshots) {
        text += json_elements++ == 0 ? "[\n" : ",\n";
        AppendIndented(ToJson(s), &text);
      }
      out << text;
    } else {
      std::vector<std::vector<std::string>> rows;
      rows.reserve(got.snapshots.size() + 1);
      if (!table_has_header) {
        rows.push_back({"NAME", "ALIAS", "CREATED", "EXPIRES", "REFER", "WRITTEN"});
        table_has_header = true;
      }
      for (const SnapshotInfo& s : got.snapshots) rows.push_back(Row(s));
      table.Print(rows, out);
    }
    if (!next) break;
    page.after = *next;
  }
  if (options.json && options.limit) {
    all.next = next;
    out << ToJson(all).dump(2) << "\n";
  } else if (options.json) {
    out << (json_elements == 0 ? "[]\n" : "\n]\n");
  } else if (next) {
    err << "more snapshots follow: list again with --after " << *next << "\n";
  }
  return Status::OK();
}

}  // namespace hoodyfs::cli
