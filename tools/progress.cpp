// The per-epoch progress bar; see tools/progress.h.
#include "tools/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>

namespace descent::tools {

ProgressBar::ProgressBar(int64_t epoch, int64_t epochs, int64_t steps)
    : on_terminal_(isatty(fileno(stdout)) != 0), epoch_(epoch), epochs_(epochs), steps_(steps),
      start_(Clock::now()), last_draw_(start_) {}

void ProgressBar::update(int64_t step, double loss, double lr, int64_t samples) {
  samples_ += samples;
  if (!on_terminal_) return;
  auto now = Clock::now();
  if (step != steps_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  double seconds = std::chrono::duration<double>(now - start_).count();
  double rate = seconds > 0 ? static_cast<double>(samples_) / seconds : 0.0;
  double eta = step > 0 ? seconds * static_cast<double>(steps_ - step) / static_cast<double>(step) : 0.0;
  constexpr int kWidth = 30;
  int filled = static_cast<int>(kWidth * step / std::max<int64_t>(steps_, 1));
  std::string bar = std::string(filled, '#') + std::string(kWidth - filled, '.');
  fmt::print("\r\033[Kepoch {}/{} [{}] {}/{}  loss {:.4f}  lr {:.3g}  {:.0f} samples/s  ETA {:.0f}s", epoch_, epochs_,
             bar, step, steps_, loss, lr, rate, eta);
  std::fflush(stdout);
}

void ProgressBar::finish() {
  if (!on_terminal_) return;
  fmt::print("\r\033[K");
  std::fflush(stdout);
}

}  // namespace descent::tools
