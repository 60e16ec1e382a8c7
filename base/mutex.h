// Mutex and MutexLock: std::mutex and std::unique_lock with the thread-safety
// attributes libstdc++ leaves out, so clang checks every GUARDED_BY member
// guarded by one (base/thread_annotations.h). WriterLock and ReaderLock do
// the same for any annotated reader/writer lock (index::StateMutex).
//
// Why wrappers and not attributes on the standard types: libstdc++'s
// std::mutex carries none (libc++ has them, but the project builds against
// libstdc++ with both compilers), and the analysis only follows a lock
// through types that say they acquire and release it. The wrappers are the
// smallest such types: each call is the std:: call, inline, so a GCC build
// compiles to the same code as before.
//
// Waiting: MutexLock::Wait / WaitFor wait on a std::condition_variable with
// the lock it holds. The analysis sees the lock held across the call (it is
// released and taken again inside), so write the wait loop out
// (`while (!ready_) lock.Wait(cv_);`): the condition, read in the caller, is
// then checked against the lock too, where a predicate lambda would not be.
//
// Thread-safety: as std::mutex. Not recursive.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "base/thread_annotations.h"

namespace hoodyfs {

class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }
  // For a function the analysis cannot see the lock of (NO_THREAD_SAFETY_ANALYSIS
  // is the other way out); checks nothing at run time.
  void AssertHeld() const ASSERT_CAPABILITY(this) {}

 private:
  friend class MutexLock;
  std::mutex mu_;
};

// Holds a Mutex for its scope; Unlock and Lock let go of it and take it
// back in the middle (the destructor releases it only if held).
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) ACQUIRE(mu) : lock_(mu.mu_) {}
  ~MutexLock() RELEASE() {}
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  void Unlock() RELEASE() { lock_.unlock(); }
  void Lock() ACQUIRE() { lock_.lock(); }

  // Releases the mutex while waiting on `cv`; holds it again on return
  // (spurious wake-ups included: loop on the condition).
  void Wait(std::condition_variable& cv) { cv.wait(lock_); }
  template <class Rep, class Period>
  std::cv_status WaitFor(std::condition_variable& cv,
                         const std::chrono::duration<Rep, Period>& timeout) {
    return cv.wait_for(lock_, timeout);
  }

 private:
  std::unique_lock<std::mutex> lock_;
};

// Holds an annotated reader/writer lock (lock / unlock, lock_shared /
// unlock_shared) exclusively, or shared, for its scope.
template <class SharedMutex>
class SCOPED_CAPABILITY WriterLock {
 public:
  explicit WriterLock(SharedMutex& mu) ACQUIRE(mu) : mu_(mu) { mu_.lock(); }
  ~WriterLock() RELEASE() { mu_.unlock(); }
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

 private:
  SharedMutex& mu_;
};

template <class SharedMutex>
class SCOPED_CAPABILITY ReaderLock {
 public:
  explicit ReaderLock(SharedMutex& mu) ACQUIRE_SHARED(mu) : mu_(mu) { mu_.lock_shared(); }
  ~ReaderLock() RELEASE() { mu_.unlock_shared(); }
  ReaderLock(const ReaderLock&) = delete;
  ReaderLock& operator=(const ReaderLock&) = delete;

 private:
  SharedMutex& mu_;
};

}  // namespace hoodyfs
