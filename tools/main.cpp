// The `descent` program: `descent train` (tools/train.cpp), `descent eval` (tools/eval.cpp) and
// `descent sample` (tools/sample.cpp) and `descent lab` (lab/lab_command.h).
// This file parses the command line with CLI11 and turns failures into exit codes: a bad command
// line is one line of error (with "did you mean" for a misspelt option), a two-line hint to the
// usage, and exit 2; an error while running is one line and exit 1.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <charconv>
#include <cstdio>
#include <filesystem>
#include <exception>
#include <string>
#include <vector>

#include <descent/core/error.h>
#include "lab/lab_command.h"
#include "tools/commands.h"

namespace {

using descent::tools::EvalCommand;
using descent::tools::option_choices;
using descent::tools::SampleCommand;
using descent::tools::TrainCommand;

// The validator of a choice among names, listing them in the error.
CLI::IsMember one_of(std::vector<std::string> names) { return CLI::IsMember(std::move(names)); }

// A number within the bounds of `option` (tools/config.h), the ones a checkpoint's config is held to.
CLI::Validator bounded(const char* option) {
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        double value = 0;
        if (!CLI::detail::lexical_cast(text, value)) return "not a number: " + text;
        return descent::tools::option_problem(option, value);
      },
      "NUMBER");
}

// The whole text as an unsigned 64-bit integer: CLI11 alone would wrap 2^64 and -1.
const CLI::Validator kUnsigned64(
    [](std::string& text) -> std::string {
      uint64_t value = 0;
      auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
      bool whole = !text.empty() && error == std::errc() && end == text.data() + text.size();
      return whole ? "" : fmt::format("must be an integer from 0 to 18446744073709551615, got {}", text);
    },
    "UINT64");

void add_train_options(CLI::App& train, TrainCommand& command, bool& betas_given) {
  auto& c = command.config;
  train.add_option("--model", c.model,
                   "mlp (784-512-256-10), cnn (the north-star CNN) or gpt (a transformer on text)")
      ->check(one_of(option_choices("--model")))->capture_default_str();
  train.add_option("--dataset", c.dataset, "fashion-mnist, mnist or spirals (synthetic, 2-d)")
      ->check(one_of(option_choices("--dataset")))->capture_default_str();
  train.add_option("--data-dir", c.data_dir, "directory of the IDX files (default: /usr/share/datasets/<dataset>)");
  train.add_option("--optimizer", c.optimizer, fmt::format("{}", fmt::join(option_choices("--optimizer"), ", ")))
      ->check(one_of(option_choices("--optimizer")))->capture_default_str();
  train.add_option("--lr", c.lr, "peak learning rate (default: sgd 0.05, lion 1e-4, others 1e-3)")
      ->check(bounded("--lr"));
  train.add_option("--momentum", c.momentum, "sgd and rmsprop momentum (default: sgd 0.9, rmsprop 0)")
      ->check(bounded("--momentum"));
  train.add_flag("--nesterov", c.nesterov, "Nesterov momentum (sgd)");
  train.add_option("--weight-decay", c.weight_decay, "on weights, not biases (default: sgd 5e-4, adamw 0.05, others 0)")
      ->check(bounded("--weight-decay"));
  train.add_option("--betas", c.betas, "beta1,beta2 of adam, adamw, lion (default: 0.9,0.999; lion 0.9,0.99)")
      ->expected(2)->delimiter(',')->check(bounded("--betas"))
      ->each([&](const std::string&) { betas_given = true; });
  train.add_option("--schedule", c.schedule, "constant, step, cosine, warmup-cosine, onecycle or plateau")
      ->check(one_of(option_choices("--schedule")))->capture_default_str();
  train.add_option("--step-size", c.step_size, "step schedule: epochs between lr cuts (default: at 1/2 and 3/4 of the run)")
      ->check(bounded("--step-size"));
  train.add_option("--gamma", c.gamma, "step schedule: the lr is multiplied by this at each cut")
      ->check(bounded("--gamma"))->capture_default_str();
  train.add_option("--warmup-steps", c.warmup_steps, "warmup-cosine's linear warmup (default: 5% of the steps)")
      ->check(bounded("--warmup-steps"));
  train.add_option("--batch-size", c.batch_size, "examples per batch")->check(bounded("--batch-size"))->capture_default_str();
  train.add_option("--accumulate", c.accumulate, "batches whose gradients make one optimizer step")
      ->check(bounded("--accumulate"))->capture_default_str();
  train.add_option("--epochs", c.epochs, "passes over the training set")->check(bounded("--epochs"))->capture_default_str();
  train.add_option("--limit-train-batches", c.limit_train_batches,
                   "only the first N batches of each epoch's shuffled order, for quick tries")
      ->check(bounded("--limit-train-batches"));
  train.add_option("--clip-grad-norm", c.clip_grad_norm, "clip the gradients' total norm to this (0: off)")
      ->check(bounded("--clip-grad-norm"));
  train.add_option("--text", c.text, "gpt: the text file to learn (default: the fortunes corpus)")
      ->check(CLI::ExistingFile);
  train.add_option("--layers", c.layers, "gpt: transformer blocks")->check(bounded("--layers"))->capture_default_str();
  train.add_option("--heads", c.heads, "gpt: attention heads (a divisor of --width)")
      ->check(bounded("--heads"))->capture_default_str();
  train.add_option("--width", c.width, "gpt: the model's width")->check(bounded("--width"))->capture_default_str();
  train.add_option("--context", c.context, "gpt: tokens (bytes) a window holds")
      ->check(bounded("--context"))->capture_default_str();
  train.add_option("--threads", command.threads, "threads for the kernels (default: all cores)")
      ->check(bounded("--threads"));
  train.add_option("--seed", c.seed, "seeds the weights, the shuffling and the synthetic data")
      ->check(kUnsigned64)->capture_default_str();
  train.add_option("--out", command.out_dir, "directory for metrics.csv, checkpoint.safetensors, curves.png "
                                             "(default: runs/<date-time>)");
  train.add_option("--resume", command.resume_dir, "continue the run whose checkpoint is in this directory")
      ->check(CLI::ExistingDirectory);
  train.add_option("--stop-after-steps", command.stop_after_steps,
                   "stop after this many optimizer steps and write a checkpoint, as if interrupted")
      ->check(bounded("--stop-after-steps"));
}

