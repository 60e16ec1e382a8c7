// FUZZ_CHECK: HOODY_ASSERT with a message built at run time (the input's
// part that broke the rule), for the fuzz targets.
#pragma once

#include <string>

#include "base/assert.h"

#define FUZZ_CHECK(cond, message)                                                     \
  do {                                                                                \
    if (!(cond)) [[unlikely]] {                                                       \
      ::hoodyfs::AssertFail(__FILE__, __LINE__, #cond, std::string(message).c_str()); \
    }                                                                                 \
  } while (0)
