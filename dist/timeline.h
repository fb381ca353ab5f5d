// dist::Timeline: a rank's communication timeline, spans of time on named lanes (backward and the
// optimizer step on "compute", each bucket's allreduce on "communication"), written as a Chrome
// trace JSON file (chrome://tracing, ui.perfetto.dev) so a user sees how much communication
// backward hides. DataParallel records its buckets into one given in its options.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace descent::dist {

class Timeline {
 public:
  using Clock = std::chrono::steady_clock;

  // `rank` becomes the trace's process id, so several ranks' files can be loaded side by side.
  explicit Timeline(int rank = 0);

  void add(std::string name, std::string lane, Clock::time_point begin, Clock::time_point end);

  // Records [construction, destruction) as one span:
  //   { auto span = timeline.span("backward"); loss.backward(); }
  class Span {
   public:
    Span(Timeline& timeline, std::string name, std::string lane);
    ~Span();
    Span(const Span&) = delete;
    Span& operator=(const Span&) = delete;

   private:
    Timeline& timeline_;
    std::string name_, lane_;
    Clock::time_point begin_;
  };
  [[nodiscard]] Span span(std::string name, std::string lane = "compute") {
    return Span(*this, std::move(name), std::move(lane));
  }

  struct Event {
    std::string name, lane;
    Clock::time_point begin, end;
  };
  const std::vector<Event>& events() const { return events_; }
  void clear() { events_.clear(); }

  // The events as a Chrome trace ("X" complete events in microseconds since the first event, one
  // thread per lane in order of first use, named by metadata events). Throws FileError when the
  // file cannot be written.
  std::string to_json() const;
  void write(const std::string& path) const;

 private:
  int rank_;
  std::vector<Event> events_;
};

}  // namespace descent::dist
