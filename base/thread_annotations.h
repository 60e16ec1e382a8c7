// Clang's thread-safety annotations (-Wthread-safety): a lock rule written
// where the state is declared, and checked by the compiler at every use.
//
//   Mutex mu_;
//   int count_ GUARDED_BY(mu_);          // read or written only with mu_ held
//   void Bump() REQUIRES(mu_);           // callers hold mu_
//   void Stop() EXCLUDES(mu_);           // takes mu_ itself: callers must not hold it
//
// The analysis follows locks taken and released inside one function through
// types that carry the attributes: base/mutex.h's Mutex and MutexLock (and
// index::StateMutex with its ReaderLock / WriterLock). libstdc++'s std::mutex
// and std::lock_guard carry none, so state guarded by a plain std::mutex is
// not checked. Where the analysis cannot follow a rule (a lock held by an
// object across calls, a callback run under a lock it cannot see) the
// function says NO_THREAD_SAFETY_ANALYSIS, with the reason beside it.
//
// Under GCC every macro is empty: the annotations change nothing but the
// clang build's warnings (-Werror there: a broken rule fails that build).
// See docs/design.md, "Checking the lock rules, races and hostile input".
#pragma once

#if defined(__clang__)
#define HOODY_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define HOODY_THREAD_ANNOTATION(x)
#endif

// A type that is a lock (a "capability" to the analysis); `x` names its kind
// in warnings ("mutex", "state lock").
#define CAPABILITY(x) HOODY_THREAD_ANNOTATION(capability(x))
// An RAII type that holds a capability from its constructor to its destructor.
#define SCOPED_CAPABILITY HOODY_THREAD_ANNOTATION(scoped_lockable)

// A member read or written only with `x` held (exclusively to write; shared
// suffices to read).
#define GUARDED_BY(x) HOODY_THREAD_ANNOTATION(guarded_by(x))
// The pointee of a pointer member is guarded by `x` (the pointer itself is not).
#define PT_GUARDED_BY(x) HOODY_THREAD_ANNOTATION(pt_guarded_by(x))
// Lock order: this lock is taken before / after the ones named.
#define ACQUIRED_BEFORE(...) HOODY_THREAD_ANNOTATION(acquired_before(__VA_ARGS__))
#define ACQUIRED_AFTER(...) HOODY_THREAD_ANNOTATION(acquired_after(__VA_ARGS__))

// Preconditions of a function: the caller holds these (exclusively or shared).
#define REQUIRES(...) HOODY_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define REQUIRES_SHARED(...) HOODY_THREAD_ANNOTATION(requires_shared_capability(__VA_ARGS__))
// The function takes these itself: the caller must not hold them.
#define EXCLUDES(...) HOODY_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))

// The function acquires / releases the capability (none named: `this`, or
// for a SCOPED_CAPABILITY the one it holds).
#define ACQUIRE(...) HOODY_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define ACQUIRE_SHARED(...) HOODY_THREAD_ANNOTATION(acquire_shared_capability(__VA_ARGS__))
#define RELEASE(...) HOODY_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define RELEASE_SHARED(...) HOODY_THREAD_ANNOTATION(release_shared_capability(__VA_ARGS__))
#define RELEASE_GENERIC(...) HOODY_THREAD_ANNOTATION(release_generic_capability(__VA_ARGS__))
#define TRY_ACQUIRE(...) HOODY_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
// Tells the analysis the capability is held here (checked at run time, if
// at all, by the function itself).
#define ASSERT_CAPABILITY(x) HOODY_THREAD_ANNOTATION(assert_capability(x))
// The function returns a reference to the capability `x`.
#define RETURN_CAPABILITY(x) HOODY_THREAD_ANNOTATION(lock_returned(x))

// Turns the analysis off for one function. Always with a comment saying why.
#define NO_THREAD_SAFETY_ANALYSIS HOODY_THREAD_ANNOTATION(no_thread_safety_analysis)
