// Gradients of the indexing and joining ops: gradcheck of each in every layout (gradgradcheck of
// gather, cat and the others whose backward is another op of the family), duplicate indices that
// accumulate, pieces of split/chunk that get no gradient, and exact values of a few backwards.
#include "grad_cases.h"

namespace descent {
namespace {

using testing::GradCase;
using testing::input;
using testing::Layout;
using testing::throws_with;

Tensor index(std::initializer_list<int64_t> values, const Dims& shape) {
  return core::tensor<int64_t>(values, shape);
}
Tensor mask(std::initializer_list<bool> values, const Dims& shape) { return core::tensor<bool>(values, shape); }
Tensor f64(std::initializer_list<double> values, const Dims& shape) {
  return core::tensor<double>(values, shape, {.dtype = kFloat64});
}

class IndexingGrad : public ::testing::TestWithParam<Layout> {};

TEST_P(IndexingGrad, EveryOpMatchesCentralDifferences) {
  Layout layout = GetParam();
  Tensor x = input({3, 4}, layout, 21);
  Tensor y = input({3, 2}, layout, 22);
  Tensor row = input({4}, layout, 23);  // broadcast against [3, 4] masks
  Tensor src = input({2, 3}, layout, 24);
  Tensor source = input({2, 4}, layout, 25);
  Tensor value = input({}, layout, 26);
  Tensor cube = input({2, 3, 2}, layout, 27);
  // Duplicates along the gathered dim: their gradients must add up.
  Tensor gather_index = index({0, 0, 3, 1, 2, 1, 3, 3, 0}, {3, 3});
  // Unique along dim 1 within each row (scatter's result would depend on the write order otherwise).
  Tensor scatter_index = index({3, 0, 1, 2}, {2, 2});
  Tensor rows = index({2, 0, 2}, {3});
  Tensor column_mask = mask({true, false, true}, {3, 1});
  Tensor full_mask = mask({true, false, false, true, true, true, false, false, true, false, true, false}, {3, 4});
  std::vector<GradCase> cases = {
      {"gather dim 1", [=](auto& v) { return gather(v[0], 1, gather_index); }, {x}, true},
      {"gather of an expanded row", [=](auto& v) { return gather(expand(v[0], {3, 4}), 1, gather_index); }, {row},
       true},
      {"gather dim 0", [=](auto& v) { return gather(v[0], 0, index({2, 2, 0, 1}, {1, 4})); }, {x}, true},
      {"index_select dim 0", [=](auto& v) { return index_select(v[0], 0, rows); }, {x}, true},
      {"index_select dim 1", [=](auto& v) { return index_select(v[0], 1, rows); }, {x}, true},
      {"scatter_add (src larger than index)", [=](auto& v) { return scatter_add(v[0], 1, scatter_index, v[1]); },
       {x, src}, true},
      {"scatter", [=](auto& v) { return scatter(v[0], 1, scatter_index, v[1]); }, {x, src}, true},
      {"scatter value", [=](auto& v) { return scatter(v[0], 1, scatter_index, 2.5); }, {x}, true},
      {"index_add", [=](auto& v) { return index_add(v[0], 0, index({2, 2}, {2}), v[1], 0.5); }, {x, source}, true},
      {"masked_fill broadcast mask", [=](auto& v) { return masked_fill(v[0], column_mask, -1.0); }, {x}, true},
      {"masked_fill broadcast x", [=](auto& v) { return masked_fill(v[0], full_mask, 3.0); }, {row}, true},
      {"masked_fill tensor value", [=](auto& v) { return masked_fill(v[0], full_mask, v[1]); }, {x, value}, true},
      {"masked_select", [=](auto& v) { return masked_select(v[0], column_mask); }, {x}, true},
      {"masked_select broadcast x", [=](auto& v) { return masked_select(v[0], full_mask); }, {row}, true},
      {"cat", [](auto& v) { return cat({v[0], v[1], v[0] * 2.0}, 1); }, {x, y}, true},
      {"cat with an expanded row", [](auto& v) { return cat({v[0], expand(v[1], {2, 4})}); }, {x, row}, true},
      {"cat dim 0 with an empty skipped",
       [](auto& v) { return cat({v[0], core::empty({0}, {.dtype = kFloat64}), v[0]}); }, {x}, true},
      {"stack", [](auto& v) { return stack({v[0], v[1] * v[1]}, 1); }, {x, input({3, 4}, Layout::Contiguous, 28)},
       true},
      {"split", [](auto& v) { auto p = split(v[0], 3, 1); return p[0] * 2.0 + sum(p[1] * p[1]); }, {x}, true},
      {"split sizes, one piece unused", [](auto& v) { return split(v[0], {1, 0, 2}, 0)[2] * 3.0; }, {x}, true},
      {"chunk", [](auto& v) { auto p = chunk(v[0], 2, 0); return cat({p[1], p[0] * p[0]}); }, {x}, true},
      {"topk", [](auto& v) { return topk(v[0], 2, 1).first; }, {x}, true},
      {"topk smallest dim 0", [](auto& v) { return topk(v[0], 2, 0, false).first; }, {x}, true},
      {"sort descending", [](auto& v) { return sort(v[0], 0, true).first * v[0]; }, {x}, true},
      {"tril", [](auto& v) { return tril(v[0], -1); }, {x}, true},
      {"triu", [](auto& v) { return triu(v[0], 1); }, {cube}, true},
      {"repeat", [](auto& v) { return repeat(v[0], {2, 1, 3}); }, {x}, true},
      {"repeat 3-d", [](auto& v) { return repeat(v[0], {2, 2, 1}) * 1.5; }, {cube}, true},
      {"flip", [](auto& v) { return flip(v[0], {0, 1}) * v[0]; }, {x}, true},
      {"pad", [](auto& v) { return pad(v[0], {1, 2, -1, 1}, 0.5); }, {x}, true},
  };
  for (const GradCase& c : cases) {
    SCOPED_TRACE(std::string(c.name) + " / " + testing::layout_name(layout));
    testing::check_case(c);
  }
}

INSTANTIATE_TEST_SUITE_P(Layouts, IndexingGrad,
                         ::testing::Values(Layout::Contiguous, Layout::Transposed, Layout::Strided),
                         [](const auto& info) { return std::string(testing::layout_name(info.param)); });

TEST(IndexingGradValues, DuplicateIndicesAccumulate) {
  Tensor x = f64({1, 2, 3}, {3}).requires_grad_(true);
  sum(index_select(x, 0, index({0, 0, 2, 0}, {4}))).backward();
  EXPECT_TRUE(testing::tensors_close(x.grad(), f64({3, 0, 1}, {3})));

  Tensor m = f64({1, 2, 3, 4}, {2, 2}).requires_grad_(true);
  gather(m, 1, index({1, 1, 1, 0, 0, 0}, {2, 3})).backward(f64({1, 2, 3, 4, 5, 6}, {2, 3}));
  EXPECT_TRUE(testing::tensors_close(m.grad(), f64({0, 6, 15, 0}, {2, 2})));
}

TEST(IndexingGradValues, ScatterGivesOverwrittenPlacesNoGradient) {
  Tensor x = f64({1, 2, 3, 4}, {4}).requires_grad_(true);
  Tensor src = f64({10, 20}, {2}).requires_grad_(true);
  scatter(x, 0, index({3, 1}, {2}), src).backward(f64({1, 2, 3, 4}, {4}));
  EXPECT_TRUE(testing::tensors_close(x.grad(), f64({1, 0, 3, 0}, {4})));
  EXPECT_TRUE(testing::tensors_close(src.grad(), f64({4, 2}, {2})));
}

TEST(IndexingGradValues, SortAndTopkSendTheGradientToTheSortedPositions) {
  Tensor x = f64({3, 1, 2}, {3}).requires_grad_(true);
  sort(x).first.backward(f64({10, 20, 30}, {3}));  // sorted: 1 (from 1), 2 (from 2), 3 (from 0)
  EXPECT_TRUE(testing::tensors_close(x.grad(), f64({30, 10, 20}, {3})));
  Tensor y = f64({3, 1, 2}, {3}).requires_grad_(true);
  topk(y, 2).first.backward(f64({5, 7}, {2}));  // 3 (from 0), 2 (from 2)
  EXPECT_TRUE(testing::tensors_close(y.grad(), f64({5, 0, 7}, {3})));
}

TEST(IndexingGradValues, MaskedFillWithATensorValue) {
  Tensor x = f64({1, 2, 3, 4}, {2, 2}).requires_grad_(true);
  Tensor value = core::tensor<double>({0.0}, {}, {.dtype = kFloat64}).requires_grad_(true);
  Tensor m = mask({true, false}, {2});  // broadcast over the rows: column 0 is filled
  Tensor out = masked_fill(x, m, value);
  EXPECT_TRUE(testing::tensors_close(out, f64({0, 2, 0, 4}, {2, 2})));
  out.backward(f64({1, 2, 3, 4}, {2, 2}));
  EXPECT_TRUE(testing::tensors_close(x.grad(), f64({0, 2, 0, 4}, {2, 2})));
  EXPECT_TRUE(testing::tensors_close(value.grad(), f64({4}, {})));
  EXPECT_TRUE(throws_with<ShapeError>([&] { masked_fill(x, m, f64({1, 2}, {2})); }, {"masked_fill", "0-d", "[2]"}));
}

TEST(IndexingGradValues, SplitPiecesAreViewsSharingOneNode) {
  Tensor x = core::ones({4, 2}, {.dtype = kFloat64, .requires_grad = true});
  std::vector<Tensor> pieces = split(x, 3);
  ASSERT_EQ(pieces.size(), 2u);
  EXPECT_TRUE(pieces[0].shares_storage(x));
  EXPECT_EQ(pieces[0].grad_fn(), pieces[1].grad_fn());
  EXPECT_EQ(pieces[0].grad_fn()->name(), "SplitBackward");
  sum(pieces[1] * 5.0).backward();  // only the second piece is used
  EXPECT_TRUE(testing::tensors_close(x.grad(), f64({0, 0, 0, 0, 0, 0, 5, 5}, {4, 2})));
}

TEST(IndexingGradValues, PadGradientIsTheInnerPart) {
  Tensor x = f64({1, 2, 3}, {3}).requires_grad_(true);
  pad(x, {-1, 2}).backward(f64({10, 20, 30, 40}, {4}));  // out = [2, 3, 0, 0]; x[0] was cropped
  EXPECT_TRUE(testing::tensors_close(x.grad(), f64({0, 10, 20}, {3})));
}

TEST(IndexingGradValues, RepeatSumsTheCopies) {
  Tensor x = f64({1, 2}, {2}).requires_grad_(true);
  repeat(x, {2, 2}).backward(f64({1, 2, 3, 4, 5, 6, 7, 8}, {2, 4}));
  EXPECT_TRUE(testing::tensors_close(x.grad(), f64({1 + 3 + 5 + 7, 2 + 4 + 6 + 8}, {2})));
}

TEST(IndexingGradValues, CatCastsEachGradientToItsInputDtype) {
  Tensor a = core::ones({2}, {.dtype = kFloat32, .requires_grad = true});
  Tensor b = core::ones({1}, {.dtype = kFloat64, .requires_grad = true});
  Tensor out = cat({a, b});
  EXPECT_EQ(out.dtype(), kFloat64);
  out.backward(f64({1, 2, 3}, {3}));
  EXPECT_EQ(a.grad().dtype(), kFloat32);
  EXPECT_TRUE(testing::tensors_close(a.grad(), core::tensor<float>({1, 2}, {2})));
  EXPECT_TRUE(testing::tensors_close(b.grad(), f64({3}, {1})));
}

TEST(IndexingGradValues, NodesAreNamedAfterTheirOp) {
  Tensor x = core::ones({2, 2}, {.requires_grad = true});
  Tensor i = index({0, 1}, {2});
  EXPECT_EQ(gather(x, 0, index({0, 1}, {1, 2})).grad_fn()->name(), "GatherBackward");
  EXPECT_EQ(index_select(x, 0, i).grad_fn()->name(), "IndexSelectBackward");
  EXPECT_EQ(scatter_add(x, 0, index({0, 1}, {1, 2}), x).grad_fn()->name(), "ScatterAddBackward");
  EXPECT_EQ(cat({x, x}).grad_fn()->name(), "CatBackward");
  EXPECT_EQ(stack({x, x}).grad_fn()->name(), "StackBackward");
  EXPECT_EQ(chunk(x, 2)[0].grad_fn()->name(), "ChunkBackward");
  EXPECT_EQ(topk(x, 1).first.grad_fn()->name(), "TopkBackward");
  EXPECT_FALSE(topk(x, 1).second.requires_grad());
  EXPECT_EQ(tril(x).grad_fn()->name(), "TrilBackward");
  EXPECT_EQ(pad(x, {1, 1}).grad_fn()->name(), "PadBackward");
  EXPECT_FALSE(argsort(x).requires_grad());
}

}  // namespace
}  // namespace descent
