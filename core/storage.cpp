// Storage allocation, the per-thread cache of small blocks, the process-wide cache of large ones,
// and the live counters (per thread, summed by memory_stats).
#include <descent/core/storage.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <vector>

#include <descent/core/error.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define DESCENT_POISON(data, bytes) ASAN_POISON_MEMORY_REGION(data, bytes)
#define DESCENT_UNPOISON(data, bytes) ASAN_UNPOISON_MEMORY_REGION(data, bytes)
#else
#define DESCENT_POISON(data, bytes) ((void)(data), (void)(bytes))
#define DESCENT_UNPOISON(data, bytes) ((void)(data), (void)(bytes))
#endif

namespace descent {

namespace {

// ---- live counters ----
//
// NOTE: every tensor and storage changes these, several times per op, and a locked
// read-modify-write of a shared atomic costs more than much of a tiny op's bookkeeping. So each
// thread counts in its own slots (one writer: a plain load and store), memory_stats() sums the
// slots of all threads under a mutex, and a thread that ends folds its counts into the retired
// totals. A count can go negative on one thread (a storage allocated on one, freed on another);
// the sum is exact.
enum Counter { kTensors, kStorages, kStorageBytes, kCachedBytes, kCounters };
using Counts = std::array<std::atomic<int64_t>, kCounters>;

class ThreadCounters;
struct CounterRegistry {
  std::mutex mutex;
  std::vector<const ThreadCounters*> threads;
  Counts retired{};  // of ended threads, and changes made while a thread's slots are gone
};
// Never destroyed: storages may still be freed while static objects are being destroyed.
CounterRegistry& registry() {
  static CounterRegistry* instance = new CounterRegistry();
  return *instance;
}

class ThreadCounters {
 public:
  ThreadCounters() {
    std::lock_guard lock(registry().mutex);
    registry().threads.push_back(this);
    alive() = true;
  }
  ~ThreadCounters() {
    std::lock_guard lock(registry().mutex);
    for (int c = 0; c < kCounters; ++c) registry().retired[c].fetch_add(get(Counter(c)), std::memory_order_relaxed);
    std::erase(registry().threads, this);
    alive() = false;
  }
  ThreadCounters(const ThreadCounters&) = delete;
  ThreadCounters& operator=(const ThreadCounters&) = delete;

  // Trivially destructible, so it outlives the slots at thread exit.
  static bool& alive() {
    thread_local bool flag = false;
    return flag;
  }
  void add(Counter c, int64_t delta) {
    values_[c].store(values_[c].load(std::memory_order_relaxed) + delta, std::memory_order_relaxed);
  }
  int64_t get(Counter c) const { return values_[c].load(std::memory_order_relaxed); }

 private:
  Counts values_{};
};

void count(Counter c, int64_t delta) {
  thread_local ThreadCounters counters;
  if (ThreadCounters::alive()) {
    counters.add(c, delta);
  } else {
    registry().retired[c].fetch_add(delta, std::memory_order_relaxed);
  }
}

// ---- the small-block cache ----
//
// Every tensor op allocates its output; for small tensors aligned_alloc and free cost more than
// the arithmetic (and large frees make glibc consolidate all its small free chunks). So blocks of
// up to kLargestCachedBlock bytes are rounded up to a power of two (a size class) and, when
// freed, kept in the freeing thread's list for that class, to be handed out again by the next
// allocation of the class on that thread. Each list holds at most kCachedBytesPerClass bytes;
// past that, blocks go back to the system. The lists are per thread, so no lock is taken; a block
// may be freed on another thread than the one that allocated it (it joins that thread's list).
// NOTE: a leaked storage's block is never in a list, so leak checkers still see it; under
// AddressSanitizer cached blocks are poisoned, so a use after free is still reported.
constexpr int64_t kSmallestCachedBlock = kStorageAlignment;  // class 0
constexpr int64_t kLargestCachedBlock = 32 * 1024;
constexpr int kSizeClasses = std::countr_zero(static_cast<uint64_t>(kLargestCachedBlock / kSmallestCachedBlock)) + 1;
constexpr int64_t kCachedBytesPerClass = 256 * 1024;

// The size class of a block of `bytes` (> 0), or -1 when it is too large to cache.
int size_class(int64_t bytes) {
  if (bytes > kLargestCachedBlock) return -1;
  uint64_t blocks = static_cast<uint64_t>((bytes + kSmallestCachedBlock - 1) / kSmallestCachedBlock);
  return std::bit_width(blocks - 1);  // 1 block -> 0, 2 -> 1, 3..4 -> 2, ...
}
int64_t class_bytes(int size_class) { return kSmallestCachedBlock << size_class; }

void* system_allocate(int64_t bytes, int64_t requested) {
  void* data = std::aligned_alloc(kStorageAlignment, static_cast<size_t>(bytes));
  if (data == nullptr) throw Error(fmt::format("allocate: out of memory allocating {} bytes", requested));
  return data;
}

class BlockCache {
 public:
  BlockCache() { alive() = true; }
  ~BlockCache() {
    release();
    alive() = false;
  }
  BlockCache(const BlockCache&) = delete;
  BlockCache& operator=(const BlockCache&) = delete;

