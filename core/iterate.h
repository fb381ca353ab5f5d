// ElementwiseLoop: walks an output and its inputs (NumPy-broadcast to the output's shape) in
// memory order, as a sequence of 1-d runs. Every elementwise kernel is written on top of it:
// the kernel supplies the loop body for one run, and gets the contiguous case (all strides one
// element, or 0 for a broadcast scalar) as a tight loop it can vectorise. Large loops are split
// over threads with parallel_for.
//
// Geometry, once: dims are reordered so that the output's smallest stride is innermost, size-1
// dims are dropped, and neighbouring dims that are contiguous for every operand are merged, so a
// contiguous tensor of any shape is a single run. When an input is laid across that order (a
// transposed operand: its stride along the output's innermost dim is a cache line or more), the
// loop walks 2-d tiles instead (see "Tiles" below).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <tuple>
#include <utility>
#include <vector>

#include <descent/core/parallel.h>
#include <descent/core/tensor.h>

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
  // Whether the loop walks tiles (an input crosses the output's memory order).
  bool tiled() const { return across_ >= 0; }

  // Calls body(char* const* pointers, const int64_t* byte_strides, int64_t n) once per run;
  // pointers[0] and byte_strides[0] are the output's, then the inputs' in order. The pointers
  // point into the operands themselves, so a body may read beyond its run (gather does).
  template <typename Body>
  void run(const Body& body, int64_t grain = kElementwiseGrain) const;

  // As run, for a body that reads nothing of its inputs but the n elements of each run: an input
  // that crosses the output's memory order is then handed over as a staged copy of its tile,
  // contiguous along the run (so the body's contiguous case applies to it too).
  template <typename Body>
  void run_staged(const Body& body, int64_t grain = kElementwiseGrain) const;

 private:
  // ---- Tiles ----
  // NOTE: a walk in the output's memory order reads a crossing input with a large stride: a
  // scalar loop touching a new cache line per element, and with a power-of-two row stride every
  // line falls into the same cache set, so lines are evicted before their neighbours are used
  // (10x slower than contiguous at 4096 x 4096). A tiled loop instead walks tiles of
  // kTileInner elements along dim 0 (the output's innermost) by tile_across() along across_
  // (the crossing input's innermost), one at a time, every other dim one index at a time; a tile
  // is kTileInner-element runs, one per index along across_. Staged inputs are first copied
  // into a buffer laid out like the output tile, reading their own memory in order and
  // transposing square blocks in registers (the blocked transpose of BLAS and FFT libraries).
  // The rows of the next tile are prefetched meanwhile: they lie a large stride apart, and the
  // hardware prefetcher does not follow them.
  static constexpr int64_t kTileInner = 64;
  static constexpr int64_t kCacheLineBytes = 64;
  static constexpr int64_t kTileBytes = 16384;  // a staged tile: a third of a 48 KiB L1
  int64_t tile_across() const { return kTileBytes / (kTileInner * max_element_size_); }
  void choose_tiles();  // sets across_ and crossing_ from the coalesced geometry
  int64_t tiles() const;
  // The operand pointers at the first element of `tile`, and its extent (smaller at the edges).
  struct Tile {
    char* pointers[kMaxOperands];
    int64_t inner, across;
  };
  Tile tile_at(int64_t tile) const;
  // Copies operand k's part of `tile` into `buffer` ([across][inner], contiguous), prefetching
  // the rows of `next` (the following tile, or null).
  void stage(int k, const Tile& tile, const Tile* next, char* buffer) const;
  // Prefetches row `a` of `tile` of the operands that are read or written in place and whose
  // rows are contiguous.
  void prefetch_row(const Tile& tile, int64_t a, const bool* staged) const;

  template <bool kStage, typename Body>
  void walk_tiles(const Body& body, int64_t grain) const;
  template <typename Body>
  void walk_runs(const Body& body, int64_t grain) const;

  int operands_ = 0;
  int ndim_ = 0;  // after coalescing; dim 0 is innermost
  int64_t numel_ = 0;
  int64_t shape_[kMaxDims] = {};
  int64_t strides_[kMaxDims][kMaxOperands] = {};  // bytes
  char* base_[kMaxOperands] = {};
  int64_t element_size_[kMaxOperands] = {};
  int64_t max_element_size_ = 1;
  int across_ = -1;                       // the dim tiled with dim 0, or -1: no tiles
  bool crossing_[kMaxOperands] = {};      // inputs read a cache line or more apart along dim 0
};

