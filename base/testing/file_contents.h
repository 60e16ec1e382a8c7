// The whole contents of a host file, for tests: the bytes, or "" when the
// file cannot be opened (tests assert on the contents, so a missing file
// shows up as a mismatch naming what was expected).
#pragma once

#include <string>

namespace hoodyfs::testing {

std::string FileContents(const std::string& path);

}  // namespace hoodyfs::testing
