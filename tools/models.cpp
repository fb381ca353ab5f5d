// The two models of `descent train`; see tools/models.h.
#include "tools/models.h"

#include <descent/autograd/ops.h>
#include <descent/core/error.h>
#include <descent/nn/functional_pool.h>

namespace descent::tools {

Mlp::Mlp(int64_t in_features, int64_t classes) : fc1(in_features, 512), fc2(512, 256), fc3(256, classes) {
  register_module("fc1", fc1);
  register_module("fc2", fc2);
  register_module("fc3", fc3);
}

Tensor Mlp::forward(const Tensor& x) {
  Tensor h = relu(fc1(x.flatten(1)));
  h = relu(fc2(h));
  return fc3(h);
}

Cnn::Cnn(int64_t classes) : fc2(128, classes) {
  register_module("conv1", conv1);
  register_module("conv2", conv2);
  register_module("fc1", fc1);
  register_module("fc2", fc2);
}

Tensor Cnn::forward(const Tensor& x) {
  Tensor h = nn::functional::max_pool2d(relu(conv1(x)), 2);  // [N, 32, 13, 13]
  h = nn::functional::max_pool2d(relu(conv2(h)), 2);         // [N, 64, 5, 5]
  return fc2(relu(fc1(h.flatten(1))));
}

std::unique_ptr<Classifier> make_model(const std::string& name, int64_t in_features, int64_t classes) {
  if (name == "mlp") return std::make_unique<Mlp>(in_features, classes);
  check<ValueError>(name == "cnn", "descent: unknown model '{}' (mlp or cnn)", name);
  return std::make_unique<Cnn>(classes);
}

}  // namespace descent::tools
