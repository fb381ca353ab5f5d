// Unit tests of the progress bar's pure part (tools/progress.h): the line fits every width, the
// fields go in the documented order as the terminal narrows, and the times read like tqdm's.
#include <gtest/gtest.h>

#include <string>

#include "tools/progress.h"

namespace descent::tools {
namespace {

ProgressState halfway() {
  return {.epoch = 2, .epochs = 10, .step = 450, .steps = 1000, .loss = 0.41234, .lr = 0.05,
          .elapsed_seconds = 12.4, .steps_per_second = 36.29, .samples_per_second = 2322.6};
}

bool has(const std::string& line, const std::string& part) { return line.find(part) != std::string::npos; }

TEST(RenderProgress, FitsEveryWidthLeavingTheLastColumnFree) {
  for (int width = 1; width <= 250; ++width) {
    std::string line = render_progress(halfway(), width);
    EXPECT_LE(static_cast<int>(line.size()), std::max(width - 1, 1)) << "width " << width << ": " << line;
    EXPECT_EQ(line.find('\n'), std::string::npos) << "width " << width;
  }
}

TEST(RenderProgress, WideShowsEveryFieldAndTheBarFillsTheLine) {
  std::string line = render_progress(halfway(), 120);
  EXPECT_EQ(line.size(), 119u) << line;
  for (const char* part : {"epoch 2/10", " 45%|", "| 450/1000", "[00:12<00:15, 36.29 it/s]", "loss 0.4123",
                           "lr 0.05", "2323 samples/s"}) {
    EXPECT_TRUE(has(line, part)) << "no '" << part << "' in: " << line;
  }
  // 45% of the bar's characters between the two '|' are filled.
  size_t open = line.find('|'), close = line.find('|', open + 1);
  std::string bar = line.substr(open + 1, close - open - 1);
  size_t filled = bar.find_first_not_of('#');
  EXPECT_EQ(filled, static_cast<size_t>(0.45 * static_cast<double>(bar.size()))) << bar;
}

TEST(RenderProgress, DropsFieldsInTheDocumentedOrder) {
  // Each narrower width loses one more field; a field once gone never comes back.
  const std::pair<const char*, const char*> order[] = {
      {"samples/s", "samples/s"}, {"lr", " lr "}, {"it/s", "it/s"}, {"elapsed", "00:12<"},
      {"bar", "|"}, {"percent", "%"}, {"remaining", "00:15"}, {"loss", "loss"}};
  size_t gone = 0;
  for (int width = 160; width >= 20; --width) {
    std::string line = render_progress(halfway(), width);
    while (gone < std::size(order) && !has(line, order[gone].second)) ++gone;
    for (size_t i = gone; i < std::size(order); ++i) {
      EXPECT_TRUE(has(line, order[i].second)) << "width " << width << ": " << order[i].first
                                              << " dropped before " << order[gone].first << ": " << line;
    }
    EXPECT_TRUE(has(line, "epoch 2/10")) << "width " << width << ": " << line;
    EXPECT_TRUE(has(line, "450/1000")) << "width " << width << ": " << line;
  }
  EXPECT_EQ(gone, std::size(order)) << "at 20 columns some optional field is still shown";
}

TEST(RenderProgress, EightyColumnsKeepsTheBarAndTheTimes) {
  std::string line = render_progress(halfway(), 80);
  EXPECT_TRUE(has(line, "|")) << line;
  EXPECT_TRUE(has(line, "00:12<00:15")) << line;
  EXPECT_TRUE(has(line, "loss 0.4123")) << line;
}

TEST(RenderProgress, SlowStepsReadAsSecondsPerStepAndUnknownRatesAsQuestionMarks) {
  ProgressState slow = halfway();
  slow.steps_per_second = 0.25;
  EXPECT_TRUE(has(render_progress(slow, 200), "4.00 s/it")) << render_progress(slow, 200);
  ProgressState first = halfway();
  first.steps_per_second = 0;
  EXPECT_TRUE(has(render_progress(first, 200), "<?, ? it/s]")) << render_progress(first, 200);
}

TEST(FormatDuration, MinutesSecondsThenHours) {
  EXPECT_EQ(format_duration(0), "00:00");
  EXPECT_EQ(format_duration(59.9), "00:59");
  EXPECT_EQ(format_duration(754), "12:34");
  EXPECT_EQ(format_duration(3600 + 2 * 60 + 3), "1:02:03");
  EXPECT_EQ(format_duration(-1), "?");
}

}  // namespace
}  // namespace descent::tools
