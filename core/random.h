// Random numbers from one counter-based generator (Philox 4x32-10, Salmon et al. 2011): the value
// at a position depends only on the seed and the position, so a seed gives the same numbers on
// every machine and with any thread count. Graph-free kernels; public names in autograd/ops.h.
//
// The stream: Philox block c (counter c, key = seed) gives four 32-bit words. A draw reserves
// the blocks it needs from its generator, and element i (row-major, whatever the strides) takes
// its bits from block first + i / K only, K values per block:
//   uniform float32: 4 (24 bits each)      uniform float64: 2 (53 bits from two words)
//   normal float32:  4 (Box-Muller pairs)  normal float64:  2 (one Box-Muller pair)
//   randint, randperm: 2 (64 bits each)    bernoulli: 4 (32 bits each)
//
// NOTE: a Generator, the default one included, is not synchronised: draw from one generator on
// one thread at a time (as with PyTorch's CPU generator). Each draw itself runs in parallel.
#pragma once

#include <array>
#include <cstdint>

#include <descent/core/tensor.h>

namespace descent {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : seed_(seed) {}
  void manual_seed(uint64_t seed) { seed_ = seed; offset_ = 0; }
  uint64_t seed() const { return seed_; }
  // The next unused counter; advanced by every draw so that draws never overlap.
  uint64_t offset() const { return offset_; }
  void set_offset(uint64_t offset) { offset_ = offset; }
  // Reserves `blocks` Philox counters (4 x 32 random bits each) and returns the first.
  uint64_t reserve(uint64_t blocks) {
    uint64_t first = offset_;
    offset_ += blocks;
    return first;
  }
  // The four 32-bit words of Philox 4x32-10 at `counter` under key `seed`: the key is the seed's
  // low and high words, the counter's low words are the 64-bit counter, its high words zero.
  static std::array<uint32_t, 4> philox(uint64_t seed, uint64_t counter);
  // The raw bijection on a full 128-bit counter and 64-bit key (what Random123's known-answer
  // vectors test).
  static std::array<uint32_t, 4> philox(std::array<uint32_t, 4> counter, std::array<uint32_t, 2> key);

 private:
  uint64_t seed_;
  uint64_t offset_ = 0;
};

// The generator used when none is given: process-wide, seed 0 until manual_seed.
Generator& default_generator();
// Seeds the default generator (and restarts its counter).
void manual_seed(uint64_t seed);

namespace core {
// Uniform on [0, 1) and standard normal; float32 unless options.dtype says otherwise.
Tensor rand(const Dims& sizes, TensorOptions options = {}, Generator* generator = nullptr);
Tensor randn(const Dims& sizes, TensorOptions options = {}, Generator* generator = nullptr);
// Integers uniform on [low, high); int64 unless given.
Tensor randint(int64_t low, int64_t high, const Dims& sizes, TensorOptions options = {},
               Generator* generator = nullptr);
// 0/1 draws with the probabilities in p (same dtype as p).
Tensor bernoulli(const Tensor& p, Generator* generator = nullptr);
// A random permutation of 0..n-1; int64 unless given.
Tensor randperm(int64_t n, TensorOptions options = {}, Generator* generator = nullptr);
Tensor rand_like(const Tensor& t, Generator* generator = nullptr);
Tensor randn_like(const Tensor& t, Generator* generator = nullptr);
// In place, through views; bump the version.
void uniform_(const Tensor& t, double low = 0.0, double high = 1.0, Generator* generator = nullptr);
void normal_(const Tensor& t, double mean = 0.0, double std = 1.0, Generator* generator = nullptr);
void bernoulli_(const Tensor& t, double p, Generator* generator = nullptr);
}  // namespace core

}  // namespace descent
