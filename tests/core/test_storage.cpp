// The small-block cache behind Storage::allocate: freed small blocks are kept per thread and
// handed out again, storage byte counts stay exact (requested bytes, never the rounded class),
// large blocks are kept by page-rounded size in a process-wide cache, and release_cached_memory
// empties both. Then the ObjectPool of small objects (storages, tensor impls, graph nodes): reuse
// by size class, the per-thread cap, frees on another thread, and the live counters.
#include <set>
#include <thread>
#include <vector>

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

// ---- ObjectPool ----

template <size_t Bytes>
struct Blob {
  unsigned char bytes[Bytes];
};
using Blob48 = Blob<48>;
using Blob64 = Blob<64>;
using Blob1024 = Blob<detail::kLargestPooledObject>;

template <typename T>
T* pool_new() {
  return ObjectPool<T>().allocate(1);
}
template <typename T>
void pool_delete(T* block) {
  ObjectPool<T>().deallocate(block, 1);
}

TEST(ObjectPool, AFreedBlockComesBackForTheSameSizeClass) {
  release_cached_memory();
  Blob48* first = pool_new<Blob48>();
  EXPECT_EQ(reinterpret_cast<uintptr_t>(first) % alignof(std::max_align_t), 0u);
  pool_delete(first);
  EXPECT_EQ(detail::thread_pooled_bytes(), 48u);
  Blob48* again = pool_new<Blob48>();
  EXPECT_EQ(again, first);
  EXPECT_EQ(detail::thread_pooled_bytes(), 0u);
  pool_delete(again);
  // 40 bytes round up to the same 48-byte class: it takes the same block.
  Blob<40>* rounded = pool_new<Blob<40>>();
  EXPECT_EQ(static_cast<void*>(rounded), static_cast<void*>(first));
  pool_delete(rounded);
  release_cached_memory();
}

TEST(ObjectPool, SizeClassesAreKeptApart) {
  release_cached_memory();
  Blob48* small = pool_new<Blob48>();
  pool_delete(small);
  Blob64* larger = pool_new<Blob64>();  // the 48-byte block is still pooled: a new one
  EXPECT_NE(static_cast<void*>(larger), static_cast<void*>(small));
  EXPECT_EQ(detail::thread_pooled_bytes(), 48u);
  pool_delete(larger);
  EXPECT_EQ(detail::thread_pooled_bytes(), 48u + 64u);
  EXPECT_EQ(pool_new<Blob64>(), larger);
  EXPECT_EQ(pool_new<Blob48>(), small);
  pool_delete(small);
  pool_delete(larger);
  release_cached_memory();
}

TEST(ObjectPool, ObjectsAboveTheLargestClassAreNotPooled) {
  release_cached_memory();
  pool_delete(pool_new<Blob<detail::kLargestPooledObject + 16>>());
  EXPECT_EQ(detail::thread_pooled_bytes(), 0u);
  pool_delete(pool_new<Blob1024>());
  EXPECT_EQ(detail::thread_pooled_bytes(), detail::kLargestPooledObject);
  release_cached_memory();
}

TEST(ObjectPool, BlocksPastTheThreadCapGoBackToTheSystem) {
  release_cached_memory();
  const size_t fits = detail::kPooledBytesPerThread / sizeof(Blob1024);
  std::vector<Blob1024*> blocks;
  for (size_t i = 0; i < fits + 10; ++i) blocks.push_back(pool_new<Blob1024>());
  for (Blob1024* block : blocks) pool_delete(block);
  EXPECT_EQ(detail::thread_pooled_bytes(), detail::kPooledBytesPerThread);
  // The pool hands back exactly the first `fits` freed blocks (last freed first); the ten freed
  // past the cap were returned to the system.
  std::set<Blob1024*> kept(blocks.begin(), blocks.begin() + static_cast<std::ptrdiff_t>(fits));
  std::vector<Blob1024*> reused;
  for (size_t i = 0; i < fits; ++i) reused.push_back(pool_new<Blob1024>());
  EXPECT_EQ(std::set<Blob1024*>(reused.begin(), reused.end()), kept);
  EXPECT_EQ(detail::thread_pooled_bytes(), 0u);
  for (Blob1024* block : reused) pool_delete(block);
  release_cached_memory();
  EXPECT_EQ(detail::thread_pooled_bytes(), 0u);
}

