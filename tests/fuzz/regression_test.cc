// Runs every fuzz target (fuzz_targets.h) over its seed corpus and its
// regression inputs (tests/fuzz/corpus/<target>/, tests/fuzz/regressions/
// <target>/: inputs that once broke a target, kept after the fix), in every
// build, so what a fuzzer found stays fixed without a fuzzer.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_targets.h"

namespace hoodyfs::fuzz {
namespace {

// The files of tests/fuzz/{corpus,regressions}/<target>/, sorted.
std::vector<std::filesystem::path> Inputs(const std::string& target) {
  std::vector<std::filesystem::path> files;
  for (const char* kind : {"corpus", "regressions"}) {
    const std::filesystem::path dir = std::filesystem::path(HOODYFS_FUZZ_DIR) / kind / target;
    if (!std::filesystem::is_directory(dir)) continue;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      if (entry.is_regular_file() && entry.path().filename() != "README.md") {
        files.push_back(entry.path());
      }
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string Contents(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A target breaks by aborting (the test binary dies, naming the input it
// printed last) or by throwing (caught here, the input named).
void RunAll(const std::string& target, void (*run)(std::string_view)) {
  const std::vector<std::filesystem::path> inputs = Inputs(target);
  ASSERT_FALSE(inputs.empty()) << "no seed inputs for " << target;
  for (const auto& path : inputs) {
    SCOPED_TRACE(path.string());
    std::cerr << "fuzz input " << path.string() << "\n";
    EXPECT_NO_THROW(run(Contents(path)));
  }
}

TEST(FuzzRegressionTest, RestRouter) { RunAll("rest_router", RestRouter); }
TEST(FuzzRegressionTest, StrictJson) { RunAll("strict_json", StrictJson); }
TEST(FuzzRegressionTest, HttpResponse) { RunAll("http_response", HttpResponse); }
TEST(FuzzRegressionTest, TarImport) { RunAll("tar_import", TarImport); }
TEST(FuzzRegressionTest, SendReceive) { RunAll("send_receive", SendReceive); }

}  // namespace
}  // namespace hoodyfs::fuzz
