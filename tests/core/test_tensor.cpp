// The Tensor handle and its storage: sharing, geometry, element access and its errors,
// requires_grad, and the live-memory counters.
#include "testing.h"

namespace descent {
namespace {

using testing::throws_with;

TEST(Tensor, CopiesShareTheImplAndViewsShareStorage) {
  Tensor a = core::arange(6, {.dtype = kFloat32});
  Tensor b = a;  // a handle copy
  EXPECT_TRUE(a.is_same(b));
  Tensor v = core::view(a, {2, 3});
  EXPECT_FALSE(v.is_same(a));
  EXPECT_TRUE(v.shares_storage(a));
  core::fill_(core::select(v, 0, 1), 7);  // writes through the view
  EXPECT_EQ(a.to_vector<float>(), (std::vector<float>{0, 1, 2, 7, 7, 7}));
}

TEST(Tensor, GeometryOfAFreshTensor) {
  Tensor t = core::empty({2, 3, 4});
  EXPECT_EQ(t.dim(), 3);
  EXPECT_EQ(t.numel(), 24);
  EXPECT_EQ(t.sizes(), (Dims{2, 3, 4}));
  EXPECT_EQ(t.strides(), (Dims{12, 4, 1}));
  EXPECT_EQ(t.size(-1), 4);
  EXPECT_EQ(t.stride(0), 12);
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_EQ(t.dtype(), kFloat32);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw_data()) % kStorageAlignment, 0u);
  EXPECT_TRUE(throws_with<IndexError>([&] { t.size(3); }, {"size", "dim 3", "3 dims"}));
}

TEST(Dims, EqualityComparesLengthAndEveryValue) {
  EXPECT_TRUE((Dims{2, 3, 4}) == (Dims{2, 3, 4}));
  EXPECT_TRUE(Dims{} == Dims{});
  EXPECT_FALSE((Dims{2, 3}) == (Dims{2, 3, 4}));  // a prefix
  EXPECT_FALSE((Dims{2, 3, 4}) == (Dims{2, 3}));
  EXPECT_FALSE((Dims{2, 3, 4}) == (Dims{2, 3, 5}));
  EXPECT_FALSE((Dims{1, 3, 4}) == (Dims{2, 3, 4}));
  EXPECT_FALSE(Dims{} == (Dims{1}));
}

TEST(Tensor, ZeroDimAndEmptyTensors) {
  Tensor s = core::scalar_tensor(2.5);
  EXPECT_EQ(s.dim(), 0);
  EXPECT_EQ(s.numel(), 1);
  EXPECT_EQ(s.item<double>(), 2.5);
  EXPECT_TRUE(s.is_contiguous());
  Tensor e = core::zeros({0, 3});
  EXPECT_EQ(e.numel(), 0);
  EXPECT_TRUE(e.to_vector<float>().empty());
  EXPECT_TRUE(throws_with<ValueError>([&] { e.item<float>(); }, {"item", "[0, 3]", "0 elements"}));
}

TEST(Tensor, DataChecksDtypeAndContiguity) {
  Tensor t = core::zeros({2, 3});
  EXPECT_NE(t.data<float>(), nullptr);
  EXPECT_TRUE(throws_with<DTypeError>([&] { t.data<double>(); }, {"data", "float32", "float64"}));
  Tensor tt = core::transpose(t, 0, 1);
  EXPECT_TRUE(throws_with<ValueError>([&] { tt.data<float>(); }, {"data", "[3, 2]", "not contiguous"}));
}

