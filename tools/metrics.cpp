// Evaluation, metrics.csv and curves.png; see tools/metrics.h.
#include "tools/metrics.h"
#include "tools/run_program.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <sstream>

#include <descent/autograd/graph.h>
#include <descent/autograd/ops.h>
#include <descent/core/error.h>
#include <descent/data/dataloader.h>
#include <descent/nn/functional_loss.h>

namespace descent::tools {

Evaluation evaluate(Classifier& model, const Task& task, const data::DatasetPtr& dataset) {
  autograd::NoGradGuard no_grad;
  model.eval();
  // NOTE: an explicit seed, so that building the loader draws nothing from the default
  // generator (a training run's random stream must not depend on when it evaluates).
  data::DataLoader loader(dataset, {.batch_size = task.eval_batch_size, .seed = 0});
  Evaluation result;
  int64_t classes = task.classes();
  result.confusion.assign(classes * classes, 0);
  double loss_sum = 0.0;
  int64_t correct = 0;
  for (auto [x, y] : loader) {
    Tensor logits = model(task.prepare(x));
    Tensor truth = y.flatten().contiguous();  // one target per row of logits
    loss_sum += nn::functional::cross_entropy(logits, truth, {.reduction = nn::functional::Reduction::Sum})
                    .item<float>();
    Tensor predicted = logits.argmax(1).contiguous();
    const int64_t* p = predicted.data<int64_t>();
    const int64_t* t = truth.data<int64_t>();
    for (int64_t i = 0; i < truth.numel(); ++i) {
      ++result.confusion[t[i] * classes + p[i]];
      correct += t[i] == p[i];
    }
    result.examples += truth.numel();
  }
  model.train();
  check<ValueError>(result.examples > 0, "evaluate: the test set is empty");
  result.loss = loss_sum / static_cast<double>(result.examples);
  result.accuracy = static_cast<double>(correct) / static_cast<double>(result.examples);
  return result;
}

std::string format_confusion(const Evaluation& evaluation, const std::vector<std::string>& class_names) {
  int64_t classes = static_cast<int64_t>(class_names.size());
  size_t name_width = 0;
  for (const auto& name : class_names) name_width = std::max(name_width, name.size());
  int64_t largest = *std::max_element(evaluation.confusion.begin(), evaluation.confusion.end());
  int width = static_cast<int>(std::max<size_t>(fmt::formatted_size("{}", largest), 3)) + 1;
  std::string text = fmt::format("{:>{}}  predicted class 0..{} (rows: true class)\n", "", name_width, classes - 1);
  text += fmt::format("{:>{}} ", "", name_width);
  for (int64_t c = 0; c < classes; ++c) text += fmt::format("{:>{}}", c, width);
  text += "\n";
  for (int64_t t = 0; t < classes; ++t) {
    text += fmt::format("{:>{}} ", class_names[t], name_width);
    for (int64_t p = 0; p < classes; ++p) text += fmt::format("{:>{}}", evaluation.confusion[t * classes + p], width);
    text += "\n";
  }
  return text;
}

namespace {

constexpr const char* kCsvHeader =
    "kind,epoch,step,loss,lr,test_loss,test_accuracy,test_bits_per_token,tokens_per_second";

// The rows of an existing metrics.csv whose step (third column) is at most `last_step` (rows
// without a step, such as a line cut short by a kill, are dropped).
std::string rows_up_to(const std::string& path, int64_t last_step) {
  std::ifstream in(path);
  check<ValueError>(in.good(), "descent train --resume: cannot read {}", path);
  std::string line, kept;
  std::getline(in, line);  // the header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string kind, epoch, step;
    std::getline(fields, kind, ',');
    std::getline(fields, epoch, ',');
    std::getline(fields, step, ',');
    int64_t step_value = 0;
    auto [end, error] = std::from_chars(step.data(), step.data() + step.size(), step_value);
    if (error == std::errc() && end == step.data() + step.size() && step_value <= last_step) kept += line + "\n";
  }
  return kept;
}

}  // namespace

MetricsLog::MetricsLog(const std::string& path, int64_t resume_step) {
  std::string kept = resume_step >= 0 ? rows_up_to(path, resume_step) : "";
  out_.open(path, std::ios::trunc);
  check<ValueError>(out_.good(), "descent train: cannot write {}", path);
  out_ << kCsvHeader << "\n" << kept;
}

void MetricsLog::log_step(int64_t epoch, int64_t step, double loss, double lr) {
  out_ << fmt::format("step,{},{},{:.6g},{:.6g},,,,\n", epoch, step, loss, lr);
}

void MetricsLog::log_epoch(int64_t epoch, int64_t step, double train_loss, double lr, const Evaluation& test,
                           double tokens_per_second) {
  out_ << fmt::format("epoch,{},{},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g}\n", epoch, step, train_loss, lr, test.loss,
                      test.accuracy, test.bits_per_token(), tokens_per_second);
  out_.flush();
}

std::string plot_curves(const std::string& dir) {
  std::string script_path = dir + "/curves.gp";
  {
    std::ofstream script(script_path);
    // Three panels; rows of the other kind give NaN (1/0) and are skipped.
    script << "set terminal pngcairo size 1200,900\n"
              "set output 'curves.png'\n"
              "set datafile separator ','\n"
              "set key off\nset grid\n"
              "set multiplot layout 3,1\n"
              "set title 'training loss (line) and test / held-out loss (points)'\n"
              "set xlabel 'step'\nset logscale y\n"
              "plot 'metrics.csv' every ::1 using 3:(strcol(1) eq 'step' ? $4 : 1/0) with lines lc rgb '#4477aa', \\\n"
              "     '' every ::1 using 3:(strcol(1) eq 'epoch' ? $6 : 1/0) with linespoints lc rgb '#aa3377'\n"
              "unset logscale y\n"
              "set title 'test accuracy'\nset xlabel 'epoch'\n"
              "plot 'metrics.csv' every ::1 using 2:(strcol(1) eq 'epoch' ? $7 : 1/0) with linespoints lc rgb '#228833'\n"
              "set title 'learning rate'\nset xlabel 'step'\n"
              "plot 'metrics.csv' every ::1 using 3:(strcol(1) eq 'step' ? $5 : 1/0) with lines lc rgb '#ee6677'\n"
              "unset multiplot\n";
  }
  // The script names its files relative to `dir`, gnuplot's working directory: no path of the
  // user's is written into it or given to a shell.
  switch (run_program({"gnuplot", "curves.gp"}, dir)) {
    case ProgramOutcome::kSucceeded:
      return "";
    case ProgramOutcome::kNotFound:
      return "gnuplot not found: no curves.png (install gnuplot-nox; metrics.csv has the numbers)";
    case ProgramOutcome::kFailed:
      break;
  }
  return fmt::format("gnuplot failed on {}: no curves.png", script_path);
}

}  // namespace descent::tools
