// Storage allocation and the process-wide live counters.
#include "core/storage.h"

#include <atomic>
#include <cstdlib>
#include <new>

#include "core/error.h"

namespace descent {

namespace {
std::atomic<int64_t> g_live_tensors{0};
std::atomic<int64_t> g_live_storages{0};
std::atomic<int64_t> g_storage_bytes{0};
}  // namespace

void detail::count_tensor(int delta) { g_live_tensors.fetch_add(delta, std::memory_order_relaxed); }

MemoryStats memory_stats() {
  return {g_live_tensors.load(), g_live_storages.load(), g_storage_bytes.load()};
}

Storage::Storage(void* data, int64_t nbytes, std::function<void(void*)> deleter, bool owned)
    : data_(data), nbytes_(nbytes), deleter_(std::move(deleter)), owned_(owned) {
  g_live_storages.fetch_add(1, std::memory_order_relaxed);
  if (owned_) g_storage_bytes.fetch_add(nbytes_, std::memory_order_relaxed);
}

Storage::~Storage() {
  if (owned_) {
    std::free(data_);
    g_storage_bytes.fetch_sub(nbytes_, std::memory_order_relaxed);
  } else if (deleter_) {
    deleter_(data_);
  }
  g_live_storages.fetch_sub(1, std::memory_order_relaxed);
}

std::shared_ptr<Storage> Storage::allocate(int64_t nbytes) {
  check<ValueError>(nbytes >= 0, "allocate: negative size of {} bytes", nbytes);
  // aligned_alloc wants a multiple of the alignment; never ask for 0 bytes.
  int64_t rounded = (nbytes + kStorageAlignment - 1) / kStorageAlignment * kStorageAlignment;
  if (rounded == 0) rounded = kStorageAlignment;
  void* data = std::aligned_alloc(kStorageAlignment, static_cast<size_t>(rounded));
  if (data == nullptr) {
    throw Error(fmt::format("allocate: out of memory allocating {} bytes", nbytes));
  }
  return std::shared_ptr<Storage>(new Storage(data, nbytes, {}, true));
}

std::shared_ptr<Storage> Storage::wrap(void* data, int64_t nbytes, std::function<void(void*)> deleter) {
  return std::shared_ptr<Storage>(new Storage(data, nbytes, std::move(deleter), false));
}

}  // namespace descent
