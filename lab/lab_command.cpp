// The `descent lab` subcommand of lab/lab_command.h.
#include "lab/lab_command.h"

#include <fmt/format.h>

#include <filesystem>

#include <descent/core/parallel.h>
#include "lab/experiment.h"

namespace descent::lab {

CLI::App* add_lab_subcommand(CLI::App& app, LabCommand& command) {
  CLI::App* lab = app.add_subcommand("lab", "run one of the experiments on SGD and write its report.md and plots");
  lab->add_option("name", command.name, "the experiment (descent lab --list shows them)");
  lab->add_flag("--list", command.list, "list the experiments, one line each");
  lab->add_flag("--smoke", command.smoke, "a run of seconds that checks the machinery (not the claim)");
  lab->add_option("--out", command.out_dir, "directory for report.md, results.csv and the plots "
                                            "(default: runs/lab-<name>)");
  lab->add_option("--data-dir", command.data_dir, "Fashion-MNIST's IDX files")->capture_default_str();
  lab->add_option("--threads", command.threads, "threads for the kernels (default: all cores)")
      ->check(CLI::PositiveNumber);
  return lab;
}

void check_lab_command(const LabCommand& command) {
  if (command.list) return;
  if (command.name.empty()) {
    throw CLI::ValidationError("name", "which experiment? one of " + experiment_names());
  }
  for (const Experiment& experiment : experiments()) {
    if (experiment.name == command.name) return;
  }
  throw CLI::ValidationError("name", fmt::format("unknown experiment {}; the experiments are {}", command.name,
                                                 experiment_names()));
}

namespace {

// The command line that repeats this run, options in a fixed order.
std::string reproducing_command(const LabCommand& command, const std::string& out_dir) {
  std::string line = "descent lab " + command.name;
  if (command.smoke) line += " --smoke";
  line += " --out " + out_dir;
  if (command.data_dir != LabCommand{}.data_dir) line += " --data-dir " + command.data_dir;
  if (command.threads > 0) line += fmt::format(" --threads {}", command.threads);
  return line;
}

}  // namespace

int run_lab(const LabCommand& command) {
  if (command.list) {
    for (const Experiment& experiment : experiments()) fmt::print("{:<14} {}\n", experiment.name, experiment.summary);
    return 0;
  }
  if (command.threads > 0) set_num_threads(command.threads);
  const std::string out_dir = command.out_dir.empty() ? "runs/lab-" + command.name : command.out_dir;
  std::filesystem::create_directories(out_dir);
  Context context{.name = command.name,
                  .smoke = command.smoke,
                  .out_dir = out_dir,
                  .data_dir = command.data_dir,
                  .command = reproducing_command(command, out_dir)};
  for (const Experiment& experiment : experiments()) {
    if (experiment.name != command.name) continue;
    Report report = experiment.run(context);
    report.write(context);
    fmt::print("{}\nwrote {}/report.md\n", report.conclusion(), out_dir);
    return 0;
  }
  return 1;  // check_lab_command has rejected unknown names
}

}  // namespace descent::lab
