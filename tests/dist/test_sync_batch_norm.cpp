// dist::SyncBatchNorm: N ranks with a shard of B examples each, data-parallel, train exactly as
// one process with nn::BatchNorm1d over the whole batch of N B (weights, running statistics, eval
// outputs), and it has BatchNorm's names. Runs alone and under mpirun -np 1..4.
#include <string>
#include <vector>

#include "testing.h"

namespace descent {
namespace {

int64_t N() { return dist::world_size(); }
int64_t R() { return dist::rank(); }

template <typename Norm>
struct NormNet : nn::Module {
  nn::Linear fc1{6, 4}, fc2{4, 3};
  Norm norm{4, {.momentum = 0.3}};
  NormNet() {
    register_module("fc1", fc1);
    register_module("norm", norm);
    register_module("fc2", fc2);
    to(kFloat64);
  }
  Tensor forward(const Tensor& x) { return fc2(tanh(norm(fc1(x)))); }
};

// The largest |a - b| / max(|b|, 1e-300) over every parameter and buffer.
template <typename A, typename B>
double largest_relative_difference(const A& a, const B& b) {
  double largest = 0;
  nn::StateDict sa = a.state_dict(), sb = b.state_dict();
  for (const std::string& name : sa.keys()) {
    std::vector<double> va = sa.at(name).to(kFloat64).template to_vector<double>();
    std::vector<double> vb = sb.at(name).to(kFloat64).template to_vector<double>();
    for (size_t j = 0; j < va.size(); ++j) {
      largest = std::max(largest, std::abs(va[j] - vb[j]) / std::max(std::abs(vb[j]), 1e-300));
    }
  }
  return largest;
}

TEST(SyncBatchNorm, HasBatchNormsNames) {
  NormNet<dist::SyncBatchNorm> synced;
  NormNet<nn::BatchNorm1d> plain;
  std::vector<std::string> a = synced.state_dict().keys(), b = plain.state_dict().keys();
  EXPECT_EQ(a, b);
  EXPECT_NE(std::find(a.begin(), a.end(), "norm.running_var"), a.end());
}

TEST(SyncBatchNorm, ShardsTrainAsBatchNormOverTheWholeBatch) {
  constexpr int64_t kShard = 4, kSteps = 4;
  const int64_t batch = N() * kShard;
  data::TensorDataset data = data::teacher_regression(batch * kSteps, 6, 8, 3, /*noise=*/0.1, /*seed=*/11);
  Tensor x = data.x().to(kFloat64), y = data.y().to(kFloat64);
  manual_seed(21);
  NormNet<dist::SyncBatchNorm> replica;
  dist::DataParallel parallel(replica);
  manual_seed(21);
  NormNet<nn::BatchNorm1d> whole;
  auto replica_opt = optim::SGD(replica.parameters(), {.lr = 0.2, .momentum = 0.9});
  auto whole_opt = optim::SGD(whole.parameters(), {.lr = 0.2, .momentum = 0.9});
  for (int64_t step = 0; step < kSteps; ++step) {
    int64_t first = step * batch, mine = first + R() * kShard;
    replica_opt.zero_grad();
    Tensor out = parallel.forward(x.slice(0, mine, mine + kShard));
    nn::functional::mse_loss(out, y.slice(0, mine, mine + kShard)).backward();
    replica_opt.step();

    whole_opt.zero_grad();
    Tensor whole_out = whole.forward(x.slice(0, first, first + batch));
    nn::functional::mse_loss(whole_out, y.slice(0, first, first + batch)).backward();
    whole_opt.step();
    EXPECT_TRUE(descent::testing::tensors_close(out.detach(), whole_out.detach().slice(0, R() * kShard, (R() + 1) * kShard),
                                                1e-12, 1e-14))
        << "step " << step << " rank " << R();
  }
  EXPECT_LE(largest_relative_difference(replica, whole), 1e-12) << "rank " << R() << " of " << N();
  EXPECT_EQ(replica.norm.num_batches_tracked.item<int64_t>(), kSteps);

  replica.eval();
  whole.eval();
  Tensor probe = x.slice(0, 0, 3);
  EXPECT_TRUE(descent::testing::tensors_close(replica.forward(probe), whole.forward(probe), 1e-12, 1e-14));
}

// On images: the output of each rank's shard and the gradient of the total loss (every rank's
// sum) with respect to the shard are those of BatchNorm2d over the whole batch.
TEST(SyncBatchNorm, ImageShardsNormaliseAndDifferentiateAsTheWholeBatch) {
  constexpr int64_t kShard = 2;
  manual_seed(4);  // the same draws on every rank
  Tensor x = randn({N() * kShard, 3, 4, 5}, {.dtype = kFloat64}) * 2.0 + 1.0;
  Tensor c = randn({N() * kShard, 3, 4, 5}, {.dtype = kFloat64});
  nn::BatchNorm2d plain(3);
  plain.to(kFloat64);
  Tensor whole = x.detach().requires_grad_();
  Tensor whole_out = plain(whole);
  (whole_out * c).sum().backward();

  dist::SyncBatchNorm synced(3);
  synced.to(kFloat64);
  Tensor shard = x.slice(0, R() * kShard, (R() + 1) * kShard).clone().requires_grad_();
  Tensor out = synced(shard);
  (out * c.slice(0, R() * kShard, (R() + 1) * kShard)).sum().backward();
  auto mine = [&](const Tensor& t) { return t.slice(0, R() * kShard, (R() + 1) * kShard); };
  EXPECT_TRUE(descent::testing::tensors_close(out.detach(), mine(whole_out.detach()), 1e-12, 1e-14)) << "rank " << R();
  EXPECT_TRUE(descent::testing::tensors_close(shard.grad(), mine(whole.grad()), 1e-10, 1e-12)) << "rank " << R();
  EXPECT_TRUE(descent::testing::tensors_close(synced.running_var, plain.running_var, 1e-12, 1e-14));
}

TEST(SyncBatchNorm, RejectsAnInputWithOtherChannels) {
  dist::SyncBatchNorm norm(4);
  EXPECT_TRUE(descent::testing::throws_with<ShapeError>([&] { norm(zeros({2, 5})); }, {"SyncBatchNorm", "[2, 5]"}));
}

}  // namespace
}  // namespace descent
