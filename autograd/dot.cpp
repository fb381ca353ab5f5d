// to_dot: an iterative walk over the graph that names every node once.
#include <descent/autograd/dot.h>

#include <unordered_map>

#include <descent/autograd/graph.h>

namespace descent::autograd {

std::string to_dot(const Tensor& root) {
  std::string out = "digraph autograd {\n  node [shape=box, fontname=\"monospace\"];\n";
  out += fmt::format("  output [label=\"output\\n{} {}\", shape=ellipse];\n", root.sizes(), root.dtype());
  Edge start = gradient_edge(root);
  if (!start.valid()) return out + "}\n";
  std::unordered_map<const Node*, int> ids;
  std::vector<const Node*> stack;
  auto id_of = [&](const Node* node) {
    auto [it, inserted] = ids.try_emplace(node, static_cast<int>(ids.size()));
    if (inserted) stack.push_back(node);
    return it->second;
  };
  out += fmt::format("  n{} -> output;\n", id_of(start.node.get()));
  while (!stack.empty()) {
    const Node* node = stack.back();
    stack.pop_back();
    int id = ids.at(node);
    if (auto* accumulate = dynamic_cast<const AccumulateGrad*>(node)) {
      out += fmt::format("  n{} [label=\"leaf {} {}\", style=filled, fillcolor=lightblue];\n", id,
                         accumulate->leaf().sizes(), accumulate->leaf().dtype());
      continue;
    }
    out += fmt::format("  n{} [label=\"{}\"];\n", id, node->name());
    for (size_t i = 0; i < node->num_inputs(); ++i) {
      const Edge& edge = node->next_edge(i);
      if (!edge.valid()) continue;
      out += fmt::format("  n{} -> n{} [label=\"{}\"];\n", id_of(edge.node.get()), id, node->input_meta(i).shape);
    }
  }
  return out + "}\n";
}

}  // namespace descent::autograd