// --model gpt learns text: --dataset is not its, the text and size options are nobody else's.
void check_gpt_options(const CLI::App& train, const descent::tools::TrainConfig& c) {
  bool gpt = c.model == "gpt";
  if (gpt && train.count("--dataset") > 0) {
    throw CLI::ValidationError("--dataset", "gpt learns text: give a file with --text instead");
  }
  for (const char* name : {"--text", "--layers", "--heads", "--width", "--context"}) {
    if (!gpt && train.count(name) > 0) throw CLI::ValidationError(name, "is an option of --model gpt only");
  }
  if (gpt && c.width % c.heads != 0) {
    throw CLI::ValidationError("--heads", fmt::format("--width {} is not divisible by --heads {}", c.width, c.heads));
  }
}

// The defaults --model gpt changes, for the options not given: its data is text, its optimizer
// AdamW with gradient clipping.
void apply_gpt_defaults(const CLI::App& train, descent::tools::TrainConfig& c) {
  if (c.model != "gpt") return;
  c.dataset = "text";
  if (train.count("--optimizer") == 0) c.optimizer = "adamw";
  if (train.count("--clip-grad-norm") == 0) c.clip_grad_norm = 1.0;
}

void add_sample_options(CLI::App& sample, SampleCommand& command) {
  sample.add_option("--checkpoint", command.checkpoint, "the run directory (or its checkpoint.safetensors) of "
                                                        "descent train --model gpt")
      ->required()->check(CLI::ExistingPath);
  sample.add_option("--prompt", command.prompt, "the text to continue (1 to --context bytes)")->required();
  sample.add_option("--tokens", command.tokens, "bytes to generate")->check(bounded("--tokens"))->capture_default_str();
  sample.add_option("--temperature", command.sampling.temperature, "divides the logits; 0: always the most likely")
      ->check(bounded("--temperature"))->capture_default_str();
  sample.add_option("--top-k", command.sampling.top_k, "draw among the k most likely only (0: all)")
      ->check(bounded("--top-k"))->capture_default_str();
  sample.add_option("--top-p", command.sampling.top_p, "draw among the most likely holding this mass (nucleus)")
      ->check(bounded("--top-p"))->capture_default_str();
  sample.add_option("--seed", command.seed, "seeds the draws: the same seed gives the same text")
      ->check(kUnsigned64)->capture_default_str();
  sample.add_option("--threads", command.threads, "threads for the kernels (default: all cores)")
      ->check(bounded("--threads"));
}

// What CLI11 cannot check alone: the resolved config as a whole (tools/config.h, the check every
// checkpoint's config passes too), combinations, and the dataset's directory.
void check_train_command(const CLI::App& train, TrainCommand& command, bool betas_given) {
  if (!command.resume_dir.empty()) {
    // The run's own options come from its checkpoint; changing them would not continue it.
    for (const CLI::Option* option : train.get_options()) {
      std::string name = option->get_name();
      bool allowed = name == "--resume" || name == "--threads" || name == "--stop-after-steps" || name == "--help";
      if (option->count() > 0 && !allowed) {
        throw CLI::ValidationError(name, "cannot be combined with --resume (the run's options are in its checkpoint)");
      }
    }
    return;
  }
  auto& c = command.config;
  check_gpt_options(train, c);
  for (const char* name : {"--step-size", "--gamma"}) {
    if (train.count(name) > 0 && c.schedule != "step") {
      throw CLI::ValidationError(name, "only with --schedule step, not " + c.schedule);
    }
  }
  c.resolve_defaults(betas_given);
  try {
    c.validate();
  } catch (const descent::ValueError& error) {
    throw CLI::ValidationError(error.what());
  }
  if (c.image_dataset() && !std::filesystem::is_directory(c.resolved_data_dir())) {
    throw CLI::ValidationError("--data-dir", "dataset directory " + c.resolved_data_dir() + " does not exist");
  }
}

