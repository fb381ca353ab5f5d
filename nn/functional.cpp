// nn::functional::linear and dropout, composed from the differentiable ops (so their gradients
// come from addmm/matmul, add and mul).
#include <descent/nn/functional.h>

namespace descent::nn::functional {

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  check<ValueError>(x.defined() && weight.defined(), "linear: undefined input or weight");
  check<ShapeError>(weight.dim() == 2, "linear: weight of shape {} is not 2-d [out_features, in_features]",
                    weight.sizes());
  check<ShapeError>(x.dim() >= 1 && x.size(-1) == weight.size(1),
                    "linear: input {} with weight {}: the input's last dim must be in_features = {}", x.sizes(),
                    weight.sizes(), weight.size(1));
  if (!bias.defined()) return matmul(x, weight.t());
  check<ShapeError>(bias.dim() == 1 && bias.size(0) == weight.size(0),
                    "linear: bias of shape {} for weight {}: expected [{}]", bias.sizes(), weight.sizes(),
                    weight.size(0));
  // A batch of rows: one GEMM that starts from the broadcast bias (weight^T passed as a flag).
  if (x.dim() == 2) return addmm(bias, x, weight.t());
  return matmul(x, weight.t()) + bias;
}

Tensor dropout(const Tensor& x, double p, bool training, Generator* generator) {
  check<ValueError>(p >= 0.0 && p <= 1.0, "dropout: probability has to be between 0 and 1, but got {}", p);
  if (!training || p == 0.0) return x;
  check<DTypeError>(x.is_floating_point(), "dropout: input of dtype {} is not floating point", dtype_name(x.dtype()));
  if (p == 1.0) return x * 0.0;  // every element dropped; keeps the graph (gradient zero)
  Tensor mask = empty(x.sizes(), {.dtype = x.dtype()});
  core::bernoulli_(mask, 1.0 - p, generator);  // 1 keeps an element, with probability 1 - p
  return x * mask.div_(1.0 - p);
}

}  // namespace descent::nn::functional
