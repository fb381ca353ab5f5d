// Indexing and joining: PyTorch's results (golden/indexing.json, from gen_indexing.py) for every op,
// over dtypes and input layouts (contiguous, transposed storage, sliced with a step); then expanded
// inputs, empty / size-1 / 0-d tensors, NaN ordering, in-place writes through views, sizes large
// enough to run on two threads (checked against references computed here), and error messages.
#include <algorithm>
#include <numeric>
#include <string>
#include <tuple>

#include "testing.h"

namespace descent {
namespace {

using testing::Golden;
using testing::tensors_close;
using testing::throws_with;

const Golden& golden() {
  static const Golden file("core/golden/indexing.json");
  return file;
}

enum class Layout { Contiguous, Transposed, Stepped };

std::string layout_name(Layout layout) {
  switch (layout) {
    case Layout::Contiguous: return "contiguous";
    case Layout::Transposed: return "transposed";
    case Layout::Stepped: return "stepped";
  }
  return "?";
}

// The values of t in another memory layout: stored transposed (first and last dims swapped), or
// every other element of a larger buffer along the last dim (a slice with step 2 at offset 1).
// Tensors of fewer than 2 dims have no transposed layout and get the stepped one.
Tensor in_layout(const Tensor& t, Layout layout) {
  if (layout == Layout::Contiguous || t.dim() == 0) return core::contiguous(t);
  if (layout == Layout::Transposed && t.dim() >= 2) {
    return core::transpose(core::contiguous(core::transpose(t, 0, -1)), 0, -1);
  }
  Dims wide = t.sizes();
  wide.back() = 2 * wide.back() + 1;
  Tensor buffer = core::zeros(wide, {.dtype = t.dtype()});
  Tensor view = core::slice(buffer, -1, 1, INT64_MAX, 2);
  core::copy_(view, t);
  return view;
}

// Exact comparison (the golden values are small integers or NaN/inf), plus the output's dtype and
// its contiguity.
::testing::AssertionResult same(const Tensor& actual, const Tensor& expected) {
  if (actual.dtype() != expected.dtype()) {
    return ::testing::AssertionFailure() << "dtype " << dtype_name(actual.dtype()) << " != expected "
                                         << dtype_name(expected.dtype());
  }
  if (!actual.is_contiguous()) return ::testing::AssertionFailure() << "output is not contiguous";
  return tensors_close(actual, expected, 0.0, 0.0);
}

// ---- golden cases over dtypes and layouts ----

class IndexingGolden : public ::testing::TestWithParam<std::tuple<DType, Layout>> {
 protected:
  DType dtype() const { return std::get<0>(GetParam()); }
  Layout layout() const { return std::get<1>(GetParam()); }
  // A golden input in this case's dtype and layout.
  Tensor input(const std::string& name) const { return in_layout(core::to(golden().tensor(name), dtype()), layout()); }
  // A golden index (int64) in this case's layout.
  Tensor index(const std::string& name) const { return in_layout(golden().tensor(name), layout()); }
  Tensor mask(const std::string& name) const { return in_layout(golden().tensor(name), layout()); }
  Tensor expected(const std::string& name) const { return core::to(golden().tensor(name), dtype()); }
  Tensor expected_index(const std::string& name) const { return golden().tensor(name); }
};

TEST_P(IndexingGolden, Cat) {
  Tensor a = input("cat_a"), b = input("cat_b"), c = input("cat_c"), d = input("cat_d");
  EXPECT_TRUE(same(core::cat({a, b, c}, 1), expected("cat_dim1")));
  EXPECT_TRUE(same(core::cat({a, b, c}, -1), expected("cat_dim1")));
  EXPECT_TRUE(same(core::cat({a, d}), expected("cat_dim0")));
}

TEST_P(IndexingGolden, Stack) {
  std::vector<Tensor> parts = {input("stack_a"), input("stack_b"), input("stack_c")};
  for (int d = 0; d < 3; ++d) {
    EXPECT_TRUE(same(core::stack(parts, d), expected(fmt::format("stack_dim{}", d)))) << "dim " << d;
  }
  EXPECT_TRUE(same(core::stack(parts, -1), expected("stack_dim2")));
}

TEST_P(IndexingGolden, Gather) {
  Tensor x = input("gather_x");
  for (int d = 0; d < 3; ++d) {
    const std::string suffix = fmt::format("dim{}", d);
    EXPECT_TRUE(same(core::gather(x, d, index("gather_index_" + suffix)), expected("gather_" + suffix))) << suffix;
  }
  EXPECT_TRUE(same(core::gather(x, -2, index("gather_index_dim1")), expected("gather_dim1")));
}

TEST_P(IndexingGolden, Scatter) {
  Tensor x = input("scatter_x"), src = input("scatter_src");
  EXPECT_TRUE(same(core::scatter(x, 1, index("scatter_index_dim1"), src), expected("scatter_dim1")));
  EXPECT_TRUE(same(core::scatter(x, 0, index("scatter_index_dim0"), src), expected("scatter_dim0")));
  EXPECT_TRUE(same(core::scatter(x, 1, index("scatter_index_dim1"), Scalar(-5)), expected("scatter_value_dim1")));
  EXPECT_TRUE(tensors_close(x, expected("scatter_x"), 0, 0)) << "scatter must not modify x";
}

TEST_P(IndexingGolden, ScatterAdd) {
  Tensor src = input("scatter_src");
  for (int d = 0; d < 2; ++d) {
    const std::string suffix = fmt::format("dim{}", d);
    Tensor x = input("scatter_x");
    Tensor idx = index("scatter_add_index_" + suffix);
    EXPECT_TRUE(same(core::scatter_add(x, d, idx, src), expected("scatter_add_" + suffix))) << suffix;
    // In place, through x's own layout.
    uint64_t version = x.version();
    core::scatter_add_(x, d, idx, src);
    EXPECT_GT(x.version(), version);
    EXPECT_TRUE(tensors_close(x, expected("scatter_add_" + suffix), 0, 0)) << suffix << " in place";
  }
}

TEST_P(IndexingGolden, IndexSelect) {
  Tensor x = input("select_x");
  for (int d = 0; d < 3; ++d) {
    const std::string suffix = fmt::format("dim{}", d);
    EXPECT_TRUE(same(core::index_select(x, d, index("select_index_" + suffix)), expected("index_select_" + suffix)))
        << suffix;
  }
}

TEST_P(IndexingGolden, IndexAdd) {
  Tensor x = input("index_add_x");
  EXPECT_TRUE(same(core::index_add(x, 0, index("index_add_index"), input("index_add_source"), 2),
                   expected("index_add_alpha2")));
  EXPECT_TRUE(same(core::index_add(x, 1, index("index_add_index_dim1"), input("index_add_source_dim1"), -1),
                   expected("index_add_dim1")));
  uint64_t version = x.version();
  core::index_add_(x, 0, index("index_add_index"), input("index_add_source"), 2);
  EXPECT_GT(x.version(), version);
  EXPECT_TRUE(tensors_close(x, expected("index_add_alpha2"), 0, 0)) << "in place";
}

TEST_P(IndexingGolden, MaskedFillAndSelect) {
  Tensor x = input("mask_x");
  EXPECT_TRUE(same(core::masked_fill(x, mask("mask_row"), -7), expected("masked_fill_row")));
  EXPECT_TRUE(same(core::masked_fill(input("mask_x_col"), mask("mask_wide"), 3), expected("masked_fill_both")));
  EXPECT_TRUE(same(core::masked_select(x, mask("mask_full")), expected("masked_select_full")));
  EXPECT_TRUE(same(core::masked_select(input("mask_x_col"), mask("mask_wide")), expected("masked_select_both")));
  uint64_t version = x.version();
  core::masked_fill_(x, mask("mask_row"), -7);
  EXPECT_GT(x.version(), version);
  EXPECT_TRUE(tensors_close(x, expected("masked_fill_row"), 0, 0)) << "in place";
}

TEST_P(IndexingGolden, Nonzero) {
  EXPECT_TRUE(same(core::nonzero(input("nonzero_x")), expected_index("nonzero")));
}

TEST_P(IndexingGolden, OneHot) {
  // Labels are int64 whatever the case's dtype; the layout still varies.
  Tensor labels = index("one_hot_labels");
  EXPECT_TRUE(same(core::one_hot(labels), expected_index("one_hot_infer")));
  EXPECT_TRUE(same(core::one_hot(labels, 7), expected_index("one_hot_7")));
}

TEST_P(IndexingGolden, Topk) {
  Tensor x = input("topk_x");
  for (int d = 0; d < 2; ++d) {
    for (bool largest : {true, false}) {
      const std::string name = fmt::format("topk_dim{}_{}", d, largest ? "largest" : "smallest");
      auto [values, indices] = core::topk(x, 3, d, largest);
      EXPECT_TRUE(same(values, expected(name + "_values"))) << name;
      EXPECT_TRUE(same(indices, expected_index(name + "_indices"))) << name;
    }
  }
}

TEST_P(IndexingGolden, StableSortAndArgsort) {
  Tensor x = input("sort_x");  // with ties: the stable order is the only right one
  for (int d = 0; d < 2; ++d) {
    for (bool descending : {false, true}) {
      const std::string name = fmt::format("sort_dim{}_{}", d, descending ? "desc" : "asc");
      auto [values, indices] = core::sort(x, d, descending, true);
      EXPECT_TRUE(same(values, expected(name + "_values"))) << name;
      EXPECT_TRUE(same(indices, expected_index(name + "_indices"))) << name;
      EXPECT_TRUE(same(core::argsort(x, d, descending), expected_index(name + "_indices"))) << name;
      // Unstable: the same values; the indices still point at them.
      auto [unstable_values, unstable_indices] = core::sort(x, d, descending, false);
      EXPECT_TRUE(same(unstable_values, expected(name + "_values"))) << name;
      EXPECT_TRUE(tensors_close(core::gather(x, d, unstable_indices), unstable_values, 0, 0)) << name;
    }
  }
}

TEST_P(IndexingGolden, TrilTriu) {
  Tensor x = input("tri_x");
  for (int64_t diagonal : {-2, 0, 1, 7}) {
    const std::string key = fmt::format("{}{}", diagonal < 0 ? "m" : "", std::abs(diagonal));
    EXPECT_TRUE(same(core::tril(x, diagonal), expected("tril_" + key))) << diagonal;
    EXPECT_TRUE(same(core::triu(x, diagonal), expected("triu_" + key))) << diagonal;
  }
}

TEST_P(IndexingGolden, RepeatFlipPad) {
  EXPECT_TRUE(same(core::repeat(input("repeat_x"), {1, 2}), expected("repeat_1_2")));
  EXPECT_TRUE(same(core::repeat(input("repeat_x"), {2, 1, 3}), expected("repeat_2_1_3")));
  EXPECT_TRUE(same(core::repeat(input("repeat_v"), {2, 2}), expected("repeat_v_2_2")));
  Tensor f = input("flip_x");
  EXPECT_TRUE(same(core::flip(f, {0, 2}), expected("flip_0_2")));
  EXPECT_TRUE(same(core::flip(f, {-2}), expected("flip_1")));
  EXPECT_TRUE(same(core::flip(f, {2, 0, 1}), expected("flip_all")));
  Tensor p = input("pad_x");
  EXPECT_TRUE(same(core::pad(p, {1, 2}, 9), expected("pad_1_2")));
  EXPECT_TRUE(same(core::pad(p, {-1, 1, 2, 0}, 9), expected("pad_m1_1_2_0")));
  EXPECT_TRUE(same(core::pad(p, {0, 0, -1, -1, 1, 1}, 9), expected("pad_0_0_m1_m1_1_1")));
}

INSTANTIATE_TEST_SUITE_P(Cases, IndexingGolden,
                         ::testing::Combine(::testing::Values(kFloat32, kFloat64, kInt64),
                                            ::testing::Values(Layout::Contiguous, Layout::Transposed,
                                                              Layout::Stepped)),
                         [](const auto& info) {
                           return std::string(dtype_name(std::get<0>(info.param))) + "_" +
                                  layout_name(std::get<1>(info.param));
                         });

// ---- bool: the ops that move elements without arithmetic commute with conversion to bool (x != 0) ----

class IndexingBool : public ::testing::TestWithParam<Layout> {
 protected:
  Tensor input(const std::string& name) const { return in_layout(core::to(golden().tensor(name), kBool), GetParam()); }
  Tensor index(const std::string& name) const { return in_layout(golden().tensor(name), GetParam()); }
  static Tensor expected(const std::string& name) { return core::to(golden().tensor(name), kBool); }
};

TEST_P(IndexingBool, MovesElements) {
  EXPECT_TRUE(same(core::cat({input("cat_a"), input("cat_b"), input("cat_c")}, 1), expected("cat_dim1")));
  EXPECT_TRUE(same(core::stack({input("stack_a"), input("stack_b"), input("stack_c")}, 1), expected("stack_dim1")));
  EXPECT_TRUE(same(core::gather(input("gather_x"), 1, index("gather_index_dim1")), expected("gather_dim1")));
  EXPECT_TRUE(same(core::scatter(input("scatter_x"), 1, index("scatter_index_dim1"), input("scatter_src")),
                   expected("scatter_dim1")));
  EXPECT_TRUE(same(core::index_select(input("select_x"), 2, index("select_index_dim2")),
                   expected("index_select_dim2")));
  EXPECT_TRUE(same(core::masked_fill(input("mask_x"), index("mask_row"), true), expected("masked_fill_row")));
  EXPECT_TRUE(same(core::masked_select(input("mask_x"), index("mask_full")), expected("masked_select_full")));
  EXPECT_TRUE(same(core::nonzero(input("nonzero_x")), golden().tensor("nonzero")));
  EXPECT_TRUE(same(core::tril(input("tri_x"), 1), expected("tril_1")));
  EXPECT_TRUE(same(core::triu(input("tri_x"), -2), expected("triu_m2")));
  EXPECT_TRUE(same(core::repeat(input("repeat_x"), {2, 1, 3}), expected("repeat_2_1_3")));
  EXPECT_TRUE(same(core::flip(input("flip_x"), {0, 2}), expected("flip_0_2")));
  EXPECT_TRUE(same(core::pad(input("pad_x"), {-1, 1, 2, 0}, true), expected("pad_m1_1_2_0")));
}

TEST_P(IndexingBool, SortsFalseBeforeTrueAndAddsAsOr) {
  Tensor x = in_layout(core::tensor<bool>({true, false, true, false, false}, {1, 5}), GetParam());
  auto [values, indices] = core::sort(x, 1);
  EXPECT_EQ(values.to_vector<int>(), (std::vector<int>{0, 0, 0, 1, 1}));
  EXPECT_EQ(indices.to_vector<int64_t>(), (std::vector<int64_t>{1, 3, 4, 0, 2}));
  // PyTorch adds bools as a logical or.
  Tensor sum = core::index_add(x, 1, core::tensor<int64_t>({0, 1, 1}), core::tensor<bool>({true, true, true}, {1, 3}));
  EXPECT_EQ(sum.to_vector<int>(), (std::vector<int>{1, 1, 1, 0, 0}));
}

INSTANTIATE_TEST_SUITE_P(Layouts, IndexingBool,
                         ::testing::Values(Layout::Contiguous, Layout::Transposed, Layout::Stepped),
                         [](const auto& info) { return layout_name(info.param); });

// ---- NaN and infinities order like PyTorch (NaN above +inf) ----

class IndexingNan : public ::testing::TestWithParam<std::tuple<DType, Layout>> {};

TEST_P(IndexingNan, SortAndTopkPutNanLargest) {
  auto [dtype, layout] = GetParam();
  Tensor x = in_layout(core::to(golden().tensor("sort_x_nan"), dtype), layout);
  for (bool descending : {false, true}) {
    const std::string name = std::string("sort_nan_") + (descending ? "desc" : "asc");
    auto [values, indices] = core::sort(x, 1, descending, true);
    EXPECT_TRUE(same(values, core::to(golden().tensor(name + "_values"), dtype))) << name;
    EXPECT_TRUE(same(indices, golden().tensor(name + "_indices"))) << name;
  }
  Tensor first5 = core::narrow(x, 1, 0, 5);
  for (bool largest : {true, false}) {
    const std::string name = std::string("topk_nan_") + (largest ? "largest" : "smallest");
    auto [values, indices] = core::topk(first5, 3, 1, largest);
    EXPECT_TRUE(same(values, core::to(golden().tensor(name + "_values"), dtype))) << name;
    EXPECT_TRUE(same(indices, golden().tensor(name + "_indices"))) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, IndexingNan,
                         ::testing::Combine(::testing::Values(kFloat32, kFloat64),
                                            ::testing::Values(Layout::Contiguous, Layout::Transposed,
                                                              Layout::Stepped)),
                         [](const auto& info) {
                           return std::string(dtype_name(std::get<0>(info.param))) + "_" +
                                  layout_name(std::get<1>(info.param));
                         });

// ---- cat / stack / split / chunk ----

// 0, 1, 2, ... in the given shape and dtype
Tensor iota(const Dims& shape, DType dtype = kFloat32) {
  return core::view(core::arange(shape.product(), {.dtype = dtype}), shape);
}

TEST(Cat, PromotesMixedDtypes) {
  Tensor out = core::cat({core::ones({2, 3}, {.dtype = kInt64}), core::ones({1, 3}, {.dtype = kBool}),
                          core::full({1, 3}, 0.5)});
  EXPECT_EQ(out.dtype(), kFloat32);
  EXPECT_EQ(out.sizes(), (Dims{4, 3}));
  EXPECT_EQ(out.to_vector<double>(), (std::vector<double>{1, 1, 1, 1, 1, 1, 1, 1, 1, 0.5, 0.5, 0.5}));
  EXPECT_EQ(core::stack({core::scalar_tensor(1.0), core::scalar_tensor(int64_t{2})}).dtype(), kFloat32);
  EXPECT_EQ(core::cat({iota({2}, kFloat32), iota({2}, kFloat64)}).dtype(), kFloat64);
}

TEST(Cat, SkipsLegacyEmptyVectorsButPromotesThem) {
  Tensor x = iota({2, 3});
  Tensor empty64 = core::empty({0}, {.dtype = kFloat64});
  for (int64_t dim : {0, 1}) {
    Tensor out = core::cat({empty64, x, core::empty({0})}, dim);
    EXPECT_EQ(out.dtype(), kFloat64);
    EXPECT_TRUE(tensors_close(out, core::to(x, kFloat64), 0, 0)) << dim;
  }
  Tensor only_empty = core::cat({core::empty({0}), empty64});
  EXPECT_EQ(only_empty.sizes(), (Dims{0}));
  EXPECT_EQ(only_empty.dtype(), kFloat64);
}

TEST(Cat, EmptyAndSizeOneDimsAndCopies) {
  Tensor a = iota({2, 0}), b = iota({2, 1});
  Tensor out = core::cat({a, b, a}, 1);
  EXPECT_EQ(out.sizes(), (Dims{2, 1}));
  EXPECT_TRUE(tensors_close(out, b, 0, 0));
  EXPECT_EQ(core::cat({iota({0, 3}), iota({0, 3})}).sizes(), (Dims{0, 3}));
  Tensor single = core::cat({b});
  EXPECT_FALSE(single.shares_storage(b));
  EXPECT_TRUE(tensors_close(single, b, 0, 0));
  // An expanded (stride 0) input.
  Tensor row = core::expand(iota({1, 3}), {2, 3});
  EXPECT_EQ(core::cat({row, iota({1, 3})}).to_vector<float>(), (std::vector<float>{0, 1, 2, 0, 1, 2, 0, 1, 2}));
}

TEST(Cat, Errors) {
  EXPECT_TRUE(throws_with<ValueError>([] { core::cat({}); }, {"cat", "non-empty"}));
  EXPECT_TRUE(throws_with<ValueError>([] { core::cat({Tensor(), iota({2})}); }, {"cat", "tensor 0", "undefined"}));
  EXPECT_TRUE(throws_with<ShapeError>([] { core::cat({iota({2, 3}), iota({2, 4})}); },
                                      {"cat", "tensor 1", "[2, 4]", "tensor 0", "[2, 3]", "dim 0"}));
  EXPECT_TRUE(throws_with<ShapeError>([] { core::cat({iota({0}), iota({2, 3}), iota({2, 3, 1})}, 1); },
                                      {"cat", "tensor 2", "[2, 3, 1]", "tensor 1", "[2, 3]"}));
  EXPECT_TRUE(throws_with<ShapeError>([] { core::cat({iota({2}), core::scalar_tensor(1.0)}); },
                                      {"cat", "tensor 1", "zero-dimensional"}));
  EXPECT_TRUE(throws_with<IndexError>([] { core::cat({iota({2, 3})}, 2); }, {"cat", "dim 2"}));
}

TEST(Stack, ShapesAndErrors) {
  Tensor s = core::stack({iota({3}), iota({3})}, 1);
  EXPECT_EQ(s.sizes(), (Dims{3, 2}));
  EXPECT_EQ(s.to_vector<float>(), (std::vector<float>{0, 0, 1, 1, 2, 2}));
  EXPECT_EQ(core::stack({core::empty({0}), core::empty({0})}).sizes(), (Dims{2, 0}));
  EXPECT_EQ(core::stack({core::scalar_tensor(1.0), core::scalar_tensor(2.0)}).to_vector<double>(),
            (std::vector<double>{1, 2}));
  EXPECT_TRUE(throws_with<ShapeError>([] { core::stack({iota({2, 3}), iota({2, 4})}); },
                                      {"stack", "tensor 1", "[2, 4]", "tensor 0", "[2, 3]"}));
  EXPECT_TRUE(throws_with<IndexError>([] { core::stack({iota({2}), iota({2})}, 2); }, {"stack", "dim 2"}));
  EXPECT_TRUE(throws_with<ValueError>([] { core::stack({}); }, {"stack", "non-empty"}));
}

TEST(Split, BySizeGivesViewsWithASmallerLast) {
  Tensor x = iota({5, 2});
  std::vector<Tensor> parts = core::split(x, 2);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].sizes(), (Dims{2, 2}));
  EXPECT_EQ(parts[2].sizes(), (Dims{1, 2}));
  EXPECT_EQ(parts[2].to_vector<float>(), (std::vector<float>{8, 9}));
  for (const Tensor& p : parts) EXPECT_TRUE(p.shares_storage(x));
  std::vector<Tensor> columns = core::split(core::transpose(x, 0, 1), 3, 1);  // non-contiguous input
  ASSERT_EQ(columns.size(), 2u);
  EXPECT_EQ(columns[1].to_vector<float>(), (std::vector<float>{6, 8, 7, 9}));
  core::fill_(parts[1], -1);  // writes reach x
  EXPECT_EQ(x.at<float>({2, 1}), -1.0f);
  EXPECT_EQ(core::split(core::empty({0}), 2).size(), 1u);
  EXPECT_EQ(core::split(core::empty({0}), 0).size(), 1u);
  EXPECT_TRUE(throws_with<ValueError>([&] { core::split(x, 0); }, {"split", "0", "size 5"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { core::split(x, -1); }, {"split", "-1"}));
  EXPECT_TRUE(throws_with<ShapeError>([] { core::split(core::scalar_tensor(1.0), 1); }, {"split", "[]"}));
}

TEST(Split, BySizes) {
  Tensor x = iota({2, 6});
  std::vector<Tensor> parts = core::split(x, std::vector<int64_t>{1, 0, 5}, -1);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[1].sizes(), (Dims{2, 0}));
  EXPECT_EQ(parts[2].to_vector<float>(), (std::vector<float>{1, 2, 3, 4, 5, 7, 8, 9, 10, 11}));
  EXPECT_TRUE(parts[2].shares_storage(x));
  EXPECT_TRUE(throws_with<ShapeError>([&] { core::split(x, std::vector<int64_t>{1, 1}, 1); },
                                      {"split", "[1, 1]", "sum to 2", "size 6"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { core::split(x, std::vector<int64_t>{7, -1}, 1); }, {"split", "-1"}));
}

TEST(Chunk, FollowsPyTorchSizing) {
  auto sizes_of = [](const std::vector<Tensor>& parts) {
    std::vector<int64_t> sizes;
    for (const Tensor& p : parts) sizes.push_back(p.size(0));
    return sizes;
  };
  EXPECT_EQ(sizes_of(core::chunk(iota({5}), 3)), (std::vector<int64_t>{2, 2, 1}));
  EXPECT_EQ(sizes_of(core::chunk(iota({6}), 4)), (std::vector<int64_t>{2, 2, 2}));  // fewer than asked
  EXPECT_EQ(sizes_of(core::chunk(iota({2}), 5)), (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(sizes_of(core::chunk(iota({0}), 3)), (std::vector<int64_t>{0, 0, 0}));
  std::vector<Tensor> rows = core::chunk(iota({3, 4}), 2, 1);
  EXPECT_EQ(rows[1].to_vector<float>(), (std::vector<float>{2, 3, 6, 7, 10, 11}));
  EXPECT_TRUE(throws_with<ValueError>([] { core::chunk(iota({5}), 0); }, {"chunk", "0"}));
  EXPECT_TRUE(throws_with<ShapeError>([] { core::chunk(core::scalar_tensor(1.0), 1); }, {"chunk", "[]"}));
}

// ---- gather / scatter / index_select / index_add ----

TEST(Gather, ExpandedAndZeroDimAndEmpty) {
  Tensor x = core::expand(iota({1, 4}), {3, 4});  // every row 0 1 2 3
  Tensor idx = core::tensor<int64_t>({3, 0, 1, 1, 2, 2}, {3, 2});
  EXPECT_EQ(core::gather(x, 1, idx).to_vector<float>(), (std::vector<float>{3, 0, 1, 1, 2, 2}));
  // An expanded index (one index row for every row of x).
  Tensor idx_rows = core::expand(core::tensor<int64_t>({2, 0}, {1, 2}), {3, 2});
  EXPECT_EQ(core::gather(iota({3, 4}), 1, idx_rows).to_vector<float>(), (std::vector<float>{2, 0, 6, 4, 10, 8}));
  Tensor scalar = core::gather(core::scalar_tensor(5.0), 0, core::scalar_tensor(int64_t{0}));
  EXPECT_EQ(scalar.dim(), 0);
  EXPECT_EQ(scalar.item<double>(), 5.0);
  Tensor picked = core::gather(iota({3}), 0, core::scalar_tensor(int64_t{2}));
  EXPECT_EQ(picked.dim(), 0);
  EXPECT_EQ(picked.item<float>(), 2.0f);
  EXPECT_EQ(core::gather(iota({3, 4}), 1, core::empty({3, 0}, {.dtype = kInt64})).sizes(), (Dims{3, 0}));
}

TEST(Gather, Errors) {
  Tensor x = iota({3, 4});
  EXPECT_TRUE(throws_with<IndexError>([&] { core::gather(x, 1, core::tensor<int64_t>({0, 4}, {1, 2})); },
                                      {"gather", "index 4", "dim 1", "size 4"}));
  EXPECT_TRUE(throws_with<IndexError>([&] { core::gather(x, 0, core::tensor<int64_t>({-1}, {1, 1})); },
                                      {"gather", "index -1", "size 3"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::gather(x, 1, core::zeros({1, 2})); },
                                      {"gather", "int64", "float32"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { core::gather(x, 0, core::zeros({1, 5}, {.dtype = kInt64})); },
                                      {"gather", "[1, 5]", "[3, 4]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { core::gather(x, 0, core::zeros({4}, {.dtype = kInt64})); },
                                      {"gather", "[4]", "[3, 4]", "dims"}));
  EXPECT_TRUE(throws_with<IndexError>([&] { core::gather(x, 2, core::zeros({1, 1}, {.dtype = kInt64})); },
                                      {"gather", "dim 2"}));
}

TEST(Scatter, LaterIndicesWinAlongALineAndScalarsConvert) {
  Tensor x = core::zeros({1, 3}, {.dtype = kInt64});
  Tensor out = core::scatter(x, 1, core::tensor<int64_t>({1, 1}, {1, 2}), core::tensor<int64_t>({5, 7}, {1, 2}));
  EXPECT_EQ(out.to_vector<int64_t>(), (std::vector<int64_t>{0, 7, 0}));
  EXPECT_EQ(core::scatter(x, 1, core::tensor<int64_t>({2}, {1, 1}), 2.5).to_vector<int64_t>(),
            (std::vector<int64_t>{0, 0, 2}));  // converted to x's dtype, as PyTorch does
  // src larger than index: only the index's part is used.
  Tensor src = iota({2, 4});
  EXPECT_EQ(core::scatter(core::zeros({2, 3}), 1, core::tensor<int64_t>({2, 0}, {1, 2}), src).to_vector<float>(),
            (std::vector<float>{1, 0, 0, 0, 0, 0}));
  Tensor zero_d = core::scatter(core::scalar_tensor(1.0), 0, core::scalar_tensor(int64_t{0}), core::scalar_tensor(4.0));
  EXPECT_EQ(zero_d.dim(), 0);
  EXPECT_EQ(zero_d.item<double>(), 4.0);
  EXPECT_TRUE(tensors_close(core::scatter(iota({2, 3}), 0, core::empty({0, 3}, {.dtype = kInt64}), 1.0),
                            iota({2, 3}), 0, 0));
}

TEST(Scatter, Errors) {
  Tensor x = iota({2, 3});
  Tensor idx = core::tensor<int64_t>({0, 3}, {1, 2});
  EXPECT_TRUE(throws_with<IndexError>([&] { core::scatter(x, 1, idx, 1.0); }, {"scatter", "index 3", "size 3"}));
  EXPECT_TRUE(throws_with<IndexError>([&] { core::scatter_add(x, 1, idx, iota({1, 2})); },
                                      {"scatter_add", "index 3", "size 3"}));
  EXPECT_TRUE(throws_with<DTypeError>(
      [&] { core::scatter(x, 1, core::zeros({1, 2}, {.dtype = kInt64}), iota({1, 2}, kFloat64)); },
      {"scatter", "float64", "float32"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::scatter(x, 1, core::zeros({1, 2}), 1.0); }, {"scatter", "int64"}));
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] { core::scatter(x, 0, core::zeros({1, 3}, {.dtype = kInt64}), iota({1, 2})); },
      {"scatter", "[1, 3]", "src", "[1, 2]"}));
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] { core::scatter_add(x, 0, core::zeros({1, 4}, {.dtype = kInt64}), iota({1, 4})); },
      {"scatter_add", "[1, 4]", "[2, 3]", "dim 0"}));
  // In place into an expanded view would write one element many times.
  Tensor expanded = core::expand(core::zeros({1, 3}), {2, 3});
  EXPECT_TRUE(throws_with<ValueError>(
      [&] { core::scatter_add_(expanded, 1, core::zeros({2, 1}, {.dtype = kInt64}), iota({2, 1})); },
      {"scatter_add_", "[2, 3]", "[0, 1]"}));
}

