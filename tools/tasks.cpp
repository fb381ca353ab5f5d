// Datasets of `descent train`; see tools/tasks.h.
#include "tools/tasks.h"

#include <memory>

#include <descent/autograd/ops.h>
#include <descent/data/mnist.h>
#include <descent/data/synthetic.h>
#include "tools/text_task.h"

namespace descent::tools {

Tensor Task::prepare(const Tensor& x) const {
  return mean == 0.0 && std == 1.0 ? x : (x - mean) / std;
}

Task load_task(const TrainConfig& config) {
  if (config.dataset == "text") return load_text_task(config);
  Task task;
  if (config.dataset == "spirals") {
    // 1000 points per class to learn from, 500 held out; different seeds, one distribution.
    task.train = std::make_shared<data::TensorDataset>(data::two_spirals(1000, 0.05, config.seed * 2 + 1));
    task.test = std::make_shared<data::TensorDataset>(data::two_spirals(500, 0.05, config.seed * 2 + 2));
    task.class_names = {"spiral 0", "spiral 1"};
    task.in_features = 2;
    return task;
  }
  std::string root = config.resolved_data_dir();
  task.train = std::make_shared<data::MNIST>(root, data::Split::Train);
  task.test = std::make_shared<data::MNIST>(root, data::Split::Test);
  task.in_features = 28 * 28;
  if (config.dataset == "fashion-mnist") {
    task.class_names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
    task.mean = 0.2860, task.std = 0.3530;  // over the 60000 training images
  } else {
    task.class_names = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
    task.mean = 0.1307, task.std = 0.3081;
  }
  return task;
}

}  // namespace descent::tools
