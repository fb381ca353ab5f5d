// parallel_for on descent's own pool: every index once in the documented chunks, nesting and
// concurrent callers run inline, exceptions reach the caller, OpenBLAS is kept on one thread, and
// the pool's idle threads sleep instead of spinning (the policy of docs/ARCHITECTURE.md, "Threads").
#include <time.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include <cblas.h>

#include <descent/core/parallel.h>
#include "testing.h"

namespace descent {
namespace {

using testing::ThreadCount;

class ParallelFor : public ::testing::TestWithParam<int> {};

TEST_P(ParallelFor, VisitsEveryIndexOnceInAtMostThreadsChunksOfAtLeastTheGrain) {
  ThreadCount threads(GetParam());
  for (int64_t range : {1, 7, 100, 1001}) {
    for (int64_t grain : {1, 10, 64}) {
      std::vector<std::atomic<int>> visits(range);
      std::mutex mutex;
      std::vector<std::pair<int64_t, int64_t>> chunks;
      parallel_for(5, 5 + range, grain, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) ++visits[i - 5];
        std::lock_guard lock(mutex);
        chunks.emplace_back(begin, end);
      });
      for (int64_t i = 0; i < range; ++i) ASSERT_EQ(visits[i], 1) << "range " << range << " grain " << grain;
      EXPECT_LE(chunks.size(), static_cast<size_t>(GetParam()));
      if (chunks.size() > 1) {
        for (auto [begin, end] : chunks) EXPECT_GE(end - begin, std::min(grain, range)) << begin << ".." << end;
      }
    }
  }
}

TEST_P(ParallelFor, RethrowsTheBodysExceptionOnTheCaller) {
  ThreadCount threads(GetParam());
  EXPECT_THROW(parallel_for(0, 1000, 1, [](int64_t begin, int64_t) {
                 if (begin > 0 || get_num_threads() == 1) throw std::runtime_error("chunk failed");
               }),
               std::runtime_error);
  std::atomic<int64_t> sum = 0;  // the pool still works afterwards
  parallel_for(0, 1000, 1, [&](int64_t begin, int64_t end) { sum += end - begin; });
  EXPECT_EQ(sum, 1000);
}

TEST_P(ParallelFor, NestedCallsRunOnTheirCallersThread) {
  ThreadCount threads(GetParam());
  std::atomic<int> mismatches = 0, regions = 0;
  parallel_for(0, 64, 1, [&](int64_t, int64_t) {
    if (GetParam() > 1 && in_parallel_region()) ++regions;
    const auto outer = std::this_thread::get_id();
    parallel_for(0, 64, 1, [&](int64_t, int64_t) { mismatches += std::this_thread::get_id() != outer; });
  });
  EXPECT_EQ(mismatches, 0);
  if (GetParam() > 1) {
    EXPECT_GT(regions, 0);
  }
  EXPECT_FALSE(in_parallel_region());
}

TEST_P(ParallelFor, CallersOnSeveralThreadsAllComplete) {
  ThreadCount threads(GetParam());
  std::vector<int64_t> sums(4, 0);
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; ++c) {
    callers.emplace_back([&sums, c] {
      for (int repeat = 0; repeat < 200; ++repeat) {
        std::atomic<int64_t> sum = 0;
        parallel_for(0, 10000, 100, [&](int64_t begin, int64_t end) {
          for (int64_t i = begin; i < end; ++i) sum += i;
        });
        sums[c] += sum;
      }
    });
  }
  for (auto& caller : callers) caller.join();
  for (int64_t sum : sums) EXPECT_EQ(sum, int64_t{200} * (10000 * 9999 / 2));
}

INSTANTIATE_TEST_SUITE_P(Threads, ParallelFor, ::testing::Values(1, 2, 3, 4));

TEST(ThreadPolicy, OpenBlasStaysOnOneThreadWhateverTheCount) {
  for (int n : {1, 2, 4}) {
    ThreadCount threads(n);
    EXPECT_EQ(openblas_get_num_threads(), 1) << n << " threads";
    EXPECT_EQ(get_num_threads(), n);
  }
  EXPECT_THROW(set_num_threads(0), ValueError);
  EXPECT_THROW(set_num_threads(kMaxThreads + 1), ValueError);
}

double cpu_seconds(clockid_t clock) {
  timespec now{};
  clock_gettime(clock, &now);
  return now.tv_sec + now.tv_nsec * 1e-9;
}

// Between jobs the workers sleep: over 100 short jobs each followed by 2 ms of the caller
// sleeping, the other threads of the process use far less CPU than the 200 ms they wait (a
// spinning pool, as libgomp's default 300,000-iteration spin, would burn a good part of it).
TEST(ThreadPolicy, IdleWorkersSleepRatherThanSpin) {
  ThreadCount threads(2);
  parallel_for(0, 2, 1, [](int64_t, int64_t) {});  // the worker exists
  const double process_start = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID), caller_start = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
  std::atomic<int64_t> sink = 0;
  for (int job = 0; job < 100; ++job) {
    parallel_for(0, 2, 1, [&](int64_t begin, int64_t) { sink += begin; });
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  const double others = (cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - process_start) -
                        (cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - caller_start);
  EXPECT_EQ(sink, 100);
  EXPECT_LT(others, 0.2 * 0.2) << "other threads used " << others << " s of CPU while the caller slept 0.2 s";
}

}  // namespace
}  // namespace descent
