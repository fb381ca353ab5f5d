// Padding of nn::functional, torch.nn.functional.pad's modes: constant, reflect, replicate and
// circular. Also the padding modes of the convolution layers (nn/conv.h). Read nn/functional_pad.cpp
// for how each mode picks its source elements.
#pragma once

#include <vector>

#include <descent/core/tensor.h>

namespace descent::nn::functional {

// How the new border is filled, shown on the row 0 1 2 padded by 2 on each side:
//   Constant   v v | 0 1 2 | v v   (Zeros is its name in the convolution layers' padding_mode)
//   Reflect    2 1 | 0 1 2 | 1 0   (mirrored at the edge, the edge not repeated)
//   Replicate  0 0 | 0 1 2 | 2 2
//   Circular   1 2 | 0 1 2 | 0 1
enum class PadMode { Constant, Zeros = Constant, Reflect, Replicate, Circular };

struct PadFuncOptions {
  PadMode mode = PadMode::Constant;
  Scalar value = 0;  // Constant only
};

// padding in F.pad's order: (left, right) of the last dim, then of the one before, ...; negative
// amounts crop. Constant pads any number of dims. The other modes pad the last k = 1, 2 or 3 dims
// (2, 4 or 6 numbers) of an input with k + 1 or k + 2 dims, as PyTorch: reflect needs each amount
// smaller than its dim, circular at most its dim, replicate a non-empty dim.
Tensor pad(const Tensor& input, const std::vector<int64_t>& padding, const PadFuncOptions& options = {});

}  // namespace descent::nn::functional