template <typename Body>
void ElementwiseLoop::run(const Body& body, int64_t grain) const {
  if (tiled()) walk_tiles<false>(body, grain);
  else walk_runs(body, grain);
}

template <typename Body>
void ElementwiseLoop::run_staged(const Body& body, int64_t grain) const {
  if (tiled()) walk_tiles<true>(body, grain);
  else walk_runs(body, grain);
}

template <typename Body>
void ElementwiseLoop::walk_runs(const Body& body, int64_t grain) const {
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

template <bool kStage, typename Body>
void ElementwiseLoop::walk_tiles(const Body& body, int64_t grain) const {
  const int64_t count = tiles();
  const int64_t tile_grain = std::max<int64_t>(1, grain / (kTileInner * tile_across()));
  parallel_for(0, count, tile_grain, [&](int64_t begin, int64_t end) {
    bool staged[kMaxOperands] = {};
    int64_t buffer_offset[kMaxOperands] = {};
    int64_t buffer_bytes = 0;
    for (int k = 1; k < operands_; ++k) {
      staged[k] = kStage && crossing_[k];
      buffer_offset[k] = buffer_bytes;
      if (staged[k]) buffer_bytes += kTileBytes;
    }
    std::vector<std::byte> buffers(static_cast<size_t>(buffer_bytes));
    Tile tile = tile_at(begin);
    for (int64_t t = begin; t < end; ++t) {
      const bool has_next = t + 1 < end;
      const Tile next = has_next ? tile_at(t + 1) : tile;
      char* pointers[kMaxOperands];
      int64_t inner[kMaxOperands], across[kMaxOperands];
      for (int k = 0; k < operands_; ++k) {
        if (staged[k]) {
          char* buffer = reinterpret_cast<char*>(buffers.data() + buffer_offset[k]);
          stage(k, tile, has_next ? &next : nullptr, buffer);
          pointers[k] = buffer;
          inner[k] = element_size_[k];
          across[k] = tile.inner * element_size_[k];
        } else {
          pointers[k] = tile.pointers[k];
          inner[k] = strides_[0][k];
          across[k] = strides_[across_][k];
        }
      }
      for (int64_t a = 0; a < tile.across; ++a) {
        if (has_next) prefetch_row(next, a, staged);
        body(static_cast<char* const*>(pointers), static_cast<const int64_t*>(inner), tile.inner);
        for (int k = 0; k < operands_; ++k) pointers[k] += across[k];
      }
      tile = next;
    }
  });
}

// map_elementwise<Out, In...>(loop, f): out = f(in...) element by element, with the contiguous
// case as a plain indexed loop that the compiler vectorises (f must be inlinable and pure).
// NOTE: each run calls a local copy of f: the stores into out could alias the caller's f, so
// that a scalar f captured (where(c, t, 0), t * s) would be reloaded per element, in a scalar
// loop; nothing can alias the copy, and the loop vectorises.
template <typename Out, typename... In, typename F>
void map_elementwise(const ElementwiseLoop& loop, const F& f, int64_t grain = kElementwiseGrain) {
  constexpr size_t kInputs = sizeof...(In);
  loop.run_staged(
      [&](char* const* p, const int64_t* s, int64_t n) {
        const F fn = f;
        [&]<size_t... I>(std::index_sequence<I...>) {
          using Inputs = std::tuple<In...>;
          Out* out = reinterpret_cast<Out*>(p[0]);
          bool contiguous = s[0] == sizeof(Out) &&
                            ((s[I + 1] == sizeof(std::tuple_element_t<I, Inputs>)) && ... && true);
          if (contiguous) {
            [[maybe_unused]] auto inputs = std::make_tuple(reinterpret_cast<const std::tuple_element_t<I, Inputs>*>(p[I + 1])...);
            for (int64_t i = 0; i < n; ++i) out[i] = fn(std::get<I>(inputs)[i]...);
          } else {
            for (int64_t i = 0; i < n; ++i) {
              *reinterpret_cast<Out*>(p[0] + i * s[0]) =
                  fn(*reinterpret_cast<const std::tuple_element_t<I, Inputs>*>(p[I + 1] + i * s[I + 1])...);
            }
          }
        }(std::make_index_sequence<kInputs>{});
      },
      grain);
}

}  // namespace descent
