// Storage: one shared, 64-byte aligned block of bytes that tensors view. It carries the version
// counter that autograd uses to notice in-place changes of saved tensors, and the library keeps
// live counts of tensors and storage bytes (memory_stats) so that tests can catch leaks. Small
// blocks are recycled through a per-thread cache of size classes (see storage.cpp), and so are
// the small objects every op makes (storages, tensor impls, graph nodes): see ObjectPool below.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

namespace descent {

inline constexpr int64_t kStorageAlignment = 64;

namespace detail {
// Blocks of at most kLargestPooledObject bytes, aligned for any fundamental type, recycled through
// per-thread free lists of 16-byte size classes (see storage.cpp); larger ones come from new.
inline constexpr size_t kLargestPooledObject = 1024;
// The most bytes one thread keeps in its free lists; blocks freed past that go back to the system.
inline constexpr size_t kPooledBytesPerThread = 8 << 20;
void* pool_allocate(size_t bytes);
void pool_free(void* block, size_t bytes);
// The bytes of free blocks in the calling thread's lists (size-class rounded), for tests: pooled
// objects are not storage, and are not counted in MemoryStats.
size_t thread_pooled_bytes();
}  // namespace detail

// An allocator for std::allocate_shared of the objects each op creates and drops again (a
// Storage, a TensorImpl, a graph node and its autograd slot): a long chain of tiny ops frees
// thousands of them at once, which overflows malloc's per-thread cache into its slow paths.
template <typename T>
struct ObjectPool {
  using value_type = T;
  static_assert(alignof(T) <= alignof(std::max_align_t), "ObjectPool: over-aligned type");
  ObjectPool() = default;
  template <typename U>
  ObjectPool(const ObjectPool<U>&) {}  // rebinding, as allocate_shared needs
  T* allocate(size_t n) { return static_cast<T*>(detail::pool_allocate(n * sizeof(T))); }
  void deallocate(T* block, size_t n) { detail::pool_free(block, n * sizeof(T)); }
  template <typename U>
  bool operator==(const ObjectPool<U>&) const { return true; }
};

class Storage {
 public:
  // Uninitialised bytes owned by the storage.
  static std::shared_ptr<Storage> allocate(int64_t nbytes);
  // Bytes owned by someone else; `deleter` (may be empty) runs when the last view goes away.
  static std::shared_ptr<Storage> wrap(void* data, int64_t nbytes, std::function<void(void*)> deleter);

  // Only allocate() and wrap() can make the key: a Storage always lives in a shared_ptr.
  class Key {
    explicit Key() = default;
    friend class Storage;
  };
  Storage(Key, void* data, int64_t nbytes, std::function<void(void*)> deleter, bool owned);
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage();

  void* data() const { return data_; }
  int64_t nbytes() const { return nbytes_; }
  // Whether the bytes were allocated by the storage (not wrapped foreign memory).
  bool owns_data() const { return owned_; }

  // Bumped by every in-place write through any view of this storage.
  uint64_t version() const { return version_; }
  void bump_version() { ++version_; }

 private:
  void* data_;
  int64_t nbytes_;
  std::function<void(void*)> deleter_;
  bool owned_;
  uint64_t version_ = 0;
};

// Counts of what is alive right now (process-wide). Storage bytes count owned storage only, as
// requested (not rounded up); cached bytes are freed blocks kept for reuse, in no live storage.
struct MemoryStats {
  int64_t live_tensors = 0;
  int64_t live_storages = 0;
  int64_t storage_bytes = 0;
  int64_t cached_bytes = 0;
};
MemoryStats memory_stats();

// Gives the small blocks and pooled objects cached by the calling thread, and all cached large
// blocks, back to the system (each thread's caches are also emptied when the thread ends).
void release_cached_memory();

namespace detail {
void count_tensor(int delta);  // called by TensorImpl's constructor and destructor
}

}  // namespace descent
