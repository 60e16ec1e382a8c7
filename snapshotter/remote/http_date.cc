#include "snapshotter/remote/http_date.h"

#include <array>
#include <charconv>
#include <ctime>
#include <string>

namespace hoodyfs::remote {
namespace {

constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

bool Number(std::string_view s, int* out) {
  if (s.empty()) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

Result<int64_t> ParseHttpDate(std::string_view text) {
  // "Sun, 06 Nov 1994 08:49:37 GMT": fixed positions.
  const auto bad = [&] {
    return Status::Corruption("not an HTTP date: '" + std::string(text.substr(0, 64)) + "'");
  };
  if (text.size() != 29 || text[3] != ',' || text[4] != ' ' || text[7] != ' ' || text[11] != ' ' ||
      text[16] != ' ' || text[19] != ':' || text[22] != ':' || text[25] != ' ' ||
      text.substr(26) != "GMT") {
    return bad();
  }
  std::tm tm{};
  int month = -1;
  for (size_t i = 0; i < kMonths.size(); ++i) {
    if (text.substr(8, 3) == kMonths[i]) month = static_cast<int>(i);
  }
  int year = 0;
  if (month < 0 || !Number(text.substr(5, 2), &tm.tm_mday) || !Number(text.substr(12, 4), &year) ||
      !Number(text.substr(17, 2), &tm.tm_hour) || !Number(text.substr(20, 2), &tm.tm_min) ||
      !Number(text.substr(23, 2), &tm.tm_sec)) {
    return bad();
  }
  if (tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60 ||
      year < 1970) {
    return bad();
  }
  tm.tm_mon = month;
  tm.tm_year = year - 1900;
  return static_cast<int64_t>(timegm(&tm));
}

}  // namespace hoodyfs::remote
