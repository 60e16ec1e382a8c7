#include "cli/store_path.h"

#include <cstdlib>

namespace hoodyfs::cli {

std::string ResolveStorePath(const std::string& flag) {
  if (!flag.empty()) return flag;
  // getenv is fine here: read once at start-up, before any thread exists.
  if (const char* env = std::getenv("HOODYFS_STORE"); env != nullptr && *env != '\0')
    return env;  // NOLINT(concurrency-mt-unsafe)
  return kDefaultStore;
}

}  // namespace hoodyfs::cli
