// RunFileExerciserInChild: the exerciser as a program of its own
// (file_exerciser_main.cc), started with fork and exec by RunCommand.
#include <fstream>
#include <iterator>

#include "tests/cli/run_command.h"
#include "tests/fuse/file_exerciser.h"

namespace hoodyfs::testing {

::testing::AssertionResult RunFileExerciserInChild(const std::string& path,
                                                   const ExerciserOptions& options,
                                                   const std::string& contents_file,
                                                   std::string* final_contents) {
  const CommandResult r = RunCommand(
      HOODYFS_FILE_EXERCISER, {std::to_string(options.seed), std::to_string(options.operations),
                               std::to_string(options.max_size),
                               std::to_string(options.max_io_bytes), path, contents_file});
  if (r.exit_code != 0) {
    return ::testing::AssertionFailure() << "file_exerciser: " << r.Describe();
  }
  std::ifstream in(contents_file, std::ios::binary);
  final_contents->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return ::testing::AssertionSuccess();
}

}  // namespace hoodyfs::testing
