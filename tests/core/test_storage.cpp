// The small-block cache behind Storage::allocate: freed small blocks are kept per thread and
// handed out again, storage byte counts stay exact (requested bytes, never the rounded class),
// large blocks are kept by page-rounded size in a process-wide cache, and release_cached_memory
// empties both.
#include <thread>

#include "testing.h"

namespace descent {
namespace {

TEST(Storage, SmallBlocksAreReusedAndCountedExactly) {
  release_cached_memory();
  MemoryStats before = memory_stats();
  void* first = nullptr;
  {
    auto storage = Storage::allocate(100);
    first = storage->data();
    EXPECT_EQ(reinterpret_cast<uintptr_t>(first) % kStorageAlignment, 0u);
    EXPECT_EQ(memory_stats().storage_bytes - before.storage_bytes, 100);
    EXPECT_EQ(memory_stats().cached_bytes, before.cached_bytes);
  }
  MemoryStats freed = memory_stats();
  EXPECT_EQ(freed.storage_bytes, before.storage_bytes);
  EXPECT_EQ(freed.live_storages, before.live_storages);
  EXPECT_EQ(freed.cached_bytes - before.cached_bytes, 128);  // 100 bytes -> the 128-byte class
  {
    auto again = Storage::allocate(120);  // same class: the cached block comes back
    EXPECT_EQ(again->data(), first);
    EXPECT_EQ(memory_stats().cached_bytes, before.cached_bytes);
    EXPECT_EQ(memory_stats().storage_bytes - before.storage_bytes, 120);
  }
  release_cached_memory();
  EXPECT_EQ(memory_stats().cached_bytes, 0);
}

TEST(Storage, LargeBlocksAreReusedByPageRoundedSize) {
  release_cached_memory();
  MemoryStats before = memory_stats();
  void* first = nullptr;
  {
    auto large = Storage::allocate((1 << 20) + 10);
    first = large->data();
    EXPECT_EQ(reinterpret_cast<uintptr_t>(first) % kStorageAlignment, 0u);
    EXPECT_EQ(memory_stats().storage_bytes - before.storage_bytes, (1 << 20) + 10);
  }
  EXPECT_EQ(memory_stats().cached_bytes, (1 << 20) + 4096);  // rounded up to whole pages
  {
    auto other_size = Storage::allocate(1 << 21);  // another size: a new block
    EXPECT_NE(other_size->data(), first);
    auto same_pages = Storage::allocate((1 << 20) + 4000);  // the same page count: the cached block
    EXPECT_EQ(same_pages->data(), first);
  }
  EXPECT_EQ(memory_stats().storage_bytes, before.storage_bytes);
  release_cached_memory();
  EXPECT_EQ(memory_stats().cached_bytes, 0);
}

TEST(Storage, EmptyStoragesTakeTheSmallestClass) {
  release_cached_memory();
  { auto empty = Storage::allocate(0); }  // takes one 64-byte block
  EXPECT_EQ(memory_stats().cached_bytes, kStorageAlignment);
  release_cached_memory();
}

TEST(Storage, BlocksFreedOnAnotherThreadAreReleasedWhenItEnds) {
  release_cached_memory();
  MemoryStats before = memory_stats();
  auto storage = Storage::allocate(1000);
  std::thread([moved = std::move(storage)]() mutable { moved.reset(); }).join();
  MemoryStats after = memory_stats();
  EXPECT_EQ(after.storage_bytes, before.storage_bytes);
  EXPECT_EQ(after.live_storages, before.live_storages);
  EXPECT_EQ(after.cached_bytes, 0);  // the thread's cache went away with it
}

}  // namespace
}  // namespace descent
