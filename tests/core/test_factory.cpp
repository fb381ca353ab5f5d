// Factories: values, dtype inference as PyTorch, requires_grad, and their argument errors.
#include "testing.h"

namespace descent {
namespace {

using testing::throws_with;

TEST(Factory, ZerosOnesFullInferAndRespectDtypes) {
  EXPECT_EQ(core::zeros({2, 2}).to_vector<float>(), (std::vector<float>(4, 0.0f)));
  EXPECT_EQ(core::ones({3}, {.dtype = kInt64}).to_vector<int64_t>(), (std::vector<int64_t>(3, 1)));
  EXPECT_EQ(core::full({2}, 7).dtype(), kInt64);
  EXPECT_EQ(core::full({2}, 0.5).dtype(), kFloat32);
  EXPECT_EQ(core::full({2}, true).dtype(), kBool);
  EXPECT_EQ(core::full({2}, 0.5, {.dtype = kFloat64}).to_vector<double>(), (std::vector<double>(2, 0.5)));
  EXPECT_TRUE(core::ones({2}, {.requires_grad = true}).requires_grad());
  EXPECT_TRUE(throws_with<DTypeError>([] { core::ones({2}, {.dtype = kInt64, .requires_grad = true}); },
                                      {"requires_grad", "int64"}));
}

TEST(Factory, ArangeMatchesPythonRange) {
  Tensor a = core::arange(5);
  EXPECT_EQ(a.dtype(), kInt64);
  EXPECT_EQ(a.to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(core::arange(10, 0, -3).to_vector<int64_t>(), (std::vector<int64_t>{10, 7, 4, 1}));
  Tensor f = core::arange(0.0, 1.0, 0.25);
  EXPECT_EQ(f.dtype(), kFloat32);
  EXPECT_EQ(f.to_vector<float>(), (std::vector<float>{0, 0.25, 0.5, 0.75}));
  EXPECT_EQ(core::arange(3, 3).numel(), 0);
  EXPECT_TRUE(throws_with<ValueError>([] { core::arange(0, 5, 0); }, {"arange", "step"}));
  EXPECT_TRUE(throws_with<ValueError>([] { core::arange(5, 0, 1); }, {"arange", "inconsistent"}));
}

TEST(Factory, LinspaceEndsExactly) {
  std::vector<double> v = core::linspace(-1.0, 1.0, 5, {.dtype = kFloat64}).to_vector<double>();
  EXPECT_EQ(v, (std::vector<double>{-1.0, -0.5, 0.0, 0.5, 1.0}));
  std::vector<float> w = core::linspace(0.0, 1.0, 7).to_vector<float>();
  EXPECT_EQ(w.back(), 1.0f);
  EXPECT_EQ(core::linspace(2.0, 3.0, 1).to_vector<float>(), (std::vector<float>{2.0f}));
  EXPECT_EQ(core::linspace(2.0, 3.0, 0).numel(), 0);
  EXPECT_TRUE(throws_with<ValueError>([] { core::linspace(0, 1, -1); }, {"linspace", "-1"}));
}

TEST(Factory, EyeIsAnIdentity) {
  Tensor e = core::eye(2, 3);
  EXPECT_EQ(e.to_vector<float>(), (std::vector<float>{1, 0, 0, 0, 1, 0}));
  EXPECT_EQ(core::eye(3, {.dtype = kBool}).at<bool>({2, 2}), true);
  EXPECT_TRUE(throws_with<ValueError>([] { core::eye(-1); }, {"eye", "-1"}));
}

TEST(Factory, TensorFromValuesInfersDtypeAndChecksTheShape) {
  EXPECT_EQ(core::tensor({1.0, 2.0}).dtype(), kFloat32);
  EXPECT_EQ(core::tensor({1, 2}).dtype(), kInt64);
  EXPECT_EQ(core::tensor({true, false}).dtype(), kBool);
  Tensor m = core::tensor({1.0, 2.0, 3.0, 4.0, 5.0, 6.0}, {2, 3}, {.dtype = kFloat64});
  EXPECT_EQ(m.at<double>({1, 0}), 4.0);
  EXPECT_TRUE(core::tensor({1.0, 2.0, 3.0}, {.requires_grad = true}).requires_grad());
  EXPECT_TRUE(throws_with<ShapeError>([] { core::tensor({1.0, 2.0, 3.0}, {2, 2}); }, {"tensor", "3 values", "[2, 2]"}));
  EXPECT_EQ(core::scalar_tensor(3).dim(), 0);
  EXPECT_EQ(core::scalar_tensor(3).item<int64_t>(), 3);
}

TEST(Factory, LikeFormsFollowTheirModel) {
  Tensor x = core::transpose(core::zeros({2, 3}, {.dtype = kFloat64}), 0, 1);
  Tensor o = core::ones_like(x);
  EXPECT_EQ(o.sizes(), (Dims{3, 2}));
  EXPECT_EQ(o.dtype(), kFloat64);
  EXPECT_TRUE(o.is_contiguous());
  EXPECT_EQ(core::zeros_like(x, {.dtype = kInt64}).dtype(), kInt64);
  EXPECT_EQ(core::full_like(x, 2.5).to_vector<double>(), (std::vector<double>(6, 2.5)));
  EXPECT_EQ(core::empty_like(x).sizes(), (Dims{3, 2}));
}

}  // namespace
}  // namespace descent
