// Shared by the gradient tests: float64 inputs in the layouts every op is checked with
// (contiguous, transposed, sliced with step), and a parametrised case runner that prints the
// case and gradcheck's message on failure.
#pragma once

#include <string>
#include <vector>

#include <descent/autograd/gradcheck.h>
#include "testing.h"

namespace descent::testing {

enum class Layout { Contiguous, Transposed, Strided };

inline const char* layout_name(Layout layout) {
  return layout == Layout::Contiguous ? "contiguous" : layout == Layout::Transposed ? "transposed" : "strided";
}

// A float64 leaf of `shape` filled from a seeded normal, scaled and shifted, laid out as asked: a
// transposed view of a contiguous buffer (2-d or more; fewer dims stay contiguous), or every other
// element of the last dim of a wider one (1-d or more; a 0-d tensor stays contiguous).
inline Tensor input(const Dims& shape, Layout layout, uint64_t seed, double scale = 1.0, double shift = 0.0) {
  Generator generator(seed);
  Tensor t;
  if (layout == Layout::Contiguous || shape.empty() || (layout == Layout::Transposed && shape.size() < 2)) {
    t = core::randn(shape, {.dtype = kFloat64}, &generator);
  } else if (layout == Layout::Transposed) {
    Dims swapped = shape;
    std::swap(swapped[0], swapped[1]);
    t = core::transpose(core::randn(swapped, {.dtype = kFloat64}, &generator), 0, 1);
  } else {
    Dims wide = shape;
    wide.back() *= 2;
    t = core::slice(core::randn(wide, {.dtype = kFloat64}, &generator), -1, 0, INT64_MAX, 2);
  }
  {
    autograd::NoGradGuard no_grad;
    core::mul_(t, scale);
    core::add_(t, shift);
  }
  return t.detach().requires_grad_(true);
}

struct GradCase {
  std::string name;
  autograd::DifferentiableFunction fn;
  std::vector<Tensor> inputs;
  bool second_order = false;  // also gradgradcheck
};

inline void check_case(const GradCase& c, autograd::GradcheckOptions options = {}) {
  autograd::GradcheckResult first = autograd::gradcheck(c.fn, c.inputs, options);
  EXPECT_TRUE(first) << c.name << ": " << first.message;
  if (c.second_order) {
    autograd::GradcheckResult second = autograd::gradgradcheck(c.fn, c.inputs, options);
    EXPECT_TRUE(second) << c.name << ": " << second.message;
  }
}

}  // namespace descent::testing
