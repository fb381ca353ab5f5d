// In-place ops under autograd (autograd/record.h, run_in_place and rebase_in_place): each case
// computes a function once with in-place ops on tensors in the graph and once out of place, and
// the values and gradients must agree; backward formulas that read self (mul_, div_, clamp_),
// in-place changes of views (the base's history rewritten, PyTorch's CopySlices), copy_,
// masked_fill_, double backward through them, and the protection of leaves.
#include <functional>
#include <string>
#include <vector>

#include <descent/autograd/gradcheck.h>
#include "testing.h"

namespace descent {
namespace {

using testing::tensors_close;
using testing::throws_with;
using Inputs = const std::vector<Tensor>&;

struct InPlaceCase {
  std::string name;
  std::vector<Dims> shapes;
  std::function<Tensor(Inputs)> in_place, out_of_place;
};

std::ostream& operator<<(std::ostream& os, const InPlaceCase& c) { return os << c.name; }

std::vector<Tensor> random_inputs(const InPlaceCase& c) {
  manual_seed(11);
  std::vector<Tensor> inputs;
  for (const Dims& shape : c.shapes) inputs.push_back(core::randn(shape, {.dtype = kFloat64}).requires_grad_(true));
  return inputs;
}

std::vector<InPlaceCase> in_place_cases() {
  return {
      {"mul_reads_self", {{3, 2}, {2, 3}},
       [](Inputs in) { Tensor y = in[0].t() * 1.5; y.mul_(in[1]); return y; },
       [](Inputs in) { return in[0].t() * 1.5 * in[1]; }},
      {"div_reads_self", {{2, 3}, {2, 3}},
       [](Inputs in) { Tensor y = in[0] * 1.0; y.div_(in[1] * in[1] + 1.0); return y; },
       [](Inputs in) { return in[0] / (in[1] * in[1] + 1.0); }},
      {"chain", {{2, 3}, {3}, {2, 3}},
       [](Inputs in) {
         Tensor y = in[0] * 2.0;
         y.mul_(in[1]).add_(in[2], 0.5).sub_(in[1]).div_(in[2] * in[2] + 2.0).mul_(y);
         return y;
       },
       [](Inputs in) {
         Tensor y = (in[0] * 2.0 * in[1] + in[2] * 0.5 - in[1]) / (in[2] * in[2] + 2.0);
         return y * y;
       }},
      {"select_mul", {{3, 4}},
       [](Inputs in) { Tensor y = in[0] * in[0]; y.select(0, 1).mul_(2.0); return y; },
       [](Inputs in) {
         Tensor y = in[0] * in[0];
         return cat({y.narrow(0, 0, 1), y.narrow(0, 1, 1) * 2.0, y.narrow(0, 2, 1)}, 0);
       }},
      {"narrow_add_tensor", {{3, 4}, {3, 2}},
       [](Inputs in) { Tensor y = sin(in[0]); y.narrow(1, 1, 2).add_(in[1] * in[1]); return y; },
       [](Inputs in) {
         Tensor y = sin(in[0]);  // sin saves its input: exp, which saves its output, would refuse the add_
         return cat({y.narrow(1, 0, 1), y.narrow(1, 1, 2) + in[1] * in[1], y.narrow(1, 3, 1)}, 1);
       }},
      {"view_of_view_mul_tensor", {{2, 3, 4}, {3}},
       [](Inputs in) {
         Tensor y = in[0] * 3.0;
         y.select(0, 1).transpose(0, 1).select(0, 2).mul_(in[1]);  // y[1, :, 2] *= b
         return y;
       },
       [](Inputs in) {
         Tensor y = in[0] * 3.0;
         Tensor column = y.select(0, 1).select(1, 2) * in[1];
         return stack({y.select(0, 0),
                       cat({y.select(0, 1).narrow(1, 0, 2), column.unsqueeze(1), y.select(0, 1).narrow(1, 3, 1)}, 1)},
                      0);
       }},
      {"copy_into_row", {{3, 2}, {2}},
       [](Inputs in) { Tensor y = sin(in[0]); y[2].copy_(in[1] * 2.0); return y; },
       [](Inputs in) { Tensor y = sin(in[0]); return cat({y.narrow(0, 0, 2), (in[1] * 2.0).unsqueeze(0)}, 0); }},
      {"copy_constant", {{2, 3}},
       [](Inputs in) { Tensor y = in[0] * 2.0; y.copy_(core::full({3}, 0.5, {.dtype = kFloat64})); return y * in[0]; },
       [](Inputs in) { return core::full({2, 3}, 0.5, {.dtype = kFloat64}) * in[0]; }},
      {"clamp_and_masked_fill", {{3, 4}},
       [](Inputs in) {
         Tensor y = in[0] * 2.0;
         y.clamp_(-1.0, 1.5);
         y.masked_fill_(core::gt(in[0], 0.4), 0.25);
         return y * y;
       },
       [](Inputs in) {
         Tensor y = masked_fill(clamp(in[0] * 2.0, -1.0, 1.5), core::gt(in[0], 0.4), 0.25);
         return y * y;
       }},
      {"mul_by_itself", {{4}},
       [](Inputs in) { Tensor y = in[0] + 1.0; y.mul_(y); return y; },
       [](Inputs in) { Tensor y = in[0] + 1.0; return y * y; }},
  };
}

class InPlace : public ::testing::TestWithParam<InPlaceCase> {};

TEST_P(InPlace, MatchesOutOfPlace) {
  const InPlaceCase& c = GetParam();
  std::vector<Tensor> a = random_inputs(c), b = random_inputs(c);
  Tensor y = c.in_place(a), expected = c.out_of_place(b);
  ASSERT_TRUE(tensors_close(y, expected, 1e-12, 1e-12)) << c.name << " value";
  manual_seed(3);
  Tensor weights = core::randn(y.sizes(), {.dtype = kFloat64});
  sum(y * weights).backward();
  sum(expected * weights).backward();
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(tensors_close(a[i].grad(), b[i].grad(), 1e-12, 1e-12)) << c.name << " gradient of input " << i;
  }
}

// Second derivatives through the rewritten histories (CopySlices included).
TEST_P(InPlace, GradGradCheck) {
  const InPlaceCase& c = GetParam();
  auto result = autograd::gradgradcheck(c.in_place, random_inputs(c));
  EXPECT_TRUE(result.ok) << c.name << ": " << result.message;
}

INSTANTIATE_TEST_SUITE_P(Cases, InPlace, ::testing::ValuesIn(in_place_cases()),
                         [](const auto& info) { return info.param.name; });

TEST(InPlaceRules, TheBaseTakesTheNewHistory) {
  Tensor x = core::ones({2, 3}, {.dtype = kFloat64, .requires_grad = true});
  Tensor y = x * 2.0;
  Tensor row = y.select(0, 0);
  row.mul_(3.0);
  EXPECT_EQ(y.grad_fn()->name(), "CopySlicesBackward");
  EXPECT_TRUE(tensors_close(y.detach(), core::tensor<double>({6, 6, 6, 2, 2, 2}, {2, 3})));
  sum(row).backward();  // the view's own history: through the new base
  EXPECT_TRUE(tensors_close(x.grad(), core::tensor<double>({6, 6, 6, 0, 0, 0}, {2, 3})));
}

TEST(InPlaceRules, LeavesThatRequireGradStayProtected) {
  Tensor x = core::ones({2, 3}, {.requires_grad = true});
  Tensor other = core::ones({3}, {.requires_grad = true});
  EXPECT_TRUE(throws_with<Error>([&] { x.mul_(other.unsqueeze(0)); }, {"mul_", "leaf", "[2, 3]", "NoGradGuard"}));
  EXPECT_TRUE(throws_with<Error>([&] { x[0].copy_(other); }, {"copy_", "view", "leaf", "NoGradGuard"}));
  EXPECT_TRUE(throws_with<Error>([&] { x.clamp_(0.0, 0.5); }, {"clamp_", "leaf"}));
  EXPECT_TRUE(throws_with<Error>([&] { x.masked_fill_(core::gt(x, 0.0), 1.0); }, {"masked_fill_", "leaf"}));
  {
    NoGradGuard no_grad;
    x[0].copy_(other * 2.0);
    x.clamp_(0.0, 1.5);
  }
  EXPECT_TRUE(tensors_close(x.detach(), core::tensor<float>({1.5f, 1.5f, 1.5f, 1, 1, 1}, {2, 3})));
  EXPECT_FALSE(x.grad_fn());
}

}  // namespace
}  // namespace descent
