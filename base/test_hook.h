// Crash-test hooks. HOODY_TEST_HOOK("name") marks a point where a crash test
// may kill the process. In builds with HOODYFS_TEST_HOOKS defined (every test
// build) the hook calls the installed handler; otherwise it compiles away.
//
// The handler is process-global: crash tests install it in a forked child,
// which then dies (SIGKILL / _exit) at the chosen hook.
#pragma once

#include <string_view>

namespace hoodyfs {

using TestHookFn = void (*)(std::string_view name);
// Installs the handler (nullptr removes it). Not thread-safe against hooks
// firing concurrently; install before starting work.
void SetTestHook(TestHookFn fn);
void RunTestHook(std::string_view name);
// True when this build compiled the hooks in.
bool TestHooksEnabled();

}  // namespace hoodyfs

#ifdef HOODYFS_TEST_HOOKS
#define HOODY_TEST_HOOK(name) ::hoodyfs::RunTestHook(name)
#else
#define HOODY_TEST_HOOK(name) \
  do {                        \
  } while (0)
#endif
