// libFuzzer harness: what `descent train --resume` and `descent eval` read from a checkpoint
// besides the model: the run's config (TrainConfig::from_metadata), its counters, and the states
// of an optimizer, a schedule and a loader. The input is lines "key=value" of metadata, and
// "tensor:key=N" for an int64 0-d tensor (the loader's state is tensors; a repeated name is
// skipped, as nn::load refuses a header naming one twice). Every input must be
// accepted or throw a descent::Error.
#include <charconv>
#include <string_view>

#include <descent/core/factory.h>
#include <descent/data/dataloader.h>
#include <descent/data/dataset.h>
#include <descent/nn/linear.h>
#include <descent/optim/rules.h>
#include <descent/optim/schedulers.h>
#include "tools/checkpoint_layout.h"
#include "tools/config.h"

namespace {

descent::nn::Checkpoint parse_lines(std::string_view text) {
  descent::nn::Checkpoint checkpoint;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    size_t equals = line.find('=');
    if (equals == std::string_view::npos) continue;
    std::string key(line.substr(0, equals)), value(line.substr(equals + 1));
    if (key.starts_with("tensor:")) {
      if (checkpoint.tensors.contains(key.substr(7))) continue;  // a safetensors header names each once
      int64_t number = 0;
      std::from_chars(value.data(), value.data() + value.size(), number);  // 0 unless a number in range
      checkpoint.tensors.insert(key.substr(7), descent::core::scalar_tensor(number, {.dtype = descent::kInt64}));
    } else {
      checkpoint.metadata[key] = value;
    }
  }
  return checkpoint;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace descent;
  nn::Checkpoint checkpoint = parse_lines({reinterpret_cast<const char*>(data), size});
  const std::string file = "fuzz.safetensors";
  try {
    (void)tools::TrainConfig::from_metadata(checkpoint.metadata, file);
  } catch (const Error&) {
  }
  try {
    for (const char* key : {"run.global_step", "run.epoch_batches", "run.samples", "rng.seed", "rng.offset"}) {
      (void)tools::metadata_count(checkpoint, key, file);
    }
  } catch (const Error&) {
  }
  nn::Linear layer(2, 2);
  optim::Optimizer optimizer(optim::make_groups({{layer.parameters()}}, *optim::make_rule("adamw")));
  optim::CosineAnnealingLR schedule(optimizer, 10);
  data::DatasetPtr dataset = std::make_shared<data::TensorDataset>(core::zeros({10, 2}), core::zeros({10}, {.dtype = kInt64}));
  data::DataLoader loader(dataset, {.batch_size = 3, .shuffle = true, .seed = 1});
  try {
    optimizer.load_state_dict(tools::take_prefixed(checkpoint, "optimizer"));
  } catch (const Error&) {
  }
  try {
    schedule.load_state_dict(tools::take_prefixed(checkpoint, "schedule"));
    schedule.step();
  } catch (const Error&) {
  }
  try {
    loader.load_state_dict(tools::take_prefixed(checkpoint, "loader"));
    for (auto batch : loader) (void)batch;
  } catch (const Error&) {
  }
  return 0;
}
