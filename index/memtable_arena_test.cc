#include "index/memtable_arena.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hoodyfs::index {
namespace {

struct Block {
  char* at;
  size_t size;
  size_t alignment;
  char fill;
};

TEST(MemTableArenaTest, BlocksAreAlignedDisjointAndKeepTheirBytes) {
  MemTableArena arena;
  std::mt19937 rng(7);
  std::vector<Block> blocks;
  // Past several chunks, the 2 MiB ones included, with a request larger
  // than a chunk among them.
  size_t total = 0;
  for (int i = 0; total < (24u << 20); ++i) {
    const size_t size = i == 500 ? (5u << 20) : 1 + rng() % 3000;
    const size_t alignment = size_t{1} << (rng() % 5);  // 1..16
    auto* p = static_cast<char*>(arena.allocate(size, alignment));
    ASSERT_EQ(reinterpret_cast<uintptr_t>(p) % alignment, 0u);
    const char fill = static_cast<char>(i);
    std::memset(p, fill, size);
    blocks.push_back({p, size, alignment, fill});
    total += size;
  }
  EXPECT_GE(arena.reserved_bytes(), total);
  std::vector<std::pair<char*, char*>> spans;
  for (const Block& b : blocks) {
    ASSERT_EQ(b.at[0], b.fill);
    ASSERT_EQ(b.at[b.size - 1], b.fill);
    spans.emplace_back(b.at, b.at + b.size);
  }
  std::sort(spans.begin(), spans.end());
  for (size_t i = 1; i < spans.size(); ++i) {
    EXPECT_LE(spans[i - 1].second, spans[i].first) << "two blocks overlap";
  }
  // Given back, as a memtable's maps do (under AddressSanitizer each block
  // is its own heap block, which the leak check would report otherwise).
  for (const Block& b : blocks) arena.deallocate(b.at, b.size, b.alignment);
}

TEST(MemTableArenaTest, StringsInTheArenaOutliveTheirCopies) {
  MemTableArena arena;
  std::pmr::string kept(&arena);
  {
    std::pmr::string shortlived(std::string(5000, 'a'), &arena);
    kept = shortlived;  // kept keeps its own allocator: a copy in the arena
  }
  EXPECT_EQ(std::string_view(kept), std::string(5000, 'a'));
  EXPECT_EQ(kept.get_allocator().resource(), &arena);
}

}  // namespace
}  // namespace hoodyfs::index
