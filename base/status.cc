#include "base/status.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

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
// One table for both directions of the boundary: the name shown to people and
// the errno a POSIX caller sees.
constexpr CodeInfo kCodes[] = {
    {Code::kOk, "OK", 0},
    {Code::kNotFound, "not found", ENOENT},
    {Code::kExists, "already exists", EEXIST},
    {Code::kInvalidArgument, "invalid argument", EINVAL},
    {Code::kNoSpace, "no space", ENOSPC},
    {Code::kIoError, "I/O error", EIO},
    {Code::kCorruption, "corruption", EIO},
    {Code::kBusy, "busy", EBUSY},
    {Code::kReadOnly, "read-only", EROFS},
    {Code::kNotEmpty, "not empty", ENOTEMPTY},
    {Code::kNotSupported, "not supported", EOPNOTSUPP},
    {Code::kNotDirectory, "not a directory", ENOTDIR},
    {Code::kIsDirectory, "is a directory", EISDIR},
    {Code::kNameTooLong, "name too long", ENAMETOOLONG},
    {Code::kPermission, "permission denied", EPERM},
    {Code::kTooManyLinks, "too many links", EMLINK},
    {Code::kRange, "out of range", ERANGE},
    {Code::kNoData, "no such attribute", ENODATA},
    {Code::kStale, "stale", ESTALE},
    {Code::kFileTooBig, "file too big", EFBIG},
};

const CodeInfo& Info(Code code) {
  for (const auto& info : kCodes) {
    if (info.code == code) return info;
  }
  HOODY_ASSERT(false, "unknown status code");
}
}  // namespace

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
  Code code;
  switch (err) {
    case ENOENT:
      code = Code::kNotFound;
      break;
    case EEXIST:
      code = Code::kExists;
      break;
    case EINVAL:
      code = Code::kInvalidArgument;
      break;
    case ENOSPC:
    case EDQUOT:
      code = Code::kNoSpace;
      break;
    case EBUSY:
    case EWOULDBLOCK:
      code = Code::kBusy;
      break;
    case EROFS:
      code = Code::kReadOnly;
      break;
    case ENOTEMPTY:
      code = Code::kNotEmpty;
      break;
    case EOPNOTSUPP:
      code = Code::kNotSupported;
      break;
    case ENOTDIR:
      code = Code::kNotDirectory;
      break;
    case EISDIR:
      code = Code::kIsDirectory;
      break;
    case ENAMETOOLONG:
      code = Code::kNameTooLong;
      break;
    case EPERM:
    case EACCES:
      code = Code::kPermission;
      break;
    case EMLINK:
      code = Code::kTooManyLinks;
      break;
    case ERANGE:
      code = Code::kRange;
      break;
    case ENODATA:
      code = Code::kNoData;
      break;
    case ESTALE:
      code = Code::kStale;
      break;
    case EFBIG:
      code = Code::kFileTooBig;
      break;
    default:
      code = Code::kIoError;
      break;
  }
  return Status(code, std::move(m), err);
}

}  // namespace hoodyfs
