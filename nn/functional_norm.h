// Normalisation layers of nn::functional, as torch.nn.functional defines them: batch_norm (batch
// statistics in training, with the running-statistics update; running statistics in eval),
// layer_norm and group_norm. See nn/functional_norm.cpp.
#pragma once

#include <cstdint>

#include <descent/core/tensor.h>

namespace descent::nn::functional {

// Named as libtorch names it, apart from the layers' nn::BatchNormOptions (eps, momentum, affine, ...).
struct BatchNormFuncOptions {
  bool training = false;
  double momentum = 0.1;  // running = (1 - momentum) running + momentum batch statistic
  double eps = 1e-5;
};

// input [N, C, *]; running_mean, running_var [C] (updated in place in training; the variance
// with Bessel's correction, as PyTorch), weight, bias [C] or undefined. In training the running
// statistics may be undefined (no update); in eval they are required.
Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight = Tensor(), const Tensor& bias = Tensor(), const BatchNormFuncOptions& options = {});

// Normalises over the last normalized_shape.size() dims, which must equal normalized_shape;
// weight and bias have normalized_shape or are undefined.
Tensor layer_norm(const Tensor& input, const Dims& normalized_shape, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), double eps = 1e-5);

// input [N, C, *] normalised over each of num_groups groups of C / num_groups channels (and *);
// weight and bias [C] or undefined.
Tensor group_norm(const Tensor& input, int64_t num_groups, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), double eps = 1e-5);

}  // namespace descent::nn::functional
