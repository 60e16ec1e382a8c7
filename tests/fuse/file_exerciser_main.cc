// file_exerciser SEED OPERATIONS MAX_SIZE MAX_IO_BYTES PATH CONTENTS_FILE
//
// Runs the file exerciser on PATH in a process of its own, for tests whose
// process also serves the mount (RunFileExerciserInChild). Exit 0 with the
// final contents written to CONTENTS_FILE; exit 1 with the failure (seed,
// step, operation, difference) on stderr; exit 2 on bad arguments.
#include <cstdio>
#include <fstream>
#include <string>

#include "tests/fuse/file_exerciser.h"

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(
        stderr, "usage: file_exerciser SEED OPERATIONS MAX_SIZE MAX_IO_BYTES PATH CONTENTS_FILE\n");
    return 2;
  }
  hoodyfs::testing::ExerciserOptions options;
  try {
    options.seed = std::stoull(argv[1]);
    options.operations = std::stoi(argv[2]);
    options.max_size = std::stoull(argv[3]);
    options.max_io_bytes = static_cast<uint32_t>(std::stoul(argv[4]));
  } catch (const std::exception&) {
    std::fprintf(stderr, "file_exerciser: the first four arguments are numbers\n");
    return 2;
  }
  std::string contents;
  const ::testing::AssertionResult r =
      hoodyfs::testing::RunFileExerciser(argv[5], options, &contents);
  if (!r) {
    std::fprintf(stderr, "%s\n", r.message());
    return 1;
  }
  std::ofstream out(argv[6], std::ios::binary);
  out << contents;
  out.close();
  return out.good() ? 0 : 2;
}
