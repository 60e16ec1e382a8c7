// Always-on assertions for invariants (HOODY_ASSERT) and debug-only checks
// for expensive ones (HOODY_DCHECK). A failed assertion prints file:line and
// the message, then aborts: a storage engine that continues past a broken
// invariant writes corruption.
#pragma once

namespace hoodyfs {
[[noreturn]] void AssertFail(const char* file, int line, const char* expr, const char* message);
}  // namespace hoodyfs

#define HOODY_ASSERT(cond, message)                                \
  do {                                                             \
    if (!(cond)) [[unlikely]] {                                    \
      ::hoodyfs::AssertFail(__FILE__, __LINE__, #cond, (message)); \
    }                                                              \
  } while (0)

#ifdef NDEBUG
#define HOODY_DCHECK(cond, message) \
  do {                              \
  } while (0)
#else
#define HOODY_DCHECK(cond, message) HOODY_ASSERT(cond, message)
#endif
