// `descent train --model gpt`: next-byte prediction on a text file (the fortunes corpus by
// default) with nn::GPT. The task's examples are windows of context + 1 bytes; the model scores
// every position, so one example is `context` targets and losses are in nats per byte.
#pragma once

#include <vector>

#include <descent/nn/gpt.h>
#include "tools/config.h"
#include "tools/models.h"
#include "tools/tasks.h"

namespace descent::tools {

// The corpus of config.text (or fortunes_corpus() when empty), split 90 / 10 by position: random
// training windows, strided held-out ones. FileError when the file is missing, empty or binary.
Task load_text_task(const TrainConfig& config);

// nn::GPT (tied embeddings, no dropout) of the config's sizes as a Classifier: tokens [B, T] ->
// logits [B T, V], one row per next-token target, in the order of y.flatten().
class TextModel : public Classifier {
 public:
  TextModel(const TrainConfig& config, int64_t vocab_size);
  Tensor forward(const Tensor& tokens) override;
  // AdamW's decoupled decay on the blocks' matrices only: not on biases, norms or the embeddings.
  std::vector<optim::GroupSpec> parameter_groups(double weight_decay) const override;

  nn::GPT gpt;
};

}  // namespace descent::tools
