// Dropout's forward: the functional form with the module's training flag.
#include <descent/nn/dropout.h>

#include <descent/nn/functional.h>

namespace descent::nn {

Dropout::Dropout(double p, Generator* generator) : p(p), generator(generator) {
  check<ValueError>(p >= 0.0 && p <= 1.0, "Dropout: probability has to be between 0 and 1, but got {}", p);
}

Tensor Dropout::forward(const Tensor& x) { return functional::dropout(x, p, is_training(), generator); }

std::string Dropout::extra_repr() const { return fmt::format("p={}", p); }

}  // namespace descent::nn
