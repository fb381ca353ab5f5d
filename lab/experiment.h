// The frame of `descent lab`: the registry of experiments, the report each one writes
// (DIR/report.md with the table, a conclusion computed from the numbers and the command that
// reproduces it, plus DIR/results.csv) and its PNG plots through gnuplot. Read this, then one
// experiment (lab/updates.cpp is a short one); copy one to make a new one.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace descent::lab {

// What an experiment is run with.
struct Context {
  std::string name;      // the experiment's name
  bool smoke = false;    // a run of seconds that checks the machinery, not the claim
  std::string out_dir;   // where report.md, results.csv and the plots go (exists)
  std::string data_dir;  // Fashion-MNIST's IDX files
  std::string command;   // the command line that reproduces this run
};

// One cell of a table: text, or a number kept exactly for results.csv and shown with four
// significant digits in report.md.
class Cell {
 public:
  Cell(std::string text) : text_(std::move(text)), exact_(text_) {}
  Cell(const char* text) : Cell(std::string(text)) {}
  Cell(double value);
  Cell(int64_t value);
  Cell(int value) : Cell(static_cast<int64_t>(value)) {}
  const std::string& text() const { return text_; }    // as shown in report.md
  const std::string& exact() const { return exact_; }  // as written to results.csv

 private:
  std::string text_, exact_;
};

// One curve of a line plot: (x, y) points and its title in the key.
struct Series {
  std::string title;
  std::vector<std::pair<double, double>> points;
  std::string style = "lines";  // a gnuplot style: lines, linespoints, points
};

// A PNG drawn by gnuplot: curves over optional contour lines of a function of (x, y), or a heat
// map of values on a grid. Titles and expressions are the experiment's own text, never the user's.
struct Plot {
  std::string file = {};  // "trajectories.png", relative to the output directory
  std::string title = {}, x_label = {}, y_label = {};
  bool log_x = false, log_y = false;
  std::vector<Series> series = {};
  // Contour lines of `contours` (a gnuplot expression in x and y) at `contour_levels`, drawn first.
  std::string contours = {};
  std::vector<double> contour_levels = {};
  std::pair<double, double> x_range{0, 0}, y_range{0, 0};  // both 0: gnuplot's autoscale
  // A heat map instead of curves: values[i * y_ticks.size() + j] at (x_ticks[i], y_ticks[j]),
  // drawn as cells labelled by the ticks (log-spaced hyperparameters read better as labels).
  std::vector<std::string> x_ticks = {}, y_ticks = {};
  std::vector<double> values = {};
};

// What an experiment returns: report.md's sections, filled as the run goes.
class Report {
 public:
  explicit Report(std::string title) : title_(std::move(title)) {}

  // "What was run": markdown paragraphs, in order.
  void describe(const std::string& markdown) { description_.push_back(markdown); }
  // The table: set its columns once, then add rows of as many cells.
  void set_columns(std::vector<std::string> columns);
  void add_row(std::vector<Cell> cells);
  // The one-sentence conclusion, computed from the numbers by the experiment.
  void conclude(std::string sentence) { conclusion_ = std::move(sentence); }
  // Draws the plot into the output directory now; a plot gnuplot could not draw becomes a note.
  void plot(const Context& context, const Plot& plot);
  // Remarks under the table (what was not run, a departure from the paper).
  void note(const std::string& markdown) { notes_.push_back(markdown); }

  const std::vector<std::string>& columns() const { return columns_; }
  const std::vector<std::vector<Cell>>& rows() const { return rows_; }
  const std::string& conclusion() const { return conclusion_; }

  // report.md and results.csv (the table, numbers exact) in context.out_dir.
  void write(const Context& context) const;

 private:
  std::string title_;
  std::vector<std::string> description_, notes_, plots_;
  std::vector<std::string> columns_;
  std::vector<std::vector<Cell>> rows_;
  std::string conclusion_;
};

// The registry: each experiment's file registers itself with a namespace-scope Registration.
struct Experiment {
  std::string name;     // as typed after `descent lab`
  std::string summary;  // one line for `descent lab --list`
  std::function<Report(const Context&)> run;
};
struct Registration {
  explicit Registration(Experiment experiment);
};
// Every registered experiment, by name.
std::vector<Experiment> experiments();
// The names, comma-separated, for messages.
std::string experiment_names();

}  // namespace descent::lab
