// Philox 4x32-10 (Salmon, Moraes, Dror, Shaw 2011, "Parallel random numbers: as easy as 1, 2, 3")
// and the random kernels drawn from it. Read core/random.h first: it lists which Philox words
// each element of each draw consumes, which is what makes a draw independent of the threads.
#include <descent/core/random.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <vector>

#include <descent/core/parallel.h>

namespace descent {

namespace {
// Philox 4x32 constants (Salmon et al. 2011, section 5; Random123's PHILOX_M4x32_* and
// PHILOX_W32_*): the round multipliers and the Weyl increments of the key schedule.
constexpr uint32_t kPhiloxMultiplier0 = 0xD2511F53;
constexpr uint32_t kPhiloxMultiplier1 = 0xCD9E8D57;
constexpr uint32_t kPhiloxWeyl0 = 0x9E3779B9;  // golden ratio
constexpr uint32_t kPhiloxWeyl1 = 0xBB67AE85;  // sqrt(3) - 1
constexpr int kPhiloxRounds = 10;
}  // namespace

std::array<uint32_t, 4> Generator::philox(std::array<uint32_t, 4> counter, std::array<uint32_t, 2> key) {
  for (int round = 0; round < kPhiloxRounds; ++round) {
    if (round > 0) {  // the key is bumped between rounds, not before the first
      key[0] += kPhiloxWeyl0;
      key[1] += kPhiloxWeyl1;
    }
    uint64_t product0 = static_cast<uint64_t>(kPhiloxMultiplier0) * counter[0];
    uint64_t product1 = static_cast<uint64_t>(kPhiloxMultiplier1) * counter[2];
    counter = {static_cast<uint32_t>(product1 >> 32) ^ counter[1] ^ key[0], static_cast<uint32_t>(product1),
               static_cast<uint32_t>(product0 >> 32) ^ counter[3] ^ key[1], static_cast<uint32_t>(product0)};
  }
  return counter;
}

std::array<uint32_t, 4> Generator::philox(uint64_t seed, uint64_t counter) {
  return philox({static_cast<uint32_t>(counter), static_cast<uint32_t>(counter >> 32), 0, 0},
                {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)});
}

Generator& default_generator() {
  static Generator generator;
  return generator;
}

void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }

namespace core {

namespace {

using Words = std::array<uint32_t, 4>;

// Draws below this many elements run on one thread (a Philox block costs more than a copy).
constexpr int64_t kRandomGrain = 8192;

// ---- bits to numbers ----

uint64_t bits64(uint32_t high, uint32_t low) { return (static_cast<uint64_t>(high) << 32) | low; }

// [0, 1) with 24 random bits (every float32 multiple of 2^-24) or 53 (every float64 multiple of 2^-53).
float unit_float(uint32_t word) { return static_cast<float>(word >> 8) * 0x1p-24f; }
double unit_double(uint64_t bits) { return static_cast<double>(bits >> 11) * 0x1p-53; }
// (0, 1]: never 0, so its logarithm is finite (Box-Muller's radius).
double positive_unit(uint32_t word) { return (static_cast<double>(word) + 1.0) * 0x1p-32; }
double positive_unit(uint64_t bits) { return static_cast<double>((bits >> 11) + 1) * 0x1p-53; }
// (0, 1) with 32 bits, centred in its cell: u < p is never true for p = 0 and always for p = 1.
double open_unit(uint32_t word) { return (static_cast<double>(word) + 0.5) * 0x1p-32; }

// An integer in [0, range) from 64 random bits by Lemire's multiply-shift (Lemire 2019, "Fast
// random integer generation in an interval"), without the rejection step: the bias is at most
// range / 2^64.
uint64_t below(uint64_t bits, uint64_t range) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(bits) * range) >> 64);
}

// The 64 bits of value k (0 or 1) of a block, for draws with two values per block.
uint64_t block_bits64(const Words& words, int k) { return bits64(words[2 * k], words[2 * k + 1]); }

// ---- walking the elements ----

