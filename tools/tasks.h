// The data of a run: train and test sets of the chosen dataset, how inputs are normalised, and
// the class names (for the confusion matrix). Fashion-MNIST and MNIST come from IDX files;
// spirals is the seeded synthetic two-class set of data/synthetic.h; text (--model gpt) is the
// next-token task of tools/text_task.h.
#pragma once

#include <string>
#include <vector>

#include <descent/core/tensor.h>
#include <descent/data/dataset.h>
#include <descent/data/text.h>
#include "tools/config.h"

namespace descent::tools {

struct Task {
  data::DatasetPtr train, test;
  std::vector<std::string> class_names;
  int64_t in_features = 0;  // numbers per example
  double mean = 0.0, std = 1.0;  // inputs are fed as (x - mean) / std
  int64_t eval_batch_size = 1000;  // examples per evaluation batch
  // Text only: the corpus, and the targets (next tokens) each example scores. Labels y of any
  // task are scored flattened, one target per element.
  data::TextCorpusPtr corpus;
  int64_t targets_per_example = 1;
  bool is_text() const { return corpus != nullptr; }

  int64_t classes() const { return static_cast<int64_t>(class_names.size()); }
  // The batch as the model takes it: normalised, float32.
  Tensor prepare(const Tensor& x) const;
};

// Reads the dataset of `config`; descent errors (FileError, ...) when its files are bad.
Task load_task(const TrainConfig& config);

}  // namespace descent::tools