TEST(IndexSelect, RowsOfAnExpandedOrZeroDimTensor) {
  Tensor x = core::expand(iota({1, 3}), {4, 3});
  EXPECT_EQ(core::index_select(x, 1, core::tensor<int64_t>({2, 2, 0})).to_vector<float>(),
            (std::vector<float>{2, 2, 0, 2, 2, 0, 2, 2, 0, 2, 2, 0}));
  Tensor one = core::index_select(iota({2, 3}), 1, core::scalar_tensor(int64_t{1}));  // 0-d index: one
  EXPECT_EQ(one.sizes(), (Dims{2, 1}));
  EXPECT_EQ(one.to_vector<float>(), (std::vector<float>{1, 4}));
  Tensor stepped_index = core::slice(core::tensor<int64_t>({1, 9, 0, 9, 1}), 0, 0, INT64_MAX, 2);
  EXPECT_EQ(core::index_select(iota({2, 3}), 0, stepped_index).to_vector<float>(),
            (std::vector<float>{3, 4, 5, 0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(core::index_select(iota({2, 3}), 0, core::empty({0}, {.dtype = kInt64})).sizes(), (Dims{0, 3}));
  Tensor scalar = core::index_select(core::scalar_tensor(5.0), 0, core::tensor<int64_t>({0, 0}));
  EXPECT_EQ(scalar.dim(), 0);  // PyTorch keeps a 0-d x 0-d
  EXPECT_EQ(scalar.item<double>(), 5.0);
}

TEST(IndexSelect, Errors) {
  Tensor x = iota({2, 3});
  EXPECT_TRUE(throws_with<IndexError>([&] { core::index_select(x, 1, core::tensor<int64_t>({-1})); },
                                      {"index_select", "index -1", "dim 1", "size 3"}));
  EXPECT_TRUE(throws_with<IndexError>([&] { core::index_select(x, 0, core::tensor<int64_t>({2})); },
                                      {"index_select", "index 2", "size 2"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { core::index_select(x, 0, core::zeros({1, 1}, {.dtype = kInt64})); },
                                      {"index_select", "[1, 1]"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::index_select(x, 0, core::zeros({1})); },
                                      {"index_select", "int64", "float32"}));
  EXPECT_TRUE(throws_with<IndexError>(
      [&] { core::index_select(core::scalar_tensor(1.0), 0, core::tensor<int64_t>({1})); },
      {"index_select", "index 1", "size 1"}));
}

TEST(IndexAdd, InPlaceThroughATransposedViewAndErrors) {
  Tensor base = core::zeros({3, 2});
  Tensor view = core::transpose(base, 0, 1);  // [2, 3]
  core::index_add_(view, 1, core::tensor<int64_t>({2, 2}), core::ones({2, 2}), 0.5);
  EXPECT_EQ(base.to_vector<float>(), (std::vector<float>{0, 0, 0, 0, 1, 1}));
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] { core::index_add_(view, 1, core::tensor<int64_t>({0, 1, 2}), core::ones({2, 2})); },
      {"index_add_", "3 elements", "[2, 2]"}));
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] { core::index_add(view, 1, core::tensor<int64_t>({0}), core::ones({3, 1})); },
      {"index_add_", "[3, 1]", "[2, 3]"}));
  EXPECT_TRUE(throws_with<DTypeError>(
      [&] { core::index_add(view, 1, core::tensor<int64_t>({0}), core::ones({2, 1}, {.dtype = kFloat64})); },
      {"index_add_", "float64", "float32"}));
  EXPECT_TRUE(throws_with<IndexError>(
      [&] { core::index_add(view, 1, core::tensor<int64_t>({3}), core::ones({2, 1})); },
      {"index_add_", "index 3", "size 3"}));
}

