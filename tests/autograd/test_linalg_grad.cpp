// Gradients of the matrix products: gradcheck and gradgradcheck of every form of matmul (vectors,
// matrices, broadcast batches), mm, bmm, addmm, outer and dot in every layout, and exact values of
// dA = dC @ B^T and dB = A^T @ dC on small products.
#include "grad_cases.h"

namespace descent {
namespace {

using testing::GradCase;
using testing::input;
using testing::Layout;

class LinalgGrad : public ::testing::TestWithParam<Layout> {};

TEST_P(LinalgGrad, EveryProductMatchesCentralDifferences) {
  Layout layout = GetParam();
  Tensor m34 = input({3, 4}, layout, 1), m42 = input({4, 2}, layout, 2);
  Tensor v4 = input({4}, layout, 3), v3 = input({3}, layout, 4);
  Tensor batch_a = input({2, 1, 3, 4}, layout, 5), batch_b = input({3, 4, 2}, layout, 6);
  Tensor b234 = input({2, 3, 4}, layout, 7), b242 = input({2, 4, 2}, layout, 8);
  Tensor row = input({1, 2}, layout, 9), col = input({3, 1}, layout, 10);
  std::vector<GradCase> cases = {
      {"matmul 2-d @ 2-d", [](auto& v) { return matmul(v[0], v[1]); }, {m34, m42}, true},
      {"matmul 1-d @ 1-d", [](auto& v) { return matmul(v[0], v[1]); }, {v4, input({4}, layout, 11)}, true},
      {"matmul 1-d @ 2-d", [](auto& v) { return matmul(v[0], v[1]); }, {v3, m34}, true},
      {"matmul 2-d @ 1-d", [](auto& v) { return matmul(v[0], v[1]); }, {m34, v4}, true},
      {"matmul broadcast batches", [](auto& v) { return matmul(v[0], v[1]); }, {batch_a, batch_b}, true},
      {"matmul batch @ 2-d", [](auto& v) { return matmul(v[0], v[1]); }, {b234, m42}, true},
      {"matmul 2-d @ batch", [](auto& v) { return matmul(v[0], v[1]); }, {m34, b242}, true},
      {"matmul 1-d @ batch", [](auto& v) { return matmul(v[0], v[1]); }, {v4, b242}, true},
      {"matmul batch @ 1-d", [](auto& v) { return matmul(v[0], v[1]); }, {b234, v4}, true},
      {"matmul of an expanded operand", [](auto& v) { return matmul(v[0], expand(v[1], {4, 2})); }, {m34, row},
       true},
      {"matmul of a transpose", [](auto& v) { return matmul(v[0].t(), v[0]); }, {m34}, true},
      {"mm", [](auto& v) { return mm(v[0], v[1]); }, {m34, m42}, true},
      {"bmm", [](auto& v) { return bmm(v[0], v[1]); }, {b234, b242}, true},
      {"addmm broadcast row", [](auto& v) { return addmm(v[0], v[1], v[2], 0.5, 2.0); }, {row, m34, m42}, true},
      {"addmm broadcast column", [](auto& v) { return addmm(v[0], v[1], v[2]); }, {col, m34, m42}, true},
      {"addmm beta 0", [](auto& v) { return addmm(v[0], v[1], v[2], 0.0, -1.5); }, {col, m34, m42}},
      {"outer", [](auto& v) { return outer(v[0], v[1]); }, {v3, v4}, true},
      {"dot", [](auto& v) { return dot(v[0], v[1]); }, {v4, input({4}, layout, 12)}, true},
  };
  for (const GradCase& c : cases) {
    SCOPED_TRACE(std::string(c.name) + " / " + testing::layout_name(layout));
    testing::check_case(c);
  }
}

INSTANTIATE_TEST_SUITE_P(Layouts, LinalgGrad,
                         ::testing::Values(Layout::Contiguous, Layout::Transposed, Layout::Strided),
                         [](const auto& info) { return std::string(testing::layout_name(info.param)); });

Tensor f64(std::initializer_list<double> values, const Dims& shape) {
  return core::reshape(core::tensor(values, {.dtype = kFloat64}), shape);
}
Tensor leaf(std::initializer_list<double> values, const Dims& shape) {
  return f64(values, shape).requires_grad_(true);
}

// sum(A @ B) with A [2, 3], B [3, 2]: dA[i, k] = sum_j B[k, j] (row sums of B), dB[k, j] = sum_i A[i, k].
TEST(LinalgGradValues, MatrixProductGradientsAreRowAndColumnSums) {
  Tensor a = leaf({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = leaf({1, -1, 2, 0.5, -3, 4}, {3, 2});
  sum(matmul(a, b)).backward();
  EXPECT_TRUE(testing::tensors_close(a.grad(), f64({0, 2.5, 1, 0, 2.5, 1}, {2, 3})));
  EXPECT_TRUE(testing::tensors_close(b.grad(), f64({5, 5, 7, 7, 9, 9}, {3, 2})));
}

// x [2, 2, 3] @ w [3, 1]: dw sums over both batch entries, dx[b, t, k] = g[b, t] * w[k].
TEST(LinalgGradValues, ABatchTimesASharedMatrixSumsTheSharedGradient) {
  Tensor x = leaf({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, {2, 2, 3});
  Tensor w = leaf({1, 0, -1}, {3, 1});
  Tensor g = f64({1, 2, 3, 4}, {2, 2, 1});
  matmul(x, w).backward(g);
  // dw[k] = sum over (b, t) of g[b, t] x[b, t, k]
  EXPECT_TRUE(testing::tensors_close(w.grad(), f64({1 + 8 + 21 + 40, 2 + 10 + 24 + 44, 3 + 12 + 27 + 48}, {3, 1})));
  EXPECT_TRUE(testing::tensors_close(x.grad(), f64({1, 0, -1, 2, 0, -2, 3, 0, -3, 4, 0, -4}, {2, 2, 3})));
}

// A float32 product keeps float32 gradients; vector forms give vector gradients.
TEST(LinalgGradValues, VectorFormsAndDtypes) {
  Tensor a = core::tensor({1.0f, 2.0f, 3.0f}, {.requires_grad = true});
  Tensor b = core::tensor({4.0f, 5.0f, 6.0f}, {.requires_grad = true});
  dot(a, b).backward();
  EXPECT_EQ(a.grad().dtype(), kFloat32);
  EXPECT_TRUE(testing::tensors_close(a.grad(), core::tensor({4.0f, 5.0f, 6.0f})));
  EXPECT_TRUE(testing::tensors_close(b.grad(), core::tensor({1.0f, 2.0f, 3.0f})));
  Tensor u = leaf({1, 2}, {2}), v = leaf({3, 4, 5}, {3});
  outer(u, v).backward(f64({1, 0, 1, 0, 1, 0}, {2, 3}));
  EXPECT_TRUE(testing::tensors_close(u.grad(), f64({8, 4}, {2})));    // g @ v
  EXPECT_TRUE(testing::tensors_close(v.grad(), f64({1, 2, 1}, {3})));  // u @ g
}

TEST(LinalgGradValues, AddmmScalesEachGradient) {
  Tensor input = leaf({1, 1}, {2});
  Tensor a = leaf({1, 2, 3, 4}, {2, 2}), b = leaf({1, 0, 0, 1}, {2, 2});
  sum(addmm(input, a, b, 3.0, 0.5)).backward();
  EXPECT_TRUE(testing::tensors_close(input.grad(), f64({6, 6}, {2})));      // beta, summed over 2 rows
  EXPECT_TRUE(testing::tensors_close(a.grad(), f64({0.5, 0.5, 0.5, 0.5}, {2, 2})));
  EXPECT_TRUE(testing::tensors_close(b.grad(), f64({2, 2, 3, 3}, {2, 2})));  // alpha * column sums of a
}

TEST(LinalgGradValues, AnEmptyInnerDimensionGivesEmptyGradients) {
  Tensor a = core::zeros({2, 3, 0}, {.dtype = kFloat64, .requires_grad = true});
  Tensor b = core::zeros({0, 2}, {.dtype = kFloat64, .requires_grad = true});
  sum(matmul(a, b)).backward();
  EXPECT_EQ(a.grad().sizes(), a.sizes());
  EXPECT_EQ(b.grad().sizes(), b.sizes());
}

TEST(LinalgGradValues, NodesAreNamedAfterTheirOp) {
  Tensor m = core::ones({2, 2}, {.requires_grad = true});
  Tensor v = core::ones({2}, {.requires_grad = true});
  Tensor b = core::ones({1, 2, 2}, {.requires_grad = true});
  EXPECT_EQ(matmul(m, m).grad_fn()->name(), "MatmulBackward");
  EXPECT_EQ(mm(m, m).grad_fn()->name(), "MmBackward");
  EXPECT_EQ(bmm(b, b).grad_fn()->name(), "BmmBackward");
  EXPECT_EQ(addmm(v, m, m).grad_fn()->name(), "AddmmBackward");
  EXPECT_EQ(outer(v, v).grad_fn()->name(), "OuterBackward");
  EXPECT_EQ(dot(v, v).grad_fn()->name(), "DotBackward");
  EXPECT_EQ(m.matmul(m).grad_fn()->name(), "MatmulBackward");
  Tensor constant = core::ones({2, 2});
  EXPECT_FALSE(matmul(constant, constant).requires_grad());
}

}  // namespace
}  // namespace descent
