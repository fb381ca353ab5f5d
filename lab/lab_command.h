// `descent lab NAME [--smoke] [--out DIR]` and `descent lab --list`: the subcommand's options,
// the checks CLI11 cannot make, and the run (one experiment of the registry, lab/experiment.h).
// tools/main.cpp adds the subcommand and calls these; nothing else of tools/ is involved.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace descent::lab {

struct LabCommand {
  std::string name;  // the experiment
  bool list = false;
  bool smoke = false;
  std::string out_dir;  // "": runs/lab-<name>
  std::string data_dir = "/usr/share/datasets/fashion-mnist";
  int threads = 0;  // 0: the library's default
};

// Adds the `lab` subcommand to `app`, its options writing into `command`.
CLI::App* add_lab_subcommand(CLI::App& app, LabCommand& command);
// Throws CLI::ValidationError for an unknown experiment (naming the known ones) or a missing one.
void check_lab_command(const LabCommand& command);
// Lists the experiments, or runs one and writes its report; returns the exit code.
int run_lab(const LabCommand& command);

}  // namespace descent::lab