  // NOTE: storages can be freed while the thread (or the process) is ending, after this thread's
  // cache was destroyed: they then bypass it. The flag is trivially destructible, so it outlives
  // the cache.
  static bool& alive() {
    thread_local bool flag = false;
    return flag;
  }

  void* take(int size_class) {
    std::vector<void*>& list = lists_[size_class];
    if (list.empty()) return nullptr;
    void* data = list.back();
    list.pop_back();
    count(kCachedBytes, -class_bytes(size_class));
    DESCENT_UNPOISON(data, class_bytes(size_class));
    return data;
  }

  // Whether the block was kept (else the caller frees it).
  bool give(int size_class, void* data) {
    std::vector<void*>& list = lists_[size_class];
    if (static_cast<int64_t>(list.size() + 1) * class_bytes(size_class) > kCachedBytesPerClass) return false;
    list.push_back(data);
    count(kCachedBytes, class_bytes(size_class));
    DESCENT_POISON(data, class_bytes(size_class));
    return true;
  }

  void release() {
    for (int c = 0; c < kSizeClasses; ++c) {
      for (void* data : lists_[c]) {
        DESCENT_UNPOISON(data, class_bytes(c));
        std::free(data);
      }
      count(kCachedBytes, -static_cast<int64_t>(lists_[c].size()) * class_bytes(c));
      lists_[c].clear();
    }
  }

 private:
  std::array<std::vector<void*>, kSizeClasses> lists_;
};

BlockCache* thread_cache() {
  thread_local BlockCache cache;
  return BlockCache::alive() ? &cache : nullptr;
}

// ---- the object pool ----
//
// Each op makes a few small objects (its output's TensorImpl and Storage; with autograd a node,
// an autograd slot, a detached view for a saved tensor) and a chain of a thousand ops frees them
// all together at backward. malloc's per-thread cache holds only a few blocks per size, so most
// of those frees (and the next forward's mallocs) took its slow, consolidating paths. Here each
// thread keeps a free list per 16-byte size class, linked through the free blocks themselves, of
// at most kPooledBytesPerThread bytes in all; past that, blocks go back to the system.
// NOTE: as for the block cache, a block may be freed on another thread than its allocator's,
// pooled blocks are poisoned under ASan, and a leaked object is never in a list.
constexpr size_t kPoolGranule = alignof(std::max_align_t);
constexpr int kPoolClasses = static_cast<int>(detail::kLargestPooledObject / kPoolGranule);

class ObjectFreeLists {
 public:
  ObjectFreeLists() { alive() = true; }
  ~ObjectFreeLists() {
    release();
    alive() = false;
  }
  ObjectFreeLists(const ObjectFreeLists&) = delete;
  ObjectFreeLists& operator=(const ObjectFreeLists&) = delete;

  static bool& alive() {  // trivially destructible: outlives the lists at thread exit
    thread_local bool flag = false;
    return flag;
  }

