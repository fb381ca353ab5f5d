// Tests of to_string and fmt::print("{}", t): exact strings against PyTorch's own printer (the
// golden file written by tests/core/golden/gen_print.py), then the cases where our format is
// ours (integer-valued floats, suffixes, int64 extremes, options, errors).
#include <cmath>
#include <limits>
#include <string>

#include "testing.h"

namespace descent {
namespace {

const testing::Golden& golden() {
  static const testing::Golden file("core/golden/print.json");
  return file;
}

Tensor view_of(const Tensor& base, const std::string& view) {
  if (view == "transpose") return core::transpose(base, 0, 1);
  if (view == "slice_step2") return core::slice(base, 1, 0, INT64_MAX, 2);
  return base;
}

class PrintGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(PrintGolden, MatchesPyTorchLayout) {
  const nlohmann::json& entry = golden().json().at(GetParam());
  const std::string view = entry.at("view").get<std::string>();
  Tensor t = view_of(golden().tensor(GetParam()), view);
  if (view != "none") {
    ASSERT_FALSE(t.is_contiguous()) << "the case should print a non-contiguous view";
  }
  if (entry.at("requires_grad").get<bool>()) t.requires_grad_(true);
  const nlohmann::json& o = entry.at("options");
  PrintOptions options{.precision = o.at("precision").get<int>(),
                       .threshold = o.at("threshold").get<int64_t>(),
                       .edgeitems = o.at("edgeitems").get<int64_t>(),
                       .linewidth = o.at("linewidth").get<int>()};
  EXPECT_EQ(to_string(t, options), entry.at("expected").get<std::string>());
}

INSTANTIATE_TEST_SUITE_P(
    Golden, PrintGolden,
    ::testing::Values("vector_float32", "matrix_float32", "cube_float64", "matrix_int64", "matrix_bool",
                      "nonfinite_float32", "scientific_small_float32", "scientific_large_float64",
                      "rounding_float64", "summarised_vector_float32", "summarised_matrix_int64",
                      "summarised_cube_float32", "summarised_rows_only_float32", "wrapped_vector_float32",
                      "suffix_on_new_line_float32", "scalar_float32", "scalar_int64", "empty_float32",
                      "empty_vector_int64", "transposed_float32", "sliced_step_float64",
                      "requires_grad_float32", "options_float64", "narrow_lines_int64"),
    [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

TEST(Print, FmtFormatsLikeToString) {
  // The example of core/print.h. NOTE: PyTorch would print these integer-valued floats as "1.";
  // we always print `precision` digits for floating dtypes (the dtype is shown anyway).
  Tensor t = core::tensor({1.0, 2.0, 3.0, 4.0}, {2, 2});
  const std::string expected =
      "tensor([[1.0000, 2.0000],\n"
      "        [3.0000, 4.0000]], shape=[2, 2], dtype=float32)";
  EXPECT_EQ(to_string(t), expected);
  EXPECT_EQ(fmt::format("{}", t), expected);
}

TEST(Print, AllZeroAndAllNanFloatsKeepPrecisionDigits) {
  EXPECT_EQ(to_string(core::zeros({2}, {.dtype = kFloat64})), "tensor([0.0000, 0.0000], shape=[2], dtype=float64)");
  Tensor nans = core::tensor(std::vector<double>{NAN, std::copysign(NAN, -1.0)}, {.dtype = kFloat32});
  EXPECT_EQ(to_string(nans), "tensor([nan, nan], shape=[2], dtype=float32)");  // no "-nan"
}

TEST(Print, Int64ExtremesAreExact) {
  Tensor t = core::tensor(std::vector<int64_t>{std::numeric_limits<int64_t>::min(),
                                               std::numeric_limits<int64_t>::max()});
  EXPECT_EQ(to_string(t), "tensor([-9223372036854775808,  9223372036854775807], shape=[2], dtype=int64)");
}

TEST(Print, BroadcastViewPrintsLogicalValues) {
  Tensor row = core::tensor({1.5, -2.5});
  Tensor t = core::expand(row, {2, 2});
  EXPECT_EQ(to_string(t),
            "tensor([[ 1.5000, -2.5000],\n"
            "        [ 1.5000, -2.5000]], shape=[2, 2], dtype=float32)");
}

TEST(Print, SizeOneDimsAndBoolScalar) {
  EXPECT_EQ(to_string(core::tensor({0.5, 1.5}, {1, 1, 2})),
            "tensor([[[0.5000, 1.5000]]], shape=[1, 1, 2], dtype=float32)");
  EXPECT_EQ(to_string(core::full({}, true)), "tensor(true, dtype=bool)");
  EXPECT_EQ(to_string(core::full({}, -0.25, {.dtype = kFloat64})), "tensor(-0.2500, dtype=float64)");
}

TEST(Print, SummarisesOnlyAboveThreshold) {
  Tensor t = core::arange(7, {.dtype = kInt64});
  EXPECT_EQ(to_string(t, {.threshold = 7, .edgeitems = 2}), "tensor([0, 1, 2, 3, 4, 5, 6], shape=[7], dtype=int64)");
  EXPECT_EQ(to_string(t, {.threshold = 6, .edgeitems = 2}), "tensor([0, 1,  ..., 5, 6], shape=[7], dtype=int64)");
  // With no edge items, a summarised dim is only "...".
  EXPECT_EQ(to_string(t, {.threshold = 6, .edgeitems = 0}), "tensor([...], shape=[7], dtype=int64)");
  EXPECT_EQ(to_string(core::reshape(core::arange(20, {.dtype = kInt64}), {4, 5}), {.threshold = 6, .edgeitems = 0}),
            "tensor([...], shape=[4, 5], dtype=int64)");
}

TEST(Print, UndefinedTensor) { EXPECT_EQ(to_string(Tensor()), "tensor(undefined)"); }

TEST(Print, BadOptionsNameTheOp) {
  Tensor t = core::zeros({2});
  EXPECT_TRUE(testing::throws_with<ValueError>([&] { to_string(t, {.precision = -1}); }, {"to_string", "-1"}));
  EXPECT_TRUE(testing::throws_with<ValueError>([&] { to_string(t, {.edgeitems = -2}); }, {"to_string", "-2"}));
  EXPECT_TRUE(testing::throws_with<ValueError>([&] { to_string(t, {.linewidth = 0}); }, {"to_string", "linewidth"}));
}

}  // namespace
}  // namespace descent
