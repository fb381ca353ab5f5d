// Prefix grouping of the `descent train` checkpoint; see tools/checkpoint_layout.h.
#include "tools/checkpoint_layout.h"

#include <stdexcept>

#include <descent/core/error.h>

namespace descent::tools {

namespace {

// True, with `rest` the part after "<prefix>.", when `name` starts with that prefix.
bool strip_prefix(const std::string& name, const std::string& prefix, std::string& rest) {
  if (name.size() <= prefix.size() + 1 || name.compare(0, prefix.size(), prefix) != 0 || name[prefix.size()] != '.') {
    return false;
  }
  rest = name.substr(prefix.size() + 1);
  return true;
}

}  // namespace

void add_prefixed(nn::Checkpoint& checkpoint, const std::string& prefix, const optim::StateDict& dict) {
  for (const auto& [key, tensor] : dict.tensors) checkpoint.tensors.insert(prefix + "." + key, tensor);
  for (const auto& [key, value] : dict.metadata) checkpoint.metadata[prefix + "." + key] = value;
}

void add_prefixed(nn::Checkpoint& checkpoint, const std::string& prefix, const nn::StateDict& tensors) {
  for (const auto& [key, tensor] : tensors) checkpoint.tensors.insert(prefix + "." + key, tensor);
}

optim::StateDict take_prefixed(const nn::Checkpoint& checkpoint, const std::string& prefix) {
  optim::StateDict dict;
  std::string rest;
  for (const auto& [name, tensor] : checkpoint.tensors) {
    if (strip_prefix(name, prefix, rest)) dict.tensors[rest] = tensor;
  }
  for (const auto& [key, value] : checkpoint.metadata) {
    if (strip_prefix(key, prefix, rest)) dict.metadata[rest] = value;
  }
  return dict;
}

nn::StateDict take_prefixed_tensors(const nn::Checkpoint& checkpoint, const std::string& prefix) {
  nn::StateDict tensors;
  std::string rest;
  for (const auto& [name, tensor] : checkpoint.tensors) {
    if (strip_prefix(name, prefix, rest)) tensors.insert(rest, tensor);
  }
  return tensors;
}

const std::string& metadata_at(const nn::Checkpoint& checkpoint, const std::string& key, const std::string& file) {
  auto it = checkpoint.metadata.find(key);
  check<ValueError>(it != checkpoint.metadata.end(), "{}: not a descent train checkpoint: no metadata {}", file, key);
  return it->second;
}

uint64_t metadata_count(const nn::Checkpoint& checkpoint, const std::string& key, const std::string& file) {
  const std::string& text = metadata_at(checkpoint, key, file);
  size_t used = 0;
  uint64_t value = 0;
  try {
    value = std::stoull(text, &used);
  } catch (const std::logic_error&) {  // not a number, or out of range
    used = 0;
  }
  check<ValueError>(!text.empty() && used == text.size() && text[0] != '-', "{}: metadata {} = '{}' is not a count",
                    file, key, text);
  return value;
}

}  // namespace descent::tools
