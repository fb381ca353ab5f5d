// DataParallel's first version: N ranks with a shard of B examples each train exactly as one
// process with the whole batch of N B (float64, SGD with momentum and AdamW); mismatched modules
// are the same error on every rank. Runs alone and under mpirun -np 1..4 (tests/CMakeLists.txt).
#include <memory>
#include <string>

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

template <typename MakeOptimizer>
void expect_shards_train_as_one_batch(MakeOptimizer make_optimizer) {
  constexpr int64_t kShard = 4, kSteps = 5;
  const int64_t batch = N() * kShard;
  data::TensorDataset data = data::teacher_regression(batch * kSteps, 6, 8, 3, /*noise=*/0.1, /*seed=*/7);
  Tensor x = data.x().to(kFloat64), y = data.y().to(kFloat64);

  manual_seed(100 + R());  // each rank starts from its own weights: DataParallel makes them rank 0's
  Net replica;
  replica.to(kFloat64);
  dist::DataParallel parallel(replica);
  manual_seed(100);
  Net whole;
  whole.to(kFloat64);
  ASSERT_EQ(largest_relative_difference(replica, whole), 0.0) << "rank " << R() << ": not rank 0's weights";

  auto replica_opt = make_optimizer(replica.parameters());
  auto whole_opt = make_optimizer(whole.parameters());
  for (int64_t step = 0; step < kSteps; ++step) {
    int64_t first = step * batch, mine = first + R() * kShard;
    replica_opt.zero_grad();
    nn::functional::mse_loss(replica.forward(x.slice(0, mine, mine + kShard)), y.slice(0, mine, mine + kShard))
        .backward();
    parallel.sync_gradients();
    replica_opt.step();

    whole_opt.zero_grad();
    nn::functional::mse_loss(whole.forward(x.slice(0, first, first + batch)), y.slice(0, first, first + batch))
        .backward();
    whole_opt.step();
  }
  double difference = largest_relative_difference(replica, whole);
  EXPECT_LE(difference, 1e-12) << "rank " << R() << " of " << N();
  EXPECT_GT(largest_relative_difference(whole, Net()), 0.0);  // it trained at all (against fresh weights)
}

TEST(DataParallel, ShardsTrainAsOneBatchWithSGDMomentum) {
  expect_shards_train_as_one_batch(
      [](std::vector<Tensor> params) { return optim::SGD(params, {.lr = 0.1, .momentum = 0.9}); });
}

TEST(DataParallel, ShardsTrainAsOneBatchWithAdamW) {
  expect_shards_train_as_one_batch(
      [](std::vector<Tensor> params) { return optim::AdamW(params, {.lr = 0.01, .weight_decay = 0.1}); });
}

TEST(DataParallel, SyncGradientsAveragesAndFillsMissingGradientsWithZeros) {
  Net net;
  dist::DataParallel parallel(net);
  net.fc1.weight.set_grad(full_like(net.fc1.weight, static_cast<double>(R())));  // rank r: r
  // fc1.bias, fc2.*: no gradient on any rank
  parallel.sync_gradients();
  EXPECT_TRUE(descent::testing::tensors_close(net.fc1.weight.grad(), full_like(net.fc1.weight, (N() - 1) / 2.0)));
  ASSERT_TRUE(net.fc2.bias.grad().defined());
  EXPECT_EQ(net.fc2.bias.grad().abs().sum().item<double>(), 0.0);
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
