#include "cli/daemon/http/url.h"

namespace hoodyfs::cli {

namespace {
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// At most this much of a hostile text is quoted back in an error.
std::string Quote(std::string_view text) {
  constexpr size_t kQuoteMax = 64;
  if (text.size() <= kQuoteMax) return "'" + std::string(text) + "'";
  return "'" + std::string(text.substr(0, kQuoteMax)) + "...'";
}
}  // namespace

Result<std::string> PercentDecode(std::string_view raw, std::string_view what) {
  std::string out;
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\0') {
      // libmicrohttpd's C strings cannot carry one, but a caller's
      // string_view can: a name with a NUL would end early at the next C
      // boundary, as a decoded one would.
      return Status::InvalidArgument(std::string(what) + " " + Quote(raw) + " holds a NUL byte");
    }
    if (raw[i] != '%') {
      out += raw[i];
      continue;
    }
    const bool two_follow = i + 2 < raw.size();
    const int hi = two_follow ? HexValue(raw[i + 1]) : -1;
    const int lo = two_follow ? HexValue(raw[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      return Status::InvalidArgument(std::string(what) + " " + Quote(raw) +
                                     " holds a '%' that is not followed by two hex digits");
    }
    const char byte = static_cast<char>(hi * 16 + lo);
    if (byte == '\0') {
      return Status::InvalidArgument(std::string(what) + " " + Quote(raw) + " holds a NUL byte");
    }
    out += byte;
    i += 2;
  }
  return out;
}

Result<std::vector<std::string>> SplitApiPath(std::string_view raw_path) {
  std::vector<std::string> segments;
  size_t start = 0;
  while (start <= raw_path.size()) {
    const size_t slash = raw_path.find('/', start);
    const size_t end = slash == std::string_view::npos ? raw_path.size() : slash;
    if (end > start) {
      const std::string_view raw = raw_path.substr(start, end - start);
      HOODY_ASSIGN_OR_RETURN(std::string segment, PercentDecode(raw, "path segment"));
      if (segment.find('/') != std::string::npos) {
        return Status::InvalidArgument("path segment " + Quote(raw) +
                                       " decodes to a name holding '/'");
      }
      segments.push_back(std::move(segment));
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return segments;
}

}  // namespace hoodyfs::cli