// Walks a tensor's elements in row-major (logical) order from a starting element and gives each
// one's distance in elements from raw_data(). A contiguous tensor is walked as one flat run.
class RowMajorCursor {
 public:
  RowMajorCursor(const Tensor& t, int64_t start) {
    if (t.is_contiguous()) {
      sizes_ = {t.numel()};
      strides_ = {1};
    } else {
      sizes_ = t.sizes();
      strides_ = t.strides();
    }
    index_ = Dims::filled(sizes_.size(), 0);
    for (int d = sizes_.size() - 1; d >= 0; --d) {
      index_[d] = start % sizes_[d];
      start /= sizes_[d];
      offset_ += index_[d] * strides_[d];
    }
  }
  int64_t offset() const { return offset_; }
  void next() {
    for (int d = sizes_.size() - 1; d >= 0; --d) {  // odometer, last dim fastest
      offset_ += strides_[d];
      if (++index_[d] < sizes_[d]) return;
      offset_ -= index_[d] * strides_[d];
      index_[d] = 0;
    }
  }

 private:
  Dims sizes_, strides_, index_;
  int64_t offset_ = 0;
};

int64_t blocks_for(int64_t numel, int per_block) { return (numel + per_block - 1) / per_block; }

// Fills `out` (any strides) from a draw of `generator`: reserves ceil(numel / K) Philox blocks,
// and block b gives the values of elements [b * K, b * K + count) through
// sample(words, first_element, count, values). Blocks are split over threads; each element's
// value depends only on the seed, the first reserved block and its own index.
template <typename T, int K, typename Sample>
void generate(const Tensor& out, Generator& generator, const Sample& sample) {
  const int64_t numel = out.numel();
  const int64_t blocks = blocks_for(numel, K);
  const uint64_t seed = generator.seed();
  const uint64_t first_block = generator.reserve(static_cast<uint64_t>(blocks));
  T* base = static_cast<T*>(out.raw_data());
  parallel_for(0, blocks, std::max<int64_t>(kRandomGrain / K, 1), [&](int64_t block_begin, int64_t block_end) {
    RowMajorCursor cursor(out, block_begin * K);
    T values[K];
    for (int64_t b = block_begin; b < block_end; ++b) {
      int count = static_cast<int>(std::min<int64_t>(K, numel - b * K));
      sample(Generator::philox(seed, first_block + static_cast<uint64_t>(b)), b * K, count, values);
      for (int k = 0; k < count; ++k) {
        base[cursor.offset()] = values[k];
        cursor.next();
      }
    }
  });
}

// ---- argument checks ----

Generator& generator_or_default(Generator* generator) { return generator ? *generator : default_generator(); }

void check_sizes(const Dims& sizes, const char* op) {
  for (int64_t size : sizes) check<ValueError>(size >= 0, "{}: negative size in shape {}", op, sizes);
}

// In-place draws write every element once, in parallel: an expanded view (stride 0 over a
// dim of size > 1) would have several elements share one memory location.
void check_writable(const Tensor& t, const char* op) {
  for (int d = 0; d < t.dim(); ++d) {
    check<ValueError>(t.strides()[d] != 0 || t.sizes()[d] <= 1,
                      "{}: the tensor of shape {} with strides {} has elements that share memory "
                      "(an expanded view); write to a contiguous copy instead",
                      op, t.sizes(), t.strides());
  }
}

void check_probability(double p, const char* op) {
  check<ValueError>(p >= 0.0 && p <= 1.0, "{}: probability {} is outside [0, 1]", op, p);
}

// Sets requires_grad before the draw, so that a refused request leaves the generator untouched.
Tensor new_tensor(const Dims& sizes, DType dtype, bool requires_grad) {
  Tensor out = Tensor::empty(sizes, dtype);
  if (requires_grad) out.requires_grad_(true);
  return out;
}

// ---- the draws, written into any (writable) tensor ----

