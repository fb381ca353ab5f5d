// What `descent train` shows while an epoch runs: on a terminal a bar redrawn in place (step,
// loss, lr, samples/s, ETA) at most ten times a second; otherwise nothing until the epoch's
// one plain line (written by the caller), so logs stay one line per epoch.
#pragma once

#include <chrono>
#include <cstdint>

namespace descent::tools {

class ProgressBar {
 public:
  ProgressBar(int64_t epoch, int64_t epochs, int64_t steps);
  // After optimizer step `step` (1-based within the epoch) of the epoch.
  void update(int64_t step, double loss, double lr, int64_t samples);
  // Clears the bar's line, so the caller's epoch line replaces it.
  void finish();

 private:
  using Clock = std::chrono::steady_clock;
  bool on_terminal_;
  int64_t epoch_, epochs_, steps_;
  Clock::time_point start_, last_draw_;
  int64_t samples_ = 0;
};

}  // namespace descent::tools
