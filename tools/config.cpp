// TrainConfig: defaults that depend on other options, and the round trip through checkpoint
// metadata (every double as its shortest exact text, so a resumed run uses the same numbers).
#include "tools/config.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

#include <descent/core/error.h>
#include <descent/optim/optimizer.h>
#include <descent/optim/rules.h>

namespace descent::tools {

namespace {

// The range of a numeric option: above `low` (or at it, when `low_allowed`), at most `high`,
// always finite. The upper bounds keep step counts (epochs x steps per epoch) inside int64.
struct OptionBound {
  std::string_view option;
  double low;
  bool low_allowed;
  double high;
};
constexpr double kUnbounded = std::numeric_limits<double>::max();
constexpr OptionBound kOptionBounds[] = {
    {"--lr", 0, false, kUnbounded},           {"--momentum", 0, true, 1},
    {"--weight-decay", 0, true, kUnbounded},  {"--betas", 0, true, 1},
    {"--warmup-steps", 0, true, 1e15},        {"--batch-size", 0, false, 1 << 30},
    {"--accumulate", 0, false, 1 << 30},      {"--epochs", 0, false, 1e6},
    {"--clip-grad-norm", 0, true, kUnbounded}, {"--threads", 0, false, 1 << 16},
    {"--stop-after-steps", 0, false, 1e15},   {"--step-size", 0, true, 1e6},
    {"--gamma", 0, false, kUnbounded},        {"--limit-train-batches", 0, true, 1 << 30},
    {"--layers", 0, false, 1 << 16},          {"--heads", 0, false, 1 << 16},
    {"--width", 0, false, 1 << 20},           {"--context", 0, false, 1 << 20},
    // descent sample's
    {"--tokens", 0, true, 1e12},              {"--temperature", 0, true, kUnbounded},
    {"--top-k", 0, true, 1 << 30},            {"--top-p", 0, false, 1},
};

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

std::string option_problem(std::string_view option, double value) {
  const OptionBound* bound = std::find_if(std::begin(kOptionBounds), std::end(kOptionBounds),
                                          [&](const OptionBound& b) { return b.option == option; });
  check<ValueError>(bound != std::end(kOptionBounds), "option_problem: {} is not a numeric option", option);
  if (!std::isfinite(value)) return fmt::format("must be finite, got {}", value);
  if (bound->low_allowed ? value < bound->low : value <= bound->low) {
    return fmt::format("must be {} {}, got {}", bound->low_allowed ? ">=" : ">", bound->low, value);
  }
  if (value > bound->high) return fmt::format("must be <= {}, got {}", bound->high, value);
  return "";
}

std::vector<std::string> option_choices(std::string_view option) {
  if (option == "--model") return {"mlp", "cnn", "gpt"};
  if (option == "--dataset") return {"fashion-mnist", "mnist", "spirals", "text"};  // text: gpt's
  if (option == "--schedule") return {"constant", "step", "cosine", "warmup-cosine", "onecycle", "plateau"};
  check<ValueError>(option == "--optimizer", "option_choices: {} is not an option with choices", option);
  // Every update rule of optim's registry, by its lower-case name.
  std::vector<std::string> names = optim::rule_names();
  for (std::string& name : names) {
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  }
  return names;
}

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

void TrainConfig::validate() const {
  auto check_choice = [](std::string_view option, const std::string& value) {
    std::vector<std::string> names = option_choices(option);
    check<ValueError>(std::find(names.begin(), names.end(), value) != names.end(), "{}: must be one of {}, got '{}'",
                      option, fmt::join(names, ", "), value);
  };
  auto check_number = [](std::string_view option, double value) {
    std::string problem = option_problem(option, value);
    check<ValueError>(problem.empty(), "{}: {}", option, problem);
  };
  check_choice("--model", model);
  check_choice("--dataset", dataset);
  check_choice("--optimizer", optimizer);
  check_choice("--schedule", schedule);
  check_number("--lr", lr);
  check_number("--momentum", momentum);
  check_number("--weight-decay", weight_decay);
  check<ValueError>(betas.size() == 2, "--betas: needs 2 values, got {}", betas.size());
  for (double beta : betas) check_number("--betas", beta);
  if (warmup_steps != -1) check_number("--warmup-steps", static_cast<double>(warmup_steps));  // -1: 5% of the steps
  check_number("--batch-size", static_cast<double>(batch_size));
  check_number("--accumulate", static_cast<double>(accumulate));
  check_number("--epochs", static_cast<double>(epochs));
  check_number("--clip-grad-norm", clip_grad_norm);
  check<ValueError>(model != "cnn" || image_dataset(), "--model: cnn needs an image dataset (fashion-mnist or mnist), not {}",
                    dataset);
  check<ValueError>((model == "gpt") == (dataset == "text"), "--model: {} does not learn the dataset {} (gpt learns text, "
                    "the others images or spirals)", model, dataset);
  if (step_size != 0) check_number("--step-size", static_cast<double>(step_size));  // 0: at 1/2 and 3/4 of the run
  check_number("--gamma", gamma);
  check_number("--limit-train-batches", static_cast<double>(limit_train_batches));
  if (model == "gpt") {
    check_number("--layers", static_cast<double>(layers));
    check_number("--heads", static_cast<double>(heads));
    check_number("--width", static_cast<double>(width));
    check_number("--context", static_cast<double>(context));
    check<ValueError>(width % heads == 0, "--heads: --width {} is not divisible by --heads {}", width, heads);
  }
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
    if constexpr (std::is_same_v<T, std::string>) {
      field = text;
    } else if constexpr (std::is_same_v<T, double>) {
      try {
        field = optim::parse_double(text, key);
      } catch (const ValueError& error) {
        throw ValueError(fmt::format("{}: {}", file, error.what()));
      }
    } else if constexpr (std::is_same_v<T, bool>) {
      check<ValueError>(text == "0" || text == "1", "{}: metadata {} = '{}' is neither 0 nor 1", file, key, text);
      field = text == "1";
    } else {  // int64_t or uint64_t: the whole text, in range (from_chars neither wraps nor skips)
      auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), field);
      check<ValueError>(!text.empty() && error == std::errc() && end == text.data() + text.size(),
                        "{}: metadata {} = '{}' is not an integer in the range of {}", file, key, text,
                        std::is_signed_v<T> ? "int64" : "uint64");
    }
  });
  try {
    config.validate();
  } catch (const ValueError& error) {
    throw ValueError(fmt::format("{}: the run's config is not one descent train accepts: {}", file, error.what()));
  }
  return config;
}

}  // namespace descent::tools
