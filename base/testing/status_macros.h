// EXPECT_OK / ASSERT_OK for gtest suites: like EXPECT_TRUE(s.ok()), but a
// failure prints the Status. EXPECT_CODE(code, status) checks the code. Header-only, so
// base_testing needs no gtest.
#pragma once

#include <gtest/gtest.h>

#include "base/status.h"

#define EXPECT_OK(expr)                                                \
  do {                                                                 \
    const ::hoodyfs::Status hoody_expect_ok_ = (expr);                 \
    EXPECT_TRUE(hoody_expect_ok_.ok()) << hoody_expect_ok_.ToString(); \
  } while (0)

#define ASSERT_OK(expr)                                                \
  do {                                                                 \
    const ::hoodyfs::Status hoody_assert_ok_ = (expr);                 \
    ASSERT_TRUE(hoody_assert_ok_.ok()) << hoody_assert_ok_.ToString(); \
  } while (0)

#define EXPECT_CODE(expected, status) \
  EXPECT_EQ(static_cast<int>((status).code()), static_cast<int>(expected)) << (status).ToString()
