// nn::functional: the layers as functions of their inputs and parameters (the modules in
// nn/linear.h, nn/activation.h and nn/dropout.h call these). The activations are the
// differentiable ops of namespace descent, named here too so that nn::functional::relu works.
#pragma once

#include <descent/autograd/ops.h>
#include <descent/core/random.h>

namespace descent::nn::functional {

// y = x W^T + b: x [*, in], weight [out, in] (PyTorch's layout), bias [out] or undefined.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

// Inverted dropout: in training, each element is zeroed with probability p and the others are
// scaled by 1 / (1 - p), so the expectation is unchanged; the identity when !training or p == 0.
Tensor dropout(const Tensor& x, double p = 0.5, bool training = true, Generator* generator = nullptr);

using descent::gelu;
using descent::GeluApproximate;
using descent::leaky_relu;
using descent::log_softmax;
using descent::relu;
using descent::sigmoid;
using descent::silu;
using descent::softmax;
using descent::tanh;

}  // namespace descent::nn::functional
