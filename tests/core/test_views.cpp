// Views share storage and present the right elements; reshape copies only when it must;
// copy_/clone/contiguous/to convert and follow strides; bad geometry gets a named error.
// Expected values come from index arithmetic on arange inputs, not from our own output.
#include "testing.h"

namespace descent {
namespace {

using testing::tensors_close;
using testing::throws_with;

// 0, 1, 2, ... in the given shape and dtype
Tensor iota(const Dims& shape, DType dtype = kFloat32) {
  return core::view(core::arange(shape.product(), {.dtype = dtype}), shape);
}

TEST(Views, ViewInfersMinusOneAndShares) {
  Tensor x = iota({2, 3, 4});
  Tensor v = core::view(x, {4, -1});
  EXPECT_EQ(v.sizes(), (Dims{4, 6}));
  EXPECT_TRUE(v.shares_storage(x));
  EXPECT_EQ(v.at<float>({3, 5}), 23.0f);
  EXPECT_TRUE(throws_with<ShapeError>([&] { core::view(x, {5, -1}); }, {"view", "[5, -1]", "24 elements"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { core::view(x, {-1, -1}); }, {"view", "more than one -1"}));
}

TEST(Views, ViewOfATransposeThatStridesCannotExpressFails) {
  Tensor x = core::transpose(iota({2, 3}), 0, 1);
  EXPECT_TRUE(throws_with<ShapeError>([&] { core::view(x, {6}); }, {"view", "[6]", "[3, 2]", "reshape"}));
  // Splitting or merging dims that stay contiguous among themselves is a view.
  Tensor y = core::transpose(iota({2, 3, 4}), 0, 2);  // [4, 3, 2]
  Tensor z = core::view(y, {2, 2, 3, 2});
  EXPECT_TRUE(z.shares_storage(y));
  EXPECT_EQ(z.at<float>({1, 0, 2, 1}), y.at<float>({2, 2, 1}));
}

TEST(Views, ReshapeCopiesOnlyWhenItMust) {
  Tensor x = iota({2, 3});
  EXPECT_TRUE(core::reshape(x, {3, 2}).shares_storage(x));
  Tensor xt = core::transpose(x, 0, 1);
  Tensor r = core::reshape(xt, {6});
  EXPECT_FALSE(r.shares_storage(x));
  EXPECT_EQ(r.to_vector<float>(), (std::vector<float>{0, 3, 1, 4, 2, 5}));
}

TEST(Views, PermuteAndTranspose) {
  Tensor x = iota({2, 3, 4});
  Tensor p = core::permute(x, {2, 0, 1});
  EXPECT_EQ(p.sizes(), (Dims{4, 2, 3}));
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < 2; ++j)
      for (int64_t k = 0; k < 3; ++k) EXPECT_EQ(p.at<float>({i, j, k}), x.at<float>({j, k, i}));
  EXPECT_TRUE(throws_with<IndexError>([&] { core::permute(x, {0, 0, 1}); }, {"permute", "repeats dim 0"}));
  EXPECT_TRUE(throws_with<IndexError>([&] { core::permute(x, {0, 1}); }, {"permute", "[2, 3, 4]"}));
  EXPECT_TRUE(throws_with<IndexError>([&] { core::transpose(x, 0, 3); }, {"transpose", "dim 3", "3 dims"}));
  EXPECT_EQ(core::t(iota({5})).sizes(), (Dims{5}));
  EXPECT_EQ(core::t(iota({2, 5})).sizes(), (Dims{5, 2}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { core::t(x); }, {"t:", "[2, 3, 4]"}));
}

TEST(Views, SliceWithStepClampsLikePython) {
  Tensor x = iota({10});
  EXPECT_EQ(core::slice(x, 0, 1, 8, 3).to_vector<float>(), (std::vector<float>{1, 4, 7}));
  EXPECT_EQ(core::slice(x, 0, -3).to_vector<float>(), (std::vector<float>{7, 8, 9}));
  EXPECT_EQ(core::slice(x, 0, 5, 100).numel(), 5);
  EXPECT_EQ(core::slice(x, 0, 8, 2).numel(), 0);
  EXPECT_TRUE(throws_with<ValueError>([&] { core::slice(x, 0, 0, 5, 0); }, {"slice", "step", "0"}));
  Tensor m = iota({4, 6});
  Tensor s = core::slice(core::slice(m, 1, 1, 6, 2), 0, 1, 4, 2);  // rows 1,3; cols 1,3,5
  EXPECT_EQ(s.to_vector<float>(), (std::vector<float>{7, 9, 11, 19, 21, 23}));
}

TEST(Views, NarrowAndSelect) {
  Tensor m = iota({3, 4});
  EXPECT_EQ(core::narrow(m, 1, -2, 2).to_vector<float>(), (std::vector<float>{2, 3, 6, 7, 10, 11}));
  EXPECT_TRUE(throws_with<ValueError>([&] { core::narrow(m, 0, 2, 2); }, {"narrow", "length 2", "size 3"}));
  Tensor row = core::select(m, 0, -1);
  EXPECT_EQ(row.sizes(), (Dims{4}));
  EXPECT_EQ(row.to_vector<float>(), (std::vector<float>{8, 9, 10, 11}));
  EXPECT_EQ(core::select(row, 0, 2).dim(), 0);
  EXPECT_TRUE(throws_with<IndexError>([&] { core::select(m, 1, 4); }, {"select", "index 4", "size 4", "[3, 4]"}));
  EXPECT_TRUE(throws_with<IndexError>([&] { core::select(core::scalar_tensor(1.0), 0, 0); }, {"select", "0-d"}));
}

TEST(Views, ExpandBroadcastsWithZeroStrides) {
  Tensor col = iota({3, 1});
  Tensor e = core::expand(col, {2, 3, 4});
  EXPECT_EQ(e.sizes(), (Dims{2, 3, 4}));
  EXPECT_EQ(e.strides(), (Dims{0, 1, 0}));
  EXPECT_EQ(e.at<float>({1, 2, 3}), 2.0f);
  EXPECT_EQ(core::expand(col, {-1, 5}).sizes(), (Dims{3, 5}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { core::expand(col, {4, 4}); }, {"expand", "[3, 1]", "[4, 4]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { core::expand(col, {3}); }, {"expand", "fewer dims"}));
}

TEST(Views, SqueezeUnsqueezeFlattenUnflatten) {
  Tensor x = iota({1, 3, 1, 2});
  EXPECT_EQ(core::squeeze(x).sizes(), (Dims{3, 2}));
  EXPECT_EQ(core::squeeze(x, 2).sizes(), (Dims{1, 3, 2}));
  EXPECT_EQ(core::squeeze(x, 1).sizes(), x.sizes());
  EXPECT_EQ(core::unsqueeze(x, -1).sizes(), (Dims{1, 3, 1, 2, 1}));
  EXPECT_EQ(core::unsqueeze(core::scalar_tensor(1.0), 0).sizes(), (Dims{1}));
  EXPECT_EQ(core::flatten(x).sizes(), (Dims{6}));
  EXPECT_EQ(core::flatten(x, 1, 2).sizes(), (Dims{1, 3, 2}));
  EXPECT_EQ(core::flatten(core::scalar_tensor(1.0)).sizes(), (Dims{1}));
  Tensor u = core::unflatten(iota({2, 12}), 1, {3, -1});
  EXPECT_EQ(u.sizes(), (Dims{2, 3, 4}));
  EXPECT_EQ(u.at<float>({1, 2, 3}), 23.0f);
  Tensor ut = core::unflatten(core::transpose(iota({12, 2}), 0, 1), 1, {4, 3});  // a view of a transpose
  EXPECT_EQ(ut.at<float>({1, 3, 2}), 23.0f);
  EXPECT_TRUE(throws_with<IndexError>([&] { core::flatten(x, 2, 1); }, {"flatten", "start_dim"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { core::unflatten(x, 1, {2, 2}); }, {"unflatten", "[2, 2]", "3 elements"}));
}

TEST(Views, ContiguousCloneAndCopy) {
  Tensor x = iota({3, 4}, kFloat64);
  EXPECT_TRUE(core::contiguous(x).is_same(x));
  Tensor xt = core::transpose(x, 0, 1);
  Tensor c = core::contiguous(xt);
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_FALSE(c.shares_storage(x));
  EXPECT_TRUE(tensors_close(c, xt, 0, 0));
  Tensor cl = core::clone(x);
  EXPECT_FALSE(cl.shares_storage(x));
  core::fill_(cl, 0.0);
  EXPECT_EQ(x.at<double>({2, 3}), 11.0);

  // copy_ broadcasts the source and converts its dtype, writing through a strided view.
  Tensor dst = core::zeros({4, 6}, {.dtype = kInt64});
  Tensor view = core::slice(dst, 1, 0, 6, 2);  // [4, 3] with stride 2
  core::copy_(view, core::tensor({1.9, -2.9, 3.0}));
  EXPECT_EQ(dst.to_vector<int64_t>()[0], 1);
  EXPECT_EQ(dst.to_vector<int64_t>()[2], -2);
  EXPECT_EQ(dst.to_vector<int64_t>()[1], 0);
  EXPECT_EQ(dst.to_vector<int64_t>()[22], 3);
  EXPECT_TRUE(throws_with<ShapeError>([&] { core::copy_(view, core::zeros({2})); }, {"copy_", "[2]", "[4, 3]"}));
}

TEST(Views, CopyBetweenOverlappingViewsReadsTheSourceFirst) {
  Tensor x = iota({6}, kInt64);
  core::copy_(core::slice(x, 0, 1, 6), core::slice(x, 0, 0, 5));  // shift right by one
  EXPECT_EQ(x.to_vector<int64_t>(), (std::vector<int64_t>{0, 0, 1, 2, 3, 4}));
  Tensor m = iota({3, 3}, kInt64);
  core::copy_(m, core::transpose(m, 0, 1));  // in-place transpose
  EXPECT_EQ(m.to_vector<int64_t>(), (std::vector<int64_t>{0, 3, 6, 1, 4, 7, 2, 5, 8}));
}

TEST(Views, ToConvertsDtypes) {
  Tensor x = core::tensor({-1.5, 0.0, 2.5});
  EXPECT_TRUE(core::to(x, kFloat32).is_same(x));
  EXPECT_EQ(core::to(x, kBool).to_vector<bool>(), (std::vector<bool>{true, false, true}));
  EXPECT_EQ(core::to(x, kInt64).to_vector<int64_t>(), (std::vector<int64_t>{-1, 0, 2}));
  EXPECT_EQ(core::to(x, kFloat64).dtype(), kFloat64);
}

TEST(Views, LargeStridedCopyIsTheSameWithOneAndTwoThreads) {
  Tensor x = core::transpose(iota({512, 300}, kFloat64), 0, 1);
  set_num_threads(1);
  Tensor one = core::contiguous(x);
  set_num_threads(2);
  Tensor two = core::contiguous(x);
  EXPECT_TRUE(tensors_close(one, two, 0, 0));
  EXPECT_EQ(two.at<double>({299, 511}), 511.0 * 300 + 299);
}

}  // namespace
}  // namespace descent
