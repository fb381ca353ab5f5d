// `descent eval --checkpoint FILE`: rebuilds the model of a `descent train` checkpoint from its
// config metadata, loads its weights and prints test loss, accuracy and the confusion matrix,
// then a JSON summary line (the only output with --json).
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <descent/core/parallel.h>
#include "tools/checkpoint_layout.h"
#include "tools/commands.h"
#include "tools/metrics.h"
#include "tools/models.h"
#include "tools/tasks.h"

namespace descent::tools {

namespace {

// {"checkpoint":..,"model":..,"dataset":..,"examples":..,"test_accuracy":..,"test_loss":..,
//  "per_class_accuracy":{"<class name>":..}}; a class without test examples gets null. For a
// text model "test_bits_per_token" takes the per-class rates' place.
nlohmann::ordered_json summary(const EvalCommand& command, const TrainConfig& config, const Task& task,
                               const Evaluation& test) {
  nlohmann::ordered_json json;
  json["checkpoint"] = command.checkpoint;
  json["model"] = config.model;
  json["dataset"] = config.dataset;
  json["examples"] = test.examples;
  json["test_accuracy"] = test.accuracy;
  json["test_loss"] = test.loss;
  if (task.is_text()) {  // next-token prediction: bits per token instead of 256 per-class rates
    json["test_bits_per_token"] = test.bits_per_token();
    return json;
  }
  nlohmann::ordered_json per_class = nlohmann::ordered_json::object();
  int64_t classes = task.classes();
  for (int64_t t = 0; t < classes; ++t) {
    int64_t row = 0;
    for (int64_t p = 0; p < classes; ++p) row += test.confusion[t * classes + p];
    const std::string& name = task.class_names[t];
    per_class[name] = row > 0 ? nlohmann::ordered_json(static_cast<double>(test.confusion[t * classes + t]) /
                                                       static_cast<double>(row))
                              : nlohmann::ordered_json(nullptr);
  }
  json["per_class_accuracy"] = per_class;
  return json;
}

}  // namespace

int run_eval(const EvalCommand& command) {
  if (command.threads > 0) set_num_threads(command.threads);
  nn::Checkpoint checkpoint = nn::load(command.checkpoint);
  TrainConfig config = TrainConfig::from_metadata(checkpoint.metadata, command.checkpoint);
  if (!command.data_dir.empty()) config.data_dir = command.data_dir;
  Task task = load_task(config);
  std::unique_ptr<Classifier> model = make_model(config, task);
  model->load_state_dict(take_prefixed_tensors(checkpoint, "model"));
  Evaluation test = evaluate(*model, task, task.test);
  if (!command.json_only && task.is_text()) {
    fmt::print("{} on the held-out part of {} ({} tokens): loss {:.4f}, {:.3f} bits per token, next-token "
               "accuracy {:.2f}%\n", config.model, task.corpus->name(), test.examples, test.loss, test.bits_per_token(),
               100.0 * test.accuracy);
  } else if (!command.json_only) {
    fmt::print("{} on the {} test set ({} examples): test loss {:.4f}, test accuracy {:.2f}%\n\n{}\n", config.model,
               config.dataset, test.examples, test.loss, 100.0 * test.accuracy,
               format_confusion(test, task.class_names));
  }
  fmt::print("{}\n", summary(command, config, task, test).dump());
  return 0;
}

}  // namespace descent::tools
