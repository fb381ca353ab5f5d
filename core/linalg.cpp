// Matrix products on OpenBLAS: every op here becomes one or more calls of the BLAS level-3 GEMM
//   C[M, N] = alpha * op(A)[M, K] @ op(B)[K, N] + beta * C      (cblas_sgemm / cblas_dgemm)
// where op() is a transpose flag read off the operand's strides. Read core/linalg.h first.
#include <descent/core/linalg.h>

#include <climits>
#include <optional>

#include <cblas.h>
#include <omp.h>

#include <descent/core/iterate.h>
#include <descent/core/parallel.h>
#include <descent/core/views.h>

namespace descent::core {

const double kBlasSingleThreadWork = 65536.0 * OPENBLAS_GEMM_MULTITHREAD_THRESHOLD;

namespace {

// NOTE: OpenBLAS is kept on one thread (core/parallel.cpp), so that its OpenMP threads never spin
// beside ours. Products above kBlasSingleThreadWork multiply-adds, where OpenBLAS's own threading
// would start, are threaded by us: each thread runs one single-threaded GEMM on its own block of
// C's rows (or columns, when C has few rows). OpenBLAS's threading shares packed panels between
// its threads and waits for them with sched_yield; on a small model's products (M of 128 rows, or
// N of 10 classes) the waiting costs more than the arithmetic, and the blocks run 1.1-2.5x faster
// (bench/bench_matmul.cpp, BM_MatmulOurs against BM_MatmulRaw). On the largest products each
// block packs the shared operand again, a small cost against their arithmetic. Batch entries too
// small to thread are spread over our threads.
// A thread's block of C is at least this many rows, or else this many columns (a multiple of
// 16 floats, a cache line), so that each block still fills OpenBLAS's register tiles.
constexpr int64_t kRowsPerBlock = 16;
constexpr int64_t kColumnsPerBlock = 64;

// How BLAS reads the matrix in a tensor's last two dims [R, C]: row-major (NoTrans) with `ld`
// elements between rows, or column-major (Trans: the memory holds the [C, R] transpose
// row-major, `ld` elements between its rows). `ready` is false for any other geometry.
struct MatrixLayout {
  bool ready = false;
  CBLAS_TRANSPOSE transpose = CblasNoTrans;
  int ld = 0;
};

MatrixLayout matrix_layout(const Tensor& t) {
  int64_t rows = t.sizes()[t.dim() - 2], cols = t.sizes()[t.dim() - 1];
  int64_t row_stride = t.strides()[t.dim() - 2], col_stride = t.strides()[t.dim() - 1];
  // The stride of a size-1 dim is never used, so such a dim fits either layout.
  auto make = [](CBLAS_TRANSPOSE transpose, int64_t ld) {
    return ld <= INT_MAX ? MatrixLayout{true, transpose, static_cast<int>(ld)} : MatrixLayout{};
  };
  if ((cols <= 1 || col_stride == 1) && (rows <= 1 || row_stride >= std::max<int64_t>(cols, 1))) {
    MatrixLayout layout = make(CblasNoTrans, rows <= 1 ? std::max<int64_t>(cols, 1) : row_stride);
    if (layout.ready) return layout;
  }
  if ((rows <= 1 || row_stride == 1) && (cols <= 1 || col_stride >= std::max<int64_t>(rows, 1))) {
    return make(CblasTrans, cols <= 1 ? std::max<int64_t>(rows, 1) : col_stride);
  }
  return {};
}

// The operand itself when BLAS can read its matrices in place (transposed ones included), else
// a contiguous copy. Call before expanding batch dims, so a broadcast is never materialised.
Tensor blas_ready(const Tensor& t) {
  return t.numel() == 0 || matrix_layout(t).ready ? t : core::contiguous(t);
}

CBLAS_TRANSPOSE flipped(CBLAS_TRANSPOSE t) { return t == CblasNoTrans ? CblasTrans : CblasNoTrans; }

// NOTE: OpenBLAS's OpenMP build threads a GEMM as wide as the calling thread's OpenMP thread count
// (omp_get_max_threads), which on a thread other than the one that called set_num_threads (a pool
// worker, a user's thread) is the process default. Every thread that calls it sets its own to 1
// once, so OpenBLAS never starts its OpenMP threads (core/parallel.cpp, docs/ARCHITECTURE.md), and
// a GEMM gives the same bits on any calling thread (tests/optim/test_determinism.cpp, #22).
void keep_blas_on_this_thread() {
  thread_local const bool kept = [] {
    omp_set_num_threads(1);
    return true;
  }();
  (void)kept;
}

void blas_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k, float alpha, const float* a, int lda,
               const float* b, int ldb, float beta, float* c, int ldc) {
  keep_blas_on_this_thread();
  cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
void blas_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k, double alpha, const double* a, int lda,
               const double* b, int ldb, double beta, double* c, int ldc) {
  keep_blas_on_this_thread();
  cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

// One row-major GEMM call C[m, n] = alpha op(A) op(B) + beta C, threaded as the NOTE above says:
// blocks of C's rows (op(A)'s rows with them) or, failing that, of its columns (op(B)'s).
template <typename T>
void threaded_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k, T alpha, const T* a, int lda,
                   const T* b, int ldb, T beta, T* c, int ldc) {
  const double work = static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  const int64_t threads = get_num_threads();
  const bool by_rows = m >= 2 * kRowsPerBlock, by_columns = !by_rows && n >= 2 * kColumnsPerBlock;
  if (threads <= 1 || work <= kBlasSingleThreadWork || !(by_rows || by_columns)) {
    blas_gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  const int64_t block = by_rows ? kRowsPerBlock : kColumnsPerBlock, extent = by_rows ? m : n;
  const int64_t blocks = (extent + block - 1) / block;
  const int64_t parts = std::min(threads, extent / block);
  parallel_for(0, blocks, blocks / parts, [&](int64_t first, int64_t last) {
    const int begin = static_cast<int>(first * block), end = static_cast<int>(std::min(extent, last * block));
    if (by_rows) {  // rows [begin, end) of op(A) and of C
      const T* a_rows = a + (ta == CblasNoTrans ? static_cast<int64_t>(begin) * lda : begin);
      blas_gemm(ta, tb, end - begin, n, k, alpha, a_rows, lda, b, ldb, beta, c + static_cast<int64_t>(begin) * ldc,
                ldc);
    } else {  // columns [begin, end) of op(B) and of C
      const T* b_columns = b + (tb == CblasNoTrans ? begin : static_cast<int64_t>(begin) * ldb);
      blas_gemm(ta, tb, m, end - begin, k, alpha, a, lda, b_columns, ldb, beta, c + begin, ldc);
    }
  });
}

// The element offset of batch entry `index` (counted row-major over `batch`) in a tensor whose
// leading dims are `batch` with the given strides.
int64_t batch_offset(int64_t index, const Dims& batch, const Dims& strides) {
  int64_t offset = 0;
  for (int d = batch.size() - 1; d >= 0; --d) {
    offset += (index % batch[d]) * strides[d];
    index /= batch[d];
  }
  return offset;
}

// A 2-d view [rows, C] of t [..., R, C] whose leading dims and R together step through memory
// by one stride, so that all its matrices are one tall matrix; nullopt otherwise.
std::optional<Tensor> fold_rows(const Tensor& t) {
  int64_t rows = 1, row_stride = 1, next_stride = 0;
  bool seen = false;
  for (int d = t.dim() - 2; d >= 0; --d) {
    int64_t size = t.sizes()[d], stride = t.strides()[d];
    if (size == 1) continue;
    if (seen && stride != next_stride) return std::nullopt;
    if (!seen) row_stride = stride;
    seen = true;
    next_stride = stride * size;
    rows *= size;
  }
  if (rows > INT_MAX) return std::nullopt;
  return Tensor::make_view(t.storage(), {rows, t.size(-1)}, {row_stride, t.stride(-1)}, t.offset(), t.dtype());
}

// out = beta * out (beta == 0 writes zeros, whatever out held): the whole GEMM when K == 0.
template <typename T>
void scale_in_place(const Tensor& out, T beta) {
  if (beta == T(1)) return;
  ElementwiseLoop loop(out, {out});
  map_elementwise<T, T>(loop, [beta](T x) { return beta == T(0) ? T(0) : beta * x; });
}

// out[..., M, N] = alpha * a[..., M, K] @ b[..., K, N] + beta * out, for operands with the same
// batch dims (a and b may broadcast there with stride 0) whose matrices BLAS can read in place.
// As in BLAS, beta == 0 ignores what out held (NaN included).
template <typename T>
void run_gemm(const char* op, const Tensor& out, const Tensor& a, const Tensor& b, T alpha, T beta) {
  const int64_t m = out.size(-2), n = out.size(-1), k = a.size(-1);
  if (out.numel() == 0) return;
  if (k == 0) {  // NOTE: BLAS would accept K = 0 only with lda >= 1; the result is beta * out anyway.
    scale_in_place(out, beta);
    return;
  }
  check<ValueError>(m <= INT_MAX && n <= INT_MAX && k <= INT_MAX,
                    "{}: a product of [{}, {}] and [{}, {}] matrices exceeds BLAS's 32-bit sizes", op, m, k, k, n);
  const int batch_dims = out.dim() - 2;
  Dims batch = out.sizes(), a_strides = a.strides(), b_strides = b.strides(), out_strides = out.strides();
  batch.resize(batch_dims);

  // b the same for every entry ([B, T, K] @ [K, N], a linear layer): one tall GEMM when the
  // rows of a and of out each step through memory evenly.
  bool b_shared = true;
  for (int d = 0; d < batch_dims; ++d) b_shared = b_shared && (batch[d] == 1 || b_strides[d] == 0);
  if (batch_dims > 0 && b_shared) {
    std::optional<Tensor> a_rows = fold_rows(a), out_rows = fold_rows(out);
    if (a_rows && out_rows && matrix_layout(*a_rows).ready && matrix_layout(*out_rows).ready) {
      Tensor b_matrix = Tensor::make_view(b.storage(), {k, n}, {b.stride(-2), b.stride(-1)}, b.offset(), b.dtype());
      run_gemm(op, *out_rows, *a_rows, b_matrix, alpha, beta);
      return;
    }
  }

  const MatrixLayout la = matrix_layout(a), lb = matrix_layout(b), lc = matrix_layout(out);
  // A column-major out is the row-major [N, M] transpose: out^T = b^T @ a^T.
  const bool swap = lc.transpose == CblasTrans;
  T* const out_base = static_cast<T*>(out.raw_data());
  const T* const a_base = static_cast<const T*>(a.raw_data());
  const T* const b_base = static_cast<const T*>(b.raw_data());
  auto run_entries = [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const T* a_matrix = a_base + batch_offset(i, batch, a_strides);
      const T* b_matrix = b_base + batch_offset(i, batch, b_strides);
      T* out_matrix = out_base + batch_offset(i, batch, out_strides);
      if (swap) {
        threaded_gemm(flipped(lb.transpose), flipped(la.transpose), static_cast<int>(n), static_cast<int>(m),
                      static_cast<int>(k), alpha, b_matrix, lb.ld, a_matrix, la.ld, beta, out_matrix, lc.ld);
      } else {
        threaded_gemm(la.transpose, lb.transpose, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k),
                      alpha, a_matrix, la.ld, b_matrix, lb.ld, beta, out_matrix, lc.ld);
      }
    }
  };
  const int64_t entries = batch.product();
  const double work = static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  if (entries > 1 && work <= kBlasSingleThreadWork) {
    // Each thread's share of the batch is at least as much work as OpenBLAS would thread.
    auto grain = static_cast<int64_t>(kBlasSingleThreadWork / work) + 1;
    parallel_for(0, entries, grain, run_entries);
  } else {
    run_entries(0, entries);
  }
}