// Levenshtein's edit distance (insertions, deletions, substitutions), by one row of the table.
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// "; did you mean --optimizer?" for the first --word of the command line that `command` does not
// know and that is a few edits from one of its options; "" when there is none.
std::string did_you_mean(const CLI::App& command, int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string word = argv[i];
    if (word.rfind("--", 0) != 0 || word.size() < 3) continue;
    word = word.substr(2, word.find('=') == std::string::npos ? std::string::npos : word.find('=') - 2);
    bool known = false;
    std::string best;
    size_t best_distance = std::max<size_t>(2, word.size() / 3) + 1;  // farther than that: no guess
    for (const CLI::Option* option : command.get_options()) {
      for (const std::string& name : option->get_lnames()) {
        known = known || name == word;
        size_t distance = edit_distance(word, name);
        if (distance < best_distance) {
          best_distance = distance;
          best = name;
        }
      }
    }
    if (!known && !best.empty()) return fmt::format("; did you mean --{}?", best);
  }
  return "";
}

std::string joined_command_line(int argc, char** argv) {
  std::string line = "descent";
  for (int i = 1; i < argc; ++i) line += std::string(" ") + argv[i];
  return line;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"descent: train and evaluate neural networks", "descent"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "the options of every subcommand");

  TrainCommand train_command;
  bool betas_given = false;
  CLI::App* train = app.add_subcommand("train", "train a model; prints one line per epoch and a JSON summary last");
  add_train_options(*train, train_command, betas_given);

  EvalCommand eval_command;
  CLI::App* eval = app.add_subcommand("eval", "test accuracy and confusion matrix of a checkpoint; a JSON summary last");
  eval->add_option("--checkpoint", eval_command.checkpoint, "a checkpoint.safetensors written by descent train")
      ->required()->check(CLI::ExistingFile);
  eval->add_option("--data-dir", eval_command.data_dir, "directory of the IDX files (default: the training run's)")
      ->check(CLI::ExistingDirectory);
  eval->add_option("--threads", eval_command.threads, "threads for the kernels (default: all cores)")
      ->check(bounded("--threads"));
  eval->add_flag("--json", eval_command.json_only, "print only the JSON summary line, for scripts");

  SampleCommand sample_command;
  CLI::App* sample = app.add_subcommand("sample", "continue a prompt with a gpt checkpoint, streaming to stdout");
  add_sample_options(*sample, sample_command);

  descent::lab::LabCommand lab_command;
  CLI::App* lab = descent::lab::add_lab_subcommand(app, lab_command);

  // NOTE: app.help() gives the help of the subcommand on the command line, if any.
  try {
    app.parse(argc, argv);
    if (train->parsed()) {
      apply_gpt_defaults(*train, train_command.config);  // first: gpt's dataset has no directory to check
      check_train_command(*train, train_command, betas_given);
    }
    if (lab->parsed()) descent::lab::check_lab_command(lab_command);
    if (sample->parsed() && sample_command.prompt.empty()) {
      throw CLI::ValidationError("--prompt", "must hold at least one byte");
    }
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    std::fputs(app.help("", CLI::AppFormatMode::All).c_str(), stdout);
    return 0;
  } catch (const CLI::ParseError& error) {
    // The subcommand given (if any) names the usage; its --help has the rest.
    const CLI::App* command = train->parsed() ? train : eval->parsed() ? eval : nullptr;
    std::string guess = command ? did_you_mean(*command, argc, argv) : "";
    std::string name = command ? "descent " + command->get_name() : "descent";
    fmt::print(stderr, "descent: error: {}{}\nUsage: {} {}\nRun '{} --help' for the options.\n", error.what(), guess,
               name, command ? "[OPTIONS]" : "SUBCOMMAND [OPTIONS] (train or eval)", name);
    return descent::tools::kExitUsage;
  }

  try {
    if (train->parsed()) {
      train_command.command_line = joined_command_line(argc, argv);
      return descent::tools::run_train(train_command);
    }
    if (sample->parsed()) return descent::tools::run_sample(sample_command);
    if (lab->parsed()) return descent::lab::run_lab(lab_command);
    return descent::tools::run_eval(eval_command);
  } catch (const std::exception& error) {
    std::fflush(stdout);
    fmt::print(stderr, "descent: error: {}\n", error.what());
    return 1;
  }
}
