// The loss modules (nn/loss.h): each module with its options against the PyTorch module of the same
// name (tests/nn/golden/gen_modules.py), with the input and target gradients and the weight buffers'
// state_dict names; printing; and gradgradcheck of nn::functional::cross_entropy in float64.
#include <vector>

#include "module_golden.h"

namespace descent {
namespace {

using testing::check_module_case;
using testing::ModuleCase;
using testing::module_golden;

template <typename M, typename... Args>
ModuleCase loss_case(std::string name, Args... args) {
  return {std::move(name), [=] { return std::make_shared<M>(args...); },
          [](nn::Module& m, const std::vector<Tensor>& in) { return static_cast<M&>(m).forward(in[0], in[1]); },
          {"x", "target"}};
}

Tensor class_weight() { return tensor({0.5, 1.0, 2.0}, {.dtype = kFloat32}); }

std::vector<ModuleCase> loss_cases() {
  using nn::Reduction;
  return {
      loss_case<nn::MSELoss>("mse_loss"),
      loss_case<nn::L1Loss>("l1_loss_sum", Reduction::Sum),
      loss_case<nn::SmoothL1Loss>("smooth_l1_loss", Reduction::Mean, 0.5),
      loss_case<nn::HuberLoss>("huber_loss_none", Reduction::None, 0.7),
      loss_case<nn::CrossEntropyLoss>(
          "cross_entropy_loss", nn::CrossEntropyOptions{.weight = class_weight(), .ignore_index = 1, .label_smoothing = 0.1}),
      loss_case<nn::NLLLoss>("nll_loss", nn::NllLossOptions{.weight = class_weight(), .reduction = Reduction::Sum}),
      loss_case<nn::BCELoss>("bce_loss", class_weight()),
      loss_case<nn::BCEWithLogitsLoss>("bce_with_logits_loss", nn::BceWithLogitsOptions{.pos_weight = class_weight()}),
      loss_case<nn::KLDivLoss>("kl_div_loss", nn::KlDivReduction::BatchMean),
  };
}

class LossGolden : public ::testing::TestWithParam<ModuleCase> {};

TEST_P(LossGolden, MatchesPyTorch) { check_module_case(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Modules, LossGolden, ::testing::ValuesIn(loss_cases()),
                         [](const auto& info) { return info.param.name; });

TEST(LossModules, PrintTheirOptions) {
  EXPECT_EQ(nn::MSELoss().extra_repr(), "reduction=mean");
  EXPECT_EQ(nn::HuberLoss(nn::Reduction::Sum, 2.0).extra_repr(), "reduction=sum, delta=2");
  EXPECT_EQ(nn::CrossEntropyLoss({.label_smoothing = 0.1}).extra_repr(),
            "ignore_index=-100, reduction=mean, label_smoothing=0.1");
  EXPECT_EQ(nn::KLDivLoss(nn::KlDivReduction::BatchMean, true).extra_repr(), "reduction=batchmean, log_target=true");
}

// The class weight is a buffer: it follows to(dtype), and the options see the converted tensor.
TEST(LossModules, WeightFollowsTheModulesDtype) {
  nn::CrossEntropyLoss loss{{.weight = class_weight()}};
  loss.to(kFloat64);
  EXPECT_EQ(loss.options.weight.dtype(), kFloat64);
  Tensor logits = randn({2, 3}, {.dtype = kFloat64});
  EXPECT_EQ(loss(logits, tensor({0, 2}, {.dtype = kInt64})).dtype(), kFloat64);
}

TEST(CrossEntropy, SecondDerivatives) {
  manual_seed(7);
  Tensor logits = randn({3, 4}, {.dtype = kFloat64}).requires_grad_(true);
  Tensor labels = tensor({1, 3, 0}, {.dtype = kInt64});
  auto indices = [&](const std::vector<Tensor>& in) {
    return nn::functional::cross_entropy(in[0], labels, {.weight = tensor({1.0, 0.5, 2.0, 1.5}, {.dtype = kFloat64}),
                                                          .label_smoothing = 0.2});
  };
  auto result = autograd::gradgradcheck(indices, {logits});
  EXPECT_TRUE(result.ok) << result.message;
  Tensor probabilities = softmax(randn({3, 4}, {.dtype = kFloat64}), 1).requires_grad_(true);
  auto soft = [](const std::vector<Tensor>& in) { return nn::functional::cross_entropy(in[0], in[1]); };
  result = autograd::gradgradcheck(soft, {logits, probabilities.detach().requires_grad_(true)});
  EXPECT_TRUE(result.ok) << result.message;
}

}  // namespace
}  // namespace descent
