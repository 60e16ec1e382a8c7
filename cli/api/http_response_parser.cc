#include "cli/api/http_response_parser.h"

#include <cerrno>
#include <charconv>

namespace hoodyfs::cli {

namespace {

// Longest size or trailer line accepted: a size is at most 16 hex digits,
// and the daemon sends no trailers.
constexpr size_t kMaxLine = 4096;

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

template <class T>
bool ParseNumber(std::string_view text, T& value, int base = 10) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  return ec == std::errc() && end == text.data() + text.size();
}

std::string Clip(std::string_view s, size_t n) { return std::string(s.substr(0, n)); }

}  // namespace

std::optional<size_t> FindHeadEnd(std::string_view received) {
  const size_t at = received.find("\r\n\r\n");
  if (at == std::string_view::npos) return std::nullopt;
  return at + 4;
}

Result<HttpResponseHead> ParseHttpResponseHead(std::string_view head) {
  // Lines end with CRLF; the last one may come without.
  auto next_line = [&head]() -> std::string_view {
    const size_t end = head.find("\r\n");
    std::string_view line = head.substr(0, end);
    head.remove_prefix(end == std::string_view::npos ? head.size() : end + 2);
    return line;
  };
  const std::string_view status_line = next_line();
  // "HTTP/1.1 200 OK"
  if (status_line.size() < 12 || !status_line.starts_with("HTTP/1.") || status_line[8] != ' ') {
    return Malformed("bad status line '" + Clip(status_line, 64) + "'");
  }
  HttpResponseHead out;
  if (!ParseNumber(status_line.substr(9, 3), out.status) || out.status < 100 || out.status > 599 ||
      (status_line.size() > 12 && status_line[12] != ' ')) {
    return Malformed("bad status code in '" + Clip(status_line, 64) + "'");
  }
  while (!head.empty()) {
    const std::string_view line = next_line();
    if (line.empty()) continue;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return Malformed("bad header line '" + Clip(line, 64) + "'");
    }
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = Trim(line.substr(colon + 1));
    if (EqualsIgnoringCase(name, "Content-Length")) {
      uint64_t length = 0;
      if (!ParseNumber(value, length))
        return Malformed("bad Content-Length '" + Clip(value, 32) + "'");
      out.content_length = length;
    } else if (EqualsIgnoringCase(name, "Transfer-Encoding")) {
      if (!EqualsIgnoringCase(value, "chunked")) {
        return Malformed("unknown Transfer-Encoding '" + Clip(value, 32) + "'");
      }
      out.chunked = true;
    }
  }
  return out;
}

HttpBodyDecoder::HttpBodyDecoder(const HttpResponseHead& head) {
  if (head.chunked) {
    state_ = State::kSizeLine;
  } else if (head.content_length) {
    state_ = *head.content_length == 0 ? State::kDone : State::kLength;
    remaining_ = length_ = *head.content_length;
  } else {
    state_ = State::kUntilClose;
  }
}

// The chunked transfer coding (RFC 9112, 7.1): size lines in hex (with
// optional extensions after ';'), each chunk followed by CRLF, a zero-size
// chunk last, then trailers (ignored) up to an empty line.
Result<bool> HttpBodyDecoder::Feed(std::string_view in, std::string* out) {
  while (!in.empty() && state_ != State::kDone) {
    switch (state_) {
      case State::kUntilClose:
        out->append(in);
        return false;
      case State::kLength:
      case State::kData: {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, in.size()));
        out->append(in.substr(0, n));
        in.remove_prefix(n);
        remaining_ -= n;
        if (remaining_ == 0) state_ = state_ == State::kLength ? State::kDone : State::kDataEnd;
        break;
      }
      case State::kSizeLine:
      case State::kDataEnd:
      case State::kTrailers: {
        const size_t lf = in.find('\n');
        line_.append(in.substr(0, lf == std::string_view::npos ? in.size() : lf + 1));
        in.remove_prefix(lf == std::string_view::npos ? in.size() : lf + 1);
        if (line_.size() > kMaxLine) {
          return Malformed("a line of " + std::to_string(line_.size()) + " bytes in chunk " +
                           std::to_string(chunk_));
        }
        if (lf == std::string_view::npos) break;  // the line goes on in the next piece
        if (line_.size() < 2 || line_[line_.size() - 2] != '\r') {
          return Malformed("chunk " + std::to_string(chunk_) + " has a line without CRLF");
        }
        const std::string_view line = std::string_view(line_).substr(0, line_.size() - 2);
        if (state_ == State::kDataEnd) {
          if (!line.empty()) return Malformed("chunk " + std::to_string(chunk_) + " is cut short");
          ++chunk_;
          state_ = State::kSizeLine;
        } else if (state_ == State::kTrailers) {
          if (line.empty()) state_ = State::kDone;
        } else {
          const std::string_view size_text = Trim(line.substr(0, line.find(';')));
          if (!ParseNumber(size_text, remaining_, 16)) {
            return Malformed("chunk " + std::to_string(chunk_) + " has a bad size '" +
                             Clip(size_text, 32) + "'");
          }
          state_ = remaining_ == 0 ? State::kTrailers : State::kData;
        }
        line_.clear();
        break;
      }
      case State::kDone:
        break;
    }
  }
  return state_ == State::kDone;
}

Status HttpBodyDecoder::Finish() const {
  switch (state_) {
    case State::kDone:
    case State::kUntilClose:
      return Status::OK();
    case State::kLength:
      return Malformed("the body is cut short (" + std::to_string(length_ - remaining_) + " of " +
                       std::to_string(length_) + " bytes)");
    case State::kSizeLine:
      return Malformed("chunk " + std::to_string(chunk_) + " has no size line");
    case State::kData:
    case State::kDataEnd:
      return Malformed("chunk " + std::to_string(chunk_) + " is cut short");
    case State::kTrailers:
      return Malformed("the chunked body does not end");
  }
  return Status::OK();
}

Result<HttpResponse> ParseHttpResponse(std::string_view raw) {
  if (raw.empty()) return Malformed("the connection closed without an answer");
  const std::optional<size_t> head_end = FindHeadEnd(raw);
  if (!head_end) {
    if (raw.find("\r\n") == std::string_view::npos) return Malformed("no complete status line");
    HOODY_RETURN_IF_ERROR(ParseHttpResponseHead(raw.substr(0, raw.find("\r\n"))).status());
    return Malformed("the headers do not end");
  }
  HOODY_ASSIGN_OR_RETURN(HttpResponseHead head,
                         ParseHttpResponseHead(raw.substr(0, *head_end - 4)));
  HttpBodyDecoder decoder(head);
  std::string body;
  HOODY_ASSIGN_OR_RETURN(bool done, decoder.Feed(raw.substr(*head_end), &body));
  if (!done) HOODY_RETURN_IF_ERROR(decoder.Finish());
  return HttpResponse{head.status, std::move(body)};
}

}  // namespace hoodyfs::cli
