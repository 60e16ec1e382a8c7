// Status and Result<T>: the error vocabulary of every hoodyfs module.
//
// A Status is OK (no allocation) or carries a Code, an optional errno and a
// context string naming what failed. Result<T> holds either a T or a non-OK
// Status. Both are [[nodiscard]]: a deliberately ignored error goes through
// IgnoreError() so it can be found with grep.
//
// Thread-safety: values; share them like any other value type.
#pragma once

#include <cerrno>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "base/assert.h"

namespace hoodyfs {

// Every Code, with the name shown to people and the errno a POSIX caller
// sees: the one table both directions of the boundary are built from
// (FromErrno here, ToFuseErrno in fusefs/errno_map.cc), so they cannot
// drift apart. X(enumerator, name, errno); add new codes at the end.
#define HOODYFS_STATUS_CODES(X)                                 \
  X(kOk, "OK", 0)                                               \
  X(kNotFound, "not found", ENOENT)                             \
  X(kExists, "already exists", EEXIST)                          \
  X(kInvalidArgument, "invalid argument", EINVAL)               \
  X(kNoSpace, "no space", ENOSPC)                               \
  X(kIoError, "I/O error", EIO)                                 \
  X(kCorruption, "corruption", EIO)                             \
  X(kBusy, "busy", EBUSY)                                       \
  X(kReadOnly, "read-only", EROFS)                              \
  X(kNotEmpty, "not empty", ENOTEMPTY)                          \
  X(kNotSupported, "not supported", EOPNOTSUPP)                 \
  X(kNotDirectory, "not a directory", ENOTDIR)                  \
  X(kIsDirectory, "is a directory", EISDIR)                     \
  X(kNameTooLong, "name too long", ENAMETOOLONG)                \
  X(kPermission, "permission denied", EPERM)                    \
  X(kTooManyLinks, "too many links", EMLINK)                    \
  X(kRange, "out of range", ERANGE)                             \
  /* no such extended attribute */                              \
  X(kNoData, "no such attribute", ENODATA)                      \
  /* the object belongs to a tree that is no longer the head */ \
  X(kStale, "stale", ESTALE)                                    \
  /* past the largest file offset */                            \
  X(kFileTooBig, "file too big", EFBIG)

enum class Code : int {
#define HOODYFS_CODE_ENUMERATOR(code, name, err) code,
  HOODYFS_STATUS_CODES(HOODYFS_CODE_ENUMERATOR)
#undef HOODYFS_CODE_ENUMERATOR
};

// How many codes there are: Code values are 0 .. kCodeCount - 1.
inline constexpr int kCodeCount = 0
#define HOODYFS_CODE_COUNT(code, name, err) +1
    HOODYFS_STATUS_CODES(HOODYFS_CODE_COUNT)
#undef HOODYFS_CODE_COUNT
    ;

// The errno a POSIX caller sees for `code` (0 for kOk).
int CodeErrno(Code code);
std::string_view CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string message, int err = 0);

  static Status OK() { return Status(); }
  static Status NotFound(std::string m) { return Status(Code::kNotFound, std::move(m)); }
  static Status Exists(std::string m) { return Status(Code::kExists, std::move(m)); }
  static Status InvalidArgument(std::string m) {
    return Status(Code::kInvalidArgument, std::move(m));
  }
  static Status NoSpace(std::string m) { return Status(Code::kNoSpace, std::move(m)); }
  static Status IoError(std::string m, int err = EIO) {
    return Status(Code::kIoError, std::move(m), err);
  }
  static Status Corruption(std::string m) { return Status(Code::kCorruption, std::move(m)); }
  static Status Busy(std::string m) { return Status(Code::kBusy, std::move(m)); }
  static Status ReadOnly(std::string m) { return Status(Code::kReadOnly, std::move(m)); }
  static Status NotEmpty(std::string m) { return Status(Code::kNotEmpty, std::move(m)); }
  static Status NotSupported(std::string m) { return Status(Code::kNotSupported, std::move(m)); }
  static Status NotDirectory(std::string m) { return Status(Code::kNotDirectory, std::move(m)); }
  static Status IsDirectory(std::string m) { return Status(Code::kIsDirectory, std::move(m)); }
  static Status NameTooLong(std::string m) { return Status(Code::kNameTooLong, std::move(m)); }
  static Status Permission(std::string m) { return Status(Code::kPermission, std::move(m)); }
  static Status TooManyLinks(std::string m) { return Status(Code::kTooManyLinks, std::move(m)); }
  static Status Range(std::string m) { return Status(Code::kRange, std::move(m)); }
  static Status NoData(std::string m) { return Status(Code::kNoData, std::move(m)); }
  static Status Stale(std::string m) { return Status(Code::kStale, std::move(m)); }
  static Status FileTooBig(std::string m) { return Status(Code::kFileTooBig, std::move(m)); }

  bool ok() const { return state_ == nullptr; }
  Code code() const { return state_ ? state_->code : Code::kOk; }
  // The errno this status maps to at a POSIX boundary (0 when OK).
  int ErrnoValue() const;
  const std::string& message() const;
  std::string ToString() const;

  // Prefixes the message with more context ("open store /x: " + message).
  Status WithContext(std::string_view context) const;

  void IgnoreError() const {}

 private:
  struct State {
    Code code;
    int err;
    std::string message;
  };
  std::shared_ptr<const State> state_;  // null when OK; shared so copies are cheap
};

// Converts an errno value into a Status naming `what` failed.
Status FromErrno(int err, std::string_view what);

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  Result(Status status) : status_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    HOODY_ASSERT(!status_.ok(), "Result constructed from an OK status without a value");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & {
    HOODY_ASSERT(ok(), status_.ToString().c_str());
    return *value_;
  }
  const T& value() const& {
    HOODY_ASSERT(ok(), status_.ToString().c_str());
    return *value_;
  }
  T&& value() && {
    HOODY_ASSERT(ok(), status_.ToString().c_str());
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace hoodyfs

#define HOODY_CONCAT_INNER(a, b) a##b
#define HOODY_CONCAT(a, b) HOODY_CONCAT_INNER(a, b)

// The temporaries get unique names: these macros nest (a lambda passed to a
// call inside HOODY_RETURN_IF_ERROR may use them again) and -Wshadow is on.
#define HOODY_RETURN_IF_ERROR_IMPL(var, expr) \
  do {                                        \
    ::hoodyfs::Status var = (expr);           \
    if (!var.ok()) return var;                \
  } while (0)
#define HOODY_RETURN_IF_ERROR(expr) \
  HOODY_RETURN_IF_ERROR_IMPL(HOODY_CONCAT(hoody_status_, __COUNTER__), expr)

#define HOODY_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(tmp).value()

#define HOODY_ASSIGN_OR_RETURN(lhs, expr) \
  HOODY_ASSIGN_OR_RETURN_IMPL(HOODY_CONCAT(hoody_result_, __COUNTER__), lhs, expr)