// ---- masks ----

TEST(MaskedFill, InPlaceWritesThroughAViewAndBumpsTheVersion) {
  Tensor base = iota({2, 4});
  Tensor view = core::slice(base, 1, 1, INT64_MAX, 2);  // columns 1 and 3
  uint64_t version = base.version();
  core::masked_fill_(view, core::tensor<bool>({true, false}), -1.0);
  EXPECT_GT(base.version(), version);
  EXPECT_EQ(base.to_vector<float>(), (std::vector<float>{0, -1, 2, 3, 4, -1, 6, 7}));
  // Out of place leaves x alone and broadcasts both operands, as PyTorch does.
  Tensor out = core::masked_fill(core::tensor<double>({1, 2}), core::tensor<bool>({true, false, false, true}, {2, 2}),
                                 INFINITY);
  EXPECT_EQ(out.sizes(), (Dims{2, 2}));
  EXPECT_EQ(out.to_vector<double>(), (std::vector<double>{INFINITY, 2, 1, INFINITY}));
  Tensor zero_d = core::masked_fill(core::scalar_tensor(1.0), core::scalar_tensor(true), NAN);
  EXPECT_EQ(zero_d.dim(), 0);
  EXPECT_TRUE(std::isnan(zero_d.item<double>()));
  EXPECT_EQ(core::masked_fill(core::empty({0, 3}), core::tensor<bool>({true, true, true}), 1.0).sizes(),
            (Dims{0, 3}));
}

