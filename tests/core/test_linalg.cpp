// Matrix products: PyTorch's results (golden/linalg.json, from gen_linalg.py) for NumPy's 1-d and
// batch rules, addmm, outer and dot; every operand geometry (transposed, sliced, strided,
// broadcast) against a float64 reference product computed here; gemm_into; errors by name.
#include <string>
#include <tuple>

#include <descent/core/iterate.h>
#include "testing.h"

namespace descent {

// Test parameters print as their dtype's name.
void PrintTo(DType dtype, std::ostream* os) { *os << dtype_name(dtype); }

namespace {

using testing::Golden;
using testing::tensors_close;
using testing::throws_with;
using testing::ThreadCount;

const Golden& golden() {
  static const Golden file("core/golden/linalg.json");
  return file;
}

double tolerance(DType dtype) { return dtype == kFloat32 ? 1e-4 : 1e-10; }

// The reference product of a [..., M, K] and b [..., K, N] with equal batch dims, summed in double
// by definition: out[i, m, n] = sum_k a[i, m, k] * b[i, k, n]. Read through to_vector, which
// follows any strides by itself.
Tensor reference_product(const Tensor& a, const Tensor& b, DType dtype) {
  const int64_t m = a.size(-2), k = a.size(-1), n = b.size(-1);
  const int64_t batch = m * k == 0 ? a.sizes().product() : a.numel() / (m * k);
  std::vector<double> av = a.to_vector<double>(), bv = b.to_vector<double>();
  std::vector<double> out(static_cast<size_t>(batch * m * n), 0.0);
  for (int64_t i = 0; i < batch; ++i)
    for (int64_t r = 0; r < m; ++r)
      for (int64_t c = 0; c < n; ++c) {
        double sum = 0.0;
        for (int64_t j = 0; j < k; ++j) sum += av[(i * m + r) * k + j] * bv[(i * k + j) * n + c];
        out[(i * m + r) * n + c] = sum;
      }
  Dims shape = a.sizes();
  shape.back() = n;
  return core::tensor(out, shape, {.dtype = dtype});
}

// ---- golden: PyTorch's results ----

class MatmulGolden : public ::testing::TestWithParam<std::tuple<std::string, DType>> {};

TEST_P(MatmulGolden, MatchesPyTorch) {
  auto [name, dtype] = GetParam();
  const std::string key = "matmul." + name;
  Tensor a = core::to(golden().tensor(key + ".a"), dtype);
  Tensor b = core::to(golden().tensor(key + ".b"), dtype);
  Tensor expected = golden().tensor(key + (dtype == kFloat32 ? ".out32" : ".out64"));
  Tensor out = core::matmul(a, b);
  EXPECT_EQ(out.dtype(), dtype);
  EXPECT_TRUE(out.is_contiguous());
  EXPECT_TRUE(tensors_close(out, expected, 1e-6, 1e-6)) << name;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, MatmulGolden,
    ::testing::Combine(::testing::Values("vector_vector", "vector_matrix", "matrix_vector", "matrix_matrix",
                                         "odd_sizes", "batch_matrix", "matrix_batch", "vector_batch",
                                         "batch_vector", "batch_batch", "broadcast_batch", "size_one_dims",
                                         "empty_rows", "empty_cols", "empty_inner", "empty_inner_vectors",
                                         "empty_batch", "nonfinite"),
                       ::testing::Values(kFloat32, kFloat64)),
    [](const auto& info) {
      return std::get<0>(info.param) + "_" + std::string(dtype_name(std::get<1>(info.param)));
    });

class AddmmGolden : public ::testing::TestWithParam<std::tuple<std::string, DType>> {};

TEST_P(AddmmGolden, MatchesPyTorch) {
  auto [name, dtype] = GetParam();
  const std::string key = "addmm." + name;
  Tensor a = core::to(golden().tensor("addmm.a"), dtype);
  Tensor b = core::to(golden().tensor("addmm.b"), dtype);
  Tensor input = core::to(golden().tensor(key + ".input"), dtype);
  double beta = golden().tensor(key + ".beta").item<double>();
  double alpha = golden().tensor(key + ".alpha").item<double>();
  Tensor expected = golden().tensor(key + (dtype == kFloat32 ? ".out32" : ".out64"));
  EXPECT_TRUE(tensors_close(core::addmm(input, a, b, beta, alpha), expected, 1e-6, 1e-6)) << name;
  // A transposed operand gives the same result.
  Tensor bt = core::transpose(core::contiguous(core::transpose(b, 0, 1)), 0, 1);
  EXPECT_TRUE(tensors_close(core::addmm(input, a, bt, beta, alpha), expected, 1e-6, 1e-6)) << name;
}

INSTANTIATE_TEST_SUITE_P(Cases, AddmmGolden,
                         ::testing::Combine(::testing::Values("full", "row", "column", "scalar", "nan_beta_one",
                                                              "nan_beta_zero", "alpha_zero"),
                                            ::testing::Values(kFloat32, kFloat64)),
                         [](const auto& info) {
                           return std::get<0>(info.param) + "_" +
                                  std::string(dtype_name(std::get<1>(info.param)));
                         });

// The values of v at stride 2 in a bigger buffer (a non-contiguous 1-d view).
Tensor strided_copy(const Tensor& v) {
  Tensor buffer = core::full({2 * v.size(0)}, 99.0, {.dtype = v.dtype()});
  Tensor view = core::slice(buffer, 0, 0, INT64_MAX, 2);
  core::copy_(view, v);
  return view;
}

class VectorProducts : public ::testing::TestWithParam<DType> {};

TEST_P(VectorProducts, OuterAndDotMatchPyTorchForContiguousAndStridedVectors) {
  DType dtype = GetParam();
  const char* suffix = dtype == kFloat32 ? ".out32" : ".out64";
  Tensor u = core::to(golden().tensor("outer.a"), dtype), v = core::to(golden().tensor("outer.b"), dtype);
  Tensor outer = golden().tensor(std::string("outer") + suffix);
  EXPECT_TRUE(tensors_close(core::outer(u, v), outer, 0, 0));
  EXPECT_TRUE(tensors_close(core::outer(strided_copy(u), strided_copy(v)), outer, 0, 0));
  Tensor x = core::to(golden().tensor("dot.a"), dtype), y = core::to(golden().tensor("dot.b"), dtype);
  Tensor dot = golden().tensor(std::string("dot") + suffix);
  Tensor result = core::dot(x, y);
  EXPECT_EQ(result.dim(), 0);
  EXPECT_TRUE(tensors_close(result, dot, 1e-6, 1e-6));
  EXPECT_TRUE(tensors_close(core::dot(strided_copy(x), strided_copy(y)), dot, 1e-6, 1e-6));
  // A broadcast vector (stride 0): 2.5 * sum(y).
  Tensor constant = core::expand(core::full({1}, 2.5, {.dtype = dtype}), {9});
  double sum = 0.0;
  for (double value : y.to_vector<double>()) sum += value;
  EXPECT_NEAR(core::dot(constant, y).item<double>(), 2.5 * sum, 1e-5);
  // Empty vectors: a zero sum, and an empty outer product.
  Tensor none = core::empty({0}, {.dtype = dtype});
  EXPECT_EQ(core::dot(none, none).item<double>(), 0.0);
  EXPECT_EQ(core::outer(none, v).sizes(), (Dims{0, 4}));
}

INSTANTIATE_TEST_SUITE_P(Dtypes, VectorProducts, ::testing::Values(kFloat32, kFloat64),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

// ---- every operand geometry against the reference ----

enum class Layout {
  Contiguous,
  Transposed,       // column-major: BLAS reads it with a transpose flag
  ColumnSlice,      // narrow of a wider matrix: row-major with ld > cols
  TransposedSlice,  // column-major with ld > rows
  RowStep,          // every other row: row-major with ld = 2 * cols
  ColumnStep,       // every other column: neither row- nor column-major (copied)
  BroadcastRows,    // expand of one row: row stride 0 (copied)
};

const char* layout_name(Layout layout);
void PrintTo(Layout layout, std::ostream* os) { *os << layout_name(layout); }

const char* layout_name(Layout layout) {
  switch (layout) {
    case Layout::Contiguous: return "Contiguous";
    case Layout::Transposed: return "Transposed";
    case Layout::ColumnSlice: return "ColumnSlice";
    case Layout::TransposedSlice: return "TransposedSlice";
    case Layout::RowStep: return "RowStep";
    case Layout::ColumnStep: return "ColumnStep";
    case Layout::BroadcastRows: return "BroadcastRows";
  }
  return "?";
}

// A [rows, cols] matrix of normal values laid out as `layout` says.
Tensor make_matrix(Layout layout, int64_t rows, int64_t cols, DType dtype) {
  TensorOptions options{.dtype = dtype};
  switch (layout) {
    case Layout::Contiguous: return core::randn({rows, cols}, options);
    case Layout::Transposed: return core::transpose(core::randn({cols, rows}, options), 0, 1);
    case Layout::ColumnSlice: return core::narrow(core::randn({rows, cols + 5}, options), 1, 2, cols);
    case Layout::TransposedSlice:
      return core::transpose(core::narrow(core::randn({cols, rows + 3}, options), 1, 1, rows), 0, 1);
    case Layout::RowStep: return core::slice(core::randn({2 * rows, cols}, options), 0, 0, INT64_MAX, 2);
    case Layout::ColumnStep: return core::slice(core::randn({rows, 2 * cols}, options), 1, 1, INT64_MAX, 2);
    case Layout::BroadcastRows: return core::expand(core::randn({1, cols}, options), {rows, cols});
  }
  return {};
}

// beta * c + alpha * product elementwise, c broadcast to product's shape, in double.
Tensor scaled_sum(double beta, const Tensor& c, double alpha, const Tensor& product) {
  std::vector<double> cv = core::expand(c, product.sizes()).to_vector<double>(), pv = product.to_vector<double>();
  for (size_t i = 0; i < pv.size(); ++i) pv[i] = beta * cv[i] + alpha * pv[i];
  return core::tensor(pv, product.sizes(), {.dtype = product.dtype()});
}

constexpr Layout kLayouts[] = {Layout::Contiguous, Layout::Transposed, Layout::ColumnSlice, Layout::TransposedSlice,
                               Layout::RowStep,    Layout::ColumnStep, Layout::BroadcastRows};

class MatmulLayouts : public ::testing::TestWithParam<std::tuple<Layout, Layout, DType>> {};

TEST_P(MatmulLayouts, MatchReferenceAtManySizes) {
  auto [layout_a, layout_b, dtype] = GetParam();
  manual_seed(1);
  // (M, K, N): tiny, size-1 dims, odd sizes past the kernels' block edges, a square block.
  const int64_t sizes[][3] = {{2, 3, 4}, {1, 9, 1}, {7, 1, 5}, {33, 17, 65}, {64, 64, 64}};
  for (const auto& [m, k, n] : sizes) {
    Tensor a = make_matrix(layout_a, m, k, dtype), b = make_matrix(layout_b, k, n, dtype);
    Tensor expected = reference_product(a, b, dtype);
    EXPECT_TRUE(tensors_close(core::matmul(a, b), expected, tolerance(dtype), tolerance(dtype)))
        << "[" << m << ", " << k << "] @ [" << k << ", " << n << "]";
    EXPECT_TRUE(tensors_close(core::mm(a, b), expected, tolerance(dtype), tolerance(dtype)));
    Tensor input = core::randn({n}, {.dtype = dtype});
    EXPECT_TRUE(tensors_close(core::addmm(input, a, b, 0.5, -2.0), scaled_sum(0.5, input, -2.0, expected),
                              tolerance(dtype), tolerance(dtype)));
  }
}

INSTANTIATE_TEST_SUITE_P(Pairs, MatmulLayouts,
                         ::testing::Combine(::testing::ValuesIn(kLayouts), ::testing::ValuesIn(kLayouts),
                                            ::testing::Values(kFloat32, kFloat64)),
                         [](const auto& info) {
                           return std::string(layout_name(std::get<0>(info.param))) + "_" +
                                  layout_name(std::get<1>(info.param)) + "_" +
                                  std::string(dtype_name(std::get<2>(info.param)));
                         });

// ---- batches ----

// The reference of matmul for operands with batch dims: both expanded to the broadcast batch.
Tensor reference_matmul(const Tensor& a, const Tensor& b) {
  Dims batch = a.sizes(), batch_b = b.sizes();
  batch.resize(a.dim() - 2);
  batch_b.resize(b.dim() - 2);
  batch = broadcast_shapes(batch, batch_b, "reference");
  Dims shape_a = batch, shape_b = batch;
  shape_a.push_back(a.size(-2));
  shape_a.push_back(a.size(-1));
  shape_b.push_back(b.size(-2));
  shape_b.push_back(b.size(-1));
  return reference_product(core::expand(a, shape_a), core::expand(b, shape_b), a.dtype());
}

class BatchedMatmul : public ::testing::TestWithParam<DType> {};

TEST_P(BatchedMatmul, StridedBatchesMatchReference) {
  DType dtype = GetParam();
  TensorOptions options{.dtype = dtype};
  double tol = tolerance(dtype);
  manual_seed(2);
  // Transposed matrices in every batch entry.
  Tensor at = core::transpose(core::randn({4, 6, 5}, options), 1, 2);  // [4, 5, 6], column-major
  Tensor b = core::randn({4, 6, 3}, options);
  EXPECT_TRUE(tensors_close(core::bmm(at, b), reference_matmul(at, b), tol, tol));
  Tensor bt = core::transpose(b, 1, 2), att = core::transpose(at, 1, 2);
  EXPECT_TRUE(tensors_close(core::matmul(bt, att), reference_matmul(bt, att), tol, tol));
  // Permuted batch dims: [M, B, K] stored, read as [B, M, K] (rows K * B apart).
  Tensor permuted = core::permute(core::randn({5, 4, 6}, options), {1, 0, 2});
  EXPECT_TRUE(tensors_close(core::matmul(permuted, b), reference_matmul(permuted, b), tol, tol));
  // A batch broadcast with stride 0 on either side, and a shared right operand (a linear layer's
  // [B, T, K] @ [K, N]) that is contiguous, transposed, or behind batch rows that do not fold.
  Tensor shared = core::expand(core::randn({1, 5, 6}, options), {4, 5, 6});
  EXPECT_TRUE(tensors_close(core::matmul(shared, b), reference_matmul(shared, b), tol, tol));
  Tensor x = core::randn({2, 3, 5, 6}, options);
  for (const Tensor& w : {core::randn({6, 7}, options), core::transpose(core::randn({7, 6}, options), 0, 1)}) {
    EXPECT_TRUE(tensors_close(core::matmul(x, w), reference_matmul(x, w), tol, tol));
    Tensor unfoldable = core::transpose(x, 0, 1);  // [3, 2, 5, 6]
    EXPECT_TRUE(tensors_close(core::matmul(unfoldable, w), reference_matmul(unfoldable, w), tol, tol));
    Tensor column_major = core::transpose(core::randn({2, 3, 6, 5}, options), 2, 3);
    EXPECT_TRUE(tensors_close(core::matmul(column_major, w), reference_matmul(column_major, w), tol, tol));
  }
  // Size-1 batch dims broadcast against each other.
  Tensor left = core::randn({3, 1, 2, 4}, options), right = core::randn({1, 5, 4, 3}, options);
  Tensor out = core::matmul(left, right);
  EXPECT_EQ(out.sizes(), (Dims{3, 5, 2, 3}));
  EXPECT_TRUE(tensors_close(out, reference_matmul(left, right), tol, tol));
}

INSTANTIATE_TEST_SUITE_P(Dtypes, BatchedMatmul, ::testing::Values(kFloat32, kFloat64),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

class BatchThreads : public ::testing::TestWithParam<int> {};

TEST_P(BatchThreads, ManySmallAndFewLargeMatricesMatchReference) {
  ThreadCount threads(GetParam());
  manual_seed(3);
  // Small entries run one per thread (OpenBLAS single-threaded inside each call).
  Tensor a = core::randn({300, 4, 5}), b = core::transpose(core::randn({300, 6, 5}), 1, 2);
  EXPECT_TRUE(tensors_close(core::bmm(a, b), reference_matmul(a, b), 1e-4, 1e-4));
  // Entries above OpenBLAS's threading threshold (70 * 80 * 60 > 4 * 65536) run one by one.
  Tensor c = core::randn({3, 70, 80}, {.dtype = kFloat64}), d = core::randn({3, 80, 60}, {.dtype = kFloat64});
  EXPECT_TRUE(tensors_close(core::bmm(c, d), reference_matmul(c, d), 1e-10, 1e-10));
}

INSTANTIATE_TEST_SUITE_P(Threads, BatchThreads, ::testing::Values(1, 2));

// Products above OpenBLAS's threading threshold run as one single-threaded GEMM per thread on a
// block of C's rows, or of its columns when C has few rows (core/linalg.cpp, threaded_gemm): every
// transpose flag, a column-major and a sliced out, and thread counts that split the blocks
// unevenly.
class ThreadedProducts : public ::testing::TestWithParam<std::tuple<int, DType>> {};

TEST_P(ThreadedProducts, RowAndColumnBlocksMatchReference) {
  auto [thread_count, dtype] = GetParam();
  ThreadCount threads(thread_count);
  TensorOptions options{.dtype = dtype};
  const double tol = tolerance(dtype);
  manual_seed(5);
  // (M, K, N): 150 rows in 16-row blocks (the last one short); 20 rows, so 300 columns in 64-column blocks.
  const int64_t sizes[][3] = {{150, 40, 70}, {20, 100, 300}};
  for (const auto& [m, k, n] : sizes) {
    for (Layout layout_a : {Layout::Contiguous, Layout::Transposed}) {
      for (Layout layout_b : {Layout::Contiguous, Layout::TransposedSlice}) {
        Tensor a = make_matrix(layout_a, m, k, dtype), b = make_matrix(layout_b, k, n, dtype);
        Tensor product = reference_product(a, b, dtype);
        EXPECT_TRUE(tensors_close(core::mm(a, b), product, tol, tol))
            << "[" << m << ", " << k << "] @ [" << k << ", " << n << "], " << layout_name(layout_a) << " @ "
            << layout_name(layout_b);
        Tensor column_major = core::transpose(core::randn({n, m}, options), 0, 1);
        Tensor expected = scaled_sum(0.5, core::clone(column_major), 2.0, product);
        core::gemm_into(column_major, a, b, 2.0, 0.5);
        EXPECT_TRUE(tensors_close(column_major, expected, tol, tol));
        Tensor wide = core::full({m, n + 4}, 7.0, options);
        core::gemm_into(core::narrow(wide, 1, 2, n), a, b, 1.0, 0.0);
        EXPECT_TRUE(tensors_close(core::narrow(wide, 1, 2, n), product, tol, tol));
        EXPECT_EQ(core::narrow(wide, 1, 0, 2).to_vector<double>(), std::vector<double>(2 * m, 7.0));
        EXPECT_EQ(core::narrow(wide, 1, n + 2, 2).to_vector<double>(), std::vector<double>(2 * m, 7.0));
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Threads, ThreadedProducts,
                         ::testing::Combine(::testing::Values(1, 2, 3), ::testing::Values(kFloat32, kFloat64)));

TEST(Matmul, EmptyDimsGiveEmptyOrZeroResults) {
  for (DType dtype : {kFloat32, kFloat64}) {
    TensorOptions options{.dtype = dtype};
    Tensor zeros_k = core::matmul(core::empty({3, 0}, options), core::transpose(core::empty({4, 0}, options), 0, 1));
    EXPECT_EQ(zeros_k.sizes(), (Dims{3, 4}));
    EXPECT_EQ(zeros_k.to_vector<double>(), std::vector<double>(12, 0.0));
    EXPECT_EQ(core::bmm(core::empty({2, 3, 0}, options), core::empty({2, 0, 5}, options)).to_vector<double>(),
              std::vector<double>(30, 0.0));
    EXPECT_EQ(core::bmm(core::empty({0, 3, 4}, options), core::empty({0, 4, 5}, options)).sizes(),
              (Dims{0, 3, 5}));
    EXPECT_EQ(core::mm(core::empty({2, 3}, options), core::empty({3, 0}, options)).sizes(), (Dims{2, 0}));
    EXPECT_EQ(core::matmul(core::empty({3}, options), core::empty({3, 0}, options)).sizes(), (Dims{0}));
    // addmm with K = 0 is beta * input.
    Tensor input = core::full({2, 3}, 1.5, options);
    Tensor out = core::addmm(input, core::empty({2, 0}, options), core::empty({0, 3}, options), 2.0, 3.0);
    EXPECT_EQ(out.to_vector<double>(), std::vector<double>(6, 3.0));
  }
}

// ---- gemm_into ----

class GemmInto : public ::testing::TestWithParam<DType> {};

TEST_P(GemmInto, AccumulatesIntoRowAndColumnMajorOutputs) {
  DType dtype = GetParam();
  TensorOptions options{.dtype = dtype};
  double tol = tolerance(dtype);
  manual_seed(4);
  Tensor a = core::randn({5, 7}, options), b = core::transpose(core::randn({6, 7}, options), 0, 1);
  Tensor product = reference_product(a, b, dtype);

  Tensor out = core::randn({5, 6}, options);
  Tensor expected = scaled_sum(0.5, core::clone(out), 2.0, product);
  uint64_t version = out.version();
  core::gemm_into(out, a, b, 2.0, 0.5);
  EXPECT_GT(out.version(), version);
  EXPECT_TRUE(tensors_close(out, expected, tol, tol));

  // Column-major out (a transposed buffer) and a column slice of a wider buffer (ld > N), whose
  // neighbouring columns stay untouched.
  Tensor column_major = core::transpose(core::randn({6, 5}, options), 0, 1);
  expected = scaled_sum(1.0, core::clone(column_major), -1.0, product);
  core::gemm_into(column_major, a, b, -1.0, 1.0);
  EXPECT_TRUE(tensors_close(column_major, expected, tol, tol));
  Tensor wide = core::full({5, 10}, 7.0, options);
  core::gemm_into(core::narrow(wide, 1, 2, 6), a, b, 1.0, 0.0);
  EXPECT_TRUE(tensors_close(core::narrow(wide, 1, 2, 6), product, tol, tol));
  EXPECT_EQ(core::narrow(wide, 1, 0, 2).to_vector<double>(), std::vector<double>(10, 7.0));
  EXPECT_EQ(core::narrow(wide, 1, 8, 2).to_vector<double>(), std::vector<double>(10, 7.0));

  // Batched, with a broadcast left operand.
  Tensor batched_b = core::randn({3, 7, 6}, options);
  Tensor batched_out = core::empty({3, 5, 6}, options);
  core::gemm_into(batched_out, a, batched_b, 1.0, 0.0);
  EXPECT_TRUE(tensors_close(batched_out, reference_matmul(a, batched_b), tol, tol));
}

TEST_P(GemmInto, BetaZeroIgnoresNaNAndKZeroScales) {
  DType dtype = GetParam();
  TensorOptions options{.dtype = dtype};
  Tensor nan_out = core::full({2, 3}, NAN, options);
  core::gemm_into(nan_out, core::ones({2, 4}, options), core::ones({4, 3}, options), 1.0, 0.0);
  EXPECT_EQ(nan_out.to_vector<double>(), std::vector<double>(6, 4.0));
  core::fill_(nan_out, NAN);
  core::gemm_into(nan_out, core::empty({2, 0}, options), core::empty({0, 3}, options), 1.0, 0.0);
  EXPECT_EQ(nan_out.to_vector<double>(), std::vector<double>(6, 0.0));
  Tensor out = core::full({2, 3}, 1.5, options);
  core::gemm_into(out, core::empty({2, 0}, options), core::empty({0, 3}, options), 1.0, -2.0);
  EXPECT_EQ(out.to_vector<double>(), std::vector<double>(6, -3.0));
}

INSTANTIATE_TEST_SUITE_P(Dtypes, GemmInto, ::testing::Values(kFloat32, kFloat64),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

TEST(GemmInto, RejectsAWrongOut) {
  Tensor a = core::ones({2, 3}), b = core::ones({3, 4});
  EXPECT_TRUE(throws_with<ShapeError>([&] { core::gemm_into(core::empty({2, 5}), a, b, 1, 0); },
                                      {"gemm_into", "[2, 3] @ [3, 4]", "[2, 4]", "[2, 5]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { core::gemm_into(core::empty({3, 2, 4}), a, b, 1, 0); },
                                      {"gemm_into", "[3, 2, 4]"}));
  Tensor strided = core::slice(core::empty({2, 8}), 1, 0, INT64_MAX, 2);
  EXPECT_TRUE(throws_with<ValueError>([&] { core::gemm_into(strided, a, b, 1, 0); },
                                      {"gemm_into", "[2, 4]", "neither row- nor column-major"}));
  Tensor repeated = core::expand(core::empty({1, 2, 4}), {3, 2, 4});
  EXPECT_TRUE(throws_with<ValueError>([&] { core::gemm_into(repeated, core::ones({3, 2, 3}), b, 1, 0); },
                                      {"gemm_into", "[3, 2, 4]", "several batch entries"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::gemm_into(core::empty({2, 4}, {.dtype = kFloat64}), a, b, 1, 0); },
                                      {"gemm_into", "float64", "float32"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { core::gemm_into(core::empty({4}), core::ones({3}), b, 1, 0); },
                                      {"gemm_into", "at least 2 dims"}));
}

// ---- errors ----

TEST(LinalgErrors, DtypesOtherThanOneFloatingTypeAreRejected) {
  Tensor f32 = core::ones({2, 2}), f64 = core::ones({2, 2}, {.dtype = kFloat64});
  Tensor i64 = core::ones({2, 2}, {.dtype = kInt64}), flags = core::ones({2, 2}, {.dtype = kBool});
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::matmul(f32, f64); }, {"matmul", "same dtype", "float32", "float64"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::mm(f64, f32); }, {"mm", "same dtype", "float64", "float32"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::matmul(i64, i64); }, {"matmul", "int64"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::matmul(f32, flags); }, {"matmul", "bool"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::dot(core::ones({2}, {.dtype = kInt64}), core::ones({2})); },
                                      {"dot", "int64"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::addmm(f64, f32, f32); }, {"addmm", "float64", "float32"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::bmm(core::ones({1, 2, 2}, {.dtype = kBool}), core::ones({1, 2, 2})); },
                                      {"bmm", "bool"}));
}

TEST(LinalgErrors, ShapeErrorsNameTheOpAndBothShapes) {
  auto ones = [](const Dims& shape) { return core::ones(shape); };
  EXPECT_TRUE(throws_with<ShapeError>([&] { core::matmul(ones({2, 3}), ones({4, 5})); },
                                      {"matmul: [2, 3] @ [4, 5]: inner dimensions 3 and 4 differ"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { core::matmul(ones({3}), ones({4})); },
                                      {"matmul: [3] @ [4]: inner dimensions 3 and 4 differ"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { core::matmul(ones({2, 3}), ones({2})); }, {"matmul", "[2, 3] @ [2]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { core::matmul(core::scalar_tensor(1.0), ones({3})); },
                                      {"matmul", "at least 1D", "[]", "[3]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { core::matmul(ones({2, 2, 3}), ones({5, 3, 4})); },
                                      {"matmul", "[2, 2, 3] @ [5, 3, 4]", "batch dimensions [2] and [5]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { core::mm(ones({3}), ones({3, 2})); }, {"mm", "[3] @ [3, 2]", "2-d"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { core::mm(ones({2, 3}), ones({2, 3})); },
                                      {"mm: [2, 3] @ [2, 3]: inner dimensions 3 and 2 differ"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { core::bmm(ones({2, 3, 4}), ones({3, 4, 5})); },
                                      {"bmm", "[2, 3, 4] @ [3, 4, 5]", "batch sizes 2 and 3"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { core::bmm(ones({3, 4}), ones({4, 5})); }, {"bmm", "3-d"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { core::addmm(ones({3}), ones({2, 3}), ones({3, 4})); },
                                      {"addmm", "input of shape [3]", "[2, 4]", "[2, 3] @ [3, 4]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { core::addmm(ones({2, 2, 4}), ones({2, 3}), ones({3, 4})); },
                                      {"addmm", "[2, 2, 4]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { core::outer(ones({2, 3}), ones({4})); }, {"outer", "[2, 3]", "1-d"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { core::dot(ones({3}), ones({4})); }, {"dot", "[3]", "[4]", "3 and 4"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { core::dot(ones({3, 1}), ones({3})); }, {"dot", "[3, 1]", "1-d"}));
}

}  // namespace
}  // namespace descent
