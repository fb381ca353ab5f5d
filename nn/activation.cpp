// The activation layers' forwards (nn::functional) and printed options.
#include <descent/nn/activation.h>

#include <descent/nn/functional.h>

namespace descent::nn {

Tensor ReLU::forward(const Tensor& x) { return functional::relu(x); }
Tensor LeakyReLU::forward(const Tensor& x) { return functional::leaky_relu(x, negative_slope); }
Tensor GELU::forward(const Tensor& x) { return functional::gelu(x, approximate); }
Tensor SiLU::forward(const Tensor& x) { return functional::silu(x); }
Tensor Tanh::forward(const Tensor& x) { return functional::tanh(x); }
Tensor Sigmoid::forward(const Tensor& x) { return functional::sigmoid(x); }
Tensor Softmax::forward(const Tensor& x) { return functional::softmax(x, dim); }
Tensor LogSoftmax::forward(const Tensor& x) { return functional::log_softmax(x, dim); }

std::string LeakyReLU::extra_repr() const { return fmt::format("negative_slope={}", negative_slope); }
std::string GELU::extra_repr() const {
  return approximate == GeluApproximate::Tanh ? "approximate='tanh'" : "approximate='none'";
}
std::string Softmax::extra_repr() const { return fmt::format("dim={}", dim); }
std::string LogSoftmax::extra_repr() const { return fmt::format("dim={}", dim); }

}  // namespace descent::nn
