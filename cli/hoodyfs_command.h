// hoodyfs: the store and filesystem command (docs/cli.md is the
// reference): init, fsck, import, export; mount, umount and serve come
// with the daemon. Output goes to `out`; errors are one line on `err`
// ("hoodyfs: ...") and a non-zero exit code from cli/exit_codes.h.
#pragma once

#include <iosfwd>

namespace hoodyfs::cli {

int RunHoodyfsCommand(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace hoodyfs::cli
