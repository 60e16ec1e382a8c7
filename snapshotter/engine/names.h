// Validation of user-supplied names: container names and directory entry
// names. Each failure names the problem.
#pragma once

#include <string_view>

#include "base/status.h"

namespace hoodyfs::snapshotter {

inline constexpr size_t kNameMax = 255;

// [A-Za-z0-9][A-Za-z0-9_.-]{0,127}, and no "..".
// Errors: kInvalidArgument.
Status ValidateContainerName(std::string_view name);

// A directory entry name: 1..255 bytes, no '/' or NUL, not "." or "..".
// Errors: kNameTooLong, kInvalidArgument.
Status ValidateEntryName(std::string_view name);

}  // namespace hoodyfs::snapshotter
