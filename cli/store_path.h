// Which store a command works on: --store DIR, else $HOODYFS_STORE, else
// /var/lib/hoodyfs.
#pragma once

#include <string>

namespace hoodyfs::cli {

inline constexpr char kDefaultStore[] = "/var/lib/hoodyfs";

std::string ResolveStorePath(const std::string& flag);

}  // namespace hoodyfs::cli
