// The subcommands of `descent`, called by tools/main.cpp once the command line is parsed.
// Each returns the process's exit code; errors of the library propagate as exceptions.
#pragma once

#include <cstdint>
#include <string>

#include <descent/nn/sampling.h>
#include "tools/config.h"

namespace descent::tools {

// Exit codes: 0 done, 1 an error while running, 2 a bad command line, 130 stopped by SIGINT or
// SIGTERM (after writing a checkpoint to resume from).
inline constexpr int kExitUsage = 2;

struct TrainCommand {
  TrainConfig config;            // ignored with resume_dir: the checkpoint's config is used
  std::string out_dir;           // "": runs/<date-time>; with resume_dir, that directory
  std::string resume_dir;        // continue the run whose checkpoint is in this directory
  int threads = 0;               // 0: the library's default
  int64_t stop_after_steps = 0;  // > 0: stop (as if interrupted) after this many steps of this invocation
  std::string command_line;      // as typed, for the checkpoint's metadata
};
int run_train(const TrainCommand& command);

struct EvalCommand {
  std::string checkpoint;
  std::string data_dir;  // "": the one the run trained with
  int threads = 0;
  bool json_only = false;  // print only the JSON summary line
};
int run_eval(const EvalCommand& command);

struct SampleCommand {
  std::string checkpoint;  // a `descent train --model gpt` run's directory or its checkpoint file
  std::string prompt;
  int64_t tokens = 200;    // tokens to generate after the prompt
  nn::SamplingOptions sampling;
  uint64_t seed = 0;
  int threads = 0;
};
int run_sample(const SampleCommand& command);

}  // namespace descent::tools
