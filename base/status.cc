#include "base/status.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>

namespace hoodyfs {

void AssertFail(const char* file, int line, const char* expr, const char* message) {
  std::fprintf(stderr, "hoodyfs: assertion failed at %s:%d: %s (%s)\n", file, line, expr,
               message ? message : "");
  std::fflush(stderr);
  std::abort();
}

namespace {
struct CodeInfo {
  Code code;
  const char* name;
  int err;
};
constexpr CodeInfo kCodes[] = {
#define HOODYFS_CODE_INFO(code, name, err) {Code::code, name, err},
    HOODYFS_STATUS_CODES(HOODYFS_CODE_INFO)
#undef HOODYFS_CODE_INFO
};
static_assert(std::size(kCodes) == kCodeCount);
constexpr bool IndexedByCode() {
  for (size_t i = 0; i < std::size(kCodes); ++i) {
    if (static_cast<size_t>(kCodes[i].code) != i) return false;
  }
  return true;
}
static_assert(IndexedByCode(), "Info() indexes kCodes by Code");

const CodeInfo& Info(Code code) {
  const auto index = static_cast<size_t>(code);
  HOODY_ASSERT(index < std::size(kCodes), "unknown status code");
  return kCodes[index];
}

// errnos that mean the same as another code's own errno.
struct ErrnoAlias {
  int err;
  Code code;
};
constexpr ErrnoAlias kErrnoAliases[] = {
    {EDQUOT, Code::kNoSpace},
    {EWOULDBLOCK, Code::kBusy},
    {EACCES, Code::kPermission},
};

Code CodeForErrno(int err) {
  for (const ErrnoAlias& alias : kErrnoAliases) {
    if (alias.err == err) return alias.code;
  }
  if (err != 0) {
    for (const CodeInfo& info : kCodes) {  // the first code of an errno (EIO: kIoError)
      if (info.err == err) return info.code;
    }
  }
  return Code::kIoError;
}
}  // namespace

int CodeErrno(Code code) { return Info(code).err; }

std::string_view CodeName(Code code) { return Info(code).name; }

Status::Status(Code code, std::string message, int err) {
  HOODY_ASSERT(code != Code::kOk, "a Status with a message must not be OK");
  state_ = std::make_shared<const State>(State{code, err, std::move(message)});
}

int Status::ErrnoValue() const {
  if (ok()) return 0;
  if (state_->err != 0) return state_->err;
  return Info(state_->code).err;
}

const std::string& Status::message() const {
  static const std::string kEmpty;
  return state_ ? state_->message : kEmpty;
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string out(CodeName(state_->code));
  out += ": ";
  out += state_->message;
  return out;
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  std::string m(context);
  m += ": ";
  m += state_->message;
  return Status(state_->code, std::move(m), state_->err);
}

Status FromErrno(int err, std::string_view what) {
  char buf[128];
  // GNU strerror_r returns the message pointer; it is thread-safe unlike strerror.
  const char* text = strerror_r(err, buf, sizeof(buf));
  std::string m(what);
  m += ": ";
  m += text;
  const Code code = CodeForErrno(err);
  return Status(code, std::move(m), err);
}

}  // namespace hoodyfs
