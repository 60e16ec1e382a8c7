#include "cli/human.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace hoodyfs::cli {

std::string HumanBytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "K", "M", "G", "T", "P", "E"};
  if (bytes < 1024) return std::to_string(bytes) + "B";
  double v = static_cast<double>(bytes);
  size_t unit = 0;
  while (v >= 1024 && unit + 1 < std::size(kUnits)) {
    v /= 1024;
    ++unit;
  }
  char buf[32];
  if (v >= 100 || v == static_cast<double>(static_cast<uint64_t>(v))) {
    std::snprintf(buf, sizeof buf, "%.0f%s", v, kUnits[unit]);
  } else if (v >= 10) {
    std::snprintf(buf, sizeof buf, "%.1f%s", v, kUnits[unit]);
  } else {
    std::snprintf(buf, sizeof buf, "%.2f%s", v, kUnits[unit]);
  }
  return buf;
}

namespace {
struct tm Utc(int64_t ns) {
  const time_t secs = static_cast<time_t>(ns / 1000000000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  return tm;
}
}  // namespace

std::string HumanTime(int64_t ns) {
  const struct tm tm = Utc(ns);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string FormatTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace hoodyfs::cli
