// The `descent` program: `descent train` (tools/train.cpp) and `descent eval` (tools/eval.cpp).
// This file parses the command line with CLI11 and turns failures into exit codes: a bad command
// line is one line of error, then the usage, and exit 2; an error while running is one line and
// exit 1.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <charconv>
#include <cstdio>
#include <filesystem>
#include <exception>

#include <descent/core/error.h>
#include "tools/commands.h"

namespace {

using descent::tools::EvalCommand;
using descent::tools::option_choices;
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
  train.add_option("--model", c.model, "mlp (784-512-256-10) or cnn (the north-star CNN)")
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
  train.add_option("--warmup-steps", c.warmup_steps, "warmup-cosine's linear warmup (default: 5% of the steps)")
      ->check(bounded("--warmup-steps"));
  train.add_option("--batch-size", c.batch_size, "examples per batch")->check(bounded("--batch-size"))->capture_default_str();
  train.add_option("--accumulate", c.accumulate, "batches whose gradients make one optimizer step")
      ->check(bounded("--accumulate"))->capture_default_str();
  train.add_option("--epochs", c.epochs, "passes over the training set")->check(bounded("--epochs"))->capture_default_str();
  train.add_option("--clip-grad-norm", c.clip_grad_norm, "clip the gradients' total norm to this (0: off)")
      ->check(bounded("--clip-grad-norm"));
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
  CLI::App* eval = app.add_subcommand("eval", "test accuracy and confusion matrix of a checkpoint");
  eval->add_option("--checkpoint", eval_command.checkpoint, "a checkpoint.safetensors written by descent train")
      ->required()->check(CLI::ExistingFile);
  eval->add_option("--data-dir", eval_command.data_dir, "directory of the IDX files (default: the training run's)")
      ->check(CLI::ExistingDirectory);
  eval->add_option("--threads", eval_command.threads, "threads for the kernels (default: all cores)")
      ->check(bounded("--threads"));

  // NOTE: app.help() gives the help of the subcommand on the command line, if any.
  try {
    app.parse(argc, argv);
    if (train->parsed()) check_train_command(*train, train_command, betas_given);
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    std::fputs(app.help("", CLI::AppFormatMode::All).c_str(), stdout);
    return 0;
  } catch (const CLI::ParseError& error) {
    fmt::print(stderr, "descent: error: {}\n{}", error.what(), app.help());
    return descent::tools::kExitUsage;
  }

  try {
    if (train->parsed()) {
      train_command.command_line = joined_command_line(argc, argv);
      return descent::tools::run_train(train_command);
    }
    return descent::tools::run_eval(eval_command);
  } catch (const std::exception& error) {
    std::fflush(stdout);
    fmt::print(stderr, "descent: error: {}\n", error.what());
    return 1;
  }
}
