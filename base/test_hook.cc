#include "base/test_hook.h"

#include <atomic>

namespace hoodyfs {
namespace {
std::atomic<TestHookFn> g_hook{nullptr};
}

void SetTestHook(TestHookFn fn) { g_hook.store(fn); }

void RunTestHook(std::string_view name) {
  if (TestHookFn fn = g_hook.load(std::memory_order_acquire)) fn(name);
}

bool TestHooksEnabled() {
#ifdef HOODYFS_TEST_HOOKS
  return true;
#else
  return false;
#endif
}

}  // namespace hoodyfs
