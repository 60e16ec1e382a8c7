// Validation of user-supplied names: container names and directory entry
// names. Each failure names the problem.
#pragma once

#include <string_view>

#include "base/status.h"

namespace hoodyfs::snapshotter {

inline constexpr size_t kNameMax = 255;

// The rule every name a user gives us obeys (containers, snapshot names
// and aliases): [A-Za-z0-9][A-Za-z0-9_.-]{0,127}, and no "..". `kind` says
// what the name is for in the error ("container name", "alias").
// Errors: kInvalidArgument (quoting at most 160 bytes of the name).
Status ValidatePortableName(std::string_view kind, std::string_view name);

// ValidatePortableName("container name", name).
Status ValidateContainerName(std::string_view name);

// A directory entry name: 1..255 bytes, no '/' or NUL, not "." or "..".
// Errors: kNameTooLong, kInvalidArgument.
Status ValidateEntryName(std::string_view name);

}  // namespace hoodyfs::snapshotter
