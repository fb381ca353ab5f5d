// How a `descent train` checkpoint (<out>/checkpoint.safetensors) is laid out: one safetensors
// file whose tensors and metadata are grouped by prefix --
//   model.<name>       the model's state_dict (PyTorch's names)
//   optimizer.<key>    optim::Optimizer::state_dict() (tensors and metadata)
//   schedule.<key>     the lr schedule's state_dict (metadata)
//   loader.<key>       the DataLoader's position (epoch, batch, seed)
//   config.<name>      the run's TrainConfig; run.<name> its counters; rng.seed, rng.offset the
//                      default generator; command_line as typed.
#pragma once

#include <cstdint>
#include <string>

#include <descent/nn/checkpoint.h>
#include <descent/optim/optimizer.h>

namespace descent::tools {

inline std::string checkpoint_path(const std::string& dir) { return dir + "/checkpoint.safetensors"; }

// Adds `dict`'s tensors and metadata under "<prefix>.".
void add_prefixed(nn::Checkpoint& checkpoint, const std::string& prefix, const optim::StateDict& dict);
void add_prefixed(nn::Checkpoint& checkpoint, const std::string& prefix, const nn::StateDict& tensors);

// The tensors and metadata under "<prefix>.", with the prefix removed.
optim::StateDict take_prefixed(const nn::Checkpoint& checkpoint, const std::string& prefix);
nn::StateDict take_prefixed_tensors(const nn::Checkpoint& checkpoint, const std::string& prefix);

// metadata[key], or a ValueError naming the file and the key.
const std::string& metadata_at(const nn::Checkpoint& checkpoint, const std::string& key, const std::string& file);
// metadata[key] as a non-negative integer (counters, seeds), or a ValueError naming the key.
uint64_t metadata_count(const nn::Checkpoint& checkpoint, const std::string& key, const std::string& file);

}  // namespace descent::tools
