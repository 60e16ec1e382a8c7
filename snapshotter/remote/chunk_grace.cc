#include "snapshotter/remote/chunk_grace.h"

#include <charconv>

namespace hoodyfs::remote {

Result<ChunkGrace> ParseGrace(std::string_view text) {
  const auto bad = [&] {
    return Status::InvalidArgument("grace '" + std::string(text) +
                                   "': want a number and a unit s, m, h or d (24h, 30s, 0s)");
  };
  if (text.empty()) return bad();
  uint64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc()) return bad();
  const std::string_view unit(end, static_cast<size_t>(text.data() + text.size() - end));
  uint64_t scale = 0;
  if (unit == "s" || (unit.empty() && n == 0)) {
    scale = 1;
  } else if (unit == "m") {
    scale = 60;
  } else if (unit == "h") {
    scale = 3600;
  } else if (unit == "d") {
    scale = 86400;
  } else {
    return bad();
  }
  constexpr uint64_t kMaxSeconds = 3650ull * 86400;  // ten years: beyond is a typo
  if (n > kMaxSeconds / scale) return bad();
  return ChunkGrace(std::chrono::seconds(static_cast<int64_t>(n * scale)));
}

std::string FormatGrace(const ChunkGrace& grace) {
  const int64_t s = grace.grace().count();
  if (s != 0 && s % 86400 == 0) return std::to_string(s / 86400) + "d";
  if (s != 0 && s % 3600 == 0) return std::to_string(s / 3600) + "h";
  if (s != 0 && s % 60 == 0) return std::to_string(s / 60) + "m";
  return std::to_string(s) + "s";
}

Status CheckPushAge(const ChunkGrace& grace, int64_t started_s, int64_t now_s) {
  if (grace.unbounded() || now_s - started_s <= grace.push_limit().count()) return Status::OK();
  return Status::Busy("push took " + std::to_string(now_s - started_s) + " s, more than " +
                      std::to_string(grace.push_limit().count()) +
                      " s (a quarter of the gc grace " + FormatGrace(grace) +
                      "): a concurrent gc may have taken chunks it uses; no manifest written, "
                      "push again (chunks already up are not sent again)");
}

}  // namespace hoodyfs::remote
