// conv1d and conv2d (nn/functional_conv.h): PyTorch's outputs and gradients for stride, padding
// (explicit and "same"), dilation, groups and bias, gradcheck, second derivatives through the
// adjoint ops (gradgradcheck), the batch shared over 1, 2 and 3 threads against a direct
// double-precision convolution, and the errors naming the op and shapes.
#include "functional_golden.h"
#include "module_golden.h"
#include <descent/nn/functional_conv.h>

namespace descent {
namespace {

namespace F = nn::functional;
using testing::FunctionalCase;
using testing::throws_with;

Tensor bias_or_none(const std::vector<Tensor>& in) { return in.size() > 2 ? in[2] : Tensor(); }

std::vector<FunctionalCase> conv_cases() {
  auto conv = [](F::Conv2dFuncOptions options) {
    return [options](const std::vector<Tensor>& in) { return F::conv2d(in[0], in[1], bias_or_none(in), options); };
  };
  return {
      {"conv2d_plain", {"x", "w", "b"}, {"x", "w", "b"}, conv({})},
      {"conv2d_stride_pad", {"x", "w"}, {"x", "w"}, conv({.stride = {2, 1}, .padding = {1, 2}})},
      {"conv2d_dilation", {"x", "w", "b"}, {"x", "w", "b"}, conv({.padding = 1, .dilation = {2, 1}})},
      {"conv2d_groups", {"x", "w", "b"}, {"x", "w", "b"}, conv({.stride = {2, 2}, .padding = 1, .groups = 2})},
      {"conv2d_same_even", {"x", "w", "b"}, {"x", "w", "b"}, conv({.padding = F::ConvPadding::Same()})},
      {"conv2d_pointwise", {"x", "w", "b"}, {"x", "w", "b"}, conv({})},
      {"conv1d", {"x", "w", "b"}, {"x", "w", "b"},
       [](const std::vector<Tensor>& in) {
         return F::conv1d(in[0], in[1], in[2], {.stride = 2, .padding = 1, .dilation = 2, .groups = 2});
       }},
  };
}

class ConvGolden : public ::testing::TestWithParam<FunctionalCase> {};
TEST_P(ConvGolden, MatchesPyTorchAndGradcheck) { testing::check_functional_case(GetParam()); }
INSTANTIATE_TEST_SUITE_P(PyTorch, ConvGolden, ::testing::ValuesIn(conv_cases()), testing::functional_case_name);

Tensor random(const Dims& shape, uint64_t seed) {
  manual_seed(seed);
  return core::randn(shape, {.dtype = kFloat64}).requires_grad_(true);
}

// The backward is made of the adjoint ops, so second derivatives in x, w and b are exact too.
TEST(Conv2d, SecondDerivatives) {
  Tensor x = random({2, 4, 5, 4}, 1), w = random({4, 2, 3, 2}, 2), b = random({4}, 3);
  auto fn = [](const std::vector<Tensor>& in) {
    return F::conv2d(in[0], in[1], in[2], {.stride = {2, 1}, .padding = {1, 0}, .dilation = {1, 2}, .groups = 2});
  };
  auto result = autograd::gradgradcheck(fn, {x, w, b});
  EXPECT_TRUE(result.ok) << result.message;
}

TEST(Conv2d, UnbatchedInputMatchesBatched) {
  Tensor x = random({3, 6, 6}, 4), w = random({2, 3, 3, 3}, 5);
  Tensor unbatched = F::conv2d(x, w, Tensor(), {.padding = 1});
  Tensor batched = F::conv2d(x.unsqueeze(0), w, Tensor(), {.padding = 1});
  EXPECT_TRUE(testing::tensors_close(unbatched, batched.squeeze(0), 0, 0));
}

TEST(Conv2d, BatchLargerThanThreadsGivesTheSameWeightGradient) {
  // The weight gradient sums per-thread partial buffers: compare against one image at a time.
  Tensor x = random({7, 2, 5, 5}, 6), w = random({3, 2, 3, 3}, 7);
  F::conv2d(x, w).sum().backward();
  Tensor together = w.grad().clone();
  w.set_grad(Tensor());
  for (int64_t n = 0; n < 7; ++n) F::conv2d(x.narrow(0, n, 1), w).sum().backward();
  EXPECT_TRUE(testing::tensors_close(w.grad(), together, 1e-12, 1e-12));
}

// y[n, o, h, w] = b[o] + sum_{c, i, j} w[o, c, i, j] x[n, c, h + i - pad, w + j - pad] in double
// (stride 1, zeros outside the image), and the gradients of sum(y * r).
struct DirectConv {
  Tensor y, gx, gw, gb;
};
DirectConv direct_conv(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& r, int64_t pad) {
  const int64_t batch = x.size(0), in_channels = x.size(1), in_h = x.size(2), in_w = x.size(3);
  const int64_t out_channels = w.size(0), kernel_h = w.size(2), kernel_w = w.size(3);
  const int64_t out_h = in_h + 2 * pad - kernel_h + 1, out_w = in_w + 2 * pad - kernel_w + 1;
  std::vector<double> xv = x.to_vector<double>(), wv = w.to_vector<double>(), bv = b.to_vector<double>();
  std::vector<double> rv = r.to_vector<double>();
  std::vector<double> y(rv.size()), gx(xv.size()), gw(wv.size()), gb(bv.size());
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t o = 0; o < out_channels; ++o) {
      for (int64_t h = 0; h < out_h; ++h) {
        for (int64_t v = 0; v < out_w; ++v) {
          const int64_t at = ((n * out_channels + o) * out_h + h) * out_w + v;
          double total = bv[o];
          for (int64_t c = 0; c < in_channels; ++c) {
            for (int64_t i = 0; i < kernel_h; ++i) {
              for (int64_t j = 0; j < kernel_w; ++j) {
                const int64_t ih = h + i - pad, iw = v + j - pad;
                if (ih < 0 || ih >= in_h || iw < 0 || iw >= in_w) continue;
                const int64_t xi = ((n * in_channels + c) * in_h + ih) * in_w + iw;
                const int64_t wi = ((o * in_channels + c) * kernel_h + i) * kernel_w + j;
                total += wv[wi] * xv[xi];
                gx[xi] += wv[wi] * rv[at];
                gw[wi] += xv[xi] * rv[at];
              }
            }
          }
          y[at] = total;
          gb[o] += rv[at];
        }
      }
    }
  }
  auto make = [](const std::vector<double>& values, const Tensor& like) {
    return core::tensor(values, like.sizes(), {.dtype = kFloat64});
  };
  return {make(y, r), make(gx, x), make(gw, w), make(gb, b)};
}

