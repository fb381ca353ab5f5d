// batch_norm (train and eval, running statistics), layer_norm, group_norm and embedding
// (nn/functional_norm.h): PyTorch's outputs and gradients, gradcheck, second derivatives of the
// closed-form backward, the fused kernels (gradcheck on larger shapes, agreement with the
// composed formula of the create_graph backward), and the errors.
#include "functional_golden.h"
#include <descent/nn/functional_embedding.h>
#include <descent/nn/functional_norm.h>

namespace descent {
namespace {

namespace F = nn::functional;
using testing::FunctionalCase;
using testing::throws_with;
using In = const std::vector<Tensor>&;

std::vector<FunctionalCase> norm_cases() {
  return {
      {"batch_norm_train", {"x", "w", "b"}, {"x", "w", "b"},
       [](In in) { return F::batch_norm(in[0], Tensor(), Tensor(), in[1], in[2], {.training = true, .eps = 1e-3}); }},
      {"batch_norm_eval", {"x", "rm", "rv", "w", "b"}, {"x", "w", "b"},
       [](In in) { return F::batch_norm(in[0], in[1], in[2], in[3], in[4]); }},
      {"layer_norm", {"x", "w", "b"}, {"x", "w", "b"}, [](In in) { return F::layer_norm(in[0], {3, 4}, in[1], in[2]); }},
      {"layer_norm_plain", {"x"}, {"x"}, [](In in) { return F::layer_norm(in[0], {5}); }},
      {"group_norm", {"x", "w", "b"}, {"x", "w", "b"}, [](In in) { return F::group_norm(in[0], 2, in[1], in[2]); }},
      {"embedding", {"i", "w"}, {"w"}, [](In in) { return F::embedding(in[0], in[1], {.padding_idx = 2}); }, /*gradcheck=*/false},
  };
}

class NormGolden : public ::testing::TestWithParam<FunctionalCase> {};
TEST_P(NormGolden, MatchesPyTorchAndGradcheck) { testing::check_functional_case(GetParam()); }
INSTANTIATE_TEST_SUITE_P(PyTorch, NormGolden, ::testing::ValuesIn(norm_cases()), testing::functional_case_name);

TEST(BatchNorm, TrainingUpdatesTheRunningStatisticsAsPyTorch) {
  const testing::Golden& golden = testing::functional_golden();
  Tensor mean = golden.tensor("batch_norm_running/rm"), var = golden.tensor("batch_norm_running/rv");
  F::batch_norm(golden.tensor("batch_norm_running/x"), mean, var, Tensor(), Tensor(),
                {.training = true, .momentum = 0.3});
  EXPECT_TRUE(testing::tensors_close(mean, golden.tensor("batch_norm_running/rm_after"), 1e-12, 1e-12));
  EXPECT_TRUE(testing::tensors_close(var, golden.tensor("batch_norm_running/rv_after"), 1e-12, 1e-12));
}

Tensor random(const Dims& shape, uint64_t seed) {
  manual_seed(seed);
  return core::randn(shape, {.dtype = kFloat64}).requires_grad_(true);
}

TEST(Norm, SecondDerivativesOfTheClosedFormBackward) {
  Tensor x = random({3, 2, 2}, 1), w = random({2}, 2), b = random({2}, 3);
  auto batch = [](In in) { return F::batch_norm(in[0], Tensor(), Tensor(), in[1], in[2], {.training = true}); };
  auto layer = [](In in) { return F::layer_norm(in[0], {2}, in[1], in[2]); };
  auto group = [](In in) { return F::group_norm(in[0], 1, in[1], in[2]); };
  for (const autograd::DifferentiableFunction& fn : {autograd::DifferentiableFunction(batch), autograd::DifferentiableFunction(layer), autograd::DifferentiableFunction(group)}) {
    auto result = autograd::gradgradcheck(fn, {x, w, b});
    EXPECT_TRUE(result.ok) << result.message;
  }
}

// The three norms on shapes that exercise the fused kernels' cases: batch_norm over several
// images and positions, group_norm with several groups of several channels, layer_norm over rows
// (one parameter per element), with and without the affine parameters.
struct FusedCase {
  std::string name;
  Dims shape;
  bool affine;
  std::function<Tensor(const Tensor&, const Tensor&, const Tensor&)> fn;
  int64_t params;
};

std::vector<FusedCase> fused_cases() {
  auto batch = [](const Tensor& x, const Tensor& w, const Tensor& b) {
    return F::batch_norm(x, Tensor(), Tensor(), w, b, {.training = true});
  };
  auto group = [](const Tensor& x, const Tensor& w, const Tensor& b) { return F::group_norm(x, 2, w, b); };
  auto layer = [](const Tensor& x, const Tensor& w, const Tensor& b) { return F::layer_norm(x, {6}, w, b); };
  return {{"batch_norm", {3, 4, 5}, true, batch, 4},  {"batch_norm_plain", {4, 3, 2, 3}, false, batch, 3},
          {"group_norm", {2, 6, 5}, true, group, 6},  {"group_norm_plain", {3, 4, 3}, false, group, 4},
          {"layer_norm", {2, 3, 6}, true, layer, 6},  {"layer_norm_plain", {5, 6}, false, layer, 6}};
}

std::vector<Tensor> fused_inputs(const FusedCase& c, uint64_t seed) {
  Tensor x = random(c.shape, seed);
  if (!c.affine) return {x};
  return {x, random({c.params}, seed + 1), random({c.params}, seed + 2)};
}

Tensor apply_case(const FusedCase& c, In in) {
  return c.affine ? c.fn(in[0], in[1], in[2]) : c.fn(in[0], Tensor(), Tensor());
}

class FusedNorm : public ::testing::TestWithParam<FusedCase> {};

TEST_P(FusedNorm, GradcheckInFloat64) {
  const FusedCase& c = GetParam();
  auto result = autograd::gradcheck([&](In in) { return apply_case(c, in); }, fused_inputs(c, 11));
  EXPECT_TRUE(result.ok) << result.message;
}

// The fused backward (plain backward) and the composed one (the backward recorded under
// create_graph) give the same gradients, in float64 and float32, on 1 and 2 threads.
TEST_P(FusedNorm, FusedAndComposedBackwardsAgree) {
  const FusedCase& c = GetParam();
  for (DType dtype : {kFloat64, kFloat32}) {
    for (int threads : {1, 2}) {
      testing::ThreadCount count(threads);
      std::vector<Tensor> inputs;
      for (const Tensor& t : fused_inputs(c, 21)) inputs.push_back(t.detach().to(dtype).requires_grad_(true));
      Tensor y = apply_case(c, inputs);
      Tensor weights = core::randn(y.sizes(), {.dtype = dtype});
      Tensor loss = (y * weights).sum();
      auto fused = autograd::grad({loss}, inputs, {.retain_graph = true});
      auto composed = autograd::grad({loss}, inputs, {.create_graph = true});
      const double tolerance = dtype == kFloat64 ? 1e-12 : 2e-5;
      for (size_t i = 0; i < inputs.size(); ++i) {
        EXPECT_TRUE(testing::tensors_close(fused[i], composed[i].detach(), tolerance, tolerance))
            << c.name << " input " << i << (dtype == kFloat64 ? " float64" : " float32") << " threads " << threads;
      }
    }
  }
}

// The fused forward against the definition written in public ops.
TEST_P(FusedNorm, ForwardMatchesTheDefinition) {
  const FusedCase& c = GetParam();
  std::vector<Tensor> in = fused_inputs(c, 31);
  Tensor y = apply_case(c, in);
  const int64_t n = c.shape[0];
  Tensor x = in[0].detach();
  Dims stats_dims;
  Tensor xs;
  if (c.name.starts_with("batch_norm")) {
    xs = x.reshape({n, x.size(1), -1});
    stats_dims = {0, 2};
  } else if (c.name.starts_with("group_norm")) {
    xs = x.reshape({n, 2, -1});
    stats_dims = {2};
  } else {
    xs = x.reshape({-1, 6});
    stats_dims = {1};
  }
  Tensor centered = xs - xs.mean(stats_dims, true);
  Tensor expected = (centered * rsqrt((centered * centered).mean(stats_dims, true) + 1e-5)).reshape(x.sizes());
  if (c.affine) {
    std::vector<int64_t> param_shape(x.dim(), 1);
    param_shape[c.name.starts_with("layer_norm") ? x.dim() - 1 : 1] = c.params;
    expected = expected * in[1].detach().view(param_shape) + in[2].detach().view(param_shape);
  }
  EXPECT_TRUE(testing::tensors_close(y.detach(), expected, 1e-12, 1e-12)) << c.name;
}

INSTANTIATE_TEST_SUITE_P(Shapes, FusedNorm, ::testing::ValuesIn(fused_cases()),
                         [](const ::testing::TestParamInfo<FusedCase>& info) { return info.param.name; });

// Eval-mode batch_norm is one scale and shift per channel: the running statistics are constants,
// the input, weight and bias get gradients.
TEST(BatchNorm, EvalModeGradcheck) {
  Tensor rm = random({3}, 41).detach(), rv = core::add(core::square(random({3}, 42).detach()), 0.5);
  auto fn = [&](In in) { return F::batch_norm(in[0], rm, rv, in[1], in[2]); };
  auto result = autograd::gradcheck(fn, {random({2, 3, 4}, 43), random({3}, 44), random({3}, 45)});
  EXPECT_TRUE(result.ok) << result.message;
}

TEST(Embedding, GradcheckWithoutPaddingIndex) {
  Tensor indices = core::tensor<int64_t>({3, 0, 3, 1}, {2, 2});
  auto result = autograd::gradcheck([&](In in) { return F::embedding(indices, in[0]); }, {random({4, 3}, 4)});
  EXPECT_TRUE(result.ok) << result.message;
}

TEST(Norm, ErrorsNameTheOpAndShapes) {
  Tensor x = core::zeros({4, 3, 2});
  EXPECT_TRUE(throws_with<ShapeError>([&] { F::batch_norm(x, core::zeros({2}), core::ones({3})); },
                                      {"batch_norm", "running_mean [2]", "[3]", "[4, 3, 2]"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { F::batch_norm(x, Tensor(), Tensor()); }, {"batch_norm", "eval"}));
  EXPECT_TRUE(throws_with<ValueError>([&] {
    F::batch_norm(core::zeros({1, 3}), Tensor(), Tensor(), Tensor(), Tensor(), {.training = true});
  }, {"batch_norm", "more than one value", "[1, 3]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { F::layer_norm(x, {3}); }, {"layer_norm", "[4, 3, 2]", "[3]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { F::group_norm(x, 2); }, {"group_norm", "3 channels", "2 groups"}));
  EXPECT_TRUE(throws_with<IndexError>([&] { F::embedding(core::zeros({2}, {.dtype = kInt64}), core::zeros({3, 2}), {.padding_idx = 3}); },
                                      {"embedding", "padding_idx 3", "[3, 2]"}));
}

}  // namespace
}  // namespace descent