TEST(MaskedFill, Errors) {
  Tensor x = iota({2, 3});
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::masked_fill(x, core::ones({3}, {.dtype = kInt64}), 1.0); },
                                      {"masked_fill", "bool", "int64"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { core::masked_fill(x, core::ones({4}, {.dtype = kBool}), 1.0); },
                                      {"masked_fill", "[2, 3]", "[4]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { core::masked_fill_(x, core::ones({3, 2, 3}, {.dtype = kBool}), 1.0); },
                                      {"masked_fill_", "[3, 2, 3]", "[2, 3]"}));
  Tensor expanded = core::expand(iota({1, 3}), {2, 3});
  EXPECT_TRUE(throws_with<ValueError>([&] { core::masked_fill_(expanded, core::ones({3}, {.dtype = kBool}), 1.0); },
                                      {"masked_fill_", "expanded"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::masked_select(x, core::ones({3})); }, {"masked_select", "bool"}));
}

TEST(MaskedSelect, ZeroDimEmptyAndExpanded) {
  Tensor one = core::masked_select(core::scalar_tensor(3.0), core::scalar_tensor(true));
  EXPECT_EQ(one.sizes(), (Dims{1}));
  EXPECT_EQ(one.item<double>(), 3.0);
  EXPECT_EQ(core::masked_select(iota({3}), core::scalar_tensor(false)).sizes(), (Dims{0}));
  EXPECT_EQ(core::masked_select(core::empty({0, 2}), core::ones({2}, {.dtype = kBool})).sizes(), (Dims{0}));
  Tensor x = core::expand(iota({3, 1}), {3, 2});
  EXPECT_EQ(core::masked_select(x, core::tensor<bool>({false, true})).to_vector<float>(),
            (std::vector<float>{0, 1, 2}));
}

