// The outside project's program: it uses descent only through #include <descent/descent.h> and
// checks a few results that exercise each dependency the package must link (fmt, OpenBLAS,
// OpenMP). Exits nonzero on a wrong value, which fails the ctest case install_consumer.
#include <descent/descent.h>

using namespace descent;

namespace {

bool expect_equal(const char* what, double actual, double expected) {
  if (actual == expected) return true;
  fmt::print(stderr, "consumer: {} is {}, expected {}\n", what, actual, expected);
  return false;
}

}  // namespace

int main() {
  Tensor a = tensor({1.0, 2.0, 3.0, 4.0, 5.0, 6.0}, {2, 3});
  Tensor b = ones({3, 2});
  Tensor product = matmul(a, b) + 0.5;  // OpenBLAS: [[6.5, 6.5], [15.5, 15.5]]
  fmt::print("{}\n", product);          // fmt

  // Large enough that parallel_for splits it over OpenMP threads.
  Tensor big = full({1 << 18}, 2.0) * 3.0;

  bool ok = expect_equal("product[1, 0]", product.at({1, 0}), 15.5);
  ok = expect_equal("sum(product)", sum(product).item<double>(), 44.0) && ok;
  ok = expect_equal("sum(big)", sum(big).item<double>(), 6.0 * (1 << 18)) && ok;
  return ok ? 0 : 1;
}
