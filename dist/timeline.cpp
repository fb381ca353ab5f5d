// Timeline's spans and their Chrome trace JSON (the Trace Event Format's complete "X" events,
// with "thread_name" metadata naming the lanes).
#include <descent/dist/timeline.h>

#include <algorithm>
#include <fstream>

#include <nlohmann/json.hpp>

#include <descent/data/readers.h>

namespace descent::dist {

Timeline::Timeline(int rank) : rank_(rank) {}

void Timeline::add(std::string name, std::string lane, Clock::time_point begin, Clock::time_point end) {
  events_.push_back({std::move(name), std::move(lane), begin, end});
}

Timeline::Span::Span(Timeline& timeline, std::string name, std::string lane)
    : timeline_(timeline), name_(std::move(name)), lane_(std::move(lane)), begin_(Clock::now()) {}

Timeline::Span::~Span() { timeline_.add(std::move(name_), std::move(lane_), begin_, Clock::now()); }

std::string Timeline::to_json() const {
  nlohmann::json trace = nlohmann::json::array();
  std::vector<std::string> lanes;
  Clock::time_point origin = events_.empty() ? Clock::time_point() : events_.front().begin;
  for (const Event& e : events_) origin = std::min(origin, e.begin);
  auto microseconds = [](Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); };
  for (const Event& e : events_) {
    auto lane = std::find(lanes.begin(), lanes.end(), e.lane);
    if (lane == lanes.end()) {
      lane = lanes.insert(lanes.end(), e.lane);
      trace.push_back({{"name", "thread_name"}, {"ph", "M"}, {"pid", rank_}, {"tid", lane - lanes.begin()},
                       {"args", {{"name", e.lane}}}});
    }
    trace.push_back({{"name", e.name}, {"ph", "X"}, {"pid", rank_}, {"tid", lane - lanes.begin()},
                     {"ts", microseconds(e.begin - origin)}, {"dur", microseconds(e.end - e.begin)}});
  }
  trace.push_back({{"name", "process_name"}, {"ph", "M"}, {"pid", rank_}, {"args", {{"name", fmt::format("rank {}", rank_)}}}});
  return nlohmann::json{{"traceEvents", trace}, {"displayTimeUnit", "ms"}}.dump();
}

void Timeline::write(const std::string& path) const {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << to_json();
  out.close();
  if (!out) throw data::FileError(fmt::format("Timeline::write: cannot write {}", path));
}

}  // namespace descent::dist
