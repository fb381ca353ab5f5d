// ElementwiseLoop: walks an output and its inputs (NumPy-broadcast to the output's shape) in
// memory order, as a sequence of 1-d runs. Every elementwise kernel is written on top of it:
// the kernel supplies the loop body for one run, and gets the contiguous case (all strides one
// element, or 0 for a broadcast scalar) as a tight loop it can vectorise. Large loops are split
// over threads with parallel_for.
//
// Geometry, once: dims are reordered so that the output's smallest stride is innermost, size-1
// dims are dropped, and neighbouring dims that are contiguous for every operand are merged, so a
// contiguous tensor of any shape is a single run.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <tuple>
#include <utility>

#include "core/parallel.h"
#include "core/tensor.h"

namespace descent {

// The broadcast shape of a and b (NumPy rules), or a ShapeError naming `op` and both shapes.
Dims broadcast_shapes(const Dims& a, const Dims& b, const char* op);

class ElementwiseLoop {
 public:
  static constexpr int kMaxOperands = 5;

  // `out` is written; each input's shape must broadcast to out's shape.
  ElementwiseLoop(const Tensor& out, std::initializer_list<Tensor> inputs);

  int64_t numel() const { return numel_; }
  int operands() const { return operands_; }

  // Calls body(char* const* pointers, const int64_t* byte_strides, int64_t n) once per run;
  // pointers[0] and byte_strides[0] are the output's, then the inputs' in order.
  template <typename Body>
  void run(const Body& body, int64_t grain = kElementwiseGrain) const;

 private:
  int operands_ = 0;
  int ndim_ = 0;  // after coalescing; dim 0 is innermost
  int64_t numel_ = 0;
  int64_t shape_[kMaxDims] = {};
  int64_t strides_[kMaxDims][kMaxOperands] = {};  // bytes
  char* base_[kMaxOperands] = {};
};

template <typename Body>
void ElementwiseLoop::run(const Body& body, int64_t grain) const {
  if (numel_ == 0) return;
  parallel_for(0, numel_, grain, [&](int64_t begin, int64_t end) {
    // Position `begin` as a multi-index (innermost first) and the operand pointers there.
    int64_t index[kMaxDims] = {};
    char* pointers[kMaxOperands];
    int64_t rest = begin;
    for (int d = 0; d < ndim_; ++d) {
      index[d] = rest % shape_[d];
      rest /= shape_[d];
    }
    for (int k = 0; k < operands_; ++k) {
      pointers[k] = base_[k];
      for (int d = 0; d < ndim_; ++d) pointers[k] += index[d] * strides_[d][k];
    }
    int64_t inner[kMaxOperands];
    for (int k = 0; k < operands_; ++k) inner[k] = strides_[0][k];
    int64_t position = begin;
    while (position < end) {
      int64_t n = std::min(shape_[0] - index[0], end - position);
      body(static_cast<char* const*>(pointers), static_cast<const int64_t*>(inner), n);
      position += n;
      if (position >= end) break;
      // Step to the start of the next run: finish dim 0, then carry like an odometer.
      for (int k = 0; k < operands_; ++k) pointers[k] += n * strides_[0][k];
      index[0] += n;
      for (int d = 0; d + 1 < ndim_ && index[d] == shape_[d]; ++d) {
        for (int k = 0; k < operands_; ++k) {
          pointers[k] += strides_[d + 1][k] - shape_[d] * strides_[d][k];
        }
        index[d] = 0;
        ++index[d + 1];
      }
    }
  });
}

// map_elementwise<Out, In...>(loop, f): out = f(in...) element by element, with the contiguous
// case as a plain indexed loop that the compiler vectorises (f must be inlinable and pure).
template <typename Out, typename... In, typename F>
void map_elementwise(const ElementwiseLoop& loop, const F& f, int64_t grain = kElementwiseGrain) {
  constexpr size_t kInputs = sizeof...(In);
  loop.run(
      [&](char* const* p, const int64_t* s, int64_t n) {
        [&]<size_t... I>(std::index_sequence<I...>) {
          using Inputs = std::tuple<In...>;
          Out* out = reinterpret_cast<Out*>(p[0]);
          bool contiguous = s[0] == sizeof(Out) &&
                            ((s[I + 1] == sizeof(std::tuple_element_t<I, Inputs>)) && ... && true);
          if (contiguous) {
            [[maybe_unused]] auto inputs = std::make_tuple(reinterpret_cast<const std::tuple_element_t<I, Inputs>*>(p[I + 1])...);
            for (int64_t i = 0; i < n; ++i) out[i] = f(std::get<I>(inputs)[i]...);
          } else {
            for (int64_t i = 0; i < n; ++i) {
              *reinterpret_cast<Out*>(p[0] + i * s[0]) =
                  f(*reinterpret_cast<const std::tuple_element_t<I, Inputs>*>(p[I + 1] + i * s[I + 1])...);
            }
          }
        }(std::make_index_sequence<kInputs>{});
      },
      grain);
}

}  // namespace descent
