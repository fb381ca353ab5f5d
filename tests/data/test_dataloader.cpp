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

// The global batches of one epoch at a world size: batch b of every rank, merged (sorted, since
// the ranks' shards interleave). global_batch / world is each rank's batch.
std::vector<std::vector<int64_t>> global_batches(int64_t n, int64_t world, int64_t global_batch, bool drop_last,
                                                 int64_t epoch) {
  std::vector<std::vector<int64_t>> merged;
  for (int64_t rank = 0; rank < world; ++rank) {
    DataLoader loader(numbered(n), {.batch_size = global_batch / world, .seed = 0,
                                    .sampler = std::make_shared<DistributedSampler>(n, rank, world, true, 8, drop_last)});
    loader.set_epoch(epoch);
    std::vector<std::vector<int64_t>> batches = read_epoch(loader);
    merged.resize(batches.size());
    EXPECT_EQ(static_cast<int64_t>(batches.size()), loader.size()) << "rank " << rank << " of " << world;
    for (size_t b = 0; b < batches.size(); ++b) merged[b].insert(merged[b].end(), batches[b].begin(), batches[b].end());
  }
  for (auto& batch : merged) std::sort(batch.begin(), batch.end());
  return merged;
}

TEST(Sampler, DistributedGivesEveryRankTheSameBatchCount) {
  for (bool drop_last : {false, true}) {
    for (int64_t world = 1; world <= 4; ++world) {
      int64_t expected = -1;
      for (int64_t rank = 0; rank < world; ++rank) {
        DistributedSampler sampler(23, rank, world, true, 8, drop_last);
        // PyTorch: ceil(23 / world) each, padded; with drop_last floor(23 / world), the tail dropped
        EXPECT_EQ(sampler.size(), drop_last ? 23 / world : (23 + world - 1) / world);
        DataLoader loader(numbered(23), {.batch_size = 2, .sampler = std::make_shared<DistributedSampler>(
                                                              23, rank, world, true, 8, drop_last)});
        int64_t batches = static_cast<int64_t>(read_epoch(loader).size());
        if (rank == 0) expected = batches;
        EXPECT_EQ(batches, expected) << "rank " << rank << " of " << world << ", drop_last " << drop_last;
      }
    }
  }
  // drop_last: 23 over 4 ranks leaves 20 distinct indices, none repeated
  std::multiset<int64_t> all;
  for (int64_t rank = 0; rank < 4; ++rank) {
    std::vector<int64_t> mine = DistributedSampler(23, rank, 4, true, 8, true).indices(0);
    all.insert(mine.begin(), mine.end());
  }
  EXPECT_EQ(all.size(), 20u);
  EXPECT_EQ(std::set<int64_t>(all.begin(), all.end()).size(), 20u);
}

// The same global batch, world by world: batch b of all ranks holds the same examples at any world
// size (the padding at the end aside), which is what lets a DataLoader state saved at one world
// size continue at another.
TEST(Sampler, DistributedGlobalBatchesDoNotDependOnTheWorldSize) {
  constexpr int64_t kN = 48, kGlobalBatch = 12;  // divisible by worlds 1-4: no padding
  std::vector<std::vector<int64_t>> one = global_batches(kN, 1, kGlobalBatch, false, 3);
  ASSERT_EQ(one.size(), 4u);
  for (int64_t world : {2, 3, 4}) EXPECT_EQ(global_batches(kN, world, kGlobalBatch, false, 3), one) << "world " << world;
  EXPECT_NE(global_batches(kN, 1, kGlobalBatch, false, 4), one);  // another epoch, another order
}

TEST(Sampler, ALoaderStateSavedAtOneWorldSizeResumesAtAnother) {
  constexpr int64_t kN = 48, kGlobalBatch = 12, kEpoch = 2;
  std::vector<std::vector<int64_t>> uninterrupted = global_batches(kN, 1, kGlobalBatch, false, kEpoch);
  for (auto [saved_world, resumed_world] : {std::pair{4, 2}, std::pair{2, 3}, std::pair{1, 4}}) {
    // Two global batches at saved_world, rank 0's state saved (every rank's is the same)...
    optim::StateDict state;
    std::vector<std::vector<int64_t>> seen(uninterrupted.size());
    for (int64_t rank = 0; rank < saved_world; ++rank) {
      DataLoader loader(numbered(kN), {.batch_size = kGlobalBatch / saved_world, .seed = 0,
                                       .sampler = std::make_shared<DistributedSampler>(kN, rank, saved_world, true, 8)});
      loader.set_epoch(kEpoch);
      int64_t b = 0;
      for (auto [x, y] : loader) {
        for (int64_t i : y.to_vector<int64_t>()) seen[static_cast<size_t>(b)].push_back(i);
        if (++b == 2) break;
      }
      if (rank == 0) state = loader.state_dict();
    }
    // ... the rest of the epoch at resumed_world.
    for (int64_t rank = 0; rank < resumed_world; ++rank) {
      DataLoader loader(numbered(kN), {.batch_size = kGlobalBatch / resumed_world, .seed = 0,
                                       .sampler = std::make_shared<DistributedSampler>(kN, rank, resumed_world, true, 8)});
      loader.load_state_dict(state);
      int64_t b = 2;
      for (auto [x, y] : loader) {
        for (int64_t i : y.to_vector<int64_t>()) seen[static_cast<size_t>(b)].push_back(i);
        ++b;
      }
      EXPECT_EQ(b, static_cast<int64_t>(uninterrupted.size()));
    }
    for (auto& batch : seen) std::sort(batch.begin(), batch.end());
    EXPECT_EQ(seen, uninterrupted) << "saved at world " << saved_world << ", resumed at " << resumed_world;
  }
}

}  // namespace
}  // namespace descent::data
