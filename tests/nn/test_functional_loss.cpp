// The losses (nn/functional_loss.h): PyTorch's values and gradients for every loss and option
// (class weights, ignore_index, label smoothing, probability targets, reductions, pos_weight,
// log_target), exactness for logits of +-1e4, gradcheck, and the errors.
#include "functional_golden.h"
#include <descent/nn/functional_loss.h>

namespace descent {
namespace {

namespace F = nn::functional;
using testing::FunctionalCase;
using testing::throws_with;
using In = const std::vector<Tensor>&;

std::vector<FunctionalCase> loss_cases() {
  using R = F::Reduction;
  return {
      {"cross_entropy", {"x", "y"}, {"x"}, [](In in) { return F::cross_entropy(in[0], in[1]); }},
      {"cross_entropy_options", {"x", "y", "w"}, {"x"},
       [](In in) {
         return F::cross_entropy(in[0], in[1], {.weight = in[2], .ignore_index = 3, .label_smoothing = 0.2});
       }},
      {"cross_entropy_smoothing_sum", {"x", "y"}, {"x"},
       [](In in) { return F::cross_entropy(in[0], in[1], {.reduction = R::Sum, .label_smoothing = 0.1}); }},
      {"cross_entropy_none_spatial", {"x", "y", "w"}, {"x"},
       [](In in) { return F::cross_entropy(in[0], in[1], {.weight = in[2], .reduction = R::None}); }},
      {"cross_entropy_probs", {"x", "p", "w"}, {"x", "p"},
       [](In in) { return F::cross_entropy(in[0], in[1], {.weight = in[2], .label_smoothing = 0.3}); }},
      {"cross_entropy_large_logits", {"x", "y"}, {"x"}, [](In in) { return F::cross_entropy(in[0], in[1]); }},
      {"nll_loss", {"x", "y", "w"}, {"x"},
       [](In in) { return F::nll_loss(in[0], in[1], {.weight = in[2], .ignore_index = 1}); }},
      {"nll_loss_sum", {"x", "y"}, {"x"}, [](In in) { return F::nll_loss(in[0], in[1], {.reduction = R::Sum}); }},
      {"mse_loss", {"x", "y"}, {"x", "y"}, [](In in) { return F::mse_loss(in[0], in[1]); }},
      {"l1_loss_sum", {"x", "y"}, {"x", "y"}, [](In in) { return F::l1_loss(in[0], in[1], R::Sum); }},
      {"smooth_l1_loss", {"x", "y"}, {"x", "y"}, [](In in) { return F::smooth_l1_loss(in[0], in[1], R::Mean, 0.8); }},
      {"huber_loss_none", {"x", "y"}, {"x", "y"}, [](In in) { return F::huber_loss(in[0], in[1], R::None, 0.7); }},
      {"binary_cross_entropy", {"x", "y", "w"}, {"x", "y"},
       [](In in) { return F::binary_cross_entropy(in[0], in[1], in[2]); }},
      {"binary_cross_entropy_with_logits", {"x", "y", "pw"}, {"x", "y"},
       [](In in) { return F::binary_cross_entropy_with_logits(in[0], in[1], {.pos_weight = in[2], .reduction = R::Sum}); }},
      {"kl_div_batchmean", {"x", "y"}, {"x"},
       [](In in) { return F::kl_div(in[0], in[1], F::KlDivReduction::BatchMean); }},
      {"kl_div_log_target", {"x", "y"}, {"x", "y"},
       [](In in) { return F::kl_div(in[0], in[1], F::KlDivReduction::Sum, true); }},
      // gradcheck off: at x in {0, 1} and for ignored targets the gradient is PyTorch's, not the derivative
      {"binary_cross_entropy_edges", {"x", "y"}, {"x"},
       [](In in) { return F::binary_cross_entropy(in[0], in[1], Tensor(), R::Sum); }, false},
      {"cross_entropy_all_ignored", {"x", "y"}, {"x"},
       [](In in) { return F::cross_entropy(in[0], in[1], {.ignore_index = 2}); }, false},
      {"nll_loss_all_ignored", {"x", "y", "w"}, {"x"},
       [](In in) { return F::nll_loss(in[0], in[1], {.weight = in[2]}); }, false},
  };
}

class LossGolden : public ::testing::TestWithParam<FunctionalCase> {};
TEST_P(LossGolden, MatchesPyTorchAndGradcheck) { testing::check_functional_case(GetParam()); }
INSTANTIATE_TEST_SUITE_P(PyTorch, LossGolden, ::testing::ValuesIn(loss_cases()), testing::functional_case_name);

TEST(CrossEntropy, ExactForHugeLogitsInFloat32) {
  // log_softmax([1e4, -1e4]) is [0, -2e4] exactly; a naive log(softmax) would give -inf and NaN.
  Tensor x = core::tensor({1e4f, -1e4f, -1e4f, 1e4f}, {2, 2}).requires_grad_(true);
  Tensor y = core::tensor({int64_t{1}, int64_t{1}}, {2});
  Tensor loss = F::cross_entropy(x, y, {.reduction = F::Reduction::None});
  EXPECT_EQ(loss.to_vector<double>(), (std::vector<double>{2e4, 0.0}));
  loss.sum().backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{1, -1, 0, 0}));
}

TEST(CrossEntropy, AllIgnoredMeanIsNaNAsPyTorch) {
  Tensor x = core::zeros({2, 3});
  Tensor y = core::full({2}, int64_t{-100}, {.dtype = kInt64});
  EXPECT_TRUE(std::isnan(F::cross_entropy(x, y).item<double>()));
}

TEST(Loss, ErrorsNameTheOpAndShapes) {
  Tensor x = core::zeros({4, 3});
  EXPECT_TRUE(throws_with<IndexError>([&] { F::cross_entropy(x, core::tensor<int64_t>({0, 1, 2, 3})); },
                                      {"cross_entropy", "target 3", "3 classes"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { F::cross_entropy(x, core::zeros({3}, {.dtype = kInt64})); },
                                      {"cross_entropy", "[4, 3]", "[4]", "[3]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { F::cross_entropy(x, core::zeros({4}, {.dtype = kInt64}),
                                                            {.weight = core::ones({4})}); },
                                      {"cross_entropy", "weight [4]", "[3]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { F::cross_entropy(x, core::zeros({4, 2})); },
                                      {"cross_entropy", "[4, 3]", "[4, 2]"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { F::cross_entropy(x, core::zeros({4})); },
                                      {"cross_entropy", "target [4] is float32", "must be int64", "[4, 3]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { F::mse_loss(x, core::zeros({3})); }, {"mse_loss", "[4, 3]", "[3]"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { F::binary_cross_entropy(core::full({2}, 1.5), core::zeros({2})); },
                                      {"binary_cross_entropy", "[0, 1]"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { F::nll_loss(x, core::zeros({4})); }, {"nll_loss", "int64"}));
}

}  // namespace
}  // namespace descent
