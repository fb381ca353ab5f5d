// DataParallel's construction-time check and broadcast, and its gradient averaging. Read the
// constructor first: the ranks compare their modules as text (one line per parameter and buffer,
// allgathered), so a mismatch is the same error on every rank before any tensor moves.
#include <descent/dist/data_parallel.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <sstream>

#include <descent/autograd/graph.h>
#include <descent/core/factory.h>

namespace descent::dist {

namespace {

struct Entry {
  std::string line;  // "parameter 'fc1.weight' [32, 16] float32", the same text on every rank
  std::string name;  // "parameter 'fc1.weight'"
  Tensor tensor;
};

std::vector<Entry> entries_of(const nn::Module& module) {
  std::vector<Entry> entries;
  auto add = [&](std::string_view kind, const std::string& name, const Tensor& t) {
    std::string label = fmt::format("{} '{}'", kind, name);
    entries.push_back({fmt::format("{} {} {}", label, t.sizes(), dtype_name(t.dtype())), label, t});
  };
  for (const auto& [name, t] : module.named_parameters()) add("parameter", name, t);
  for (const auto& [name, t] : module.named_buffers()) add("buffer", name, t);
  return entries;
}

// Every rank's lines, in rank order: lengths first, then the text packed 8 bytes per int64.
std::vector<std::vector<std::string>> allgather_lines(ProcessGroup& group, const std::vector<Entry>& entries) {
  std::string text;
  for (const Entry& e : entries) text += e.line + "\n";
  int world = group.world_size();
  Tensor length = core::full({1}, static_cast<int64_t>(text.size()), {.dtype = kInt64});
  Tensor lengths = core::zeros({world}, {.dtype = kInt64});
  group.allgather(lengths, length).wait();
  std::vector<int64_t> sizes = lengths.to_vector<int64_t>();
  int64_t words = (*std::max_element(sizes.begin(), sizes.end()) + 7) / 8;
  Tensor packed = core::zeros({words}, {.dtype = kInt64});
  std::memcpy(packed.raw_data(), text.data(), text.size());
  Tensor all = core::zeros({world, words}, {.dtype = kInt64});
  group.allgather(all, packed).wait();
  std::vector<std::vector<std::string>> lines(world);
  const char* bytes = static_cast<const char*>(all.raw_data());
  for (int r = 0; r < world; ++r) {
    std::istringstream in(std::string(bytes + r * words * 8, static_cast<size_t>(sizes[r])));
    for (std::string line; std::getline(in, line);) lines[r].push_back(line);
  }
  return lines;
}

// The name part of a line: what precedes the shape.
std::string name_of(const std::string& line) { return line.substr(0, line.find(" [")); }

void check_same_modules(const std::vector<std::vector<std::string>>& lines) {
  const std::vector<std::string>& first = lines[0];
  for (size_t r = 1; r < lines.size(); ++r) {
    const std::vector<std::string>& mine = lines[r];
    for (size_t i = 0; i < std::max(first.size(), mine.size()); ++i) {
      if (i < first.size() && i < mine.size() && first[i] == mine[i]) continue;
      std::string at = i < first.size() ? name_of(first[i]) : name_of(mine[i]);
      std::string zero = i < first.size() ? first[i] : "nothing more";
      std::string other = i < mine.size() ? mine[i] : "nothing more";
      throw ShapeError(fmt::format("DataParallel: rank {}'s module differs from rank 0's at {}: rank 0 has {}, "
                                   "rank {} has {}", r, at, zero, r, other));
    }
  }
}

// Rank 0's values of `tensors` into every rank, in place.
void broadcast_from_rank_zero(ProcessGroup& group, const std::vector<Tensor>& tensors) {
  autograd::NoGradGuard no_grad;
  std::vector<std::pair<Tensor, Tensor>> copies;  // (destination, contiguous buffer)
  std::vector<Work> works;
  for (const Tensor& t : tensors) {
    Tensor target = t.detach();
    if (!target.is_contiguous()) {
      copies.emplace_back(target, target.contiguous());
      target = copies.back().second;
    }
    works.push_back(group.broadcast(target, 0));
  }
  for (const Work& w : works) w.wait();
  for (auto& [destination, buffer] : copies) destination.copy_(buffer);
}

}  // namespace

DataParallel::DataParallel(nn::Module& module, ProcessGroup group) : module_(module), group_(std::move(group)) {
  std::vector<Entry> entries = entries_of(module_);
  check_same_modules(allgather_lines(group_, entries));
  std::vector<Tensor> tensors;
  for (const Entry& e : entries) tensors.push_back(e.tensor);
  broadcast_from_rank_zero(group_, tensors);
}

void DataParallel::broadcast_buffers() { broadcast_from_rank_zero(group_, module_.buffers()); }

void DataParallel::sync_gradients() {
  std::vector<Work> works;
  std::set<const Storage*> seen;  // a gradient that shares storage with another is averaged once, alone
  for (const Tensor& p : module_.parameters()) {
    if (!p.requires_grad()) continue;
    Tensor g = p.grad();
    if (!g.defined()) {
      g = core::zeros_like(p);
      p.set_grad(g);
    } else if (!g.is_contiguous() || seen.count(g.storage().get()) != 0) {
      g = g.contiguous().is_same(g) ? g.clone() : g.contiguous();
      p.set_grad(g);
    }
    seen.insert(g.storage().get());
    works.push_back(group_.allreduce(g, ReduceOp::Avg));
  }
  for (const Work& w : works) w.wait();
}

}  // namespace descent::dist
