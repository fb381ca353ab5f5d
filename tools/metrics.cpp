// Evaluation, metrics.csv and curves.png; see tools/metrics.h.
#include "tools/metrics.h"
#include "tools/run_program.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
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
    "kind,epoch,step,loss,lr,test_loss,test_accuracy,test_bits_per_token,tokens_per_second,wall_time";

double unix_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

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

// A metadata text as JSON: an integer or a number when all of it reads as one, else the string.
nlohmann::ordered_json typed_value(const std::string& text) {
  const char* first = text.data();
  const char* last = first + text.size();
  int64_t integer = 0;
  if (auto [end, error] = std::from_chars(first, last, integer); error == std::errc() && end == last && !text.empty()) {
    return integer;
  }
  double number = 0;
  if (auto [end, error] = std::from_chars(first, last, number); error == std::errc() && end == last && !text.empty()) {
    return number;
  }
  return text;
}

// Writes `text` to `path` through a temporary file and a rename, so a reader never sees half.
void write_whole_file(const std::string& path, const std::string& text) {
  std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << text;
    check<ValueError>(out.good(), "descent train: cannot write {}", temporary);
  }
  std::filesystem::rename(temporary, path);
}

}  // namespace

MetricsLog::MetricsLog(const std::string& path, int64_t resume_step) {
  std::string kept = resume_step >= 0 ? rows_up_to(path, resume_step) : "";
  out_.open(path, std::ios::trunc);
  check<ValueError>(out_.good(), "descent train: cannot write {}", path);
  out_ << kCsvHeader << "\n" << kept;
}

void MetricsLog::log_step(int64_t epoch, int64_t step, double loss, double lr) {
  out_ << fmt::format("step,{},{},{:.6g},{:.6g},,,,,{:.3f}\n", epoch, step, loss, lr, unix_seconds());
}

void MetricsLog::log_epoch(int64_t epoch, int64_t step, double train_loss, double lr, const Evaluation& test,
                           double tokens_per_second) {
  out_ << fmt::format("epoch,{},{},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.3f}\n", epoch, step, train_loss, lr,
                      test.loss, test.accuracy, test.bits_per_token(), tokens_per_second, unix_seconds());
  out_.flush();
}

void write_hparams(const std::string& dir, const std::map<std::string, std::string>& config_metadata,
                   const std::string& command_line, const std::vector<std::string>& resumed_with) {
  nlohmann::ordered_json json;
  const std::string prefix = "config.";
  for (const auto& [key, text] : config_metadata) {
    json[key.rfind(prefix, 0) == 0 ? key.substr(prefix.size()) : key] = typed_value(text);
  }
  json["command_line"] = command_line;
  json["resumed_with"] = resumed_with;
  write_whole_file(dir + "/hparams.json", json.dump(2) + "\n");
}

namespace {

// curves.gp. Rows of metrics.csv carry either step or epoch values; a panel reads the columns of
// one kind: test columns are empty in step rows (gnuplot skips a missing value without breaking
// the line), and step curves repeat their last value at an epoch row (1/0 would break them).
std::string curves_script(int64_t epochs, int64_t steps) {
  // An exponential moving average over about a thirtieth of the run, debiased like Adam's
  // moments (Kingma & Ba 2015, Algorithm 1) so that its first steps are not pulled to 0.
  double window = std::max(5.0, static_cast<double>(steps) / 30.0);
  bool few_epochs = epochs <= 12;
  std::string script = fmt::format(
      R"(# curves.png of a `descent train` run, from metrics.csv beside this script. Runs from any
# directory: gnuplot DIR/curves.gp (or gnuplot -c DIR/curves.gp OTHER.png to name the output).
here = ARG0; cut = 0
do for [i = 1:strlen(here)] {{ if (here[i:i] eq '/') {{ cut = i }} }}
if (cut > 0) {{ cd here[1:cut] }}
output = ARGC > 0 ? ARG1 : 'curves.png'
set terminal pngcairo size 1200,1000 font ',10'
set output output
set datafile separator ','
set grid
set multiplot layout 3,1

set title 'loss'
set xlabel 'step'
set logscale y
set key bottom left opaque
smoothing = {smoothing:.6f}
raw = NaN; n = 0; average = 0
smoothed(loss) = (n = n + 1, average = smoothing * average + (1 - smoothing) * loss, average / (1 - smoothing ** n))
plot 'metrics.csv' every ::1 using 3:(strcol(1) eq 'step' ? (raw = $4) : raw) with lines lc rgb '#bbccee' title 'training loss (per step)', \
     '' every ::1 using 3:(strcol(1) eq 'step' ? smoothed($4) : average / (1 - smoothing ** n)) with lines lw 2 lc rgb '#4477aa' title 'training loss (smoothed)', \
     '' every ::1 using 3:6 with linespoints pt 7 ps 1.2 lw 2 lc rgb '#ee6677' title 'test loss (per epoch)'
unset logscale y

set title 'test accuracy'
set xlabel 'epoch'
set key off
set format y '%g%%'
set xrange [0.5:{last_epoch}]
{xtics}
plot 'metrics.csv' every ::1 using 2:(100 * $7) with linespoints pt 7 ps 1.5 lw 2 lc rgb '#228833'{labels}

set title 'learning rate'
set xlabel 'step'
set autoscale x
set xtics autofreq
set yrange [0:*]
set offsets 0, 0, graph 0.1, 0
set format y '%g'
rate = NaN
plot 'metrics.csv' every ::1 using 3:(strcol(1) eq 'step' ? (rate = $5) : rate) with lines lw 2 lc rgb '#ee6677'
unset multiplot
)",
      fmt::arg("smoothing", 1.0 - 1.0 / window), fmt::arg("last_epoch", epochs + 0.5),
      fmt::arg("xtics", few_epochs ? "set xtics 1" : "set xtics autofreq"),
      fmt::arg("labels", few_epochs ? ", \\\n     '' every ::1 using 2:(100 * $7):(sprintf('%.2f%%', 100 * $7)) with "
                                      "labels offset 0,1.2 textcolor rgb '#228833'"
                                    : ""));
  return script;
}

}  // namespace

std::string plot_curves(const std::string& dir, int64_t epochs, int64_t steps) {
  std::string script_path = dir + "/curves.gp";
  write_whole_file(script_path, curves_script(epochs, steps));
  // gnuplot draws into curves.new.png, renamed over curves.png only when it succeeded: a plot
  // that failed (no data, a kill) never replaces a good one. The script names its files relative
  // to its own directory: no path of the user's is written into it or given to a shell.
  const std::string drawn = dir + "/curves.new.png";
  ProgramOutcome outcome = run_program({"gnuplot", "-c", "curves.gp", "curves.new.png"}, dir);
  std::error_code ignored;
  if (outcome == ProgramOutcome::kSucceeded && std::filesystem::file_size(drawn, ignored) > 0) {
    std::filesystem::rename(drawn, dir + "/curves.png");
    return "";
  }
  std::filesystem::remove(drawn, ignored);
  if (outcome == ProgramOutcome::kNotFound) {
    return "gnuplot not found: no curves.png (install gnuplot-nox; metrics.csv has the numbers)";
  }
  return fmt::format("gnuplot failed on {}: curves.png not drawn", script_path);
}

}  // namespace descent::tools