void run_gemm(const char* op, const Tensor& out, const Tensor& a, const Tensor& b, double alpha, double beta) {
  dispatch_floating(out.dtype(), op, [&]<typename T>() {
    run_gemm<T>(op, out, a, b, static_cast<T>(alpha), static_cast<T>(beta));
  });
}

// Both operands float32 or both float64.
void check_dtypes(const char* op, const Tensor& a, const Tensor& b) {
  check<ValueError>(a.defined() && b.defined(), "{}: an operand is an undefined tensor", op);
  for (const Tensor* t : {&a, &b}) {
    check<DTypeError>(is_floating(t->dtype()), "{}: dtype {} is not supported (float32 and float64 only)", op,
                      t->dtype());
  }
  check<DTypeError>(a.dtype() == b.dtype(), "{}: expected both operands to have the same dtype, got {} and {}", op,
                    a.dtype(), b.dtype());
}

// The inner dims of a2 [..., M, K] @ b2 [..., K, N] agree; `a` and `b` are the shapes the
// user passed (before a 1-d operand gained a dim).
void check_inner(const char* op, const Tensor& a, const Tensor& b, const Tensor& a2, const Tensor& b2) {
  check<ShapeError>(a2.size(-1) == b2.size(-2), "{}: {} @ {}: inner dimensions {} and {} differ", op, a.sizes(),
                    b.sizes(), a2.size(-1), b2.size(-2));
}

