// ElementwiseLoop: broadcasting rules, the geometry it reduces a loop to (runs), that every
// element is visited exactly once, with one thread or several, and the tiled walk of inputs that
// cross the output's memory order (odd sizes, permuted dims, broadcasts, in place, overlaps),
// checked element by element against a plain reference.
#include <atomic>
#include <mutex>
#include <functional>
#include <set>

#include <descent/core/iterate.h>
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


// ---- tiled loops ----

// Every index of `shape`, row-major.
void for_each_index(const Dims& shape, const std::function<void(const Dims&)>& visit) {
  Dims index = Dims::filled(shape.size(), 0);
  if (shape.product() == 0) return;
  while (true) {
    visit(index);
    int d = shape.size() - 1;
    while (d >= 0 && ++index[d] == shape[d]) index[d--] = 0;
    if (d < 0) return;
  }
}

// out[i] == f(inputs[i]...) bit for bit at every index i (inputs broadcast to out's shape), read
// one element at a time through at<double>() (exact for float32 and int64 values used here).
void expect_elementwise(const Tensor& out, const std::vector<Tensor>& inputs,
                        const std::function<double(const std::vector<double>&)>& f) {
  std::vector<Tensor> expanded;
  for (const Tensor& t : inputs) expanded.push_back(core::expand(t, out.sizes()));
  int64_t mismatches = 0;
  for_each_index(out.sizes(), [&](const Dims& index) {
    std::vector<double> values;
    for (const Tensor& t : expanded) values.push_back(t.at<double>(index));
    if (out.at<double>(index) != f(values) && ++mismatches <= 5) {
      ADD_FAILURE() << "at " << fmt::format("{}", index) << ": " << out.at<double>(index) << " != " << f(values);
    }
  });
  EXPECT_EQ(mismatches, 0);
}

double sum_of(const std::vector<double>& v) {
  double total = 0;
  for (double x : v) total += x;
  return total;
}

// The same result, bit for bit, with 1 and 2 threads.
template <typename Op>
void expect_same_with_threads(const Op& op) {
  set_num_threads(1);
  Tensor one = op();
  set_num_threads(2);
  Tensor two = op();
  EXPECT_EQ(one.to_vector<float>(), two.to_vector<float>());
}

TEST(TiledLoop, TransposedInputOfOddSizesIsTiledAndExact) {
  // Neither side a multiple of the tile: partial tiles at both edges.
  Tensor a = core::transpose(core::randn({131, 197}), 0, 1);  // [197, 131]
  Tensor b = core::randn({197, 131});
  Tensor out = core::empty({197, 131});
  EXPECT_TRUE(ElementwiseLoop(out, {a, b}).tiled());
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    Tensor sum = core::add(a, b);
    // float + float rounds once; the double sum of two floats rounded to float is the same.
    expect_elementwise(sum, {a, b}, [](const std::vector<double>& v) { return double(float(v[0] + v[1])); });
  }
  expect_same_with_threads([&] { return core::add(a, b); });
}

TEST(TiledLoop, ContiguousOfATransposeIsExactForEveryElementSize) {
  for (DType dtype : {kFloat32, kFloat64, kInt64}) {
    Tensor x = core::transpose(core::randint(-1000, 1000, {150, 203}, {.dtype = dtype}), 0, 1);
    Tensor copy = core::contiguous(x);
    EXPECT_TRUE(copy.is_contiguous());
    expect_elementwise(copy, {x}, [](const std::vector<double>& v) { return v[0]; });
  }
  Tensor mask = core::transpose(core::gt(core::randn({150, 203}), 0.0), 0, 1);  // bool, one byte
  expect_elementwise(core::contiguous(mask), {mask}, [](const std::vector<double>& v) { return v[0]; });
}

TEST(TiledLoop, ThreeDimsWithTwoPermutedAxes) {
  Tensor x = core::permute(core::randint(-100, 100, {37, 45, 70}, {.dtype = kFloat32}), {2, 0, 1});  // [70, 37, 45]
  Tensor y = core::randint(-100, 100, {70, 37, 45}, {.dtype = kFloat32});
  Tensor z = core::permute(core::randint(-100, 100, {45, 70, 37}, {.dtype = kFloat32}), {1, 2, 0});  // [70, 37, 45]
  Tensor out = core::empty({70, 37, 45});
  EXPECT_TRUE(ElementwiseLoop(out, {x, y, z}).tiled());
  Tensor result = core::add(core::mul(x, y), z);
  expect_elementwise(result, {x, y, z}, [](const std::vector<double>& v) { return v[0] * v[1] + v[2]; });
  expect_same_with_threads([&] { return core::add(core::mul(x, y), z); });
}

TEST(TiledLoop, BroadcastTogetherWithATranspose) {
  Tensor a = core::transpose(core::randint(-100, 100, {150, 90}, {.dtype = kFloat32}), 0, 1);  // [90, 150]
  Tensor row = core::randint(-100, 100, {150}, {.dtype = kFloat32});
  Tensor column = core::randint(-100, 100, {90, 1}, {.dtype = kFloat32});
  Tensor result = core::add(core::add(a, row), column);
  expect_elementwise(result, {a, row, column}, sum_of);
  Tensor condition = core::transpose(core::gt(core::randn({150, 90}), 0.0), 0, 1);  // bool [90, 150]
  Tensor chosen = core::where(condition, a, row);
  expect_elementwise(chosen, {condition, a, row},
                     [](const std::vector<double>& v) { return v[0] != 0 ? v[1] : v[2]; });
}

TEST(TiledLoop, InPlaceOnATransposedView) {
  Tensor storage = core::randint(-100, 100, {120, 170}, {.dtype = kFloat32});
  Tensor before = core::clone(storage);
  Tensor self = core::transpose(storage, 0, 1);  // [170, 120], written through
  Tensor other = core::randint(-100, 100, {170, 120}, {.dtype = kFloat32});
  core::add_(self, other);
  expect_elementwise(self, {core::transpose(before, 0, 1), other}, sum_of);
}

TEST(TiledLoop, OverlappingReadsOfOneStorage) {
  Tensor m = core::randint(-100, 100, {140, 140}, {.dtype = kFloat32});
  Tensor before = core::clone(m);
  // Read twice in two layouts, out of place.
  expect_elementwise(core::sub(core::transpose(m, 0, 1), m), {core::transpose(m, 0, 1), m},
                     [](const std::vector<double>& v) { return v[0] - v[1]; });
  // Written while read in another layout: m.t() += m makes m + m.t() from the values before.
  core::add_(core::transpose(m, 0, 1), m);
  expect_elementwise(m, {before, core::transpose(before, 0, 1)}, sum_of);
}

TEST(TiledLoop, RunVisitsEveryElementOnceWithoutStaging) {
  // run() (no staging) walks the same tiles with pointers into the operands themselves.
  Tensor out = core::zeros({100, 130}, {.dtype = kInt64});
  Tensor input = core::transpose(core::view(core::arange(13000, {.dtype = kInt64}), {130, 100}), 0, 1);
  ElementwiseLoop loop(out, {input});
  ASSERT_TRUE(loop.tiled());
  loop.run(
      [&](char* const* p, const int64_t* s, int64_t n) {
        for (int64_t i = 0; i < n; ++i) {
          *reinterpret_cast<int64_t*>(p[0] + i * s[0]) += *reinterpret_cast<const int64_t*>(p[1] + i * s[1]) + 1;
        }
      },
      /*grain=*/1000);
  expect_elementwise(out, {input}, [](const std::vector<double>& v) { return v[0] + 1; });
}

}  // namespace
}  // namespace descent
