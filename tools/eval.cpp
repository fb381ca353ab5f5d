// `descent eval --checkpoint FILE`: rebuilds the model of a `descent train` checkpoint from its
// config metadata, loads its weights and prints test loss, accuracy and the confusion matrix.
#include <fmt/format.h>

#include <descent/core/parallel.h>
#include "tools/checkpoint_layout.h"
#include "tools/commands.h"
#include "tools/metrics.h"
#include "tools/models.h"
#include "tools/tasks.h"

namespace descent::tools {

int run_eval(const EvalCommand& command) {
  if (command.threads > 0) set_num_threads(command.threads);
  nn::Checkpoint checkpoint = nn::load(command.checkpoint);
  TrainConfig config = TrainConfig::from_metadata(checkpoint.metadata, command.checkpoint);
  if (!command.data_dir.empty()) config.data_dir = command.data_dir;
  Task task = load_task(config);
  std::unique_ptr<Classifier> model = make_model(config, task);
  model->load_state_dict(take_prefixed_tensors(checkpoint, "model"));
  Evaluation test = evaluate(*model, task, task.test);
  if (task.is_text()) {
    fmt::print("{} on the held-out part of {} ({} tokens): loss {:.4f}, {:.3f} bits per token, next-token "
               "accuracy {:.2f}%\n", config.model, task.corpus->name(), test.examples, test.loss, test.bits_per_token(),
               100.0 * test.accuracy);
    return 0;
  }
  fmt::print("{} on the {} test set ({} examples): test loss {:.4f}, test accuracy {:.2f}%\n\n{}", config.model,
             config.dataset, test.examples, test.loss, 100.0 * test.accuracy, format_confusion(test, task.class_names));
  return 0;
}

}  // namespace descent::tools
