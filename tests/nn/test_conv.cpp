// The convolution and pooling modules (nn/conv.h, nn/pooling.h): forward, input and parameter
// gradients and state_dict names against PyTorch (tests/nn/golden/gen_modules.py), the default
// initialisation's bounds, printing, errors, and the north-star network of DESIGN.md.
#include <cmath>
#include <vector>

#include "module_golden.h"

namespace descent {
namespace {

using testing::check_module_case;
using testing::ModuleCase;
using testing::throws_with;
using testing::unary_case;

std::vector<ModuleCase> conv_pool_cases() {
  using nn::ConvPadding;
  return {
      unary_case<nn::Conv2d>("conv2d", 2, 3, nn::Size2(3)),
      unary_case<nn::Conv2d>(
          "conv2d_options", 4, 6, nn::Size2(3, 2),
          nn::Conv2dOptions{.stride = 2, .padding = 1, .dilation = {1, 2}, .groups = 2, .bias = false}),
      unary_case<nn::Conv2d>("conv2d_same", 2, 2, nn::Size2(4), nn::Conv2dOptions{.padding = ConvPadding::Same()}),
      unary_case<nn::Conv1d>("conv1d", 2, 4, 3, nn::Conv1dOptions{.stride = 2, .padding = 1}),
      unary_case<nn::Conv1d>("conv1d_same_groups", 4, 4, 3,
                             nn::Conv1dOptions{.padding = ConvPadding::Same(), .dilation = 2, .groups = 4}),
      unary_case<nn::Conv2d>("conv2d_same_string", 2, 3, nn::Size2(4, 2),
                             nn::Conv2dOptions{.padding = "same", .dilation = {1, 3}}),
      unary_case<nn::Conv2d>("conv2d_valid", 2, 2, nn::Size2(3), nn::Conv2dOptions{.stride = 2, .padding = "valid"}),
      unary_case<nn::Conv1d>("conv1d_same_even", 2, 3, 4, nn::Conv1dOptions{.padding = "same", .dilation = 3}),
      unary_case<nn::MaxPool2d>("max_pool2d", nn::Size2(2)),
      unary_case<nn::MaxPool2d>("max_pool2d_options", nn::Size2(3),
                                nn::MaxPool2dOptions{.stride = 2, .padding = 1, .ceil_mode = true}),
      unary_case<nn::MaxPool2d>("max_pool2d_ties_nan", nn::Size2(2), nn::MaxPool2dOptions{.stride = 1, .padding = 1}),
      unary_case<nn::AvgPool2d>("avg_pool2d", nn::Size2(3),
                                nn::AvgPool2dOptions{.stride = 2, .padding = 1, .count_include_pad = false}),
      unary_case<nn::AdaptiveAvgPool2d>("adaptive_avg_pool2d", nn::Size2(2, 3)),
      unary_case<nn::Conv2d>("conv2d_reflect", 2, 3, nn::Size2(3),
                             nn::Conv2dOptions{.padding = {1, 2}, .padding_mode = nn::PadMode::Reflect}),
      unary_case<nn::Conv2d>("conv2d_replicate_same", 2, 2, nn::Size2(2, 3),
                             nn::Conv2dOptions{.padding = "same", .padding_mode = nn::PadMode::Replicate}),
      unary_case<nn::Conv2d>("conv2d_circular_strided", 2, 2, nn::Size2(3),
                             nn::Conv2dOptions{.stride = 2, .padding = 1, .padding_mode = nn::PadMode::Circular}),
      unary_case<nn::Conv1d>("conv1d_circular", 2, 3, 3,
                             nn::Conv1dOptions{.padding = 2, .dilation = 2, .padding_mode = nn::PadMode::Circular}),
      unary_case<nn::Conv1d>("conv1d_reflect_same_even", 2, 2, 4,
                             nn::Conv1dOptions{.padding = "same", .padding_mode = nn::PadMode::Reflect}),
      unary_case<nn::AvgPool2d>("avg_pool2d_divisor_override", nn::Size2(3),
                                nn::AvgPool2dOptions{.stride = 2, .padding = 1, .divisor_override = 4}),
  };
}

class ConvPoolGolden : public ::testing::TestWithParam<ModuleCase> {};

TEST_P(ConvPoolGolden, MatchesPyTorch) { check_module_case(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Modules, ConvPoolGolden, ::testing::ValuesIn(conv_pool_cases()),
                         [](const auto& info) { return info.param.name; });

// PyTorch's default: weight and bias uniform within 1 / sqrt(fan_in), fan_in = C_in / groups * kH * kW.
TEST(Conv2d, DefaultInitialisationBounds) {
  manual_seed(3);
  nn::Conv2d conv{8, 64, {3, 2}, {.groups = 2}};
  EXPECT_EQ(conv.weight.sizes(), Dims({64, 4, 3, 2}));
  double bound = 1.0 / std::sqrt(4.0 * 3 * 2);
  auto [weight_max, weight_mean] = testing::abs_max_and_mean(conv.weight);
  EXPECT_LE(weight_max, bound);
  EXPECT_GT(weight_max, 0.95 * bound);  // 1536 draws fill the interval
  EXPECT_LT(std::abs(weight_mean), 0.05 * bound);
  auto [bias_max, bias_mean] = testing::abs_max_and_mean(conv.bias);
  EXPECT_LE(bias_max, bound);
  EXPECT_GT(bias_max, 0.5 * bound);
  nn::Conv1d conv1d{3, 5, 4};
  EXPECT_LE(testing::abs_max_and_mean(conv1d.weight).first, 1.0 / std::sqrt(12.0));
}

TEST(Conv2d, PrintsItsOptions) {
  nn::Conv2d plain{1, 32, 3};
  EXPECT_EQ(plain.extra_repr(), "1, 32, kernel_size=(3, 3), stride=(1, 1)");
  nn::Conv2d options{4, 8, {3, 5}, {.stride = 2, .padding = {1, 2}, .dilation = 2, .groups = 4, .bias = false}};
  EXPECT_EQ(options.extra_repr(),
            "4, 8, kernel_size=(3, 5), stride=(2, 2), padding=(1, 2), dilation=(2, 2), groups=4, bias=false");
  nn::Conv1d same{2, 2, 3, {.padding = nn::ConvPadding::Same()}};
  EXPECT_EQ(same.extra_repr(), "2, 2, kernel_size=(3,), stride=(1,), padding=same");
  nn::Conv2d valid{2, 2, 3, {.padding = "valid"}};
  EXPECT_EQ(valid.extra_repr(), "2, 2, kernel_size=(3, 3), stride=(1, 1), padding=valid");
  nn::Conv1d circular{2, 2, 3, {.padding = 1, .padding_mode = nn::PadMode::Circular}};
  EXPECT_EQ(circular.extra_repr(), "2, 2, kernel_size=(3,), stride=(1,), padding=(1,), padding_mode=circular");
  nn::MaxPool2d pool{2};
  EXPECT_EQ(pool.extra_repr(), "kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=false");
  nn::AdaptiveAvgPool2d adaptive{{1, 2}};
  EXPECT_EQ(adaptive.extra_repr(), "output_size=(1, 2)");
}

TEST(Conv2d, RejectsBadChannels) {
  EXPECT_TRUE(throws_with<ValueError>([] { nn::Conv2d conv(3, 4, 3, {.groups = 2}); },
                                      {"Conv2d", "groups=2", "in_channels=3"}));
  EXPECT_TRUE(throws_with<ValueError>([] { nn::Conv1d conv(0, 4, 3); }, {"Conv1d", "in=0"}));
  nn::Conv2d conv{3, 4, 3};
  EXPECT_TRUE(throws_with<ShapeError>([&] { conv(zeros({1, 2, 5, 5})); }, {"conv2d"}));
}

// As PyTorch's _ConvNd: "same" with a stride is refused when the layer is built; an unknown
// padding string when the options are written.
TEST(Conv2d, RejectsBadPaddingStrings) {
  EXPECT_TRUE(throws_with<ValueError>([] { nn::Conv2d conv(2, 2, 3, {.stride = {1, 2}, .padding = "same"}); },
                                      {"Conv2d", "same", "strided"}));
  EXPECT_TRUE(throws_with<ValueError>([] { nn::Conv1d conv(2, 2, 3, {.stride = 2, .padding = "same"}); },
                                      {"Conv1d", "same", "strided"}));
  EXPECT_TRUE(throws_with<ValueError>([] { nn::Conv2d conv(2, 2, 3, {.padding = "half"}); },
                                      {"conv padding", "\"half\"", "same", "valid"}));
  EXPECT_TRUE(throws_with<ValueError>([] { nn::ConvPadding padding(std::string("Same")); }, {"\"Same\""}));
}

// The network of DESIGN.md's north star, as written there.
struct Net : nn::Module {
  nn::Conv2d conv1{1, 32, 3}, conv2{32, 64, 3};
  nn::Linear fc1{64 * 5 * 5, 128}, fc2{128, 10};
  Net() {
    register_module("conv1", conv1);
    register_module("conv2", conv2);
    register_module("fc1", fc1);
    register_module("fc2", fc2);
  }
  Tensor forward(const Tensor& x) {
    auto h = nn::functional::max_pool2d(relu(conv1(x)), 2);
    h = nn::functional::max_pool2d(relu(conv2(h)), 2);
    return fc2(relu(fc1(h.flatten(1))));
  }
};

TEST(Conv2d, NorthStarNetwork) {
  Net net;
  EXPECT_EQ(net.state_dict().keys(),
            (std::vector<std::string>{"conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight",
                                      "fc1.bias", "fc2.weight", "fc2.bias"}));
  // 320 + 18496 + 204928 + 1290, as PyTorch counts the same model
  EXPECT_EQ(net.num_parameters(), 225034);
  std::string printed = fmt::format("{}", net);
  EXPECT_NE(printed.find("(conv1): Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1))"), std::string::npos) << printed;
  Tensor logits = net.forward(randn({2, 1, 28, 28}));
  EXPECT_EQ(logits.sizes(), Dims({2, 10}));
  nn::functional::cross_entropy(logits, tensor({3, 7}, {.dtype = kInt64})).backward();
  EXPECT_TRUE(net.conv1.weight.grad().defined());
}

TEST(Conv2d, ChainsInSequential) {
  nn::Sequential features{nn::Conv2d(1, 4, 3, {.padding = 1}), nn::ReLU(), nn::MaxPool2d(2), nn::AvgPool2d(2),
                          nn::AdaptiveAvgPool2d(1), nn::Flatten()};
  EXPECT_EQ(features(randn({3, 1, 8, 8})).sizes(), Dims({3, 4}));
  EXPECT_EQ(features.state_dict().keys(), (std::vector<std::string>{"0.weight", "0.bias"}));
}

}  // namespace
}  // namespace descent
