// Datasets, samplers and the DataLoader: batching, seeded shuffling that does not depend on the
// worker count, drop_last, the samplers' index sets, worker errors, and resuming mid-epoch.
#include <atomic>
#include <set>

#include <descent/data/dataloader.h>
#include "testing.h"

namespace descent::data {
namespace {

using descent::testing::throws_with;

// x[i] = [i, i], y[i] = i: a batch's y names the examples in it.
DatasetPtr numbered(int64_t n) {
  Tensor x = core::arange(n, {.dtype = kFloat32}).unsqueeze(1).expand({n, 2}).contiguous();
  return std::make_shared<TensorDataset>(x, core::arange(n));
}

std::vector<std::vector<int64_t>> read_epoch(DataLoader& loader) {
  std::vector<std::vector<int64_t>> out;
  for (auto [x, y] : loader) {
    EXPECT_EQ(x.size(0), y.size(0));
    EXPECT_EQ(x.select(1, 0).to_vector<int64_t>(), y.to_vector<int64_t>());
    out.push_back(y.to_vector<int64_t>());
  }
  return out;
}

TEST(Dataset, TensorSubsetConcatAndTransform) {
  DatasetPtr base = numbered(5);
  EXPECT_TRUE(throws_with<ShapeError>([] { TensorDataset(core::zeros({3, 2}), core::zeros({4})); }, {"[3, 2]", "[4]"}));
  Subset subset(base, {4, 1});
  EXPECT_EQ(subset.size(), 2);
  EXPECT_EQ(subset.get(0).y.item<int64_t>(), 4);
  EXPECT_TRUE(throws_with<IndexError>([&] { Subset(base, {5}); }, {"Subset", "index 5", "5 examples"}));
  ConcatDataset both({base, std::make_shared<Subset>(subset)});
  EXPECT_EQ(both.size(), 7);
  EXPECT_EQ(both.get(4).y.item<int64_t>(), 4);
  EXPECT_EQ(both.get(6).y.item<int64_t>(), 1);
  EXPECT_TRUE(throws_with<IndexError>([&] { both.get(7); }, {"ConcatDataset", "index 7"}));
  // The hook's generator depends on (seed, epoch, index) only.
  TransformDataset noisy(base, Transform([](const Tensor& x, Generator& g) { return x + core::rand({2}, {}, &g); }), 7);
  Tensor first = noisy.get(2).x;
  EXPECT_TRUE(descent::testing::tensors_close(noisy.get(2).x, first, 0, 0));
  EXPECT_GE(first.at<float>({0}), 2.0f);
  EXPECT_LT(first.at<float>({0}), 3.0f);
  noisy.set_epoch(1);
  EXPECT_FALSE(descent::testing::tensors_close(noisy.get(2).x, first, 0, 0));
}

TEST(DataLoader, SequentialBatchesAndDropLast) {
  DataLoader loader(numbered(10), {.batch_size = 4});
  EXPECT_EQ(loader.size(), 3);
  auto batches = read_epoch(loader);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[2], (std::vector<int64_t>{8, 9}));
  DataLoader dropping(numbered(10), {.batch_size = 4, .drop_last = true});
  EXPECT_EQ(dropping.size(), 2);
  EXPECT_EQ(read_epoch(dropping).size(), 2u);
  EXPECT_TRUE(throws_with<ValueError>([] { DataLoader(numbered(3), {.batch_size = 0}); }, {"batch_size", "0"}));
}

TEST(DataLoader, ShuffleIsAPermutationNewEachEpochAndIndependentOfWorkers) {
  DataLoader serial(numbered(50), {.batch_size = 8, .shuffle = true, .seed = 3});
  auto epoch0 = read_epoch(serial);
  auto epoch1 = read_epoch(serial);
  EXPECT_EQ(serial.epoch(), 2);
  std::set<int64_t> seen;
  for (auto& batch : epoch0) seen.insert(batch.begin(), batch.end());
  EXPECT_EQ(seen.size(), 50u);
  EXPECT_NE(epoch0, epoch1);
  for (int workers : {1, 3}) {
    DataLoader threaded(numbered(50), {.batch_size = 8, .shuffle = true, .num_workers = workers, .seed = 3});
    EXPECT_EQ(read_epoch(threaded), epoch0) << workers << " workers";
    EXPECT_EQ(read_epoch(threaded), epoch1) << workers << " workers";
  }
  serial.set_epoch(1);
  EXPECT_EQ(read_epoch(serial), epoch1);
  // Without a seed, the default generator decides: manual_seed makes it repeatable.
  manual_seed(11);
  DataLoader a(numbered(50), {.batch_size = 50, .shuffle = true});
  manual_seed(11);
  DataLoader b(numbered(50), {.batch_size = 50, .shuffle = true});
  EXPECT_EQ(read_epoch(a), read_epoch(b));
}

TEST(DataLoader, ResumesInTheMiddleOfAnEpoch) {
  DataLoader full(numbered(20), {.batch_size = 3, .shuffle = true, .num_workers = 2, .seed = 5});
  auto expected = read_epoch(full);
  DataLoader first(numbered(20), {.batch_size = 3, .shuffle = true, .num_workers = 2, .seed = 5});
  optim::StateDict state;
  int64_t taken = 0;
  for (auto [x, y] : first) {
    if (++taken == 4) {
      state = first.state_dict();
      break;
    }
  }
  EXPECT_EQ(state.tensors.at("batch").item<int64_t>(), 4);
  DataLoader resumed(numbered(20), {.batch_size = 3, .shuffle = true, .seed = 5});
  resumed.load_state_dict(state);
  auto rest = read_epoch(resumed);
  EXPECT_EQ(rest, std::vector<std::vector<int64_t>>(expected.begin() + 4, expected.end()));
  EXPECT_EQ(resumed.epoch(), 1);
  DataLoader other_seed(numbered(20), {.batch_size = 3, .seed = 6});
  EXPECT_TRUE(throws_with<ValueError>([&] { other_seed.load_state_dict(state); }, {"seed 5", "has 6"}));
}

// Fails on example `bad`; counts the examples read.
class Failing : public Dataset {
 public:
  explicit Failing(int64_t bad) : bad_(bad) {}
  int64_t size() const override { return 40; }
  Example get(int64_t index) const override {
    check<ValueError>(index != bad_, "Failing: example {} is broken", index);
    return {core::zeros({2}), core::scalar_tensor(index, {.dtype = kInt64})};
  }

