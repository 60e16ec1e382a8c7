// Which sanitizer the build runs under, as macros both compilers set the
// same way: GCC defines __SANITIZE_ADDRESS__ (and __SANITIZE_THREAD__),
// clang answers __has_feature. Code that must behave differently under one
// (an arena that gives each allocation its own heap block, a test that runs
// a tenth of its count) checks these instead of repeating the test.
//   HOODYFS_ASAN       AddressSanitizer
//   HOODYFS_TSAN       ThreadSanitizer
//   HOODYFS_SANITIZED  AddressSanitizer or ThreadSanitizer
#pragma once

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HOODYFS_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#define HOODYFS_TSAN 1
#endif
#endif
#ifdef __SANITIZE_ADDRESS__
#define HOODYFS_ASAN 1
#endif
#ifdef __SANITIZE_THREAD__
#define HOODYFS_TSAN 1
#endif
#if defined(HOODYFS_ASAN) || defined(HOODYFS_TSAN)
#define HOODYFS_SANITIZED 1
#endif