// Uniform on [low, high), computed in double and rounded to T.
void draw_uniform(const Tensor& out, double low, double high, Generator& generator, const char* op) {
  dispatch_floating(out.dtype(), op, [&]<typename T>() {
    const double span = high - low;
    // NOTE: low + span * u can round up to high in T; such a value is moved just below high.
    const T top = static_cast<T>(high);
    const bool clamp = static_cast<T>(low) < top;
    auto scale = [&](double u) {
      T v = static_cast<T>(low + span * u);
      return clamp && v >= top ? std::nextafter(top, static_cast<T>(low)) : v;
    };
    if constexpr (std::is_same_v<T, float>) {
      generate<T, 4>(out, generator, [&](const Words& words, int64_t, int count, T* values) {
        for (int k = 0; k < count; ++k) values[k] = scale(unit_float(words[k]));
      });
    } else {
      generate<T, 2>(out, generator, [&](const Words& words, int64_t, int count, T* values) {
        for (int k = 0; k < count; ++k) values[k] = scale(unit_double(block_bits64(words, k)));
      });
    }
  });
}

// Normal with the given mean and std by the Box-Muller transform (Box and Muller 1958): from
// u1 in (0, 1] and u2 in [0, 1), r = sqrt(-2 ln u1) and the pair (r cos 2 pi u2, r sin 2 pi u2).
// float32 uses 32-bit uniforms (tails to 6.7 sigma), float64 53-bit ones (to 8.6 sigma).
void draw_normal(const Tensor& out, double mean, double std, Generator& generator, const char* op) {
  dispatch_floating(out.dtype(), op, [&]<typename T>() {
    auto box_muller = [&](double u1, double u2, T* pair) {
      double radius = std::sqrt(-2.0 * std::log(u1));
      double angle = 2.0 * std::numbers::pi * u2;
      pair[0] = static_cast<T>(mean + std * radius * std::cos(angle));
      pair[1] = static_cast<T>(mean + std * radius * std::sin(angle));
    };
    if constexpr (std::is_same_v<T, float>) {
      generate<T, 4>(out, generator, [&](const Words& words, int64_t, int, T* values) {
        box_muller(positive_unit(words[0]), words[1] * 0x1p-32, values);
        box_muller(positive_unit(words[2]), words[3] * 0x1p-32, values + 2);
      });
    } else {
      generate<T, 2>(out, generator, [&](const Words& words, int64_t, int, T* values) {
        box_muller(positive_unit(block_bits64(words, 0)), unit_double(block_bits64(words, 1)), values);
      });
    }
  });
}

// 1 with probability p(i), else 0, written as T (any dtype).
template <typename Probability>
void draw_bernoulli(const Tensor& out, const Probability& p, Generator& generator, const char* op) {
  dispatch(out.dtype(), op, [&]<typename T>() {
    generate<T, 4>(out, generator, [&](const Words& words, int64_t first, int count, T* values) {
      for (int k = 0; k < count; ++k) values[k] = static_cast<T>(open_unit(words[k]) < p(first + k));
    });
  });
}

}  // namespace

Tensor rand(const Dims& sizes, TensorOptions options, Generator* generator) {
  check_sizes(sizes, "rand");
  Tensor out = new_tensor(sizes, options.dtype.value_or(kFloat32), options.requires_grad);
  draw_uniform(out, 0.0, 1.0, generator_or_default(generator), "rand");
  return out;
}

Tensor randn(const Dims& sizes, TensorOptions options, Generator* generator) {
  check_sizes(sizes, "randn");
  Tensor out = new_tensor(sizes, options.dtype.value_or(kFloat32), options.requires_grad);
  draw_normal(out, 0.0, 1.0, generator_or_default(generator), "randn");
  return out;
}

Tensor randint(int64_t low, int64_t high, const Dims& sizes, TensorOptions options, Generator* generator) {
  check<ValueError>(high > low, "randint: the range [{}, {}) is empty (high must be greater than low)", low, high);
  check_sizes(sizes, "randint");
  Tensor out = new_tensor(sizes, options.dtype.value_or(kInt64), options.requires_grad);
  // Wraps modulo 2^64 on purpose: high - low may exceed INT64_MAX.
  const uint64_t range = static_cast<uint64_t>(high) - static_cast<uint64_t>(low);
  dispatch_numeric(out.dtype(), "randint", [&]<typename T>() {
    generate<T, 2>(out, generator_or_default(generator), [&](const Words& words, int64_t, int count, T* values) {
      for (int k = 0; k < count; ++k) {
        uint64_t value = static_cast<uint64_t>(low) + below(block_bits64(words, k), range);
        values[k] = static_cast<T>(static_cast<int64_t>(value));
      }
    });
  });
  return out;
}