  void* take(int pool_class) {
    FreeBlock* block = heads_[pool_class];
    if (block == nullptr) return nullptr;
    DESCENT_UNPOISON(block, class_size(pool_class));
    heads_[pool_class] = block->next;
    pooled_ -= class_size(pool_class);
    return block;
  }
  // Whether the block was kept (else the caller frees it).
  bool give(int pool_class, void* data) {
    if (pooled_ + class_size(pool_class) > detail::kPooledBytesPerThread) return false;
    heads_[pool_class] = new (data) FreeBlock{heads_[pool_class]};
    pooled_ += class_size(pool_class);
    DESCENT_POISON(data, class_size(pool_class));
    return true;
  }
  void release() {
    for (int c = 0; c < kPoolClasses; ++c) {
      while (void* block = take(c)) ::operator delete(block);
    }
  }
  static size_t class_size(int pool_class) { return (static_cast<size_t>(pool_class) + 1) * kPoolGranule; }
  size_t pooled_bytes() const { return pooled_; }

 private:
  struct FreeBlock {
    FreeBlock* next;
  };
  std::array<FreeBlock*, kPoolClasses> heads_{};
  size_t pooled_ = 0;
};

ObjectFreeLists* thread_free_lists() {
  thread_local ObjectFreeLists lists;
  return ObjectFreeLists::alive() ? &lists : nullptr;
}

// The pool class of an object of `bytes` (> 0, at most kLargestPooledObject).
int pool_class(size_t bytes) { return static_cast<int>((bytes - 1) / kPoolGranule); }

// ---- the large-block cache ----
//
// A block above kLargestCachedBlock comes from mmap in glibc, and every call then faults in fresh
// zeroed pages: on a virtual machine that costs far more than the op that fills them (a 64 MiB
// tensor op took 30-50x its in-place time here). A training loop allocates the same sizes every
// step, so freed large blocks, rounded to whole pages, are kept by exact size in one process-wide
// cache (under a mutex: large allocations are rare next to their cost) and reused. At most
// kLargeCacheLimit bytes are kept; past that, blocks go back to the system.
constexpr int64_t kPageBytes = 4096;
constexpr int64_t kLargeCacheLimit = int64_t{1} << 30;

class LargeBlockCache {
 public:
  void* take(int64_t bytes) {
    std::lock_guard lock(mutex_);
    auto found = blocks_.find(bytes);
    if (found == blocks_.end() || found->second.empty()) return nullptr;
    void* data = found->second.back();
    found->second.pop_back();
    cached_ -= bytes;
    count(kCachedBytes, -bytes);
    DESCENT_UNPOISON(data, bytes);
    return data;
  }

  // Whether the block was kept (else the caller frees it).
  bool give(int64_t bytes, void* data) {
    std::lock_guard lock(mutex_);
    if (cached_ + bytes > kLargeCacheLimit) return false;
    blocks_[bytes].push_back(data);
    cached_ += bytes;
    count(kCachedBytes, bytes);
    DESCENT_POISON(data, bytes);
    return true;
  }

  void release() {
    std::lock_guard lock(mutex_);
    for (auto& [bytes, list] : blocks_) {
      for (void* data : list) {
        DESCENT_UNPOISON(data, bytes);
        std::free(data);
      }
      count(kCachedBytes, -bytes * static_cast<int64_t>(list.size()));
    }
    blocks_.clear();
    cached_ = 0;
  }

