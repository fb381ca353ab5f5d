// The layers of nn/linear.h, nn/activation.h and nn/dropout.h: forwards against PyTorch (golden
// values from tests/nn/golden/gen_layers.py) in float64 and float32, Linear's default
// initialisation and shape errors, dropout's statistics in train and eval mode, and gradcheck of
// Linear in float64.
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include <descent/autograd/gradcheck.h>
#include "testing.h"

namespace descent {
namespace {

using testing::Golden;
using testing::tensors_close;
using testing::throws_with;

const Golden& golden() {
  static const Golden g("nn/golden/layers.json");
  return g;
}

struct LayerCase {
  std::string golden_name;
  std::string input;
  std::function<Tensor(const Tensor&)> layer;
};

std::vector<LayerCase> layer_cases() {
  auto wrap = [](auto module) {
    auto shared = std::make_shared<decltype(module)>(std::move(module));
    return [shared](const Tensor& x) { return shared->forward(x); };
  };
  return {
      {"relu", "x", wrap(nn::ReLU())},
      {"leaky_relu_0.2", "x", wrap(nn::LeakyReLU(0.2))},
      {"gelu", "x", wrap(nn::GELU())},
      {"gelu_tanh", "x", wrap(nn::GELU(GeluApproximate::Tanh))},
      {"silu", "x", wrap(nn::SiLU())},
      {"tanh", "x", wrap(nn::Tanh())},
      {"sigmoid", "x", wrap(nn::Sigmoid())},
      {"softmax_1", "x", wrap(nn::Softmax(1))},
      {"softmax_0", "x", wrap(nn::Softmax(0))},
      {"log_softmax_1", "x", wrap(nn::LogSoftmax(1))},
      {"log_softmax_-1_3d", "x3", wrap(nn::LogSoftmax(-1))},
      {"flatten", "x4", wrap(nn::Flatten())},
      {"flatten_0_2", "x4", wrap(nn::Flatten(0, 2))},
  };
}

TEST(Layers, ForwardMatchesPyTorch) {
  for (const LayerCase& c : layer_cases()) {
    Tensor x = golden().tensor(c.input);
    Tensor expected = golden().tensor(c.golden_name);
    EXPECT_TRUE(tensors_close(c.layer(x), expected, 1e-12, 1e-14)) << c.golden_name << " (float64)";
    EXPECT_TRUE(tensors_close(c.layer(x.to(kFloat32)), expected, 1e-5, 1e-6)) << c.golden_name << " (float32)";
  }
}

TEST(Layers, IdentityReturnsItsInput) {
  nn::Identity identity;
  Tensor x = ones({2, 3});
  EXPECT_TRUE(identity(x).is_same(x));
}

TEST(Linear, ForwardMatchesPyTorch) {
  nn::Linear linear(5, 4);
  linear.to(kFloat64);
  linear.weight.detach().copy_(golden().tensor("weight"));
  linear.bias.detach().copy_(golden().tensor("bias"));
  EXPECT_TRUE(tensors_close(linear(golden().tensor("x")), golden().tensor("linear"), 1e-12, 1e-13));
  EXPECT_TRUE(tensors_close(linear(golden().tensor("x3")), golden().tensor("linear_3d"), 1e-12, 1e-13));
  nn::Linear no_bias(5, 4, /*bias=*/false);
  EXPECT_FALSE(no_bias.bias.defined());
  EXPECT_EQ(no_bias.num_parameters(), 20);
  EXPECT_TRUE(tensors_close(nn::functional::linear(golden().tensor("x"), golden().tensor("weight")),
                            golden().tensor("linear_no_bias"), 1e-12, 1e-13));
}

TEST(Linear, DefaultInitialisationAsPyTorch) {
  manual_seed(0);
  nn::Linear linear(400, 300);
  EXPECT_EQ(linear.weight.sizes(), Dims({300, 400}));
  EXPECT_EQ(linear.bias.sizes(), Dims({300}));
  EXPECT_EQ(linear.weight.dtype(), kFloat32);
  EXPECT_TRUE(linear.weight.requires_grad());
  // kaiming_uniform_(a = sqrt 5) is U(-1/sqrt(in), 1/sqrt(in)): variance 1 / (3 in). Its sample
  // variance over n = 120000 draws has standard error < sqrt(2 / n) of it; 5 of those allowed.
  double bound = 1.0 / std::sqrt(400.0);
  std::vector<double> w = linear.weight.to_vector<double>();
  double squares = 0, largest = 0;
  for (double v : w) {
    squares += v * v;
    largest = std::max(largest, std::abs(v));
  }
  EXPECT_LE(largest, bound);
  EXPECT_GT(largest, 0.99 * bound);
  double n = static_cast<double>(w.size());
  EXPECT_NEAR(squares / n, bound * bound / 3, 5 * std::sqrt(2 / n) * bound * bound / 3);
  std::vector<double> b = linear.bias.to_vector<double>();
  EXPECT_LE(*std::max_element(b.begin(), b.end()), bound);
  EXPECT_GE(*std::min_element(b.begin(), b.end()), -bound);
}

TEST(Linear, ShapeErrors) {
  nn::Linear linear(4, 3);
  EXPECT_TRUE(throws_with<ShapeError>([&] { linear(ones({2, 5})); },
                                      {"linear: input [2, 5] with weight [3, 4]", "in_features = 4"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { nn::functional::linear(ones({2, 4}), ones({3, 4}), ones({4})); },
                                      {"linear: bias of shape [4] for weight [3, 4]: expected [3]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { nn::functional::linear(ones({2, 4}), ones({4})); },
                                      {"weight of shape [4] is not 2-d"}));
}

TEST(Linear, Gradcheck) {
  manual_seed(1);
  nn::Linear linear(3, 2);
  linear.to(kFloat64);
  Tensor x = randn({4, 3}, {.dtype = kFloat64, .requires_grad = true});
  auto fn = [](const std::vector<Tensor>& in) { return nn::functional::linear(in[0], in[1], in[2]); };
  auto result = autograd::gradcheck(fn, {x, linear.weight, linear.bias});
  EXPECT_TRUE(result) << result.message;
  // A batch of sequences [B, T, in], and no bias.
  Tensor x3 = randn({2, 2, 3}, {.dtype = kFloat64, .requires_grad = true});
  auto no_bias = [](const std::vector<Tensor>& in) { return nn::functional::linear(in[0], in[1]); };
  result = autograd::gradcheck(no_bias, {x3, linear.weight});
  EXPECT_TRUE(result) << result.message;
}

TEST(Dropout, InvertedInTrainingIdentityInEval) {
  manual_seed(2);
  nn::Dropout dropout(0.3);
  Tensor x = full({100, 100}, 2.0);
  Tensor y = dropout(x);
  std::vector<double> values = y.to_vector<double>();
  int64_t zeros = 0;
  for (double v : values) {
    if (v == 0.0) {
      ++zeros;
    } else {
      EXPECT_NEAR(v, 2.0 / 0.7, 1e-6);  // kept elements scaled by 1 / (1 - p)
    }
  }
  // The count of dropped elements is Binomial(n, p): within 5 standard deviations of n p.
  double n = 10000, p = 0.3;
  EXPECT_NEAR(static_cast<double>(zeros), n * p, 5 * std::sqrt(n * p * (1 - p)));
  dropout.eval();
  EXPECT_TRUE(dropout(x).is_same(x));
  EXPECT_TRUE(nn::functional::dropout(x, 0.0).is_same(x));
  EXPECT_TRUE(tensors_close(nn::functional::dropout(x, 1.0), zeros_like(x), 0, 0));
  EXPECT_TRUE(throws_with<ValueError>([] { nn::Dropout(1.5); }, {"probability has to be between 0 and 1, but got 1.5"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { nn::functional::dropout(x, -0.1); }, {"dropout: probability"}));
}

TEST(Dropout, GradientIsTheMask) {
  Generator generator(7);
  Tensor x = ones({50}, {.dtype = kFloat64, .requires_grad = true});
  Tensor y = nn::functional::dropout(x, 0.5, true, &generator);
  sum(y).backward();
  EXPECT_TRUE(tensors_close(x.grad(), y.detach(), 0, 0));  // d(x * mask)/dx = mask, and x = 1
  // The same generator state gives the same mask.
  Generator again(7);
  EXPECT_TRUE(tensors_close(nn::functional::dropout(x.detach(), 0.5, true, &again), y.detach(), 0, 0));
}

}  // namespace
}  // namespace descent