Dims leading_dims(const Tensor& t) {
  Dims dims = t.sizes();
  dims.resize(t.dim() - 2);
  return dims;
}

// The broadcast batch dims of a2 [..., M, K] and b2 [..., K, N].
Dims broadcast_batch(const char* op, const Tensor& a, const Tensor& b, const Tensor& a2, const Tensor& b2) {
  Dims batch_a = leading_dims(a2), batch_b = leading_dims(b2);
  try {
    return broadcast_shapes(batch_a, batch_b, op);
  } catch (const ShapeError&) {
    throw ShapeError(fmt::format("{}: {} @ {}: batch dimensions {} and {} cannot be broadcast together", op,
                                 a.sizes(), b.sizes(), batch_a, batch_b));
  }
}

// t's last two dims with `batch` in front (a view; broadcast batch dims get stride 0).
Tensor expand_batch(const Tensor& t, const Dims& batch) {
  if (leading_dims(t) == batch) return t;
  Dims sizes = batch;
  sizes.push_back(t.size(-2));
  sizes.push_back(t.size(-1));
  return core::expand(t, sizes);
}

// A new tensor of shape `result_shape` holding a2 [..., M, K] @ b2 [..., K, N] with the batch
// dims broadcast to `batch`; result_shape is batch + [M, N] with any dims of a 1-d operand left
// out (they have size 1, so the contiguous layout is the same).
Tensor new_product(const char* op, const Tensor& a2, const Tensor& b2, const Dims& batch, const Dims& result_shape) {
  Tensor result = Tensor::empty(result_shape, a2.dtype());
  Dims full = batch;
  full.push_back(a2.size(-2));
  full.push_back(b2.size(-1));
  Tensor out = result_shape == full
                   ? result
                   : Tensor::make_view(result.storage(), full, contiguous_strides(full), 0, result.dtype());
  run_gemm(op, out, expand_batch(blas_ready(a2), batch), expand_batch(blas_ready(b2), batch), 1.0, 0.0);
  return result;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  const char* op = "matmul";
  check_dtypes(op, a, b);
  check<ShapeError>(a.dim() >= 1 && b.dim() >= 1, "{}: both arguments to matmul need to be at least 1D, got {} and {}",
                    op, a.sizes(), b.sizes());
  // A 1-d operand is a row ([1, K]) on the left, a column ([K, 1]) on the right; that dim is
  // dropped from the result.
  Tensor a2 = a.dim() == 1 ? core::unsqueeze(a, 0) : a;
  Tensor b2 = b.dim() == 1 ? core::unsqueeze(b, 1) : b;
  check_inner(op, a, b, a2, b2);
  Dims batch = broadcast_batch(op, a, b, a2, b2);
  Dims result_shape = batch;
  if (a.dim() > 1) result_shape.push_back(a2.size(-2));
  if (b.dim() > 1) result_shape.push_back(b2.size(-1));
  return new_product(op, a2, b2, batch, result_shape);
}

