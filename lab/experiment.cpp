// The registry, report.md / results.csv and the gnuplot scripts of lab/experiment.h.
#include "lab/experiment.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include <descent/core/error.h>
// NOTE: lab/ sits below tools/, but the one safe way to start gnuplot (an argument vector, no
// shell) lives there; both are compiled into the same program.
#include "tools/run_program.h"

namespace descent::lab {

Cell::Cell(double value) : exact_(fmt::format("{}", value)) {
  text_ = std::isfinite(value) ? fmt::format("{:.4g}", value) : exact_;
}

Cell::Cell(int64_t value) : text_(fmt::format("{}", value)), exact_(text_) {}

void Report::set_columns(std::vector<std::string> columns) {
  check<ValueError>(rows_.empty(), "Report::set_columns: {}: the table already has rows", title_);
  columns_ = std::move(columns);
}

void Report::add_row(std::vector<Cell> cells) {
  check<ValueError>(cells.size() == columns_.size(), "Report::add_row: {}: {} cells for {} columns", title_,
                    cells.size(), columns_.size());
  for (const Cell& cell : cells) {
    check<ValueError>(cell.exact().find_first_of(",\"\n") == std::string::npos,
                      "Report::add_row: {}: the cell \"{}\" would break results.csv", title_, cell.exact());
  }
  rows_.push_back(std::move(cells));
}

namespace {

// A gnuplot single-quoted string ('' is a quote inside one).
std::string quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

std::string range(const char* axis, std::pair<double, double> bounds) {
  if (bounds.first == 0 && bounds.second == 0) return "";
  return fmt::format("set {}range [{}:{}]\n", axis, bounds.first, bounds.second);
}

// The curves (one data block per series) and, before them, the contour lines.
std::string line_plot_script(const Plot& plot, const std::string& stem, const std::string& out_dir) {
  {
    std::ofstream data(out_dir + "/" + stem + ".dat");
    for (const Series& series : plot.series) {
      data << "# " << series.title << "\n";
      for (auto [x, y] : series.points) {
        if (std::isfinite(x) && std::isfinite(y)) data << fmt::format("{} {}\n", x, y);
      }
      data << "\n\n";
    }
  }
  std::string script;
  script += range("x", plot.x_range) + range("y", plot.y_range);
  if (plot.log_x) script += "set logscale x\n";
  if (plot.log_y) script += "set logscale y\n";
  std::string layers;
  if (!plot.contours.empty()) {
    // Contour lines traced by gnuplot into a table, then drawn as plain lines under the curves.
    std::string levels;
    for (double level : plot.contour_levels) levels += fmt::format("{}{}", levels.empty() ? "" : ",", level);
    script += fmt::format(
        "set isosamples 200,200\nset samples 200,200\nset contour base\nunset surface\nset view map\n"
        "set cntrparam levels discrete {}\nset table '{}_contours.dat'\nsplot {}\nunset table\n"
        "unset contour\nset surface\n",
        levels, stem, plot.contours);
    layers = fmt::format("'{}_contours.dat' with lines lc rgb '#cccccc' notitle, ", stem);
  }
  script += "plot " + layers;
  for (size_t i = 0; i < plot.series.size(); ++i) {
    script += fmt::format("{}'{}.dat' index {} using 1:2 with {} lw 2 title {}", i ? ", " : "", stem, i,
                          plot.series[i].style, quoted(plot.series[i].title));
  }
  return script + "\n";
}

// The cells of a heat map as (i, j, value), labelled with the ticks and their values.
std::string heat_map_script(const Plot& plot, const std::string& stem, const std::string& out_dir) {
  size_t nx = plot.x_ticks.size(), ny = plot.y_ticks.size();
  check<ValueError>(plot.values.size() == nx * ny, "Report::plot: {}: {} values for a {} x {} heat map", plot.file,
                    plot.values.size(), nx, ny);
  {
    std::ofstream data(out_dir + "/" + stem + ".dat");
    for (size_t i = 0; i < nx; ++i) {
      for (size_t j = 0; j < ny; ++j) data << fmt::format("{} {} {}\n", i, j, plot.values[i * ny + j]);
      data << "\n";
    }
  }
  auto ticks = [](const std::vector<std::string>& labels) {
    std::string text;
    for (size_t i = 0; i < labels.size(); ++i) text += fmt::format("{}{} {}", i ? ", " : "", quoted(labels[i]), i);
    return text;
  };
  return fmt::format(
      "set xtics ({})\nset ytics ({})\nset xrange [-0.5:{}]\nset yrange [-0.5:{}]\nunset grid\nunset key\n"
      "set palette defined (0 '#440154', 1 '#21918c', 2 '#fde725')\n"
      "plot '{}.dat' using 1:2:3 with image notitle, '' using 1:2:(sprintf('%.3f', $3)) with labels "
      "tc rgb '#ffffff' notitle\n",
      ticks(plot.x_ticks), ticks(plot.y_ticks), nx - 0.5, ny - 0.5, stem);
}

}  // namespace

void Report::plot(const Context& context, const Plot& plot) {
  std::string stem = plot.file.substr(0, plot.file.rfind('.'));
  std::string script = fmt::format("set terminal pngcairo noenhanced size 900,650\nset output {}\nset title {}\n"
                                   "set xlabel {}\nset ylabel {}\nset grid\nset key box opaque\n",
                                   quoted(plot.file), quoted(plot.title), quoted(plot.x_label),
                                   quoted(plot.y_label));
  script += plot.values.empty() ? line_plot_script(plot, stem, context.out_dir)
                                : heat_map_script(plot, stem, context.out_dir);
  std::ofstream(context.out_dir + "/" + stem + ".gp") << script;
  // gnuplot runs in the output directory and reads only the names written above.
  switch (tools::run_program({"gnuplot", stem + ".gp"}, context.out_dir)) {
    case tools::ProgramOutcome::kSucceeded:
      plots_.push_back(plot.file);
      return;
    case tools::ProgramOutcome::kNotFound:
      note(fmt::format("No {}: gnuplot not found (install gnuplot-nox; {}.dat has the numbers).", plot.file, stem));
      return;
    case tools::ProgramOutcome::kFailed:
      note(fmt::format("No {}: gnuplot failed on {}.gp.", plot.file, stem));
      return;
  }
}

void Report::write(const Context& context) const {
  std::string md = fmt::format("# lab: {}\n\n## What was run\n\n", title_);
  if (context.smoke) md += "**Smoke run**: a few seconds that check the machinery; the numbers test no claim.\n\n";
  for (const std::string& paragraph : description_) md += paragraph + "\n\n";
  md += "## Results\n\n|";
  for (const std::string& column : columns_) md += " " + column + " |";
  md += "\n|";
  for (size_t i = 0; i < columns_.size(); ++i) md += "---|";
  md += "\n";
  for (const auto& row : rows_) {
    md += "|";
    for (const Cell& cell : row) md += " " + cell.text() + " |";
    md += "\n";
  }
  md += "\n";
  for (const std::string& note : notes_) md += note + "\n\n";
  md += "## Conclusion\n\n" + conclusion_ + "\n\n";
  if (!plots_.empty()) {
    md += "## Plots\n\n";
    for (const std::string& file : plots_) md += fmt::format("![{}]({})\n\n", file, file);
  }
  md += fmt::format("## Reproduce\n\n```\n{}\n```\n", context.command);
  std::ofstream report(context.out_dir + "/report.md");
  report << md;
  check<ValueError>(report.good(), "descent lab {}: cannot write {}/report.md", context.name, context.out_dir);

  // results.csv: the same table, numbers exact (add_row refused cells with commas or quotes).
  std::ofstream csv(context.out_dir + "/results.csv");
  for (size_t i = 0; i < columns_.size(); ++i) csv << (i ? "," : "") << columns_[i];
  csv << "\n";
  for (const auto& row : rows_) {
    for (size_t i = 0; i < row.size(); ++i) csv << (i ? "," : "") << row[i].exact();
    csv << "\n";
  }
}

namespace {

std::vector<Experiment>& registry() {
  static std::vector<Experiment> experiments;  // filled before main() by the Registrations
  return experiments;
}

}  // namespace

Registration::Registration(Experiment experiment) { registry().push_back(std::move(experiment)); }

std::vector<Experiment> experiments() {
  std::vector<Experiment> sorted = registry();
  std::sort(sorted.begin(), sorted.end(), [](const Experiment& a, const Experiment& b) { return a.name < b.name; });
  return sorted;
}

std::string experiment_names() {
  std::string names;
  for (const Experiment& experiment : experiments()) names += (names.empty() ? "" : ", ") + experiment.name;
  return names;
}

}  // namespace descent::lab
