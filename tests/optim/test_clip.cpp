// Gradient clipping (against torch.nn.utils values computed by hand here from the definition),
// gradient accumulation (k micro-batches == one batch of k b), and the linear scaling rule.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <descent/descent.h>

#include "testing.h"

namespace descent::testing {
namespace {

using namespace descent::optim;

std::vector<Tensor> params_with_grads() {
  Tensor a = core::zeros({2, 2}, {.dtype = kFloat64, .requires_grad = true});
  Tensor b = core::zeros({3}, {.dtype = kFloat64, .requires_grad = true});
  Tensor c = core::zeros({2}, {.dtype = kFloat64, .requires_grad = true});  // no gradient: skipped
  a.set_grad(core::tensor({3.0, -4.0, 1.0, 2.0}, {2, 2}, {.dtype = kFloat64}));
  b.set_grad(core::tensor({-6.0, 0.5, 2.0}, {.dtype = kFloat64}));
  return {a, b, c};
}

TEST(OptimClip, GradNormScalesByMaxNormOverTotal) {
  std::vector<Tensor> params = params_with_grads();
  double total = std::sqrt(9.0 + 16.0 + 1.0 + 4.0 + 36.0 + 0.25 + 4.0);
  EXPECT_NEAR(clip_grad_norm(params, 2.0), total, 1e-12);
  double scale = 2.0 / (total + 1e-6);
  EXPECT_TRUE(tensors_close(params[1].grad(), core::tensor({-6.0 * scale, 0.5 * scale, 2.0 * scale}, {.dtype = kFloat64}),
                            1e-14, 0.0));
  EXPECT_FALSE(params[2].grad().defined());
  // Below the limit: unchanged (the coefficient is clamped to 1).
  std::vector<Tensor> small = params_with_grads();
  clip_grad_norm(small, 100.0);
  EXPECT_TRUE(tensors_close(small[0].grad(), core::tensor({3.0, -4.0, 1.0, 2.0}, {2, 2}, {.dtype = kFloat64}), 0.0, 0.0));
}

TEST(OptimClip, GradNormOfOtherOrders) {
  std::vector<Tensor> params = params_with_grads();
  EXPECT_EQ(clip_grad_norm(params, 1.0, {.norm_type = INFINITY}), 6.0);
  EXPECT_NEAR(params[1].grad().to_vector<double>()[0], -6.0 / (6.0 + 1e-6), 1e-14);
  std::vector<Tensor> l1 = params_with_grads();
  EXPECT_NEAR(clip_grad_norm(l1, 1e9, {.norm_type = 1.0}), 3 + 4 + 1 + 2 + 6 + 0.5 + 2, 1e-12);
  std::vector<Tensor> none = {core::zeros({2}, {.requires_grad = true})};
  EXPECT_EQ(clip_grad_norm(none, 1.0), 0.0);
}

TEST(OptimClip, NonFiniteNormThrowsWhenAsked) {
  std::vector<Tensor> params = params_with_grads();
  params[0].set_grad(core::tensor({1.0, std::nan(""), 1.0, 1.0}, {2, 2}, {.dtype = kFloat64}));
  EXPECT_TRUE(std::isnan(clip_grad_norm(params, 1.0)));
  params[0].set_grad(core::tensor({1.0, std::numeric_limits<double>::infinity(), 1.0, 1.0}, {2, 2}, {.dtype = kFloat64}));
  EXPECT_TRUE(throws_with<ValueError>([&] { clip_grad_norm(params, 1.0, {.error_if_nonfinite = true}); },
                                      {"clip_grad_norm", "inf", "2 parameters"}));
}

TEST(OptimClip, GradValueClampsEachElement) {
  std::vector<Tensor> params = params_with_grads();
  clip_grad_value(params, 2.5);
  EXPECT_TRUE(tensors_close(params[0].grad(), core::tensor({2.5, -2.5, 1.0, 2.0}, {2, 2}, {.dtype = kFloat64}), 0.0, 0.0));
  EXPECT_TRUE(tensors_close(params[1].grad(), core::tensor({-2.5, 0.5, 2.0}, {.dtype = kFloat64}), 0.0, 0.0));
}

TEST(OptimClip, LinearScalingRule) {
  EXPECT_DOUBLE_EQ(linear_scaled_lr(0.1, 256, 8192), 3.2);
  EXPECT_DOUBLE_EQ(linear_scaled_lr(0.1, 256, 64), 0.025);
  EXPECT_TRUE(throws_with<ValueError>([] { linear_scaled_lr(0.1, 0, 64); }, {"linear_scaled_lr"}));
}

// Linear(3, 4) -> Tanh -> Linear(4, 2) in float64.
nn::Sequential tanh_model() {
  nn::Sequential model{nn::Linear(3, 4), nn::Tanh(), nn::Linear(4, 2)};
  model.to(kFloat64);
  return model;
}

// Mean squared error of the model over the samples x[begin:end] (one sample per row).
Tensor batch_loss(nn::Sequential& model, const Tensor& x, const Tensor& t, int64_t begin, int64_t end) {
  return square(model(x.slice(0, begin, end)) - t.slice(0, begin, end)).sum() / static_cast<double>(end - begin);
}

TEST(OptimClip, AccumulatedMicroBatchesEqualOneLargeBatch) {
  const int64_t k = 4, b = 3;
  Tensor x = core::randn({k * b, 3}, {.dtype = kFloat64});
  Tensor t = core::randn({k * b, 2}, {.dtype = kFloat64});
  nn::Sequential whole = tanh_model(), split = tanh_model();  // one batch of k b; k micro-batches of b
  split.load_state_dict(whole.state_dict());
  SGD full(whole.parameters(), {.lr = 0.1, .momentum = 0.9});
  SGD micro(split.parameters(), {.lr = 0.1, .momentum = 0.9});
  GradientAccumulator accumulate(k);
  auto expect_close = [&](auto value, const std::string& what) {
    for (size_t i = 0; i < whole.parameters().size(); ++i) {
      ASSERT_TRUE(tensors_close(value(split.parameters()[i]), value(whole.parameters()[i]), 1e-6, 1e-12)) << what << " " << i;
    }
  };
  for (int step = 0; step < 3; ++step) {
    batch_loss(whole, x, t, 0, k * b).backward();
    int steps_taken = 0;
    for (int64_t m = 0; m < k; ++m) {
      EXPECT_EQ(accumulate.pending(), m);
      if (accumulate.backward(batch_loss(split, x, t, m * b, (m + 1) * b))) {
        expect_close([](const Tensor& p) { return p.grad(); }, "gradient");
        micro.step();
        micro.zero_grad();
        ++steps_taken;
      }
    }
    EXPECT_EQ(steps_taken, 1);
    full.step();
    full.zero_grad();
    expect_close([](const Tensor& p) { return p; }, "parameter after step " + std::to_string(step));
  }
}

}  // namespace
}  // namespace descent::testing
