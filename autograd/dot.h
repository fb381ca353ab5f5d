// The graph behind a tensor as Graphviz DOT, for people who study the engine:
//   fmt::print("{}", autograd::to_dot(loss));   then   dot -Tpng graph.dot -o graph.png
#pragma once

#include <string>

#include <descent/core/tensor.h>

namespace descent::autograd {

// Nodes are backward ops (with the output's shape at the root, each leaf's shape and dtype);
// an edge points from an input's node to the node that consumed it, labelled with the shape.
std::string to_dot(const Tensor& root);

}  // namespace descent::autograd
