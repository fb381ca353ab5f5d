// Linear's construction and default initialisation; the forward is nn::functional::linear.
#include <descent/nn/linear.h>

#include <cmath>
#include <string>
#include <string_view>

#include <descent/nn/functional.h>
#include <descent/nn/init.h>

namespace descent::nn {
namespace {

// The constant a user writes for a floating dtype (kFloat32, kFloat64).
std::string_view dtype_constant(DType dtype) { return dtype == kFloat64 ? "kFloat64" : "kFloat32"; }

}  // namespace

Linear::Linear(int64_t in_features, int64_t out_features, bool bias)
    : in_features(in_features), out_features(out_features) {
  check<ValueError>(in_features >= 0 && out_features >= 0, "Linear: negative size in_features={} out_features={}",
                    in_features, out_features);
  weight = register_parameter("weight", empty({out_features, in_features}));
  if (bias) this->bias = register_parameter("bias", empty({out_features}));
  reset_parameters();
}

void Linear::reset_parameters() {
  // kaiming_uniform_ with a = sqrt(5): gain sqrt(2 / 6), bound sqrt(3) gain / sqrt(fan_in) = 1 / sqrt(fan_in).
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    double bound = in_features > 0 ? 1.0 / std::sqrt(static_cast<double>(in_features)) : 0.0;
    init::uniform_(bias, -bound, bound);
  }
}

Tensor Linear::forward(const Tensor& x) {
  if (x.defined() && x.dtype() != weight.dtype()) {
    // Named here, not by the matmul inside, and with the ways out.
    std::string remedy = x.is_floating_point()
                             ? fmt::format("convert the model with model.to({}) or the input with x.to({})",
                                           dtype_constant(x.dtype()), dtype_constant(weight.dtype()))
                             : fmt::format("the input must be floating: x.to({})", dtype_constant(weight.dtype()));
    throw DTypeError(fmt::format("Linear({}): input {} is {} but the layer's weight is {}: {}", extra_repr(),
                                 x.sizes(), x.dtype(), weight.dtype(), remedy));
  }
  return functional::linear(x, weight, bias);
}

std::string Linear::extra_repr() const {
  return fmt::format("in_features={}, out_features={}, bias={}", in_features, out_features, bias.defined());
}

std::string Flatten::extra_repr() const { return fmt::format("start_dim={}, end_dim={}", start_dim, end_dim); }

}  // namespace descent::nn
