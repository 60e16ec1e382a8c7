#include "cli/api/http_response_parser.h"

#include <cerrno>
#include <charconv>
#include <optional>
#include <string>

namespace hoodyfs::cli {

namespace {

Status Malformed(const std::string& what) {
  return Status(Code::kIoError, "the hoodyfs daemon's answer is malformed: " + what, ECONNRESET);
}

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Takes the line up to CRLF off the front of `rest`; nullopt without one.
std::optional<std::string_view> TakeLine(std::string_view& rest) {
  const size_t end = rest.find("\r\n");
  if (end == std::string_view::npos) return std::nullopt;
  std::string_view line = rest.substr(0, end);
  rest.remove_prefix(end + 2);
  return line;
}

template <class T>
bool ParseNumber(std::string_view text, T& value, int base = 10) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  return ec == std::errc() && end == text.data() + text.size();
}

// The chunked transfer coding (RFC 9112, 7.1): size lines in hex (with
// optional extensions after ';'), each chunk followed by CRLF, a zero-size
// chunk last, then trailers (ignored) up to an empty line.
Result<std::string> Dechunk(std::string_view rest) {
  std::string body;
  for (size_t index = 0;; ++index) {
    std::optional<std::string_view> line = TakeLine(rest);
    if (!line) return Malformed("chunk " + std::to_string(index) + " has no size line");
    std::string_view size_text = Trim(line->substr(0, line->find(';')));
    uint64_t size = 0;
    if (!ParseNumber(size_text, size, 16)) {
      return Malformed("chunk " + std::to_string(index) + " has a bad size '" +
                       std::string(size_text.substr(0, 32)) + "'");
    }
    if (size == 0) break;
    if (size > rest.size() || rest.size() - size < 2 || rest.substr(size, 2) != "\r\n") {
      return Malformed("chunk " + std::to_string(index) + " is cut short");
    }
    body.append(rest.substr(0, size));
    rest.remove_prefix(size + 2);
  }
  for (;;) {
    std::optional<std::string_view> trailer = TakeLine(rest);
    if (!trailer) return Malformed("the chunked body does not end");
    if (trailer->empty()) return body;
  }
}

}  // namespace

Result<HttpResponse> ParseHttpResponse(std::string_view raw) {
  if (raw.empty()) return Malformed("the connection closed without an answer");
  std::string_view rest = raw;
  std::optional<std::string_view> status_line = TakeLine(rest);
  if (!status_line) return Malformed("no complete status line");
  // "HTTP/1.1 200 OK"
  if (status_line->size() < 12 || !status_line->starts_with("HTTP/1.") ||
      (*status_line)[8] != ' ') {
    return Malformed("bad status line '" + std::string(status_line->substr(0, 64)) + "'");
  }
  int status = 0;
  if (!ParseNumber(status_line->substr(9, 3), status) || status < 100 || status > 599 ||
      (status_line->size() > 12 && (*status_line)[12] != ' ')) {
    return Malformed("bad status code in '" + std::string(status_line->substr(0, 64)) + "'");
  }
  std::optional<uint64_t> content_length;
  bool chunked = false;
  for (;;) {
    std::optional<std::string_view> line = TakeLine(rest);
    if (!line) return Malformed("the headers do not end");
    if (line->empty()) break;
    const size_t colon = line->find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return Malformed("bad header line '" + std::string(line->substr(0, 64)) + "'");
    }
    const std::string_view name = line->substr(0, colon);
    const std::string_view value = Trim(line->substr(colon + 1));
    if (EqualsIgnoringCase(name, "Content-Length")) {
      uint64_t length = 0;
      if (!ParseNumber(value, length)) {
        return Malformed("bad Content-Length '" + std::string(value.substr(0, 32)) + "'");
      }
      content_length = length;
    } else if (EqualsIgnoringCase(name, "Transfer-Encoding")) {
      if (!EqualsIgnoringCase(value, "chunked")) {
        return Malformed("unknown Transfer-Encoding '" + std::string(value.substr(0, 32)) + "'");
      }
      chunked = true;
    }
  }
  if (chunked) {
    HOODY_ASSIGN_OR_RETURN(std::string body, Dechunk(rest));
    return HttpResponse{status, std::move(body)};
  }
  if (content_length) {
    if (*content_length > rest.size()) {
      return Malformed("the body is cut short (" + std::to_string(rest.size()) + " of " +
                       std::to_string(*content_length) + " bytes)");
    }
    rest = rest.substr(0, *content_length);
  }
  return HttpResponse{status, std::string(rest)};
}

}  // namespace hoodyfs::cli