Tensor bernoulli(const Tensor& p, Generator* generator) {
  check<DTypeError>(p.is_floating_point(), "bernoulli: probabilities must be floating, not {}", p.dtype());
  std::vector<double> probabilities = p.to_vector<double>();
  for (double probability : probabilities) check_probability(probability, "bernoulli");
  Tensor out = Tensor::empty(p.sizes(), p.dtype());
  draw_bernoulli(out, [&](int64_t i) { return probabilities[static_cast<size_t>(i)]; },
                 generator_or_default(generator), "bernoulli");
  return out;
}

Tensor randperm(int64_t n, TensorOptions options, Generator* generator) {
  check<ValueError>(n >= 0, "randperm: n = {} is negative", n);
  Tensor out;
  dispatch_numeric(options.dtype.value_or(kInt64), "randperm", [&]<typename T>() {
    if constexpr (std::is_floating_point_v<T>) {
      constexpr int64_t exact_limit = int64_t{1} << std::numeric_limits<T>::digits;  // T holds 0..n-1 exactly
      check<ValueError>(n <= exact_limit, "randperm: n = {} is too large for {} (at most {})", n, dtype_v<T>,
                        exact_limit);
    }
    out = new_tensor({n}, dtype_v<T>, options.requires_grad);
    // Fisher-Yates (Knuth, TAOCP vol. 2, 3.4.2, algorithm P): for i = n-1 down to 1, swap element
    // i with element j uniform in [0, i], j drawn from the 64 random bits of index i.
    // NOTE: sequential by nature, but its Philox words are still a function of (seed, offset, i).
    Generator& gen = generator_or_default(generator);
    const uint64_t seed = gen.seed();
    const uint64_t first_block = gen.reserve(static_cast<uint64_t>(blocks_for(n, 2)));
    T* data = out.data<T>();
    for (int64_t i = 0; i < n; ++i) data[i] = static_cast<T>(i);
    for (int64_t i = n - 1; i > 0; --i) {
      Words words = Generator::philox(seed, first_block + static_cast<uint64_t>(i / 2));
      auto j = static_cast<int64_t>(below(block_bits64(words, static_cast<int>(i % 2)), static_cast<uint64_t>(i + 1)));
      std::swap(data[i], data[j]);
    }
  });
  return out;
}

Tensor rand_like(const Tensor& t, Generator* generator) {
  Tensor out = Tensor::empty(t.sizes(), t.dtype());
  draw_uniform(out, 0.0, 1.0, generator_or_default(generator), "rand_like");
  return out;
}

Tensor randn_like(const Tensor& t, Generator* generator) {
  Tensor out = Tensor::empty(t.sizes(), t.dtype());
  draw_normal(out, 0.0, 1.0, generator_or_default(generator), "randn_like");
  return out;
}

void uniform_(const Tensor& t, double low, double high, Generator* generator) {
  check<ValueError>(std::isfinite(high - low) && low <= high,
                    "uniform_: the range [{}, {}) must be finite with low <= high", low, high);
  check_writable(t, "uniform_");
  draw_uniform(t, low, high, generator_or_default(generator), "uniform_");
  t.bump_version();
}

void normal_(const Tensor& t, double mean, double std, Generator* generator) {
  check<ValueError>(std::isfinite(mean) && std::isfinite(std) && std >= 0.0,
                    "normal_: mean {} and std {} must be finite with std >= 0", mean, std);
  check_writable(t, "normal_");
  draw_normal(t, mean, std, generator_or_default(generator), "normal_");
  t.bump_version();
}

void bernoulli_(const Tensor& t, double p, Generator* generator) {
  check_probability(p, "bernoulli_");
  check_writable(t, "bernoulli_");
  draw_bernoulli(t, [p](int64_t) { return p; }, generator_or_default(generator), "bernoulli_");
  t.bump_version();
}

}  // namespace core

}  // namespace descent