TEST(Nonzero, ZeroDimNanAndEmpty) {
  EXPECT_EQ(core::nonzero(core::scalar_tensor(3.0)).sizes(), (Dims{1, 0}));
  EXPECT_EQ(core::nonzero(core::scalar_tensor(0.0)).sizes(), (Dims{0, 0}));
  Tensor nan = core::nonzero(core::tensor<double>({0.0, NAN, -0.0, INFINITY}));
  EXPECT_EQ(nan.dtype(), kInt64);
  EXPECT_EQ(nan.to_vector<int64_t>(), (std::vector<int64_t>{1, 3}));  // NaN is not zero; -0 is
  EXPECT_EQ(core::nonzero(core::empty({2, 0, 3})).sizes(), (Dims{0, 3}));
  Tensor t = core::nonzero(core::transpose(core::tensor<int64_t>({0, 1, 2, 0}, {2, 2}), 0, 1));
  EXPECT_EQ(t.to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 1, 0}));
}

TEST(OneHot, InfersClassesAndRejectsBadLabels) {
  Tensor zero_d = core::one_hot(core::scalar_tensor(int64_t{1}), 3);
  EXPECT_EQ(zero_d.to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 0}));
  EXPECT_EQ(core::one_hot(core::empty({0}, {.dtype = kInt64}), 4).sizes(), (Dims{0, 4}));
  Tensor labels = core::tensor<int64_t>({0, 3});
  EXPECT_EQ(core::one_hot(labels).sizes(), (Dims{2, 4}));
  EXPECT_TRUE(throws_with<IndexError>([] { core::one_hot(core::tensor<int64_t>({0, -1}), 3); },
                                      {"one_hot", "-1", "negative"}));
  EXPECT_TRUE(throws_with<IndexError>([&] { core::one_hot(labels, 3); }, {"one_hot", "3", "3 classes"}));
  EXPECT_TRUE(throws_with<ValueError>([] { core::one_hot(core::empty({0}, {.dtype = kInt64})); },
                                      {"one_hot", "empty"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { core::one_hot(labels, -2); }, {"one_hot", "-2"}));
  EXPECT_TRUE(throws_with<DTypeError>([] { core::one_hot(core::ones({2})); }, {"one_hot", "int64", "float32"}));
}

