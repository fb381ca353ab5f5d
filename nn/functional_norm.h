// Normalisation layers and embedding lookup of nn::functional, as torch.nn.functional defines
// them: batch_norm (batch statistics in training, with the running-statistics update; running
// statistics in eval), layer_norm, group_norm, and embedding (padding_idx). See
// nn/functional_norm.cpp.
#pragma once

#include <cstdint>
#include <optional>

#include "core/tensor.h"

namespace descent::nn::functional {

struct BatchNormOptions {
  bool training = false;
  double momentum = 0.1;  // running = (1 - momentum) running + momentum batch statistic
  double eps = 1e-5;
};

// input [N, C, *]; running_mean, running_var [C] (updated in place in training; the variance
// with Bessel's correction, as PyTorch), weight, bias [C] or undefined. In training the running
// statistics may be undefined (no update); in eval they are required.
Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight = Tensor(), const Tensor& bias = Tensor(), const BatchNormOptions& options = {});

// Normalises over the last normalized_shape.size() dims, which must equal normalized_shape;
// weight and bias have normalized_shape or are undefined.
Tensor layer_norm(const Tensor& input, const Dims& normalized_shape, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), double eps = 1e-5);

// input [N, C, *] normalised over each of num_groups groups of C / num_groups channels (and *);
// weight and bias [C] or undefined.
Tensor group_norm(const Tensor& input, int64_t num_groups, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), double eps = 1e-5);

// weight[indices]: int64 indices of any shape, weight [V, D] -> indices' shape + [D]. Rows looked
// up at padding_idx get no gradient.
Tensor embedding(const Tensor& indices, const Tensor& weight, std::optional<int64_t> padding_idx = std::nullopt);

}  // namespace descent::nn::functional
