// The per-epoch progress bar; see tools/progress.h. The line is composed by render_progress (a
// pure function of the state and the width); ProgressBar asks the terminal for its width, once
// and again after each SIGWINCH, whose handler only sets a flag.
#include "tools/progress.h"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <string>

namespace descent::tools {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  auto total = static_cast<int64_t>(seconds);
  int64_t hours = total / 3600, minutes = total / 60 % 60, rest = total % 60;
  return hours > 0 ? fmt::format("{}:{:02}:{:02}", hours, minutes, rest) : fmt::format("{:02}:{:02}", minutes, rest);
}

namespace {

// The optional fields, in the order they are dropped when the line does not fit.
enum Field { kSamplesPerSecond, kLr, kStepsPerSecond, kElapsed, kBar, kPercent, kRemaining, kLoss, kFields };

std::string format_rate(double steps_per_second) {
  if (steps_per_second <= 0) return "? it/s";
  // tqdm's inversion: below one step a second, seconds per step read better.
  return steps_per_second >= 1 ? fmt::format("{:.2f} it/s", steps_per_second)
                               : fmt::format("{:.2f} s/it", 1.0 / steps_per_second);
}

// The line with the fields of `shown`, its bar `bar_width` characters between the two '|'.
std::string compose(const ProgressState& s, const bool (&shown)[kFields], int bar_width) {
  std::string line = fmt::format("epoch {}/{}", s.epoch, s.epochs);
  double fraction = s.steps > 0 ? std::clamp(static_cast<double>(s.step) / static_cast<double>(s.steps), 0.0, 1.0) : 0.0;
  if (shown[kPercent]) line += fmt::format(" {:3}%", static_cast<int>(100.0 * fraction));
  if (shown[kBar]) {
    int filled = static_cast<int>(std::floor(fraction * bar_width));
    line += fmt::format("|{}{}|", std::string(filled, '#'), std::string(bar_width - filled, ' '));
  } else {
    line += " ";
  }
  line += fmt::format("{}{}/{}", shown[kBar] ? " " : "", s.step, s.steps);

  std::string times;
  if (shown[kElapsed]) times += format_duration(s.elapsed_seconds);
  if (shown[kRemaining]) {
    double remaining = s.steps_per_second > 0 ? static_cast<double>(s.steps - s.step) / s.steps_per_second : -1.0;
    times += shown[kElapsed] ? fmt::format("<{}", format_duration(remaining))
                             : fmt::format("{} left", format_duration(remaining));
  }
  if (shown[kStepsPerSecond]) times += fmt::format("{}{}", times.empty() ? "" : ", ", format_rate(s.steps_per_second));
  if (!times.empty()) line += fmt::format(" [{}]", times);

  if (shown[kLoss]) line += fmt::format(" loss {:.4f}", s.loss);
  if (shown[kLr]) line += fmt::format(" lr {:.3g}", s.lr);
  if (shown[kSamplesPerSecond]) line += fmt::format(" {:.0f} samples/s", s.samples_per_second);
  return line;
}

}  // namespace

std::string render_progress(const ProgressState& state, int width) {
  constexpr int kMinBar = 10;
  const int room = std::max(width - 1, 1);
  bool shown[kFields];
  std::fill(std::begin(shown), std::end(shown), true);
  for (int dropped = 0; dropped <= kFields; ++dropped) {
    std::string line = compose(state, shown, kMinBar);
    int length = static_cast<int>(line.size());
    if (length <= room) {
      return shown[kBar] ? compose(state, shown, kMinBar + room - length) : line;
    }
    if (dropped < kFields) shown[dropped] = false;
  }
  return compose(state, shown, kMinBar).substr(0, static_cast<size_t>(room));
}

namespace {

// Set by SIGWINCH: the next drawing asks the terminal for its width again.
volatile std::sig_atomic_t g_resized = 1;

extern "C" void note_resize(int) { g_resized = 1; }

// The handler, installed once, with SA_RESTART so that no system call of the run is interrupted.
void watch_resizes() {
  static const bool installed = [] {
    struct sigaction action {};
    action.sa_handler = note_resize;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    return sigaction(SIGWINCH, &action, nullptr) == 0;
  }();
  (void)installed;
}

// The terminal's columns, asked again only after a SIGWINCH; 80 when it does not say. One value
// for every bar of the process: each epoch's bar is a new ProgressBar.
int terminal_width() {
  static int width = 80;
  if (g_resized) {
    g_resized = 0;
    winsize size{};
    width = ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0 ? size.ws_col : 80;
  }
  return width;
}

}  // namespace

ProgressBar::ProgressBar(int64_t epoch, int64_t epochs, int64_t steps, int64_t first_step)
    : on_terminal_(isatty(STDOUT_FILENO) != 0), epoch_(epoch), epochs_(epochs), steps_(steps),
      first_step_(first_step), start_(Clock::now()), last_draw_(start_) {
  if (on_terminal_) watch_resizes();
}

void ProgressBar::update(int64_t step, double loss, double lr, int64_t samples) {
  samples_ += samples;
  if (!on_terminal_) return;
  auto now = Clock::now();
  if (step != steps_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  double seconds = std::chrono::duration<double>(now - start_).count();
  // NOTE: the rates are means over the bar's steps, not tqdm's exponential moving average: the
  // steps of one run cost the same, and a mean's remaining time does not jump.
  ProgressState state{.epoch = epoch_, .epochs = epochs_, .step = step, .steps = steps_, .loss = loss, .lr = lr,
                      .elapsed_seconds = seconds,
                      .steps_per_second = seconds > 0 ? static_cast<double>(step - first_step_) / seconds : 0.0,
                      .samples_per_second = seconds > 0 ? static_cast<double>(samples_) / seconds : 0.0};
  fmt::print("\r{}\033[K", render_progress(state, terminal_width()));
  std::fflush(stdout);
}

void ProgressBar::finish() {
  if (!on_terminal_) return;
  fmt::print("\r\033[K");
  std::fflush(stdout);
}

}  // namespace descent::tools