Tensor mm(const Tensor& a, const Tensor& b) {
  const char* op = "mm";
  check_dtypes(op, a, b);
  check<ShapeError>(a.dim() == 2 && b.dim() == 2, "{}: {} @ {}: both operands must be 2-d", op, a.sizes(), b.sizes());
  check_inner(op, a, b, a, b);
  return new_product(op, a, b, {}, {a.size(0), b.size(1)});
}

Tensor bmm(const Tensor& a, const Tensor& b) {
  const char* op = "bmm";
  check_dtypes(op, a, b);
  check<ShapeError>(a.dim() == 3 && b.dim() == 3, "{}: {} @ {}: both operands must be 3-d", op, a.sizes(),
                    b.sizes());
  check<ShapeError>(a.size(0) == b.size(0), "{}: {} @ {}: batch sizes {} and {} differ", op, a.sizes(), b.sizes(),
                    a.size(0), b.size(0));
  check_inner(op, a, b, a, b);
  return new_product(op, a, b, {a.size(0)}, {a.size(0), a.size(1), b.size(2)});
}

Tensor addmm(const Tensor& input, const Tensor& a, const Tensor& b, const Scalar& beta, const Scalar& alpha) {
  const char* op = "addmm";
  check_dtypes(op, a, b);
  check<ValueError>(input.defined(), "{}: input is an undefined tensor", op);
  check<DTypeError>(input.dtype() == a.dtype(), "{}: input is {} but the operands are {}", op, input.dtype(),
                    a.dtype());
  check<ShapeError>(a.dim() == 2 && b.dim() == 2, "{}: {} @ {}: both operands must be 2-d", op, a.sizes(),
                    b.sizes());
  check_inner(op, a, b, a, b);
  const Dims shape{a.size(0), b.size(1)};
  bool broadcasts = input.dim() <= 2;
  for (int d = 0; broadcasts && d < input.dim(); ++d) {
    int64_t size = input.sizes()[d];
    broadcasts = size == 1 || size == shape[2 - input.dim() + d];
  }
  check<ShapeError>(broadcasts, "{}: input of shape {} does not broadcast to {}, the shape of {} @ {}", op,
                    input.sizes(), shape, a.sizes(), b.sizes());
  Tensor out = Tensor::empty(shape, a.dtype());
  const double beta_value = beta.to<double>();
  // As in PyTorch, beta == 0 ignores input entirely (NaN and inf in it do not propagate).
  if (beta_value != 0.0) core::copy_(out, input);
  run_gemm(op, out, blas_ready(a), blas_ready(b), alpha.to<double>(), beta_value);
  return out;
}