 private:
  int64_t bad_;
};

TEST(DataLoader, WorkerExceptionsReachTheConsumerAndShutdownIsClean) {
  DataLoader loader(std::make_shared<Failing>(17), {.batch_size = 4, .num_workers = 2, .prefetch_batches = 3});
  int64_t batches = 0;
  EXPECT_TRUE(throws_with<ValueError>([&] {
    for (auto [x, y] : loader) ++batches;
  }, {"example 17 is broken"}));
  EXPECT_EQ(batches, 4);  // batches 0-3 arrive in order; batch 4 holds example 17
  // Abandoning an epoch half-read and destroying the loader joins the workers.
  DataLoader abandoned(numbered(1000), {.batch_size = 2, .num_workers = 2});
  auto it = abandoned.begin();
  EXPECT_EQ((*it).y.to_vector<int64_t>(), (std::vector<int64_t>{0, 1}));
}

TEST(Sampler, SubsetWeightedAndDistributed) {
  SubsetRandomSampler subset({3, 9, 12}, 1);
  std::vector<int64_t> picked = subset.indices(0);
  EXPECT_EQ(std::set<int64_t>(picked.begin(), picked.end()), (std::set<int64_t>{3, 9, 12}));
  WeightedRandomSampler weighted({0.0, 1.0, 3.0}, 4000, 2);
  std::vector<int64_t> counts(3, 0);
  for (int64_t index : weighted.indices(0)) counts.at(static_cast<size_t>(index))++;
  EXPECT_EQ(counts[0], 0);
  EXPECT_NEAR(counts[2] / 4000.0, 0.75, 0.03);  // 4 sigma of a binomial(4000, 0.75)
  EXPECT_TRUE(throws_with<ValueError>([] { WeightedRandomSampler({-1.0}, 1, 0); }, {"weight -1"}));
  // 10 indices over 3 ranks: 4 each (two repeated), together covering all 10, same seed same split.
  std::multiset<int64_t> all;
  for (int64_t rank = 0; rank < 3; ++rank) {
    DistributedSampler sampler(10, rank, 3, true, 4);
    EXPECT_EQ(sampler.size(), 4);
    std::vector<int64_t> mine = sampler.indices(2);
    EXPECT_EQ(static_cast<int64_t>(mine.size()), 4);
    all.insert(mine.begin(), mine.end());
  }
  EXPECT_EQ(std::set<int64_t>(all.begin(), all.end()).size(), 10u);
  DataLoader rank1(numbered(10), {.batch_size = 10, .sampler = std::make_shared<DistributedSampler>(10, 1, 3, false)});
  EXPECT_EQ(read_epoch(rank1)[0], (std::vector<int64_t>{1, 4, 7, 0}));
  EXPECT_TRUE(throws_with<ValueError>([] { DistributedSampler(10, 3, 3); }, {"rank 3", "world_size 3"}));
}

}  // namespace
}  // namespace descent::data
