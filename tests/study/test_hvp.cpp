// study::hvp (double backward) against the exact A v of a quadratic and against central
// differences of gradients on a float64 MLP; parameters and their .grad are left as found.
#include "study_problems.h"
#include "testing.h"

namespace descent::testing {
namespace {

TEST(StudyHvp, QuadraticGivesAv) {
  Quadratic f({5.0, 3.0, 2.0, 1.0, 0.5, -1.0}, 11);
  Generator generator(3);
  Tensor v = core::randn({f.n}, {.dtype = kFloat64}, &generator);
  study::TensorList hv = study::hvp(f.loss_function(), {f.x}, {v});
  ASSERT_EQ(hv.size(), 1u);
  EXPECT_TRUE(tensors_close(hv[0], matmul(f.a, v), 1e-12, 1e-12));
  study::TensorList fd = study::hvp_finite_difference(f.loss_function(), {f.x}, {v});
  EXPECT_TRUE(tensors_close(fd[0], matmul(f.a, v), 1e-8, 1e-8));
}

TEST(StudyHvp, MlpDoubleBackwardEqualsFiniteDifference) {
  SmallMlp mlp(5);
  std::vector<Tensor> params = mlp.parameters();
  Generator generator(9);
  for (int trial = 0; trial < 3; ++trial) {
    study::TensorList v = study::randn_like(params, generator);
    study::TensorList exact = study::hvp(mlp.loss_function(), params, v);
    study::TensorList approx = study::hvp_finite_difference(mlp.loss_function(), params, v, 1e-5);
    ASSERT_EQ(exact.size(), params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      EXPECT_TRUE(tensors_close(exact[i], approx[i], 1e-7, 1e-9)) << "trial " << trial << ", parameter " << i;
    }
    // Symmetry of the Hessian: <u, H v> = <H u, v>.
    study::TensorList u = study::randn_like(params, generator);
    study::TensorList hu = study::hvp(mlp.loss_function(), params, u);
    EXPECT_NEAR(study::dot(u, exact), study::dot(hu, v), 1e-10 * (1.0 + std::abs(study::dot(u, exact))));
  }
}

TEST(StudyHvp, CnnDoubleBackwardEqualsFiniteDifference) {
  // Conv2d(1, 2, 3), tanh, Linear(2 * 3 * 3, 2) on a batch of 3 images 5 x 5, in float64.
  manual_seed(8);
  nn::Conv2d conv(1, 2, 3);
  nn::Linear fc(2 * 3 * 3, 2);
  conv.to(kFloat64);
  fc.to(kFloat64);
  Generator generator(12);
  Tensor images = core::randn({3, 1, 5, 5}, {.dtype = kFloat64}, &generator);
  Tensor target = core::randn({3, 2}, {.dtype = kFloat64}, &generator);
  study::LossFunction loss = [&] { return (fc(tanh(conv(images)).flatten(1)) - target).square().mean(); };
  std::vector<Tensor> params = {conv.weight, conv.bias, fc.weight, fc.bias};
  study::TensorList v = study::randn_like(params, generator);
  study::TensorList exact = study::hvp(loss, params, v);
  study::TensorList approx = study::hvp_finite_difference(loss, params, v, 1e-5);
  for (size_t i = 0; i < params.size(); ++i) {
    EXPECT_TRUE(tensors_close(exact[i], approx[i], 1e-7, 1e-9)) << "parameter " << i;
  }
  EXPECT_GT(study::norm(exact), 1e-3);  // the test sees real curvature
}

TEST(StudyHvp, LeavesParametersAndGradsUnchanged) {
  SmallMlp mlp(6);
  std::vector<Tensor> params = mlp.parameters();
  study::TensorList before = study::clone(params);
  // One parameter has a gradient, the others none: both states must survive.
  Tensor grad = ones(params[0].sizes(), {.dtype = kFloat64});
  params[0].set_grad(grad);
  Generator generator(1);
  study::TensorList v = study::randn_like(params, generator);
  study::hvp(mlp.loss_function(), params, v);
  study::hvp_finite_difference(mlp.loss_function(), params, v, 1e-3);
  study::gradient(mlp.loss_function(), params);
  for (size_t i = 0; i < params.size(); ++i) {
    EXPECT_TRUE(tensors_close(params[i], before[i], 0.0, 0.0)) << "parameter " << i;
  }
  EXPECT_TRUE(params[0].grad().is_same(grad));
  EXPECT_TRUE(tensors_close(params[0].grad(), ones(params[0].sizes(), {.dtype = kFloat64}), 0.0, 0.0));
  for (size_t i = 1; i < params.size(); ++i) EXPECT_FALSE(params[i].grad().defined()) << "parameter " << i;
  EXPECT_TRUE(autograd::grad_mode_enabled());
}

TEST(StudyHvp, UnusedParameterGetsZeros) {
  Quadratic f({2.0, 1.0}, 4);
  Tensor unused = ones({3}, {.dtype = kFloat64, .requires_grad = true});
  study::TensorList hv = study::hvp(f.loss_function(), {f.x, unused}, {f.x.detach(), ones({3}, {.dtype = kFloat64})});
  EXPECT_TRUE(tensors_close(hv[0], matmul(f.a, f.x.detach()), 1e-12, 1e-12));
  EXPECT_TRUE(tensors_close(hv[1], zeros({3}, {.dtype = kFloat64}), 0.0, 0.0));
}

TEST(StudyHvp, Float32ParametersKeepTheirDtype) {
  manual_seed(1);
  nn::Linear fc(3, 2);
  Tensor x = core::randn({4, 3});
  study::LossFunction loss = [&] { return tanh(fc(x)).square().mean(); };
  std::vector<Tensor> params = {fc.weight, fc.bias};
  Generator generator(2);
  study::TensorList v = study::rademacher_like(params, generator);
  EXPECT_EQ(v[0].dtype(), kFloat32);
  for (double entry : v[0].to_vector<double>()) EXPECT_TRUE(entry == 1.0 || entry == -1.0) << entry;
  study::TensorList exact = study::hvp(loss, params, v);
  study::TensorList approx = study::hvp_finite_difference(loss, params, v, 1e-2);
  for (size_t i = 0; i < params.size(); ++i) {
    EXPECT_EQ(exact[i].dtype(), kFloat32);
    EXPECT_TRUE(tensors_close(exact[i], approx[i], 2e-2, 2e-3)) << "parameter " << i;
  }
}

TEST(StudyHvp, BadInputIsAnError) {
  Quadratic f({2.0, 1.0}, 4);
  EXPECT_TRUE(throws_with<ShapeError>([&] { study::hvp(f.loss_function(), {f.x}, {zeros({3}, {.dtype = kFloat64})}); },
                                      {"study::hvp", "[3]", "[2]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { study::hvp(f.loss_function(), {f.x}, {}); }, {"study::hvp", "0 vectors"}));
  EXPECT_TRUE(throws_with<ValueError>(
      [&] { study::hvp_finite_difference(f.loss_function(), {f.x}, {f.x.detach()}, 0.0); }, {"h must be positive"}));
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] { study::hvp([&] { return f.x * 2.0; }, {f.x}, {f.x.detach()}); }, {"study::hvp", "one number", "[2]"}));
}

}  // namespace
}  // namespace descent::testing