TEST(ObjectPool, ABlockFreedOnAnotherThreadJoinsThatThreadsPool) {
  release_cached_memory();
  Blob48* from_main = pool_new<Blob48>();
  void* reused_on_worker = nullptr;
  size_t pooled_on_worker = 0;
  std::thread([&] {
    pool_delete(from_main);
    pooled_on_worker = detail::thread_pooled_bytes();
    Blob48* again = pool_new<Blob48>();
    reused_on_worker = again;
    pool_delete(again);
  }).join();  // the worker's pool is freed as it ends
  EXPECT_EQ(pooled_on_worker, 48u);
  EXPECT_EQ(reused_on_worker, static_cast<void*>(from_main));
  EXPECT_EQ(detail::thread_pooled_bytes(), 0u);  // nothing went into this thread's pool

  Blob64* from_worker = nullptr;
  std::thread([&] { from_worker = pool_new<Blob64>(); }).join();
  pool_delete(from_worker);  // allocated by a thread that has ended
  EXPECT_EQ(detail::thread_pooled_bytes(), 64u);
  EXPECT_EQ(pool_new<Blob64>(), from_worker);
  pool_delete(from_worker);
  release_cached_memory();
}

TEST(ObjectPool, ReleaseCachedMemoryEmptiesThePool) {
  std::vector<Blob48*> blocks;
  for (int i = 0; i < 100; ++i) blocks.push_back(pool_new<Blob48>());
  for (Blob48* block : blocks) pool_delete(block);
  EXPECT_GE(detail::thread_pooled_bytes(), 100u * 48u);
  release_cached_memory();
  EXPECT_EQ(detail::thread_pooled_bytes(), 0u);
  Blob48* fresh = pool_new<Blob48>();  // still works after the release
  pool_delete(fresh);
  EXPECT_EQ(detail::thread_pooled_bytes(), 48u);
  release_cached_memory();
}

std::string counts(const MemoryStats& s) {
  return fmt::format("{} tensors, {} storages, {} bytes, {} cached", s.live_tensors, s.live_storages,
                     s.storage_bytes, s.cached_bytes);
}
bool same_live_counts(const MemoryStats& a, const MemoryStats& b) {
  return a.live_tensors == b.live_tensors && a.live_storages == b.live_storages && a.storage_bytes == b.storage_bytes;
}

TEST(ObjectPool, LiveCountersSeeThroughPooling) {
  release_cached_memory();
  MemoryStats before = memory_stats();
  {
    Tensor a = core::ones({3});
    Tensor view = a.view({1, 3});  // a second tensor over the same storage
    MemoryStats alive = memory_stats();
    EXPECT_EQ(alive.live_tensors - before.live_tensors, 2) << counts(alive);
    EXPECT_EQ(alive.live_storages - before.live_storages, 1) << counts(alive);
    EXPECT_EQ(alive.storage_bytes - before.storage_bytes, 12) << counts(alive);
  }
  MemoryStats freed = memory_stats();
  EXPECT_TRUE(same_live_counts(before, freed)) << counts(before) << " -> " << counts(freed);
  // The impls and the storage object went to the object pool, which is not cached storage: only
  // the 12-byte data block (64-byte class) is.
  EXPECT_GT(detail::thread_pooled_bytes(), 0u);
  EXPECT_EQ(freed.cached_bytes - before.cached_bytes, kStorageAlignment);
  {
    Tensor again = core::ones({3});  // out of pooled blocks
    EXPECT_EQ(memory_stats().live_tensors - before.live_tensors, 1);
  }
  EXPECT_TRUE(same_live_counts(before, memory_stats()));
  release_cached_memory();
}

// Tensors made on pool threads (parallel_for) or a worker thread (a DataLoader's) and dropped on
// another: every count comes back, whichever thread freed what.
TEST(ObjectPool, TensorsCrossingThreadsKeepTheCountsExact) {
  release_cached_memory();
  MemoryStats before = memory_stats();
  std::vector<Tensor> made_by_workers(64);
  parallel_for(0, 64, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) made_by_workers[i] = core::full({static_cast<int64_t>(i % 5 + 1)}, double(i));
  });
  Tensor made_here = core::arange(0, 8);
  Tensor from_thread;
  std::thread([&] {
    from_thread = core::full({4}, 2.0) * 3.0;
    Tensor dropped_there = made_here * 2;  // uses a tensor of this thread
    made_here = Tensor();                  // and drops it there
  }).join();
  for (int64_t i = 0; i < 64; ++i) EXPECT_EQ(made_by_workers[i].at({0}), double(i));
  EXPECT_EQ(from_thread.to_vector<float>(), std::vector<float>(4, 6.0f));
  made_by_workers.clear();
  from_thread = Tensor();
  MemoryStats after = memory_stats();
  EXPECT_TRUE(same_live_counts(before, after)) << counts(before) << " -> " << counts(after);
  release_cached_memory();
}

}  // namespace
}  // namespace descent
