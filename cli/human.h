// Formatting for people: sizes as zfs prints them (0B, 512K, 1.20M), UTC
// times, and aligned tables.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hoodyfs::cli {

// "0B", "512B", "4K", "1.50M", "12.3G": base-1024, three significant digits.
std::string HumanBytes(uint64_t bytes);
// "2026-03-04 10:30:00" (UTC) of a CLOCK_REALTIME time in ns. The JSON
// form is IsoTime (cli/api/json_codec.h).
std::string HumanTime(int64_t ns);

// Columns padded to their widest cell, two spaces apart; the last column
// is not padded.
std::string FormatTable(const std::vector<std::vector<std::string>>& rows);

}  // namespace hoodyfs::cli
