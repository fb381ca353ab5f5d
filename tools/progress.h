// What `descent train` shows while an epoch runs: on a terminal, a bar redrawn in place at most
// ten times a second that fits the terminal's width (re-read after SIGWINCH); otherwise nothing
// until the epoch's one plain line (written by the caller), so logs stay one line per epoch.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace descent::tools {

// What one drawing of the bar shows.
struct ProgressState {
  int64_t epoch = 1, epochs = 1;   // 1-based
  int64_t step = 0, steps = 0;     // optimizer steps done in this epoch, of `steps`
  double loss = 0.0, lr = 0.0;     // of the last step
  double elapsed_seconds = 0.0;    // since the bar started (this invocation's part of the epoch)
  double steps_per_second = 0.0;   // over the bar's steps so far; 0: not known yet
  double samples_per_second = 0.0;
};

// The bar as one line of at most `width` - 1 characters (the last column is left free, so that
// no terminal wraps), like tqdm's:
//   epoch 1/3  45%|#####      | 450/1000 [00:12<00:15, 36.21 it/s] loss 0.4123 lr 0.05 2318 samples/s
// When narrow, fields are dropped in a fixed order: samples/s, lr, it/s, elapsed, the bar, the
// percentage, the remaining time, the loss; "epoch e/E step/steps" is cut only below ~20 columns.
std::string render_progress(const ProgressState& state, int width);

// mm:ss, or h:mm:ss from an hour on (tqdm's format); "?" for a time not known.
std::string format_duration(double seconds);

class ProgressBar {
 public:
  // `first_step` is the epoch's step the bar starts after (> 0 when resumed mid-epoch).
  ProgressBar(int64_t epoch, int64_t epochs, int64_t steps, int64_t first_step = 0);
  // After optimizer step `step` (1-based within the epoch) of the epoch.
  void update(int64_t step, double loss, double lr, int64_t samples);
  // Clears the bar's line, so the caller's epoch line replaces it.
  void finish();

 private:
  using Clock = std::chrono::steady_clock;
  bool on_terminal_;
  int64_t epoch_, epochs_, steps_, first_step_;
  Clock::time_point start_, last_draw_;
  int64_t samples_ = 0;
};

}  // namespace descent::tools
