// Measuring a run: test loss, accuracy and confusion matrix of a model; metrics.csv (one row per
// optimizer step and one per epoch); curves.png drawn from it by gnuplot.
#pragma once

#include <cmath>
#include <cstdint>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "tools/models.h"
#include "tools/tasks.h"

namespace descent::tools {

struct Evaluation {
  double loss = 0.0;       // mean cross-entropy per target (nats)
  double accuracy = 0.0;   // fraction correct
  int64_t examples = 0;    // targets scored (a text window has one per position)
  std::vector<int64_t> confusion;  // [true class * classes + predicted class]
  // The loss in bits: bits per byte for byte-level text.
  double bits_per_token() const { return loss / std::log(2.0); }
};

// The model (switched to eval mode, under no-grad) over `dataset` in order.
Evaluation evaluate(Classifier& model, const Task& task, const data::DatasetPtr& dataset);

// The confusion matrix as text: a row per true class, a column per predicted class.
std::string format_confusion(const Evaluation& evaluation, const std::vector<std::string>& class_names);

// metrics.csv: kind,epoch,step,loss,lr,test_loss,test_accuracy,test_bits_per_token,
// tokens_per_second,wall_time. "step" rows hold the training loss and lr of one optimizer step;
// "epoch" rows the epoch's mean training loss, the test metrics after it and the training
// throughput in targets per second (next tokens for text, examples for the classifiers);
// wall_time is the Unix time of the row in seconds (TensorBoard's).
class MetricsLog {
 public:
  // A new file; or, when resuming from `resume_step`, the existing file without the rows written
  // after that step (a run killed after its last checkpoint wrote some).
  MetricsLog(const std::string& path, int64_t resume_step);
  void log_step(int64_t epoch, int64_t step, double loss, double lr);
  void log_epoch(int64_t epoch, int64_t step, double train_loss, double lr, const Evaluation& test,
                 double tokens_per_second);
  void flush() { out_.flush(); }

 private:
  std::ofstream out_;
};

// <dir>/hparams.json (like Lightning's hparams.yaml): the run's config (numbers as numbers), the
// command line of its first invocation and those of its resumes ("resumed_with").
void write_hparams(const std::string& dir, const std::map<std::string, std::string>& config_metadata,
                   const std::string& command_line, const std::vector<std::string>& resumed_with);

// Draws <dir>/curves.png from <dir>/metrics.csv with gnuplot: training loss per step (raw and
// smoothed) with the test loss per epoch on one log-scale panel, test accuracy per epoch, lr per
// step. The script stays beside it as curves.gp (`gnuplot DIR/curves.gp` from any directory).
// An existing curves.png is replaced only by a plot that succeeded. Returns "" on success, else
// a note saying why there is no new plot: the run never fails for it.
std::string plot_curves(const std::string& dir, int64_t epochs, int64_t steps);

}  // namespace descent::tools
