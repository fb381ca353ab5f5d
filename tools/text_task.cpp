// The text task and the GPT of `descent train --model gpt`; see tools/text_task.h.
#include "tools/text_task.h"

#include <fmt/format.h>

#include <memory>

#include <descent/optim/rules.h>

namespace descent::tools {

Task load_text_task(const TrainConfig& config) {
  Task task;
  task.corpus = config.text.empty()
                    ? std::make_shared<const data::TextCorpus>(data::fortunes_corpus(), "the fortunes corpus")
                    : data::TextCorpus::from_file(config.text);
  using data::TextDataset;
  task.train = std::make_shared<TextDataset>(task.corpus, TextDataset::Split::Train, config.context, 0, config.seed);
  task.test = std::make_shared<TextDataset>(task.corpus, TextDataset::Split::HeldOut, config.context);
  for (int64_t token = 0; token < task.corpus->vocab_size(); ++token) {
    task.class_names.push_back(fmt::format("{:#04x}", token));
  }
  task.in_features = config.context;
  task.targets_per_example = config.context;
  task.eval_batch_size = 32;  // 32 windows: logits [32 T, V] and attention [32, H, T, T] stay small
  return task;
}

TextModel::TextModel(const TrainConfig& config, int64_t vocab_size)
    : gpt({.vocab_size = vocab_size, .context = config.context, .layers = config.layers,
           .heads = config.heads, .width = config.width}) {
  register_module("gpt", gpt);
}

Tensor TextModel::forward(const Tensor& tokens) { return gpt(tokens).flatten(0, 1); }

std::vector<optim::GroupSpec> TextModel::parameter_groups(double weight_decay) const {
  std::vector<std::pair<std::string, Tensor>> embeddings, others;
  for (auto& named : named_parameters()) {
    (named.first.find("embedding.") != std::string::npos ? embeddings : others).push_back(named);
  }
  // [matrices with decay, biases and norm scales without]: the embeddings join the second.
  std::vector<optim::GroupSpec> groups = optim::weight_decay_groups(others, weight_decay);
  optim::GroupSpec& no_decay = groups.back();
  check(no_decay.overrides.at("weight_decay") == 0.0, "TextModel: the GPT has no parameter without decay");
  for (auto& [name, parameter] : embeddings) {
    no_decay.params.push_back(parameter);
    no_decay.names.push_back(name);
  }
  return groups;
}

}  // namespace descent::tools