// ---- topk / sort ----

TEST(Topk, UnsortedKeepsOriginalOrderAndEdgeCases) {
  Tensor x = core::tensor<float>({4, 9, 1, 7, 3});
  auto [values, indices] = core::topk(x, 3, 0, true, false);
  EXPECT_EQ(indices.to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 3}));
  EXPECT_EQ(values.to_vector<float>(), (std::vector<float>{4, 9, 7}));
  auto [none, none_indices] = core::topk(x, 0);
  EXPECT_EQ(none.sizes(), (Dims{0}));
  EXPECT_EQ(none_indices.dtype(), kInt64);
  auto [all, all_indices] = core::topk(x, 5, -1, false);
  EXPECT_EQ(all.to_vector<float>(), (std::vector<float>{1, 3, 4, 7, 9}));
  auto [scalar, scalar_index] = core::topk(core::scalar_tensor(2.0), 1);
  EXPECT_EQ(scalar.dim(), 0);
  EXPECT_EQ(scalar.item<double>(), 2.0);
  EXPECT_EQ(scalar_index.item<int64_t>(), 0);
  EXPECT_EQ(core::topk(core::empty({0, 4}), 2, 1).first.sizes(), (Dims{0, 2}));
  EXPECT_TRUE(throws_with<IndexError>([&] { core::topk(x, 6); }, {"topk", "k = 6", "size 5"}));
  EXPECT_TRUE(throws_with<IndexError>([&] { core::topk(x, -1); }, {"topk", "k = -1"}));
  EXPECT_TRUE(throws_with<DTypeError>([] { core::topk(core::ones({3}, {.dtype = kBool}), 1); }, {"topk", "bool"}));
}