// Batches of 3 and 5 images on 1, 2 and 3 threads: images whose GEMM is below OpenBLAS's
// threading threshold (6 x 6) are always shared over the threads; above it (16 x 16: 16 x 256 x
// 72 multiply-adds) 5 images are shared, and 3 on 2 threads run one by one with OpenBLAS
// threading each GEMM. Every way gives the direct convolution and its gradients.
class ConvThreads : public ::testing::TestWithParam<int> {};

TEST_P(ConvThreads, SharedBatchMatchesDirectConvolution) {
  testing::ThreadCount threads(GetParam());
  for (int64_t batch : {3, 5}) {
    for (int64_t size : {6, 16}) {
      SCOPED_TRACE(fmt::format("batch {}, {} x {} images", batch, size, size));
      manual_seed(static_cast<uint64_t>(batch * 100 + size));
      Tensor x = core::randn({batch, 8, size, size}).requires_grad_(true);
      Tensor w = core::randn({16, 8, 3, 3}).requires_grad_(true), b = core::randn({16}).requires_grad_(true);
      Tensor r = core::randn({batch, 16, size, size});
      Tensor y = F::conv2d(x, w, b, {.padding = 1});
      (y * r).sum().backward();
      DirectConv expected = direct_conv(x, w, b, r, 1);
      EXPECT_TRUE(testing::tensors_close(y, expected.y, 1e-4, 1e-4));
      EXPECT_TRUE(testing::tensors_close(x.grad(), expected.gx, 1e-4, 1e-4));
      EXPECT_TRUE(testing::tensors_close(w.grad(), expected.gw, 1e-4, 1e-4));
      EXPECT_TRUE(testing::tensors_close(b.grad(), expected.gb, 1e-4, 1e-4));
    }
  }
}
INSTANTIATE_TEST_SUITE_P(Threads, ConvThreads, ::testing::Values(1, 2, 3));

