// TrainConfig: defaults that depend on other options, and the round trip through checkpoint
// metadata (every double as its shortest exact text, so a resumed run uses the same numbers).
#include "tools/config.h"

#include <fmt/format.h>

#include <descent/core/error.h>
#include <descent/optim/optimizer.h>

namespace descent::tools {

namespace {

double default_lr(const std::string& optimizer) {
  if (optimizer == "sgd") return 0.05;
  if (optimizer == "lion") return 1e-4;
  return 1e-3;  // adam, adamw, rmsprop
}

// Weight decay applies to weights only (biases never decay: optim::weight_decay_groups).
double default_weight_decay(const std::string& optimizer) {
  if (optimizer == "sgd") return 5e-4;
  if (optimizer == "adamw") return 5e-2;
  return 0.0;
}

}  // namespace

void TrainConfig::resolve_defaults(bool betas_given) {
  if (lr < 0) lr = default_lr(optimizer);
  if (momentum < 0) momentum = optimizer == "sgd" ? 0.9 : 0.0;
  if (weight_decay < 0) weight_decay = default_weight_decay(optimizer);
  if (!betas_given && optimizer == "lion") betas = {0.9, 0.99};
}

int64_t TrainConfig::warmup_steps_for(int64_t total_steps) const {
  return warmup_steps >= 0 ? warmup_steps : total_steps / 20;
}

std::string TrainConfig::resolved_data_dir() const {
  if (!data_dir.empty()) return data_dir;
  if (dataset == "fashion-mnist") return "/usr/share/datasets/fashion-mnist";
  if (dataset == "mnist") return "/usr/share/datasets/mnist";
  return "";
}

// Each field once: the visitor gets (name, field) and converts.
template <typename Config, typename Visitor>
void visit_fields(Config& c, Visitor&& v) {
  v("model", c.model); v("dataset", c.dataset); v("data_dir", c.data_dir); v("optimizer", c.optimizer);
  v("lr", c.lr); v("momentum", c.momentum); v("nesterov", c.nesterov); v("weight_decay", c.weight_decay);
  v("beta1", c.betas.at(0)); v("beta2", c.betas.at(1)); v("schedule", c.schedule);
  v("step_size", c.step_size); v("gamma", c.gamma);
  v("warmup_steps", c.warmup_steps); v("batch_size", c.batch_size); v("accumulate", c.accumulate);
  v("epochs", c.epochs); v("limit_train_batches", c.limit_train_batches); v("clip_grad_norm", c.clip_grad_norm);
  v("seed", c.seed);
  v("text", c.text); v("layers", c.layers); v("heads", c.heads); v("width", c.width); v("context", c.context);
}

std::map<std::string, std::string> TrainConfig::to_metadata() const {
  std::map<std::string, std::string> metadata;
  visit_fields(*this, [&](const char* name, const auto& field) {
    using T = std::decay_t<decltype(field)>;
    std::string text;
    if constexpr (std::is_same_v<T, std::string>) text = field;
    else if constexpr (std::is_same_v<T, double>) text = optim::format_double(field);
    else if constexpr (std::is_same_v<T, bool>) text = std::to_string(static_cast<int>(field));  // "1" or "0"
    else text = std::to_string(field);
    metadata[fmt::format("config.{}", name)] = text;
  });
  return metadata;
}

TrainConfig TrainConfig::from_metadata(const std::map<std::string, std::string>& metadata, const std::string& file) {
  TrainConfig config;
  visit_fields(config, [&](const char* name, auto& field) {
    std::string key = fmt::format("config.{}", name);
    auto it = metadata.find(key);
    check<ValueError>(it != metadata.end(), "{}: not a descent train checkpoint: no metadata {}", file, key);
    const std::string& text = it->second;
    using T = std::decay_t<decltype(field)>;
    try {
      if constexpr (std::is_same_v<T, std::string>) field = text;
      else if constexpr (std::is_same_v<T, double>) field = optim::parse_double(text, key);
      else if constexpr (std::is_same_v<T, bool>) field = text == "1";
      else if constexpr (std::is_same_v<T, uint64_t>) field = std::stoull(text);
      else field = std::stoll(text);
    } catch (const std::logic_error&) {  // stoll / stoull: not a number, or out of range
      throw ValueError(fmt::format("{}: metadata {} = '{}' is not a number", file, key, text));
    }
  });
  return config;
}

}  // namespace descent::tools
