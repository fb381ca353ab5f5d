// A first look at descent's tensors: making them, views that share memory, broadcasting
// arithmetic, reductions, softmax and a matrix product, each printed with fmt.
// Read this first; docs/ARCHITECTURE.md then tells how the library is built.
#include <descent/descent.h>

using namespace descent;

int main() {
  // ---- Factories: from values, filled, ranges, random ----
  Tensor a = tensor({1.0, 2.0, 3.0, 4.0, 5.0, 6.0}, {2, 3});  // float32 unless a dtype is given
  Tensor identity = eye(3, {.dtype = kFloat64});
  manual_seed(0);                                             // the same numbers on every machine
  Tensor noise = randn({2, 3});
  fmt::print("a = {}\n\neye(3) = {}\n\nrandn = {}\n\n", a, identity, noise);

  // ---- Views: a new shape or slice over the same memory, no copy ----
  Tensor grid = arange(12).view({3, 4});      // 0..11 as a 3x4 matrix
  Tensor column = grid.slice(1, 1, 2);        // column 1, shape [3, 1]
  Tensor even_columns = grid.slice(1, 0, 4, 2);  // columns 0 and 2, strides [4, 2]
  column.fill_(-1);                           // writes reach grid through the views
  even_columns.mul_(10);
  fmt::print("grid after writing through two views = {}\n", grid);
  fmt::print("grid.t() shares grid's storage: {}; it is contiguous: {}\n\n", grid.t().shares_storage(grid),
             grid.t().is_contiguous());

  // ---- Broadcasting: sizes of 1 (or missing leading dims) stretch to match ----
  Tensor row = tensor({10.0, 20.0, 30.0});    // [3]
  Tensor col = tensor({1.0, 2.0}, {2, 1});    // [2, 1]
  fmt::print("a + row = {}\n\ncol * row = {}\n\n", a + row, col * row);  // both [2, 3]

  // ---- Reductions ----
  auto [row_max, row_argmax] = a.max(1);
  fmt::print("sum(a) = {}, mean of each row = {}\n", a.sum().item<double>(), a.mean({1}));
  fmt::print("max of each row = {} at {}\n\n", row_max, row_argmax);

  // ---- Softmax along a dim: each row becomes probabilities ----
  Tensor logits = tensor({1.0, 2.0, 3.0, 0.0, 0.0, 0.0}, {2, 3});
  Tensor probabilities = softmax(logits, 1);
  fmt::print("softmax(logits, 1) = {}\nrow sums = {}\n\n", probabilities, probabilities.sum({1}));

  // ---- Matrix products (OpenBLAS); a transposed operand is passed as a flag, not copied ----
  Tensor w = arange(6).view({3, 2});
  fmt::print("a @ w = {}\n\na @ a.t() = {}\n\n", matmul(a, w), matmul(a, a.t()));

  // ---- Errors name the op and the shapes ----
  try {
    matmul(a, a);
  } catch (const ShapeError& error) {
    fmt::print("matmul(a, a) throws ShapeError: {}\n", error.what());
  }
  return 0;
}
