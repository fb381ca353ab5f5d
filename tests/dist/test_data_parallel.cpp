// DataParallel: N ranks with a shard of B examples each train exactly as one process with the
// whole batch of N B (float64, SGD with momentum and AdamW, several bucket layouts); deterministic
// mode gives the same bits as its one-process definition at every world size; no_sync, unused
// parameters, buffers, bucket assignment; mismatched modules are the same error on every rank.
// Runs alone and under mpirun -np 1..4 (tests/CMakeLists.txt).
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "testing.h"

namespace descent {
namespace {

using descent::testing::throws_with;

int64_t N() { return dist::world_size(); }
int64_t R() { return dist::rank(); }

struct Net : nn::Module {
  nn::Linear fc1, fc2;
  explicit Net(int64_t hidden = 12, const std::string& first = "fc1") : fc1(6, hidden), fc2(hidden, 3) {
    register_module(first, fc1);
    register_module("fc2", fc2);
  }
  Tensor forward(const Tensor& x) { return fc2(tanh(fc1(x))); }
};

// The largest |a - b| / max(|b|, 1e-300) over the parameters, in registration order.
double largest_relative_difference(const Net& a, const Net& b) {
  double largest = 0;
  auto pa = a.parameters(), pb = b.parameters();
  for (size_t i = 0; i < pa.size(); ++i) {
    std::vector<double> va = pa[i].to_vector<double>(), vb = pb[i].to_vector<double>();
    for (size_t j = 0; j < va.size(); ++j) {
      largest = std::max(largest, std::abs(va[j] - vb[j]) / std::max(std::abs(vb[j]), 1e-300));
    }
  }
  return largest;
}

// The teacher regression data in float64: x [n, 6], y [n, 3].
std::pair<Tensor, Tensor> regression_data(int64_t n) {
  data::TensorDataset data = data::teacher_regression(n, 6, 8, 3, /*noise=*/0.1, /*seed=*/7);
  return {data.x().to(kFloat64), data.y().to(kFloat64)};
}

Tensor shard_loss(Net& net, const Tensor& x, const Tensor& y, int64_t first, int64_t size) {
  return nn::functional::mse_loss(net.forward(x.slice(0, first, first + size)), y.slice(0, first, first + size));
}

// Bucket layouts: PyTorch's defaults (one bucket for this small net), and one bucket per parameter.
// The tensor of that name among named (named_parameters(), named_buffers()).
Tensor named(const std::vector<std::pair<std::string, Tensor>>& tensors, const std::string& name) {
  for (const auto& [n, t] : tensors) {
    if (n == name) return t;
  }
  throw Error("no tensor named " + name);
}

const dist::DataParallelOptions kDefaultBuckets{};
const dist::DataParallelOptions kBucketPerParameter{.bucket_cap_mb = 1e-6, .first_bucket_cap_mb = 1e-6};

template <typename MakeOptimizer>
void expect_shards_train_as_one_batch(MakeOptimizer make_optimizer, const dist::DataParallelOptions& options) {
  constexpr int64_t kShard = 4, kSteps = 5;
  const int64_t batch = N() * kShard;
  auto [x, y] = regression_data(batch * kSteps);

  manual_seed(100 + R());  // each rank starts from its own weights: DataParallel makes them rank 0's
  Net replica;
  replica.to(kFloat64);
  dist::DataParallel parallel(replica, options);
  manual_seed(100);
  Net whole;
  whole.to(kFloat64);
  ASSERT_EQ(largest_relative_difference(replica, whole), 0.0) << "rank " << R() << ": not rank 0's weights";

  auto replica_opt = make_optimizer(replica.parameters());
  auto whole_opt = make_optimizer(whole.parameters());
  for (int64_t step = 0; step < kSteps; ++step) {
    int64_t first = step * batch;
    replica_opt.zero_grad();
    nn::functional::mse_loss(parallel.forward(x.slice(0, first + R() * kShard, first + (R() + 1) * kShard)),
                             y.slice(0, first + R() * kShard, first + (R() + 1) * kShard))
        .backward();  // returns with the averaged gradients
    replica_opt.step();

    whole_opt.zero_grad();
    shard_loss(whole, x, y, first, batch).backward();
    whole_opt.step();
  }
  double difference = largest_relative_difference(replica, whole);
  EXPECT_LE(difference, 1e-12) << "rank " << R() << " of " << N();
  EXPECT_GT(largest_relative_difference(whole, Net()), 0.0);  // it trained at all (against fresh weights)
}

TEST(DataParallel, ShardsTrainAsOneBatchWithSGDMomentum) {
  for (const auto& options : {kDefaultBuckets, kBucketPerParameter}) {
    expect_shards_train_as_one_batch(
        [](std::vector<Tensor> params) { return optim::SGD(params, {.lr = 0.1, .momentum = 0.9}); }, options);
  }
}

TEST(DataParallel, ShardsTrainAsOneBatchWithAdamW) {
  for (const auto& options : {kDefaultBuckets, kBucketPerParameter}) {
    expect_shards_train_as_one_batch(
        [](std::vector<Tensor> params) { return optim::AdamW(params, {.lr = 0.01, .weight_decay = 0.1}); }, options);
  }
}

TEST(DataParallel, AfterAStepGradientsAreViewsOfTheirBucketAndAccumulateThere) {
  Net net;
  dist::DataParallel parallel(net, kDefaultBuckets);
  Tensor x = full({2, 6}, 0.5);
  parallel.forward(x).sum().backward();
  Tensor first = net.fc1.weight.grad().clone();
  // One bucket holds fc2.bias, fc2.weight, fc1.bias, fc1.weight side by side: fc1.weight's
  // gradient ends where fc1.bias's begins, plus its own size.
  EXPECT_EQ(static_cast<const char*>(net.fc1.weight.grad().raw_data()) - static_cast<const char*>(net.fc2.bias.grad().raw_data()),
            (3 + 36 + 12) * 4);
  parallel.forward(x).sum().backward();  // no zero_grad: the second backward adds into the views
  EXPECT_TRUE(descent::testing::tensors_close(net.fc1.weight.grad(), first * 2.0));
}

TEST(DataParallel, ABackwardThatThrowsHalfWayLeavesTheNextOneSynchronised) {
  Net net;
  dist::DataParallel parallel(net, kBucketPerParameter);
  auto input = [](int64_t rank) { return full({2, 6}, 0.5 + static_cast<double>(rank)); };
  // fc2's buckets are posted, then a hook between the layers throws, on every rank alike
  Tensor h = tanh(net.fc1(input(R())));
  h.register_hook([](const Tensor&) -> Tensor { throw ValueError("hook: stop"); });
  EXPECT_TRUE(throws_with<ValueError>([&] { net.fc2(h).sum().backward(); }, {"hook: stop"}));

  net.zero_grad();
  parallel.forward(input(R())).sum().backward();
  // the mean over ranks of each rank's gradient, by autograd::grad (which runs no hooks)
  std::vector<Tensor> params = net.parameters();
  std::vector<Tensor> expected;
  for (int64_t r = 0; r < N(); ++r) {
    std::vector<Tensor> grads = autograd::grad({net.forward(input(r)).sum()}, params);
    for (size_t i = 0; i < grads.size(); ++i) {
      if (r == 0) {
        expected.push_back(grads[i] / static_cast<double>(N()));
      } else {
        expected[i] = expected[i] + grads[i] / static_cast<double>(N());
      }
    }
  }
  for (size_t i = 0; i < params.size(); ++i) {
    EXPECT_TRUE(descent::testing::tensors_close(params[i].grad(), expected[i])) << "parameter " << i << " rank " << R();
  }
}

// Deterministic mode against its definition: every shard's gradient on its own, summed in shard
// order, divided by the shard count. The definition runs on every rank alone; the replica under
// DataParallel must equal it bit for bit at every world size.
TEST(DataParallel, DeterministicModeIsBitIdenticalToOneProcessAtEveryWorldSize) {
  constexpr int64_t kShards = 12, kShardSize = 2, kSteps = 5;  // 12 shards: worlds 1, 2, 3 and 4
  auto [x, y] = regression_data(kShards * kShardSize * kSteps);
  manual_seed(5);
  Net replica;
  replica.to(kFloat64);
  dist::DataParallel parallel(replica, {.deterministic_shards = kShards});
  ASSERT_EQ(parallel.local_shards(), kShards / N());
  manual_seed(5);
  Net alone;
  alone.to(kFloat64);
  auto replica_opt = optim::SGD(replica.parameters(), {.lr = 0.1, .momentum = 0.9});
  auto alone_opt = optim::SGD(alone.parameters(), {.lr = 0.1, .momentum = 0.9});
  for (int64_t step = 0; step < kSteps; ++step) {
    int64_t first = step * kShards * kShardSize;
    replica_opt.zero_grad();
    for (int64_t j = 0; j < parallel.local_shards(); ++j) {
      int64_t shard = parallel.first_shard() + j;
      nn::functional::mse_loss(parallel.forward(x.slice(0, first + shard * kShardSize, first + (shard + 1) * kShardSize)),
                               y.slice(0, first + shard * kShardSize, first + (shard + 1) * kShardSize))
          .backward();
    }
    replica_opt.step();

    std::vector<Tensor> sums;
    for (int64_t shard = 0; shard < kShards; ++shard) {
      alone_opt.zero_grad();
      shard_loss(alone, x, y, first + shard * kShardSize, kShardSize).backward();
      std::vector<Tensor> params = alone.parameters();
      for (size_t i = 0; i < params.size(); ++i) {
        if (shard == 0) {
          sums.push_back(params[i].grad().clone());
        } else {
          sums[i].add_(params[i].grad());
        }
      }
    }
    std::vector<Tensor> params = alone.parameters();
    for (size_t i = 0; i < params.size(); ++i) params[i].set_grad(sums[i].div_(static_cast<double>(kShards)));
    alone_opt.step();
  }
  EXPECT_EQ(largest_relative_difference(replica, alone), 0.0) << "rank " << R() << " of " << N();
  EXPECT_GT(largest_relative_difference(alone, Net()), 0.0);
  EXPECT_TRUE(throws_with<ValueError>([&] { auto guard = parallel.no_sync(); }, {"no_sync", "deterministic"}));
}

TEST(DataParallel, NoSyncAccumulatesMicroBatchesAsOneLargeBatch) {
  constexpr int64_t kMicro = 3, kMicroSize = 2, kSteps = 3;
  const int64_t batch = N() * kMicro * kMicroSize;
  auto [x, y] = regression_data(batch * kSteps);
  manual_seed(9);
  Net replica;
  replica.to(kFloat64);
  dist::DataParallel parallel(replica, kBucketPerParameter);
  manual_seed(9);
  Net whole;
  whole.to(kFloat64);
  auto replica_opt = optim::SGD(replica.parameters(), {.lr = 0.1, .momentum = 0.9});
  auto whole_opt = optim::SGD(whole.parameters(), {.lr = 0.1, .momentum = 0.9});
  for (int64_t step = 0; step < kSteps; ++step) {
    int64_t mine = step * batch + R() * kMicro * kMicroSize;
    replica_opt.zero_grad();
    {
      auto guard = parallel.no_sync();
      for (int64_t j = 0; j + 1 < kMicro; ++j) {
        (nn::functional::mse_loss(parallel.forward(x.slice(0, mine + j * kMicroSize, mine + (j + 1) * kMicroSize)),
                                  y.slice(0, mine + j * kMicroSize, mine + (j + 1) * kMicroSize)) /
         static_cast<double>(kMicro))
            .backward();
      }
    }
    int64_t last = mine + (kMicro - 1) * kMicroSize;
    (nn::functional::mse_loss(parallel.forward(x.slice(0, last, last + kMicroSize)), y.slice(0, last, last + kMicroSize)) /
     static_cast<double>(kMicro))
        .backward();
    replica_opt.step();

    whole_opt.zero_grad();
    shard_loss(whole, x, y, step * batch, batch).backward();
    whole_opt.step();
  }
  EXPECT_LE(largest_relative_difference(replica, whole), 1e-12) << "rank " << R() << " of " << N();
}

// A net whose third layer only some ranks use, and whose fourth no rank uses.
struct BranchNet : nn::Module {
  nn::Linear fc1{6, 5}, fc2{5, 3}, extra{5, 3}, never{5, 3};
  BranchNet() {
    register_module("fc1", fc1);
    register_module("fc2", fc2);
    register_module("extra", extra);
    register_module("never", never);
    to(kFloat64);
  }
  Tensor forward(const Tensor& x, bool use_extra) {
    Tensor h = tanh(fc1(x));
    return use_extra ? fc2(h) + extra(h) : fc2(h);
  }
};

TEST(DataParallel, AParameterWithoutGradientIsAnErrorOnEveryRankNamingIt) {
  BranchNet net;
  dist::DataParallel parallel(net);
  auto [x, y] = regression_data(2 * N());
  parallel.prepare_forward();
  Tensor loss = nn::functional::mse_loss(net.forward(x.slice(0, 2 * R(), 2 * R() + 2), R() == 0),
                                         y.slice(0, 2 * R(), 2 * R() + 2));
  // rank 0 uses extra, the others do not; never is unused everywhere. The first in registration
  // order is named: extra.weight with other ranks, never.weight alone.
  std::string first = N() > 1 ? "extra.weight" : "never.weight";
  int64_t without = N() > 1 ? N() - 1 : 1;
  EXPECT_TRUE(throws_with<ValueError>([&] { loss.backward(); },
                                      {fmt::format("parameter '{}' got no gradient", first),
                                       fmt::format("on {} of {} ranks", without, N()), "find_unused_parameters"}));
  // the group still works: the next step posts the same collectives on every rank
  parallel.prepare_forward();
  EXPECT_NO_THROW(dist::world().barrier().wait());
}

TEST(DataParallel, FindUnusedParametersCountsThemAsZeroGradients) {
  auto [x, y] = regression_data(2 * N());
  manual_seed(3);
  BranchNet replica;
  dist::DataParallel parallel(replica, {.find_unused_parameters = true});
  parallel.prepare_forward();
  nn::functional::mse_loss(replica.forward(x.slice(0, 2 * R(), 2 * R() + 2), R() == 0), y.slice(0, 2 * R(), 2 * R() + 2))
      .backward();
  // The definition: the mean over ranks of each rank's loss, in one process.
  manual_seed(3);
  BranchNet whole;
  Tensor total = zeros({}, {.dtype = kFloat64});
  for (int64_t r = 0; r < N(); ++r) {
    total = total + nn::functional::mse_loss(whole.forward(x.slice(0, 2 * r, 2 * r + 2), r == 0), y.slice(0, 2 * r, 2 * r + 2));
  }
  (total / static_cast<double>(N())).backward();
  for (const char* name : {"fc1.weight", "fc2.bias", "extra.weight", "extra.bias"}) {
    Tensor mine = named(replica.named_parameters(), name).grad(), expected = named(whole.named_parameters(), name).grad();
    ASSERT_TRUE(mine.defined()) << name;
    EXPECT_TRUE(descent::testing::tensors_close(mine, expected, 1e-12, 1e-14)) << name << " on rank " << R();
  }
  // a parameter no rank used keeps no gradient, as it would in one process
  EXPECT_FALSE(replica.never.weight.grad().defined());
  EXPECT_FALSE(replica.never.bias.grad().defined());
}

TEST(DataParallel, BuffersComeFromRankZeroAtEachForwardUnlessTurnedOff) {
  for (bool broadcast : {true, false}) {
    nn::Sequential net{nn::Linear(4, 3), nn::BatchNorm1d(3)};
    dist::DataParallel parallel(net, {.broadcast_buffers = broadcast});
    Tensor running_mean = named(net.named_buffers(), "1.running_mean");
    {
      autograd::NoGradGuard no_grad;
      running_mean.fill_(static_cast<double>(R()));
    }
    parallel.prepare_forward();
    double expected = broadcast ? 0.0 : static_cast<double>(R());
    EXPECT_TRUE(descent::testing::tensors_close(running_mean, full({3}, expected))) << "broadcast " << broadcast;
  }
}

TEST(DataParallel, BucketsTakeTensorsInOrderOneDTypeEachClosedAtTheirCap) {
  // float32 sizes in bytes: 40, 80 | 120, 20, 160 | 400 | (float64 24) | 4
  std::vector<Tensor> tensors{zeros({10}), zeros({20}), zeros({30}), zeros({5}),
                              zeros({40}), zeros({100}), zeros({3}, {.dtype = kFloat64}), zeros({1})};
  std::vector<std::vector<size_t>> buckets = dist::assign_buckets(tensors, /*first_cap_bytes=*/100, /*cap_bytes=*/200);
  EXPECT_EQ(buckets, (std::vector<std::vector<size_t>>{{0, 1}, {2, 3, 4}, {5}, {6}, {7}}));
  EXPECT_TRUE(throws_with<ValueError>([&] { dist::assign_buckets(tensors, 0, 200); }, {"assign_buckets", "positive"}));
}

TEST(DataParallel, BucketsAreFilledInReverseRegistrationOrder) {
  Net net;  // fc2.bias has 3 floats (12 bytes): alone in a first bucket of 10 bytes, the rest in one
  dist::DataParallel parallel(net, {.first_bucket_cap_mb = 10.0 / (1024 * 1024)});
  EXPECT_EQ(parallel.bucket_parameter_names(),
            (std::vector<std::vector<std::string>>{{"fc2.bias"}, {"fc2.weight", "fc1.bias", "fc1.weight"}}));
  dist::DataParallel per_parameter(net, kBucketPerParameter);
  EXPECT_EQ(per_parameter.bucket_parameter_names(),
            (std::vector<std::vector<std::string>>{{"fc2.bias"}, {"fc2.weight"}, {"fc1.bias"}, {"fc1.weight"}}));
}

TEST(DataParallel, TheTimelineShowsEachBucketsAllreduceAsAChromeTrace) {
  Net net;
  dist::Timeline timeline(static_cast<int>(R()));
  dist::DataParallelOptions options = kBucketPerParameter;
  options.timeline = &timeline;
  dist::DataParallel parallel(net, options);
  {
    auto span = timeline.span("backward");
    parallel.forward(full({2, 6}, 0.5)).sum().backward();
  }
  std::vector<std::string> communication;
  for (const auto& e : timeline.events()) {
    EXPECT_LE(e.begin, e.end) << e.name;
    if (e.lane == "communication") communication.push_back(e.name);
  }
  // over MPI (also under mpirun -np 1) one allreduce per bucket, in bucket order; the local world
  // of a program started without mpirun communicates nothing
  std::vector<std::string> expected;
  if (dist::world().uses_mpi()) expected = {"allreduce bucket 0 (0 KiB)", "allreduce bucket 1 (0 KiB)", "allreduce bucket 2 (0 KiB)",
                           "allreduce bucket 3 (0 KiB)"};
  EXPECT_EQ(communication, expected);
  nlohmann::json trace = nlohmann::json::parse(timeline.to_json());
  int complete = 0;
  for (const auto& e : trace.at("traceEvents")) {
    EXPECT_EQ(e.at("pid").get<int64_t>(), R());
    if (e.at("ph") == "X") ++complete;
  }
  EXPECT_EQ(complete, static_cast<int>(timeline.events().size()));
  EXPECT_EQ(timeline.events().back().name, "backward");  // the span closes after the wait inside backward
  EXPECT_TRUE(throws_with<data::FileError>([&] { timeline.write("/nonexistent-dir/trace.json"); }, {"trace.json"}));
}

TEST(DataParallel, AModuleThatDiffersInAShapeIsAnErrorOnEveryRank) {
  bool odd = R() == N() - 1;  // the last rank's fc1 is wider
  Net net(odd && N() > 1 ? 13 : 12);
  if (N() == 1) {
    EXPECT_NO_THROW(dist::DataParallel{net});
    return;
  }
  EXPECT_TRUE(throws_with<ShapeError>([&] { dist::DataParallel{net}; },
                                      {fmt::format("rank {}'s module differs from rank 0's at parameter 'fc1.weight'",
                                                   N() - 1),
                                       "rank 0 has parameter 'fc1.weight' [12, 6] float32",
                                       fmt::format("rank {} has parameter 'fc1.weight' [13, 6] float32", N() - 1)}));
}

TEST(DataParallel, AModuleThatDiffersInANameIsAnErrorOnEveryRank) {
  Net net(12, R() == N() - 1 && N() > 1 ? "first" : "fc1");
  if (N() == 1) {
    EXPECT_NO_THROW(dist::DataParallel{net});
    return;
  }
  EXPECT_TRUE(throws_with<ShapeError>([&] { dist::DataParallel{net}; },
                                      {"differs from rank 0's at parameter 'fc1.weight'",
                                       fmt::format("rank {} has parameter 'first.weight'", N() - 1)}));
}

}  // namespace
}  // namespace descent