Tensor outer(const Tensor& a, const Tensor& b) {
  const char* op = "outer";
  check_dtypes(op, a, b);
  check<ShapeError>(a.dim() == 1 && b.dim() == 1, "{}: {} and {}: both operands must be 1-d", op, a.sizes(),
                    b.sizes());
  // [M, 1] @ [1, N]: K = 1, so every element is a single product, exact as in PyTorch.
  return new_product(op, core::unsqueeze(a, 1), core::unsqueeze(b, 0), {}, {a.size(0), b.size(0)});
}

Tensor dot(const Tensor& a, const Tensor& b) {
  const char* op = "dot";
  check_dtypes(op, a, b);
  check<ShapeError>(a.dim() == 1 && b.dim() == 1, "{}: {} . {}: both operands must be 1-d", op, a.sizes(),
                    b.sizes());
  check<ShapeError>(a.size(0) == b.size(0), "{}: {} . {}: sizes {} and {} differ", op, a.sizes(), b.sizes(),
                    a.size(0), b.size(0));
  return new_product(op, core::unsqueeze(a, 0), core::unsqueeze(b, 1), {}, {});
}

namespace {
template <typename T>
void raw_gemm_of(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const T* a, const T* b, T beta, T* c) {
  threaded_gemm(trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, static_cast<int>(m),
                static_cast<int>(n), static_cast<int>(k), T(1), a, static_cast<int>(trans_a ? m : k), b,
                static_cast<int>(trans_b ? k : n), beta, c, static_cast<int>(n));
}
}  // namespace

void raw_gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, const float* b,
              float beta, float* c) {
  raw_gemm_of(trans_a, trans_b, m, n, k, a, b, beta, c);
}
void raw_gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const double* a, const double* b,
              double beta, double* c) {
  raw_gemm_of(trans_a, trans_b, m, n, k, a, b, beta, c);
}

void gemm_into(const Tensor& out, const Tensor& a, const Tensor& b, double alpha, double beta) {
  const char* op = "gemm_into";
  check_dtypes(op, a, b);
  check<ValueError>(out.defined(), "{}: out is an undefined tensor", op);
  check<DTypeError>(out.dtype() == a.dtype(), "{}: out is {} but the operands are {}", op, out.dtype(), a.dtype());
  check<ShapeError>(a.dim() >= 2 && b.dim() >= 2 && out.dim() >= 2,
                    "{}: {} @ {} into {}: all three need at least 2 dims", op, a.sizes(), b.sizes(), out.sizes());
  check_inner(op, a, b, a, b);
  Dims batch = broadcast_batch(op, a, b, a, b);
  Dims shape = batch;
  shape.push_back(a.size(-2));
  shape.push_back(b.size(-1));
  check<ShapeError>(shape == out.sizes(), "{}: {} @ {} gives {}, but out has shape {}", op, a.sizes(), b.sizes(),
                    shape, out.sizes());
  check<ValueError>(out.numel() == 0 || matrix_layout(out).ready,
                    "{}: out of shape {} with strides {} is neither row- nor column-major in its last two dims", op,
                    out.sizes(), out.strides());
  for (int d = 0; d < batch.size(); ++d) {
    check<ValueError>(batch[d] <= 1 || out.strides()[d] != 0,
                      "{}: out of shape {} with strides {} writes several batch entries to one place", op,
                      out.sizes(), out.strides());
  }
  // NOTE: out must not overlap a or b (BLAS reads them while it writes out); that is not checked.
  out.bump_version();
  run_gemm(op, out, expand_batch(blas_ready(a), batch), expand_batch(blas_ready(b), batch), alpha, beta);
}

}  // namespace descent::core