TEST(Sort, ZeroDimEmptySizeOneAndExpanded) {
  auto [scalar, scalar_index] = core::sort(core::scalar_tensor(int64_t{7}));
  EXPECT_EQ(scalar.dim(), 0);
  EXPECT_EQ(scalar_index.item<int64_t>(), 0);
  EXPECT_EQ(core::sort(core::empty({3, 0})).first.sizes(), (Dims{3, 0}));
  auto [column, column_index] = core::sort(iota({3, 1}), 1, true);
  EXPECT_EQ(column.to_vector<float>(), (std::vector<float>{0, 1, 2}));
  EXPECT_EQ(column_index.to_vector<int64_t>(), (std::vector<int64_t>{0, 0, 0}));
  // Equal values (an expanded row) keep their order when stable.
  Tensor ties = core::expand(core::tensor<double>({5.0}, {1, 1}), {2, 4});
  EXPECT_EQ(core::argsort(ties, 1, true).to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 2, 3, 0, 1, 2, 3}));
  // int64 beyond double's exact range.
  Tensor big = core::tensor<int64_t>({(int64_t{1} << 60) + 1, int64_t{1} << 60, -(int64_t{1} << 62)});
  EXPECT_EQ(core::argsort(big).to_vector<int64_t>(), (std::vector<int64_t>{2, 1, 0}));
  EXPECT_TRUE(throws_with<IndexError>([] { core::sort(iota({2}), 1); }, {"sort", "dim 1"}));
}

// ---- tril / triu / repeat / flip / pad ----

TEST(Triangle, EmptyBatchesAndErrors) {
  EXPECT_EQ(core::tril(core::empty({0, 3, 3})).sizes(), (Dims{0, 3, 3}));
  EXPECT_EQ(core::triu(core::empty({2, 0})).sizes(), (Dims{2, 0}));
  // A batch dim that is expanded.
  Tensor x = core::expand(core::ones({1, 2, 2}, {.dtype = kInt64}), {3, 2, 2});
  EXPECT_EQ(core::triu(x, 1).to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0}));
  EXPECT_TRUE(throws_with<ShapeError>([] { core::tril(iota({3})); }, {"tril", "[3]", "2 dims"}));
  EXPECT_TRUE(throws_with<ShapeError>([] { core::triu(core::scalar_tensor(1.0)); }, {"triu", "[]"}));
}

TEST(Repeat, LeadingDimsZeroCountsAndErrors) {
  Tensor scalar = core::repeat(core::scalar_tensor(2.0), {2, 3});
  EXPECT_EQ(scalar.sizes(), (Dims{2, 3}));
  EXPECT_EQ(scalar.to_vector<double>(), std::vector<double>(6, 2.0));
  EXPECT_EQ(core::repeat(core::scalar_tensor(2.0), {}).dim(), 0);
  EXPECT_EQ(core::repeat(iota({2, 3}), {2, 0}).sizes(), (Dims{4, 0}));
  Tensor col = core::repeat(core::expand(iota({2, 1}), {2, 2}), {1, 2});
  EXPECT_EQ(col.to_vector<float>(), (std::vector<float>{0, 0, 0, 0, 1, 1, 1, 1}));
  // More than kMaxDims / 2 dims, every one repeated.
  Tensor wide = core::repeat(iota({2, 1, 2, 1, 2}), {1, 2, 1, 2, 2});
  EXPECT_EQ(wide.sizes(), (Dims{2, 2, 2, 2, 4}));
  EXPECT_EQ(wide.at<float>({1, 1, 0, 1, 3}), 5.0f);
  EXPECT_TRUE(throws_with<ShapeError>([] { core::repeat(iota({2, 3}), {2}); }, {"repeat", "[2]", "[2, 3]"}));
  EXPECT_TRUE(throws_with<ValueError>([] { core::repeat(iota({2, 3}), {2, -1}); }, {"repeat", "[2, -1]"}));
}

