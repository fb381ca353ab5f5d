// The two models of `descent train`; see tools/models.h.
#include "tools/models.h"

#include <descent/autograd/ops.h>
#include <descent/core/error.h>
#include <descent/nn/functional_pool.h>
#include <descent/optim/rules.h>
#include "tools/text_task.h"

namespace descent::tools {

std::vector<optim::GroupSpec> Classifier::parameter_groups(double weight_decay) const {
  return optim::weight_decay_groups(named_parameters(), weight_decay);
}

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

std::unique_ptr<Classifier> make_model(const TrainConfig& config, const Task& task) {
  if (config.model == "mlp") return std::make_unique<Mlp>(task.in_features, task.classes());
  if (config.model == "gpt") return std::make_unique<TextModel>(config, task.corpus->vocab_size());
  check<ValueError>(config.model == "cnn", "descent: unknown model '{}' (mlp, cnn or gpt)", config.model);
  return std::make_unique<Cnn>(task.classes());
}

}  // namespace descent::tools
