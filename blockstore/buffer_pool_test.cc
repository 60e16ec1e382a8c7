#include "blockstore/buffer_pool.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <thread>
#include <utility>
#include <vector>

namespace hoodyfs::blockstore {
namespace {

constexpr size_t kBytes = 64 << 10;

TEST(BufferPoolTest, AReturnedBufferIsLentAgain) {
  BufferPool pool(kBytes);
  std::byte* first = nullptr;
  {
    BufferPool::Lease a = pool.Borrow(100);
    ASSERT_EQ(a.buffer().size_bytes(), kBytes);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(a.buffer().data()) % kIoAlign, 0u);
    first = a.buffer().data();
    EXPECT_EQ(pool.idle_buffers(), 0u);
  }
  EXPECT_EQ(pool.idle_buffers(), 1u);
  BufferPool::Lease b = pool.Borrow(kBytes);
  EXPECT_EQ(b.buffer().data(), first);
  EXPECT_EQ(pool.idle_buffers(), 0u);
  // Two at once: the second is new.
  BufferPool::Lease c = pool.Borrow(1);
  EXPECT_NE(c.buffer().data(), first);
}

TEST(BufferPoolTest, OnlyBuffersOfThePoolsSizeGoBack) {
  BufferPool pool(kBytes);
  {
    BufferPool::Lease big = pool.Borrow(kBytes + 1);
    EXPECT_EQ(big.buffer().size_bytes(), kBytes + 1);
    BufferPool::Lease grown = pool.Borrow(10);
    grown.buffer() = AlignedBuffer::ForReading(2 * kBytes);  // a caller that needed more
  }
  EXPECT_EQ(pool.idle_buffers(), 0u);
}

TEST(BufferPoolTest, AMovedLeaseGoesBackOnce) {
  BufferPool pool(kBytes);
  {
    BufferPool::Lease a = pool.Borrow(1);
    BufferPool::Lease b(std::move(a));
    BufferPool::Lease c;
    c = std::move(b);
    c = pool.Borrow(1);  // the first goes back as the second takes its place
    EXPECT_EQ(pool.idle_buffers(), 1u);
  }
  EXPECT_EQ(pool.idle_buffers(), 2u);
}

TEST(BufferPoolTest, KeepsWhatThePeriodBeforeNeededAtOnce) {
  BufferPool pool(kBytes);
  { BufferPool::Lease a = pool.Borrow(1), b = pool.Borrow(1), c = pool.Borrow(1); }
  ASSERT_EQ(pool.idle_buffers(), 3u);
  // Three were lent at once in this period: all are kept.
  EXPECT_EQ(pool.ReleaseUnneeded(), 0u);
  EXPECT_EQ(pool.idle_buffers(), 3u);
  // The next period lends one at a time (a trickle that never stops): two go.
  for (int i = 0; i < 5; ++i) BufferPool::Lease one = pool.Borrow(1);
  EXPECT_EQ(pool.ReleaseUnneeded(), 2 * kBytes);
  EXPECT_EQ(pool.idle_buffers(), 1u);
  // A period that lends nothing: the last goes.
  EXPECT_EQ(pool.ReleaseUnneeded(), kBytes);
  EXPECT_EQ(pool.idle_buffers(), 0u);
  // A lease held across releases is never counted out, and goes back after.
  BufferPool::Lease held = pool.Borrow(1);
  EXPECT_EQ(pool.ReleaseUnneeded(), 0u);
  EXPECT_EQ(pool.ReleaseUnneeded(), 0u);
  { BufferPool::Lease gone = std::move(held); }
  EXPECT_EQ(pool.idle_buffers(), 1u);
  // A buffer of its own, or one a caller replaced, counts out as it goes.
  {
    BufferPool::Lease big = pool.Borrow(kBytes + 1);
    BufferPool::Lease grown = pool.Borrow(1);
    grown.buffer() = AlignedBuffer::ForReading(2 * kBytes);
  }
  EXPECT_EQ(pool.idle_buffers(), 0u);
  EXPECT_EQ(pool.ReleaseUnneeded(), 0u);  // nothing idle; nothing lent
}

TEST(BufferPoolTest, HoldsNoMoreThanWereLentAtOnce) {
  BufferPool pool(kBytes);
  constexpr int kThreads = 4;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&pool, t] {
      for (int i = 0; i < 1000; ++i) {
        BufferPool::Lease l = pool.Borrow(kBytes);
        l.buffer().data()[i % kBytes] = std::byte(t);  // each its own buffer
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_GE(pool.idle_buffers(), 1u);
  EXPECT_LE(pool.idle_buffers(), static_cast<size_t>(kThreads));
}

}  // namespace
}  // namespace hoodyfs::blockstore
