// Tests of the Philox generator and the random kernels: Random123's known-answer vectors, the
// documented stream layout (element i = f(seed, offset, i)), independence from the thread count
// and the strides, statistics with 5-sigma bounds on fixed seeds, dtype rules and errors.
#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <vector>

#include "testing.h"

namespace descent {
namespace {

using testing::throws_with;
using Words = std::array<uint32_t, 4>;

// ---- Philox ----

// Random123's kat_vectors, the three "philox4x32 10" lines: counter, key, expected output.
struct KnownAnswer {
  Words counter;
  std::array<uint32_t, 2> key;
  Words expected;
};

TEST(Philox, MatchesRandom123KnownAnswers) {
  const KnownAnswer cases[] = {
      {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
      {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
       {0xffffffff, 0xffffffff},
       {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
      {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
       {0xa4093822, 0x299f31d0},
       {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
  };
  for (const KnownAnswer& c : cases) {
    EXPECT_EQ(Generator::philox(c.counter, c.key), c.expected) << fmt::format("counter {:x}", fmt::join(c.counter, " "));
  }
}

TEST(Philox, SeedIsTheKeyAndCounterTheLowWords) {
  EXPECT_EQ(Generator::philox(uint64_t{0}, uint64_t{0}), (Words{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}));
  EXPECT_EQ(Generator::philox(0x299f31d0a4093822, 0x85a308d3243f6a88),
            Generator::philox(Words{0x243f6a88, 0x85a308d3, 0, 0}, {0xa4093822, 0x299f31d0}));
}

// ---- the stream ----

uint64_t bits64(const Words& w, int k) { return (uint64_t{w[2 * k]} << 32) | w[2 * k + 1]; }

TEST(RandomStream, ElementsFollowTheDocumentedPhiloxWords) {
  const uint64_t seed = 0x123456789abcdef0;
  Generator g(seed);
  g.set_offset(1000);
  std::vector<double> f32 = core::rand({11}, {}, &g).to_vector<double>();
  EXPECT_EQ(g.offset(), 1000u + 3);  // 4 float32 values per block
  std::vector<double> f64 = core::rand({5}, {.dtype = kFloat64}, &g).to_vector<double>();
  EXPECT_EQ(g.offset(), 1003u + 3);  // 2 float64 values per block
  std::vector<int64_t> ints = core::randint(-3, 1000, {3}, {}, &g).to_vector<int64_t>();
  EXPECT_EQ(g.offset(), 1006u + 2);  // 2 64-bit values per block
  for (size_t i = 0; i < f32.size(); ++i) {
    Words w = Generator::philox(seed, 1000 + i / 4);
    EXPECT_EQ(f32[i], static_cast<double>(w[i % 4] >> 8) * 0x1p-24) << "float32 element " << i;
  }
  for (size_t i = 0; i < f64.size(); ++i) {
    Words w = Generator::philox(seed, 1003 + i / 2);
    EXPECT_EQ(f64[i], static_cast<double>(bits64(w, i % 2) >> 11) * 0x1p-53) << "float64 element " << i;
  }
  for (size_t i = 0; i < ints.size(); ++i) {
    Words w = Generator::philox(seed, 1006 + i / 2);
    auto expected = static_cast<int64_t>((static_cast<unsigned __int128>(bits64(w, i % 2)) * 1003) >> 64) - 3;
    EXPECT_EQ(ints[i], expected) << "int64 element " << i;
  }
}

TEST(RandomStream, ConsecutiveDrawsContinueWithoutOverlap) {
  // Two draws of 5 float32 values reserve 2 blocks each: they are elements 0-4 and 8-12 of one
  // draw of 13 from the same start.
  Generator g(99), h(99);
  Tensor first = core::rand({5}, {}, &g);
  Tensor second = core::rand({5}, {}, &g);
  Tensor whole = core::rand({13}, {}, &h);
  EXPECT_TRUE(testing::tensors_close(first, core::slice(whole, 0, 0, 5), 0, 0));
  EXPECT_TRUE(testing::tensors_close(second, core::slice(whole, 0, 8, 13), 0, 0));
  EXPECT_EQ(g.offset(), 4u);
}

TEST(RandomStream, SameSeedSameNumbersOtherSeedOthers) {
  for (DType dtype : {kFloat32, kFloat64}) {
    manual_seed(42);
    Tensor a = core::randn({1000}, {.dtype = dtype});
    manual_seed(42);
    Tensor b = core::randn({1000}, {.dtype = dtype});
    manual_seed(43);
    Tensor c = core::randn({1000}, {.dtype = dtype});
    EXPECT_TRUE(testing::tensors_close(a, b, 0, 0)) << dtype_name(dtype);
    EXPECT_FALSE(testing::tensors_close(a, c, 0, 0)) << dtype_name(dtype);
  }
  EXPECT_EQ(default_generator().seed(), 43u);
  EXPECT_EQ(default_generator().offset(), 500u);  // 1000 float64 normals, 2 per block
}

TEST(RandomStream, EmptyAndZeroDimDraws) {
  Generator g(5);
  Tensor empty = core::rand({0, 3}, {}, &g);
  EXPECT_EQ(empty.sizes(), (Dims{0, 3}));
  EXPECT_EQ(g.offset(), 0u);
  Tensor scalar = core::randn({}, {.dtype = kFloat64}, &g);
  EXPECT_EQ(scalar.dim(), 0);
  EXPECT_TRUE(std::isfinite(scalar.item<double>()));
  EXPECT_EQ(g.offset(), 1u);
  EXPECT_EQ(Generator().seed(), 0u);
}

// ---- thread count and strides ----

// Every kind of draw, large enough to be split over threads, from seed `seed`.
std::vector<Tensor> draw_all(uint64_t seed) {
  Generator g(seed);
  std::vector<Tensor> draws;
  draws.push_back(core::rand({300001}, {}, &g));
  draws.push_back(core::rand({150001}, {.dtype = kFloat64}, &g));
  draws.push_back(core::randn({300001}, {}, &g));
  draws.push_back(core::randn({150001}, {.dtype = kFloat64}, &g));
  draws.push_back(core::randint(-7, 7, {200001}, {}, &g));
  draws.push_back(core::bernoulli(core::full({100001}, 0.5), &g));
  draws.push_back(core::randperm(100001, {}, &g));
  Tensor viewed = core::empty({500, 401});
  core::normal_(core::transpose(viewed, 0, 1), 1.0, 2.0, &g);
  draws.push_back(viewed);
  return draws;
}

TEST(RandomThreads, SameNumbersWithOneAndTwoThreads) {
  const int threads = get_num_threads();
  set_num_threads(1);
  std::vector<Tensor> one = draw_all(2024);
  set_num_threads(2);
  std::vector<Tensor> two = draw_all(2024);
  set_num_threads(threads);
  for (size_t i = 0; i < one.size(); ++i) EXPECT_TRUE(testing::tensors_close(one[i], two[i], 0, 0)) << "draw " << i;
}

// The in-place draws into a view give, in the view's row-major order, the numbers a fresh
// contiguous draw of the same shape gives; the elements outside the view stay untouched.
struct ViewCase {
  const char* name;
  Dims base;
  Tensor (*make_view)(const Tensor&);
};

class RandomViews : public ::testing::TestWithParam<std::tuple<ViewCase, DType>> {};

TEST_P(RandomViews, InPlaceDrawsFollowLogicalOrder) {
  const auto& [view_case, dtype] = GetParam();
  Tensor base = core::full(view_case.base, -7.0, {.dtype = dtype});
  Tensor view = view_case.make_view(base);
  ASSERT_FALSE(view.is_contiguous());
  // No draw below gives -7, so the sentinels left are the elements outside the view.
  auto sentinels = [&] {
    std::vector<double> all = base.to_vector<double>();
    return std::count(all.begin(), all.end(), -7.0);
  };
  struct Draw {
    const char* name;
    void (*in_place)(const Tensor&, Generator*);
    Tensor (*fresh)(const Dims&, DType, Generator*);
  };
  const Draw draws[] = {
      {"uniform_", [](const Tensor& t, Generator* g) { core::uniform_(t, -1.0, 3.0, g); },
       [](const Dims& s, DType d, Generator* g) {
         Tensor t = core::empty(s, {.dtype = d});
         core::uniform_(t, -1.0, 3.0, g);
         return t;
       }},
      {"normal_", [](const Tensor& t, Generator* g) { core::normal_(t, 0.5, 2.0, g); },
       [](const Dims& s, DType d, Generator* g) {
         Tensor t = core::empty(s, {.dtype = d});
         core::normal_(t, 0.5, 2.0, g);
         return t;
       }},
      {"bernoulli_", [](const Tensor& t, Generator* g) { core::bernoulli_(t, 0.25, g); },
       [](const Dims& s, DType d, Generator* g) { return core::bernoulli(core::full(s, 0.25, {.dtype = d}), g); }},
  };
  for (const Draw& draw : draws) {
    Generator g(11), h(11);
    uint64_t version = base.version();
    draw.in_place(view, &g);
    EXPECT_EQ(base.version(), version + 1) << draw.name;
    Tensor expected = draw.fresh(view.sizes(), dtype, &h);
    EXPECT_TRUE(testing::tensors_close(view, expected, 0, 0)) << view_case.name << " " << draw.name;
    EXPECT_EQ(sentinels(), base.numel() - view.numel()) << view_case.name << " " << draw.name;
    EXPECT_EQ(g.offset(), h.offset());
  }
}

INSTANTIATE_TEST_SUITE_P(
    Views, RandomViews,
    ::testing::Combine(
        ::testing::Values(
            ViewCase{"transposed", {70, 3}, [](const Tensor& t) { return core::transpose(t, 0, 1); }},
            ViewCase{"sliced_step3", {9, 50}, [](const Tensor& t) { return core::slice(t, 1, 1, 50, 3); }},
            ViewCase{"large_permuted", {40, 50, 30}, [](const Tensor& t) { return core::permute(t, {2, 0, 1}); }},
            ViewCase{"column", {100, 4}, [](const Tensor& t) { return core::unsqueeze(core::select(t, 1, 2), 1); }}),
        ::testing::Values(kFloat32, kFloat64)),
    [](const auto& info) {
      return std::string(std::get<0>(info.param).name) + "_" + std::string(dtype_name(std::get<1>(info.param)));
    });

// ---- statistics (fixed seeds, so they cannot flake; bounds are 5 sigma) ----

struct Moments {
  double mean = 0.0, variance = 0.0, min = INFINITY, max = -INFINITY;
};

Moments moments(const Tensor& t) {
  std::vector<double> v = t.to_vector<double>();
  Moments m;
  for (double x : v) {
    m.mean += x;
    m.min = std::min(m.min, x);
    m.max = std::max(m.max, x);
  }
  m.mean /= static_cast<double>(v.size());
  for (double x : v) m.variance += (x - m.mean) * (x - m.mean);
  m.variance /= static_cast<double>(v.size() - 1);
  return m;
}

constexpr int64_t kSamples = 1'000'000;

class RandomStatistics : public ::testing::TestWithParam<DType> {};

TEST_P(RandomStatistics, UniformMomentsAndRange) {
  Generator g(1);
  Moments m = moments(core::rand({kSamples}, {.dtype = GetParam()}, &g));
  const double n = kSamples;
  EXPECT_GE(m.min, 0.0);
  EXPECT_LT(m.max, 1.0);
  EXPECT_NEAR(m.mean, 0.5, 5 * std::sqrt(1.0 / 12.0 / n));
  // Var of (x - 1/2)^2 for U(0, 1): 1/80 - 1/144.
  EXPECT_NEAR(m.variance, 1.0 / 12.0, 5 * std::sqrt((1.0 / 80 - 1.0 / 144) / n));
}

TEST_P(RandomStatistics, UniformInPlaceRange) {
  Generator g(2);
  Tensor t = core::empty({kSamples}, {.dtype = GetParam()});
  core::uniform_(t, -2.0, 3.0, &g);
  Moments m = moments(t);
  EXPECT_GE(m.min, -2.0);
  EXPECT_LT(m.max, 3.0);
  EXPECT_NEAR(m.mean, 0.5, 5 * 5.0 * std::sqrt(1.0 / 12.0 / kSamples));
  core::uniform_(t, 1.5, 1.5, &g);  // an empty range gives its bound
  EXPECT_EQ(moments(t).max, 1.5);
  EXPECT_EQ(moments(t).min, 1.5);
}

TEST_P(RandomStatistics, NormalMomentsAndTails) {
  Generator g(3);
  Tensor z = core::randn({kSamples}, {.dtype = GetParam()}, &g);
  Moments m = moments(z);
  const double n = kSamples;
  EXPECT_NEAR(m.mean, 0.0, 5 / std::sqrt(n));
  EXPECT_NEAR(m.variance, 1.0, 5 * std::sqrt(2.0 / n));
  // P(|z| > 1.96) = 0.05 and P(|z| > 3) = 0.0026998, counted as binomials.
  std::vector<double> v = z.to_vector<double>();
  auto fraction_beyond = [&](double bound) {
    return static_cast<double>(std::count_if(v.begin(), v.end(), [&](double x) { return std::abs(x) > bound; })) / n;
  };
  EXPECT_NEAR(fraction_beyond(1.96), 0.05, 5 * std::sqrt(0.05 * 0.95 / n));
  EXPECT_NEAR(fraction_beyond(3.0), 0.0026998, 5 * std::sqrt(0.0026998 / n));
  EXPECT_TRUE(std::all_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); }));
}

TEST_P(RandomStatistics, NormalInPlaceMeanAndStd) {
  Generator g(4);
  Tensor t = core::empty({kSamples}, {.dtype = GetParam()});
  core::normal_(t, 3.0, 0.5, &g);
  Moments m = moments(t);
  EXPECT_NEAR(m.mean, 3.0, 5 * 0.5 / std::sqrt(static_cast<double>(kSamples)));
  EXPECT_NEAR(m.variance, 0.25, 5 * 0.25 * std::sqrt(2.0 / kSamples));
  core::normal_(t, -1.0, 0.0, &g);  // std 0 gives the mean
  EXPECT_EQ(moments(t).max, -1.0);
  EXPECT_EQ(moments(t).min, -1.0);
}

TEST_P(RandomStatistics, BernoulliFrequencies) {
  Generator g(5);
  const double n = kSamples;
  Tensor t = core::empty({kSamples}, {.dtype = GetParam()});
  core::bernoulli_(t, 0.3, &g);
  Moments m = moments(t);
  EXPECT_EQ(m.min, 0.0);
  EXPECT_EQ(m.max, 1.0);
  EXPECT_NEAR(m.mean, 0.3, 5 * std::sqrt(0.3 * 0.7 / n));
  // Probabilities 0 and 1 are exact; a tensor of probabilities is followed element by element.
  core::bernoulli_(t, 0.0, &g);
  EXPECT_EQ(moments(t).max, 0.0);
  core::bernoulli_(t, 1.0, &g);
  EXPECT_EQ(moments(t).min, 1.0);
  Tensor p = core::expand(core::tensor({0.0, 1.0, 0.25, 0.9}, {.dtype = GetParam()}), {kSamples / 4, 4});
  Tensor draws = core::bernoulli(p, &g);
  EXPECT_EQ(draws.dtype(), GetParam());
  EXPECT_EQ(draws.sizes(), p.sizes());
  const double rows = kSamples / 4;
  Moments never = moments(core::select(draws, 1, 0)), always = moments(core::select(draws, 1, 1));
  EXPECT_EQ(never.max, 0.0);
  EXPECT_EQ(always.min, 1.0);
  EXPECT_NEAR(moments(core::select(draws, 1, 2)).mean, 0.25, 5 * std::sqrt(0.25 * 0.75 / rows));
  EXPECT_NEAR(moments(core::select(draws, 1, 3)).mean, 0.9, 5 * std::sqrt(0.9 * 0.1 / rows));
}

INSTANTIATE_TEST_SUITE_P(Dtypes, RandomStatistics, ::testing::Values(kFloat32, kFloat64),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

// Pearson's chi-square statistic of observed counts against equal expected counts.
double chi_square(const std::vector<int64_t>& counts, double expected) {
  double chi2 = 0.0;
  for (int64_t c : counts) chi2 += (static_cast<double>(c) - expected) * (static_cast<double>(c) - expected) / expected;
  return chi2;
}

// A 5-sigma bound on chi-square with `df` degrees of freedom (mean df, variance 2 df).
double chi_square_bound(int df) { return df + 5 * std::sqrt(2.0 * df); }

TEST(RandomIntegers, RandintBucketsAreUniform) {
  Generator g(6);
  Tensor t = core::randint(-5, 5, {kSamples}, {}, &g);
  EXPECT_EQ(t.dtype(), kInt64);
  std::vector<int64_t> counts(10, 0);
  for (int64_t v : t.to_vector<int64_t>()) {
    ASSERT_TRUE(v >= -5 && v < 5) << v;
    ++counts[static_cast<size_t>(v + 5)];
  }
  EXPECT_LT(chi_square(counts, kSamples / 10.0), chi_square_bound(9));
}

TEST(RandomIntegers, RandintFullRangeAndFloatDtypes) {
  Generator g(7);
  std::vector<int64_t> wide =
      core::randint(INT64_MIN, INT64_MAX, {1000}, {}, &g).to_vector<int64_t>();
  // 1000 draws over the whole int64 range reach both far ends.
  EXPECT_LT(*std::min_element(wide.begin(), wide.end()), INT64_MIN / 2);
  EXPECT_GT(*std::max_element(wide.begin(), wide.end()), INT64_MAX / 2);
  for (DType dtype : {kFloat32, kFloat64}) {
    Tensor t = core::randint(3, 6, {1000}, {.dtype = dtype}, &g);
    EXPECT_EQ(t.dtype(), dtype);
    for (double v : t.to_vector<double>()) ASSERT_TRUE(v == 3 || v == 4 || v == 5) << v;
  }
}

TEST(RandomIntegers, RandpermIsAPermutation) {
  Generator g(8);
  for (int64_t n : {0, 1, 2, 1000}) {
    Tensor p = core::randperm(n, {}, &g);
    EXPECT_EQ(p.dtype(), kInt64);
    std::vector<int64_t> v = p.to_vector<int64_t>();
    std::sort(v.begin(), v.end());
    std::vector<int64_t> identity(static_cast<size_t>(n));
    std::iota(identity.begin(), identity.end(), 0);
    EXPECT_EQ(v, identity) << "n = " << n;
  }
  Tensor floats = core::randperm(50, {.dtype = kFloat64}, &g);
  std::vector<double> v = floats.to_vector<double>();
  std::sort(v.begin(), v.end());
  for (size_t i = 0; i < v.size(); ++i) EXPECT_EQ(v[i], static_cast<double>(i));
  Generator a(9), b(9), c(10);
  EXPECT_TRUE(testing::tensors_close(core::randperm(100, {}, &a), core::randperm(100, {}, &b), 0, 0));
  EXPECT_FALSE(testing::tensors_close(core::randperm(100, {}, &a), core::randperm(100, {}, &c), 0, 0));
}

TEST(RandomIntegers, RandpermDrawsAllOrdersEvenly) {
  // All 5! = 120 orders of 5 elements, 100 times each on average.
  Generator g(12);
  std::map<std::vector<int64_t>, int64_t> seen;
  const int64_t draws = 12000;
  for (int64_t i = 0; i < draws; ++i) ++seen[core::randperm(5, {}, &g).to_vector<int64_t>()];
  ASSERT_EQ(seen.size(), 120u);
  std::vector<int64_t> counts;
  for (const auto& [order, count] : seen) counts.push_back(count);
  EXPECT_LT(chi_square(counts, draws / 120.0), chi_square_bound(119));
}

// ---- dtypes, options and errors ----

TEST(RandomDtypes, DefaultsAndLikes) {
  Generator g(13);
  EXPECT_EQ(core::rand({2}, {}, &g).dtype(), kFloat32);
  EXPECT_EQ(core::randn({2}, {}, &g).dtype(), kFloat32);
  EXPECT_EQ(core::randint(0, 3, {2}, {}, &g).dtype(), kInt64);
  EXPECT_EQ(core::randperm(3, {}, &g).dtype(), kInt64);
  Tensor like = core::randn_like(core::zeros({3, 4}, {.dtype = kFloat64}), &g);
  EXPECT_EQ(like.dtype(), kFloat64);
  EXPECT_EQ(like.sizes(), (Dims{3, 4}));
  Tensor uniform_like = core::rand_like(core::transpose(core::zeros({2, 5}), 0, 1), &g);
  EXPECT_EQ(uniform_like.sizes(), (Dims{5, 2}));
  EXPECT_TRUE(uniform_like.is_contiguous());
  Tensor with_grad = core::rand({2}, {.requires_grad = true}, &g);
  EXPECT_TRUE(with_grad.requires_grad());
}

TEST(RandomDtypes, BernoulliInPlaceOnIntegersAndBools) {
  Generator g(14);
  for (DType dtype : {kInt64, kBool}) {
    Tensor t = core::empty({1000}, {.dtype = dtype});
    core::bernoulli_(t, 0.5, &g);
    std::vector<int64_t> v = t.to_vector<int64_t>();
    EXPECT_TRUE(std::all_of(v.begin(), v.end(), [](int64_t x) { return x == 0 || x == 1; })) << dtype_name(dtype);
    EXPECT_GT(std::accumulate(v.begin(), v.end(), int64_t{0}), 400) << dtype_name(dtype);
  }
}

TEST(RandomErrors, UnsupportedDtypesNameTheOp) {
  Generator g(15);
  Tensor ints = core::zeros({3}, {.dtype = kInt64});
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::rand({2}, {.dtype = kInt64}, &g); }, {"rand", "int64"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::randn({2}, {.dtype = kBool}, &g); }, {"randn", "bool"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::rand_like(ints, &g); }, {"rand_like", "int64"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::randn_like(ints, &g); }, {"randn_like", "int64"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::uniform_(ints, 0, 1, &g); }, {"uniform_", "int64"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::normal_(ints, 0, 1, &g); }, {"normal_", "int64"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::bernoulli(ints, &g); }, {"bernoulli", "int64"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::randint(0, 2, {2}, {.dtype = kBool}, &g); }, {"randint", "bool"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::randperm(3, {.dtype = kBool}, &g); }, {"randperm", "bool"}));
  EXPECT_EQ(g.offset(), 0u);  // a refused draw reserves nothing
}

TEST(RandomErrors, BadArgumentsNameTheOp) {
  Generator g(16);
  Tensor t = core::zeros({3});
  EXPECT_TRUE(throws_with<ValueError>([&] { core::randint(5, 5, {2}, {}, &g); }, {"randint", "[5, 5)"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { core::randint(5, 3, {2}, {}, &g); }, {"randint", "[5, 3)"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { core::rand({2, -1}, {}, &g); }, {"rand", "[2, -1]"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { core::randn({-3}, {}, &g); }, {"randn", "[-3]"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { core::randint(0, 4, {-1, 2}, {}, &g); }, {"randint", "[-1, 2]"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { core::randperm(-1, {}, &g); }, {"randperm", "-1"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { core::randperm((int64_t{1} << 24) + 1, {.dtype = kFloat32}, &g); },
                                      {"randperm", "float32"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { core::bernoulli_(t, 1.5, &g); }, {"bernoulli_", "1.5"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { core::bernoulli_(t, -0.25, &g); }, {"bernoulli_", "-0.25"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { core::bernoulli_(t, NAN, &g); }, {"bernoulli_", "nan"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { core::bernoulli(core::tensor({0.5, 2.0}), &g); }, {"bernoulli", "2"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { core::uniform_(t, 2.0, 1.0, &g); }, {"uniform_", "[2, 1)"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { core::uniform_(t, 0.0, INFINITY, &g); }, {"uniform_", "inf"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { core::uniform_(t, -1e308, 1e308, &g); }, {"uniform_", "1e+308"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { core::normal_(t, 0.0, -1.0, &g); }, {"normal_", "-1"}));
  Tensor expanded = core::expand(core::zeros({1, 2}), {3, 2});
  EXPECT_TRUE(throws_with<ValueError>([&] { core::uniform_(expanded, 0, 1, &g); }, {"uniform_", "[3, 2]", "[0, 1]"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { core::bernoulli_(expanded, 0.5, &g); }, {"bernoulli_", "[3, 2]"}));
  EXPECT_EQ(g.offset(), 0u);
}

}  // namespace
}  // namespace descent
