// A first look at descent's tensors: making them, views that share memory, broadcasting
// arithmetic, reductions, softmax and a matrix product, each printed with fmt.
// Read this first; docs/ARCHITECTURE.md then tells how the library is built.
#include <string_view>

#include <descent/descent.h>

using namespace descent;

// Prints "what:" and the tensor below it (values, then shape and dtype).
void show(std::string_view what, const Tensor& t) { fmt::print("{}:\n{}\n\n", what, t); }

int main() {
  // ---- Factories: from values, filled, ranges, random ----
  Tensor a = tensor({1.0, 2.0, 3.0, 4.0, 5.0, 6.0}, {2, 3});  // float32 unless a dtype is given
  show("a", a);
  show("eye(3) in float64", eye(3, {.dtype = kFloat64}));
  manual_seed(0);  // the same numbers on every machine, with any thread count
  show("randn({2, 3})", randn({2, 3}));

  // ---- Views: a new shape or a slice over the same memory, no copy ----
  Tensor grid = arange(12).view({3, 4});         // 0..11 (int64, as the bounds are integers)
  Tensor column = grid.slice(1, 1, 2);           // column 1, shape [3, 1]
  Tensor even_columns = grid.slice(1, 0, 4, 2);  // columns 0 and 2, strides [4, 2]
  column.fill_(-1);                              // writes reach grid through the views
  even_columns.mul_(10);
  show("grid after writing through two views", grid);
  fmt::print("grid.t() shares grid's storage: {}; it is contiguous: {}\n\n", grid.t().shares_storage(grid),
             grid.t().is_contiguous());

  // ---- Broadcasting: sizes of 1, and missing leading dims, stretch to match ----
  Tensor row = tensor({10.0, 20.0, 30.0});  // [3]
  Tensor col = tensor({1.0, 2.0}, {2, 1});  // [2, 1]
  show("a + row  ([2, 3] + [3])", a + row);
  show("col * row  ([2, 1] * [3])", col * row);

  // ---- Reductions ----
  fmt::print("sum(a) = {}\n\n", a.sum().item<double>());
  show("mean of each row", a.mean({1}));
  auto [row_max, row_argmax] = a.max(1);
  show("max of each row", row_max);
  show("where it is", row_argmax);

  // ---- Softmax along a dim: each row becomes probabilities ----
  Tensor probabilities = softmax(tensor({1.0, 2.0, 3.0, 0.0, 0.0, 0.0}, {2, 3}), 1);
  show("softmax of [[1, 2, 3], [0, 0, 0]] along dim 1", probabilities);
  show("its row sums", probabilities.sum({1}));

  // ---- Matrix products (OpenBLAS); a transposed operand is passed as a flag, not copied ----
  Tensor w = arange(6, {.dtype = kFloat32}).view({3, 2});
  show("a @ w  ([2, 3] @ [3, 2])", matmul(a, w));
  show("a @ a.t()", matmul(a, a.t()));

  // ---- Errors are exceptions that name the op and the shapes ----
  try {
    matmul(a, a);
  } catch (const ShapeError& error) {
    fmt::print("matmul(a, a) throws ShapeError: {}\n", error.what());
  }
  return 0;
}
