#include "snapshotter/engine/names.h"

#include <string>

namespace hoodyfs::snapshotter {
namespace {
bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
}  // namespace

Status ValidatePortableName(std::string_view kind, std::string_view name) {
  constexpr size_t kQuoteMax = 160;  // a hostile name is not echoed whole
  const std::string shown =
      name.size() <= kQuoteMax ? std::string(name) : std::string(name.substr(0, kQuoteMax)) + "...";
  const std::string quoted = std::string(kind) + " '" + shown + "'";
  if (name.empty() || name.size() > 128) {
    return Status::InvalidArgument(quoted + " must be 1 to 128 characters");
  }
  if (!IsAlnum(name[0]))
    return Status::InvalidArgument(quoted + " must start with a letter or digit");
  for (char c : name) {
    if (!IsAlnum(c) && c != '_' && c != '.' && c != '-') {
      return Status::InvalidArgument(quoted + " may hold only letters, digits, '_', '.', '-'");
    }
  }
  if (name.find("..") != std::string_view::npos) {
    return Status::InvalidArgument(quoted + " must not contain '..'");
  }
  return Status::OK();
}

Status ValidateContainerName(std::string_view name) {
  return ValidatePortableName("container name", name);
}

Status ValidateEntryName(std::string_view name) {
  if (name.size() > kNameMax) {
    return Status::NameTooLong("name of " + std::to_string(name.size()) + " bytes (max 255)");
  }
  if (name.empty() || name == "." || name == "..") {
    return Status::InvalidArgument("invalid entry name '" + std::string(name) + "'");
  }
  if (name.find('/') != std::string_view::npos || name.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument("entry name contains '/' or NUL");
  }
  return Status::OK();
}

}  // namespace hoodyfs::snapshotter