TEST(Tensor, AtReadsLogicalElementsWithNegativeIndices) {
  Tensor t = core::tensor({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(t.dtype(), kInt64);
  EXPECT_EQ(t.at<int64_t>({1, 2}), 6);
  EXPECT_EQ(t.at<int64_t>({-1, 0}), 4);
  Tensor tt = core::transpose(t, 0, 1);
  EXPECT_EQ(tt.at<int64_t>({2, 1}), 6);
  EXPECT_TRUE(throws_with<IndexError>([&] { t.at({2, 0}); }, {"at", "index 2", "size 2", "[2, 3]"}));
  EXPECT_TRUE(throws_with<IndexError>([&] { t.at({0}); }, {"at", "[2, 3]"}));
}

TEST(Tensor, ToVectorConvertsAndFollowsStrides) {
  Tensor t = core::tensor({1.5, -2.5, 3.0, 4.0}, {2, 2}, {.dtype = kFloat64});
  EXPECT_EQ(core::transpose(t, 0, 1).to_vector<double>(), (std::vector<double>{1.5, 3.0, -2.5, 4.0}));
  EXPECT_EQ(t.to_vector<int64_t>(), (std::vector<int64_t>{1, -2, 3, 4}));
}

TEST(Tensor, RequiresGradOnlyOnFloatingTensors) {
  Tensor f = core::zeros({2}, {.requires_grad = true});
  EXPECT_TRUE(f.requires_grad());
  EXPECT_FALSE(f.detach().requires_grad());
  EXPECT_TRUE(f.detach().shares_storage(f));
  Tensor i = core::zeros({2}, {.dtype = kInt64});
  EXPECT_TRUE(throws_with<DTypeError>([&] { i.requires_grad_(); }, {"requires_grad", "int64"}));
}

TEST(Tensor, InPlaceWritesBumpTheSharedVersion) {
  Tensor t = core::zeros({4});
  Tensor v = core::slice(t, 0, 1, 3);
  uint64_t before = t.version();
  core::fill_(v, 1);
  EXPECT_GT(t.version(), before);
  EXPECT_EQ(t.version(), v.version());
}

TEST(Tensor, MemoryStatsCountLiveTensorsAndBytes) {
  MemoryStats before = memory_stats();
  {
    Tensor a = core::empty({1000});
    Tensor b = core::view(a, {10, 100});
    MemoryStats during = memory_stats();
    EXPECT_EQ(during.live_tensors - before.live_tensors, 2);
    EXPECT_EQ(during.live_storages - before.live_storages, 1);
    EXPECT_EQ(during.storage_bytes - before.storage_bytes, 4000);
  }
  MemoryStats after = memory_stats();
  EXPECT_EQ(after.live_tensors, before.live_tensors);
  EXPECT_EQ(after.storage_bytes, before.storage_bytes);
}

TEST(Tensor, FromBlobViewsForeignMemoryAndRunsTheDeleter) {
  std::vector<double> buffer = {1, 2, 3, 4, 5, 6};
  bool deleted = false;
  {
    Tensor t = core::from_blob(buffer.data(), {3, 2}, kFloat64, [&](void*) { deleted = true; });
    EXPECT_EQ(t.at<double>({2, 1}), 6.0);
    core::fill_(core::select(t, 1, 0), 0.0);
    EXPECT_FALSE(deleted);
  }
  EXPECT_TRUE(deleted);
  EXPECT_EQ(buffer, (std::vector<double>{0, 2, 0, 4, 0, 6}));
}

TEST(Tensor, NegativeAndOverflowingSizesAreRejected) {
  EXPECT_TRUE(throws_with<ValueError>([] { core::empty({2, -1}); }, {"empty", "negative", "[2, -1]"}));
  EXPECT_TRUE(throws_with<ValueError>([] { core::empty({INT64_MAX / 2, 4}); }, {"empty", "int64"}));
  EXPECT_TRUE(throws_with<ShapeError>([] { core::empty({1, 1, 1, 1, 1, 1, 1, 1, 1}); }, {"9 dimensions", "8"}));
  // No elements, but strides (the products of the later sizes) beyond int64: a hostile IDX header.
  EXPECT_TRUE(throws_with<ValueError>([] { core::empty({0, int64_t{1} << 32, int64_t{1} << 32}); },
                                      {"strides", "[0, 4294967296, 4294967296]", "overflow"}));
  EXPECT_TRUE(throws_with<ValueError>([] { core::empty({INT64_MAX / 4, 2}, {.dtype = kFloat64}); },
                                      {"empty", "too large"}));
}

TEST(Tensor, MakeViewRejectsGeometryOutsideTheStorage) {
  Tensor t = core::zeros({6});
  EXPECT_TRUE(throws_with<ValueError>([&] { core::as_strided(t, {3, 3}, {3, 1}, 0); }, {"view", "[3, 3]", "24 bytes"}));
  // Strides whose reach wraps around int64 must not land back inside the storage.
  EXPECT_TRUE(throws_with<ValueError>([&] { core::as_strided(t, {3, 2}, {INT64_MAX / 2 + 1, 1}, 0); },
                                      {"view", "reach past"}));
  Tensor ok = core::as_strided(t, {2, 2}, {1, 2}, 1);
  EXPECT_EQ(ok.sizes(), (Dims{2, 2}));
}

}  // namespace
}  // namespace descent
