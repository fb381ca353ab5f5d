// Loss landscapes (Li et al. 2018): filter normalisation gives each filter of a direction the
// norm of the weight's filter exactly; the line and the plane at the origin give the loss itself,
// the line at alpha = 1 the loss at the other end; parameters are put back bit for bit.
#include "study_problems.h"
#include "testing.h"

namespace descent::testing {
namespace {

TEST(StudyLandscape, FilterNormalisationGivesEachFilterTheWeightsNorm) {
  manual_seed(2);
  nn::Conv2d conv(2, 3, 3);
  nn::Linear fc(4, 5);
  conv.to(kFloat64);
  fc.to(kFloat64);
  std::vector<Tensor> params = {conv.weight, conv.bias, fc.weight, fc.bias};
  Generator generator(7);
  study::TensorList d = study::filter_normalized_direction(params, generator);
  ASSERT_EQ(d.size(), params.size());
  for (size_t i : {0u, 2u}) {
    ASSERT_EQ(d[i].sizes(), params[i].sizes());
    for (int64_t j = 0; j < params[i].size(0); ++j) {
      double expected = params[i].select(0, j).norm().item<double>();
      EXPECT_NEAR(d[i].select(0, j).norm().item<double>(), expected, 1e-13 * expected)
          << "parameter " << i << ", filter " << j;
    }
    EXPECT_FALSE(tensors_close(d[i], params[i], 1e-3, 0.0));  // a direction, not the weights
  }
  EXPECT_TRUE(tensors_close(d[1], zeros({3}, {.dtype = kFloat64}), 0.0, 0.0));  // biases ignored
  EXPECT_TRUE(tensors_close(d[3], zeros({5}, {.dtype = kFloat64}), 0.0, 0.0));
  study::TensorList kept = study::filter_normalized_direction(params, generator, /*ignore_vectors=*/false);
  EXPECT_TRUE(tensors_close(kept[1], conv.bias, 0.0, 0.0));
  EXPECT_FALSE(params[0].grad().defined());
}

TEST(StudyLandscape, LineStartsAtTheLossAndEndsAtTheOtherEnd) {
  SmallMlp mlp(4);
  std::vector<Tensor> params = mlp.parameters();
  study::TensorList here = study::clone(params);
  double loss_here = mlp.loss().item<double>();
  SmallMlp other(5);
  study::TensorList there = study::clone(other.parameters());
  // The other end's loss, measured on this MLP's batch.
  double loss_there = study::loss_along_line(mlp.loss_function(), params, there, there, {0.0})[0];
  std::vector<double> line = study::loss_along_line(mlp.loss_function(), params, here, there, {0.0, 0.5, 1.0});
  ASSERT_EQ(line.size(), 3u);
  EXPECT_EQ(line[0], loss_here);
  EXPECT_NEAR(line[2], loss_there, 1e-13);
  EXPECT_NE(line[1], line[0]);
  for (size_t i = 0; i < params.size(); ++i) EXPECT_TRUE(tensors_close(params[i], here[i], 0.0, 0.0));
  EXPECT_EQ(mlp.loss().item<double>(), loss_here);
}

TEST(StudyLandscape, PlaneAtTheOriginIsTheLossAndMatchesAQuadratic) {
  // On f(x) = 1/2 x^T A x, f(x + a d1 + b d2) is a known quadratic in (a, b).
  Quadratic f({3.0, 2.0, 1.0}, 9);
  Tensor d1 = tensor({1.0, 0.0, -1.0}, {.dtype = kFloat64}), d2 = tensor({0.5, 2.0, 0.0}, {.dtype = kFloat64});
  std::vector<double> alphas = {-1.0, 0.0, 0.5}, betas = {0.0, 1.0};
  study::LandscapePlane plane = study::loss_plane(f.loss_function(), {f.x}, {d1}, {d2}, alphas, betas);
  ASSERT_EQ(plane.values.size(), 6u);
  Tensor x = f.x.detach().clone();
  EXPECT_EQ(plane.values[1 * 2 + 0], f.loss().item<double>());
  for (size_t i = 0; i < alphas.size(); ++i) {
    for (size_t j = 0; j < betas.size(); ++j) {
      Tensor p = x + d1 * alphas[i] + d2 * betas[j];
      double expected = 0.5 * dot(p, matmul(f.a, p)).item<double>();
      EXPECT_NEAR(plane.values[i * 2 + j], expected, 1e-12) << "alpha " << alphas[i] << ", beta " << betas[j];
    }
  }
  EXPECT_TRUE(tensors_close(f.x, x, 0.0, 0.0));
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] { study::loss_plane(f.loss_function(), {f.x}, {d1}, {zeros({2}, {.dtype = kFloat64})}, alphas, betas); },
      {"study::loss_plane", "[2]", "[3]"}));
}

}  // namespace
}  // namespace descent::testing
