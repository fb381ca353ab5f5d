// ElementwiseLoop: broadcasting rules, the geometry it reduces a loop to (runs), and that every
// element is visited exactly once, with one thread or several.
#include <atomic>
#include <mutex>
#include <set>

#include "core/iterate.h"
#include "testing.h"

namespace descent {
namespace {

using testing::throws_with;

TEST(Broadcast, ShapesFollowNumPyRules) {
  EXPECT_EQ(broadcast_shapes({2, 1, 4}, {3, 1}, "op"), (Dims{2, 3, 4}));
  EXPECT_EQ(broadcast_shapes({}, {5}, "op"), (Dims{5}));
  EXPECT_EQ(broadcast_shapes({0, 1}, {1, 3}, "op"), (Dims{0, 3}));
  EXPECT_TRUE(throws_with<ShapeError>([] { broadcast_shapes({2, 3}, {4}, "add"); },
                                      {"add: shapes [2, 3] and [4] cannot be broadcast together"}));
}

// Runs of a loop as (length, inner byte strides) in visiting order, one thread.
std::vector<std::pair<int64_t, std::vector<int64_t>>> runs_of(const ElementwiseLoop& loop) {
  std::vector<std::pair<int64_t, std::vector<int64_t>>> runs;
  loop.run([&](char* const*, const int64_t* strides, int64_t n) {
    runs.push_back({n, std::vector<int64_t>(strides, strides + loop.operands())});
  });
  return runs;
}

TEST(ElementwiseLoop, ContiguousTensorsOfAnyShapeAreOneRun) {
  Tensor out = core::empty({4, 5, 6});
  auto runs = runs_of(ElementwiseLoop(out, {core::empty({4, 5, 6})}));
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].first, 120);
  EXPECT_EQ(runs[0].second, (std::vector<int64_t>{4, 4}));
}

TEST(ElementwiseLoop, BroadcastInputsGetZeroStrides) {
  Tensor out = core::empty({3, 4});
  auto runs = runs_of(ElementwiseLoop(out, {core::empty({4}), core::empty({3, 1})}));
  ASSERT_EQ(runs.size(), 3u);  // one run per row
  EXPECT_EQ(runs[0].first, 4);
  EXPECT_EQ(runs[0].second, (std::vector<int64_t>{4, 4, 0}));
}

TEST(ElementwiseLoop, TransposedOutputIsWalkedInMemoryOrder) {
  Tensor out = core::transpose(core::empty({8, 3}), 0, 1);  // [3, 8] with strides [1, 3]
  auto runs = runs_of(ElementwiseLoop(out, {}));
  ASSERT_EQ(runs.size(), 1u);  // memory-contiguous after reordering
  EXPECT_EQ(runs[0].first, 24);
}

TEST(ElementwiseLoop, InputNotBroadcastableToOutputIsRejected) {
  Tensor out = core::empty({2, 3});
  EXPECT_TRUE(throws_with<ShapeError>([&] { ElementwiseLoop(out, {core::empty({3, 3})}); },
                                      {"[3, 3]", "[2, 3]"}));
}

class ElementwiseLoopThreads : public ::testing::TestWithParam<int> {};

TEST_P(ElementwiseLoopThreads, VisitsEveryElementOnceThroughStridedViews) {
  set_num_threads(GetParam());
  // Output: a strided slice of a bigger buffer; each element records its own address.
  Tensor base = core::zeros({300, 500}, {.dtype = kInt64});
  Tensor out = core::slice(core::slice(base, 0, 1, 300, 2), 1, 3, 500, 3);
  std::atomic<int64_t> visited{0};
  std::mutex mutex;
  std::set<char*> seen;
  ElementwiseLoop loop(out, {});
  loop.run(
      [&](char* const* p, const int64_t* s, int64_t n) {
        std::lock_guard<std::mutex> lock(mutex);
        for (int64_t i = 0; i < n; ++i) {
          EXPECT_TRUE(seen.insert(p[0] + i * s[0]).second);
          ++*reinterpret_cast<int64_t*>(p[0] + i * s[0]);
        }
        visited += n;
      },
      /*grain=*/1000);
  EXPECT_EQ(visited.load(), out.numel());
  // Exactly the elements of the view were touched, each once.
  std::vector<int64_t> all = base.to_vector<int64_t>();
  int64_t touched = 0;
  for (int64_t v : all) touched += v;
  EXPECT_EQ(touched, out.numel());
  for (int64_t v : out.to_vector<int64_t>()) EXPECT_EQ(v, 1);
  set_num_threads(2);
}

INSTANTIATE_TEST_SUITE_P(Threads, ElementwiseLoopThreads, ::testing::Values(1, 2));

TEST(ElementwiseLoop, MapElementwiseComputesThroughMixedLayouts) {
  Tensor a = core::transpose(core::view(core::arange(12, {.dtype = kFloat64}), {4, 3}), 0, 1);  // [3, 4]
  Tensor b = core::view(core::arange(4, {.dtype = kFloat64}), {4});
  Tensor out = core::empty({3, 4}, {.dtype = kFloat64});
  map_elementwise<double, double, double>(ElementwiseLoop(out, {a, b}), [](double x, double y) { return x * 10 + y; });
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 4; ++j) EXPECT_EQ(out.at<double>({i, j}), (j * 3 + i) * 10 + j);
}

TEST(ElementwiseLoop, ExceptionsInsideTheLoopReachTheCaller) {
  set_num_threads(2);
  Tensor out = core::empty({100000});
  ElementwiseLoop loop(out, {});
  EXPECT_THROW(loop.run([](char* const*, const int64_t*, int64_t) { throw ValueError("inside"); }, 10), ValueError);
}

}  // namespace
}  // namespace descent