// The string forms: "valid" is no padding, "same" is ConvPadding::Same(); conv1d with "same",
// an even kernel and odd dilation (one more zero on the right) against PyTorch's nn.Conv1d.
TEST(Conv2d, PaddingStrings) {
  Tensor x = random({2, 3, 7, 6}, 8), w = random({4, 3, 2, 3}, 9);
  EXPECT_TRUE(testing::tensors_close(F::conv2d(x, w, Tensor(), {.padding = "valid"}), F::conv2d(x, w), 0, 0));
  Tensor same = F::conv2d(x, w, Tensor(), {.padding = "same", .dilation = {3, 1}});
  EXPECT_EQ(same.sizes(), Dims({2, 4, 7, 6}));
  EXPECT_TRUE(testing::tensors_close(
      same, F::conv2d(x, w, Tensor(), {.padding = F::ConvPadding::Same(), .dilation = {3, 1}}), 0, 0));
  // dilation 3 (2 - 1) = 3 rows of padding: 1 above, 2 below, as explicit padding 2 cut back by one row.
  Tensor explicit_pad = F::conv2d(x, w, Tensor(), {.padding = {2, 1}, .dilation = {3, 1}});
  EXPECT_TRUE(testing::tensors_close(same, explicit_pad.narrow(2, 1, 7), 1e-12, 1e-12));

  const testing::Golden& golden = testing::module_golden();
  Tensor y = F::conv1d(golden.tensor("conv1d_same_even/in/x"), golden.tensor("conv1d_same_even/state/weight"),
                       golden.tensor("conv1d_same_even/state/bias"), {.padding = "same", .dilation = 3});
  EXPECT_TRUE(testing::tensors_close(y, golden.tensor("conv1d_same_even/out"), 1e-10, 1e-10));
  auto fn = [](const std::vector<Tensor>& in) { return F::conv1d(in[0], in[1], Tensor(), {.padding = "same", .dilation = 3}); };
  auto result = autograd::gradcheck(fn, {random({1, 2, 9}, 10), random({3, 2, 4}, 11)});
  EXPECT_TRUE(result.ok) << result.message;
  EXPECT_TRUE(throws_with<ValueError>([&] { F::conv1d(random({1, 2, 9}, 10), random({3, 2, 4}, 11), Tensor(),
                                                      {.stride = 2, .padding = "same"}); },
                                      {"conv1d", "same", "stride 1", "[1, 2, 9]"}));
}

TEST(Conv2d, ErrorsNameTheOpAndShapes) {
  Tensor x = core::zeros({2, 3, 8, 8}), w = core::zeros({4, 2, 3, 3});
  EXPECT_TRUE(throws_with<ShapeError>([&] { F::conv2d(x, w); },
                                      {"conv2d", "[2, 3, 8, 8]", "3 channels", "[4, 2, 3, 3]", "expects 2"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { F::conv2d(x, core::zeros({4, 3, 3, 3}), core::zeros({5})); },
                                      {"conv2d", "bias [5]", "[4]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { F::conv2d(core::zeros({1, 3, 2, 2}), core::zeros({4, 3, 3, 3})); },
                                      {"conv2d", "[1, 3, 2, 2]", "smaller than", "[4, 3, 3, 3]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { F::conv2d(core::zeros({8, 8}), w); }, {"conv2d", "[8, 8]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { F::conv2d(core::zeros({1, 4, 5, 5}), core::zeros({3, 2, 3, 3}), Tensor(),
                                                     {.groups = 2}); },
                                      {"conv2d", "3 output channels", "groups 2"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { F::conv2d(x, core::zeros({4, 3, 3, 3}), Tensor(),
                                                     {.stride = {2, 2}, .padding = F::ConvPadding::Same()}); },
                                      {"conv2d", "same", "stride 1"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { F::conv2d(x, core::zeros({4, 3, 3, 3}, {.dtype = kFloat64})); },
                                      {"conv2d", "float32", "float64"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { F::conv1d(core::zeros({2, 3, 8}), core::zeros({4, 2, 3})); },
                                      {"conv1d", "[2, 3, 8]", "[4, 2, 3]"}));
}

}  // namespace
}  // namespace descent
