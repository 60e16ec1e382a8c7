// libFuzzer's entry for one target: HOODYFS_FUZZ_TARGET names the function
// of fuzz_targets.h (set per program in CMakeLists.txt).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tests/fuzz/fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  hoodyfs::fuzz::HOODYFS_FUZZ_TARGET(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