 private:
  std::mutex mutex_;
  std::map<int64_t, std::vector<void*>> blocks_;  // rounded size -> free blocks of that size
  int64_t cached_ = 0;
};

// Never destroyed: storages may still be freed while static objects are being destroyed.
LargeBlockCache& large_cache() {
  static LargeBlockCache* instance = new LargeBlockCache();
  return *instance;
}

int64_t round_up(int64_t bytes, int64_t multiple) { return (bytes + multiple - 1) / multiple * multiple; }

void* allocate_block(int64_t nbytes) {
  // aligned_alloc wants a multiple of the alignment; never ask for 0 bytes.
  int64_t rounded = std::max<int64_t>(round_up(nbytes, kStorageAlignment), kStorageAlignment);
  int c = size_class(rounded);
  if (c < 0) {
    const int64_t pages = round_up(rounded, kPageBytes);
    if (void* data = large_cache().take(pages)) return data;
    return system_allocate(pages, nbytes);
  }
  if (BlockCache* cache = thread_cache()) {
    if (void* data = cache->take(c)) return data;
  }
  return system_allocate(class_bytes(c), nbytes);
}

void free_block(void* data, int64_t nbytes) {
  // The size allocate_block used: its class, or its rounding to pages.
  const int64_t rounded = std::max<int64_t>(round_up(nbytes, kStorageAlignment), kStorageAlignment);
  int c = size_class(rounded);
  if (c < 0) {
    if (!large_cache().give(round_up(rounded, kPageBytes), data)) std::free(data);
    return;
  }
  BlockCache* cache = thread_cache();
  if (cache == nullptr || !cache->give(c, data)) std::free(data);
}
}  // namespace

void detail::count_tensor(int delta) { count(kTensors, delta); }

void* detail::pool_allocate(size_t bytes) {
  if (bytes > kLargestPooledObject) return ::operator new(bytes);
  const int c = pool_class(bytes);
  if (ObjectFreeLists* lists = thread_free_lists()) {
    if (void* block = lists->take(c)) return block;
  }
  return ::operator new(ObjectFreeLists::class_size(c));
}

void detail::pool_free(void* block, size_t bytes) {
  if (bytes <= kLargestPooledObject) {
    ObjectFreeLists* lists = thread_free_lists();
    if (lists != nullptr && lists->give(pool_class(bytes), block)) return;
  }
  ::operator delete(block);
}

size_t detail::thread_pooled_bytes() {
  ObjectFreeLists* lists = thread_free_lists();
  return lists != nullptr ? lists->pooled_bytes() : 0;
}

MemoryStats memory_stats() {
  std::array<int64_t, kCounters> sums{};
  std::lock_guard lock(registry().mutex);
  for (int c = 0; c < kCounters; ++c) sums[c] = registry().retired[c].load(std::memory_order_relaxed);
  for (const ThreadCounters* thread : registry().threads) {
    for (int c = 0; c < kCounters; ++c) sums[c] += thread->get(Counter(c));
  }
  return {sums[kTensors], sums[kStorages], sums[kStorageBytes], sums[kCachedBytes]};
}

void release_cached_memory() {
  if (BlockCache* cache = thread_cache()) cache->release();
  if (ObjectFreeLists* lists = thread_free_lists()) lists->release();
  large_cache().release();
}

Storage::Storage(Key, void* data, int64_t nbytes, std::function<void(void*)> deleter, bool owned)
    : data_(data), nbytes_(nbytes), deleter_(std::move(deleter)), owned_(owned) {
  count(kStorages, 1);
  if (owned_) count(kStorageBytes, nbytes_);
}

Storage::~Storage() {
  if (owned_) {
    free_block(data_, nbytes_);
    count(kStorageBytes, -nbytes_);
  } else if (deleter_) {
    deleter_(data_);
  }
  count(kStorages, -1);
}

std::shared_ptr<Storage> Storage::allocate(int64_t nbytes) {
  check<ValueError>(nbytes >= 0, "allocate: negative size of {} bytes", nbytes);
  void* data = allocate_block(nbytes);
  try {
    return std::allocate_shared<Storage>(ObjectPool<Storage>(), Key{}, data, nbytes, std::function<void(void*)>(),
                                         true);
  } catch (...) {
    free_block(data, nbytes);
    throw;
  }
}

std::shared_ptr<Storage> Storage::wrap(void* data, int64_t nbytes, std::function<void(void*)> deleter) {
  return std::allocate_shared<Storage>(ObjectPool<Storage>(), Key{}, data, nbytes, std::move(deleter), false);
}

}  // namespace descent
