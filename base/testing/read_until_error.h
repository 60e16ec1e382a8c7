// A host file read with read(2) until its end or its first error, for
// tests that expect reads to fail part way: a damaged block reads EIO
// through a mount, and the test wants both the bytes before it and the
// errno (FileContents, through an ifstream, keeps neither apart).
#pragma once

#include <string>

namespace hoodyfs::testing {

// The bytes read; *error is 0 when the whole file was read, else the errno
// of the failed open or read.
std::string ReadUntilError(const std::string& path, int* error);

}  // namespace hoodyfs::testing