TEST(Flip, ZeroDimNoDimsAndErrors) {
  Tensor scalar = core::flip(core::scalar_tensor(3.0), {0});
  EXPECT_EQ(scalar.dim(), 0);
  EXPECT_EQ(scalar.item<double>(), 3.0);
  Tensor x = iota({2, 3});
  Tensor same_values = core::flip(x, {});
  EXPECT_FALSE(same_values.shares_storage(x));
  EXPECT_TRUE(tensors_close(same_values, x, 0, 0));
  EXPECT_EQ(core::flip(core::empty({0, 2}), {0, 1}).sizes(), (Dims{0, 2}));
  EXPECT_EQ(core::flip(core::expand(iota({3}), {2, 3}), {1}).to_vector<float>(),
            (std::vector<float>{2, 1, 0, 2, 1, 0}));
  EXPECT_TRUE(throws_with<ValueError>([&] { core::flip(x, {1, -1}); }, {"flip", "dim 1", "more than once"}));
  EXPECT_TRUE(throws_with<IndexError>([&] { core::flip(x, {2}); }, {"flip", "dim 2"}));
}

TEST(Pad, ValuesCropsAndErrors) {
  Tensor x = core::tensor<int64_t>({1, 2, 3});
  EXPECT_EQ(core::pad(x, {1, 1}, 2.5).to_vector<int64_t>(), (std::vector<int64_t>{2, 1, 2, 3, 2}));
  EXPECT_EQ(core::pad(x, {-2, -1}).sizes(), (Dims{0}));
  EXPECT_EQ(core::pad(x, {-3, 2}).to_vector<int64_t>(), (std::vector<int64_t>{0, 0}));
  EXPECT_EQ(core::pad(core::scalar_tensor(3.0), {}).item<double>(), 3.0);
  EXPECT_EQ(core::pad(core::empty({0, 2}), {1, 0, 1, 1}, 7.0).to_vector<float>(),
            (std::vector<float>{7, 7, 7, 7, 7, 7}));
  EXPECT_TRUE(throws_with<ValueError>([&] { core::pad(x, {1}); }, {"pad", "odd"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { core::pad(x, {1, 1, 1, 1}); }, {"pad", "2 pairs", "[3]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { core::pad(x, {-2, -2}); }, {"pad", "(-2, -2)", "size 3"}));
}

// ---- sizes that run on two threads, against references computed here ----

class Parallel : public ::testing::Test {
 protected:
  void SetUp() override {
    threads_ = get_num_threads();
    set_num_threads(2);
  }
  void TearDown() override { set_num_threads(threads_); }
  int threads_ = 1;
};

TEST_F(Parallel, GatherAndIndexSelectMatchAReference) {
  const int64_t rows = 700, cols = 300;
  Tensor x = core::transpose(iota({cols, rows}, kFloat64), 0, 1);  // [rows, cols], x[r][c] = c * rows + r
  std::vector<int64_t> reversed(static_cast<size_t>(rows * cols));
  for (int64_t i = 0; i < rows * cols; ++i) reversed[i] = cols - 1 - i % cols;
  std::vector<double> got = core::gather(x, 1, core::tensor(reversed, {rows, cols})).to_vector<double>();
  bool all_right = true;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) all_right &= got[r * cols + c] == double((cols - 1 - c) * rows + r);
  }
  EXPECT_TRUE(all_right);
  Tensor picked = core::index_select(x, 0, core::arange(rows - 1, -1, -1, {.dtype = kInt64}));
  EXPECT_TRUE(tensors_close(picked, core::flip(x, {0}), 0, 0));
}

TEST_F(Parallel, ScatterAddAndIndexAddAccumulateEveryDuplicate) {
  const int64_t n = 200000, bins = 7;
  std::vector<int64_t> bin_of(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) bin_of[i] = i % bins;
  Tensor idx = core::tensor(bin_of);
  Tensor src = core::ones({n}, {.dtype = kInt64});
  std::vector<int64_t> expected(bins, n / bins);
  for (int64_t b = 0; b < n % bins; ++b) ++expected[b];
  EXPECT_EQ(core::scatter_add(core::zeros({bins}, {.dtype = kInt64}), 0, idx, src).to_vector<int64_t>(), expected);
  EXPECT_EQ(core::index_add(core::zeros({bins}, {.dtype = kInt64}), 0, idx, src).to_vector<int64_t>(), expected);
  // Many lines: each row of a [rows, 4] scatter_add along dim 1 is its own line.
  const int64_t rows = 50000;
  Tensor per_row = core::scatter_add(core::zeros({rows, 4}), 1, core::zeros({rows, 3}, {.dtype = kInt64}),
                                     core::ones({rows, 3}));
  std::vector<float> expected_rows(static_cast<size_t>(rows * 4), 0.0f);
  for (int64_t r = 0; r < rows; ++r) expected_rows[r * 4] = 3.0f;
  EXPECT_EQ(per_row.to_vector<float>(), expected_rows);
}

TEST_F(Parallel, SortTopkMaskedSelectNonzeroCat) {
  const int64_t n = 100000;
  // Row 0: a permutation of 0..n-1, (i * 7919) mod n; row 1: its negation. Stored transposed.
  std::vector<int64_t> values(static_cast<size_t>(2 * n));
  for (int64_t i = 0; i < n; ++i) {
    values[i] = i * 7919 % n;
    values[n + i] = -values[i];
  }
  Tensor x = in_layout(core::tensor(values, {2, n}), Layout::Transposed);
  auto [sorted, indices] = core::sort(x, 1);
  std::vector<int64_t> v = sorted.to_vector<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_EQ(v[i], i);
    ASSERT_EQ(v[n + i], i - (n - 1));
  }
  EXPECT_TRUE(tensors_close(core::gather(x, 1, indices), sorted, 0, 0));
  auto [top, top_indices] = core::topk(x, 3, 1);
  EXPECT_EQ(top.to_vector<int64_t>(), (std::vector<int64_t>{n - 1, n - 2, n - 3, 0, -1, -2}));
  EXPECT_EQ(top_indices.at<int64_t>({1, 0}), 0);
  // Odd values: masked_select in row-major order, nonzero's coordinates point at them.
  std::vector<bool> odd(values.size());
  std::vector<int64_t> expected_selected, expected_coords;
  for (size_t i = 0; i < values.size(); ++i) {
    odd[i] = values[i] % 2 != 0;
    if (odd[i]) {
      expected_selected.push_back(values[i]);
      expected_coords.push_back(static_cast<int64_t>(i) / n);
      expected_coords.push_back(static_cast<int64_t>(i) % n);
    }
  }
  Tensor mask = in_layout(core::tensor(odd, {2, n}), Layout::Stepped);
  EXPECT_EQ(core::masked_select(x, mask).to_vector<int64_t>(), expected_selected);
  EXPECT_EQ(core::nonzero(mask).to_vector<int64_t>(), expected_coords);
  Tensor joined = core::cat({x, x}, 1);
  EXPECT_TRUE(tensors_close(core::narrow(joined, 1, n, n), x, 0, 0));
  EXPECT_TRUE(tensors_close(core::flip(core::flip(x, {1}), {1}), x, 0, 0));
}

}  // namespace
}  // namespace descent
