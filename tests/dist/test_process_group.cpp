// ProcessGroup's collectives against closed-form results, on whatever world the program runs in:
// alone (world 1, no MPI) or under mpirun -np N (tests/CMakeLists.txt runs N = 1..4). Every rank
// runs every test in the same order, so each test posts the same collectives on every rank.
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "testing.h"

namespace descent {
namespace {

using namespace std::chrono_literals;
using descent::testing::throws_with;

dist::ProcessGroup& group() { return dist::world(); }
int64_t N() { return group().world_size(); }
int64_t R() { return group().rank(); }

// values[i] = f(i) as a contiguous tensor of `dtype`.
template <typename T, typename F>
Tensor make(const Dims& shape, F f) {
  std::vector<T> values(static_cast<size_t>(shape.product()));
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<T>(f(static_cast<int64_t>(i)));
  return tensor(values, shape, {.dtype = dtype_v<T>});
}

// Whether every element of `t` equals expected(i), naming the first that does not.
template <typename T, typename F>
::testing::AssertionResult equals(const Tensor& t, F expected) {
  std::vector<T> values = t.to_vector<T>();
  for (size_t i = 0; i < values.size(); ++i) {
    T e = static_cast<T>(expected(static_cast<int64_t>(i)));
    if (values[i] != e) {
      return ::testing::AssertionFailure() << "rank " << R() << " of " << N() << ": element " << i << " is "
                                           << values[i] << ", expected " << e;
    }
  }
  return ::testing::AssertionSuccess();
}

TEST(ProcessGroup, WorldMatchesTheLauncher) {
  const char* size = std::getenv("OMPI_COMM_WORLD_SIZE");
  EXPECT_EQ(N(), size ? std::atoi(size) : 1);
  EXPECT_EQ(group().uses_mpi(), size != nullptr);
  EXPECT_GE(R(), 0);
  EXPECT_LT(R(), N());
  EXPECT_EQ(dist::rank(), R());
  EXPECT_EQ(dist::world_size(), N());
  EXPECT_TRUE(dist::is_initialized());
  EXPECT_THROW(dist::init(), Error);  // once only
}

TEST(ProcessGroup, AllreduceSumFloat32) {
  // rank r holds 10 r + i: the sum is 10 N (N - 1) / 2 + N i, exact in float32.
  Tensor t = make<float>({3, 5}, [](int64_t i) { return 10 * R() + i; });
  group().allreduce(t).wait();
  EXPECT_TRUE(equals<float>(t, [](int64_t i) { return 10 * N() * (N() - 1) / 2 + N() * i; }));
  EXPECT_EQ(t.sizes(), Dims({3, 5}));
}

TEST(ProcessGroup, AllreduceAvgFloat64) {
  // rank r holds r + i / 4: the mean is (N - 1) / 2 + i / 4, exact in float64.
  Tensor t = make<double>({7}, [](int64_t i) { return R() + i / 4.0; });
  group().allreduce(t, dist::ReduceOp::Avg).wait();
  EXPECT_TRUE(equals<double>(t, [](int64_t i) { return (N() - 1) / 2.0 + i / 4.0; }));
}

TEST(ProcessGroup, AllreduceSumInt64KeepsAll64Bits) {
  // (r + 1) 2^40 + i: the sum N (N + 1) / 2 2^40 + N i needs more than 32 bits.
  Tensor t = make<int64_t>({4}, [](int64_t i) { return (R() + 1) * (int64_t{1} << 40) + i; });
  group().allreduce(t).wait();
  EXPECT_TRUE(equals<int64_t>(t, [](int64_t i) { return N() * (N() + 1) / 2 * (int64_t{1} << 40) + N() * i; }));
}

TEST(ProcessGroup, AllreduceOfALargeTensor) {
  // 4 MiB: Open MPI's large-message path (single copy between processes), not its eager one.
  Tensor t = make<float>({1 << 20}, [](int64_t i) { return R() + 1 + (i % 7); });
  group().allreduce(t).wait();
  EXPECT_TRUE(equals<float>(t, [](int64_t i) { return N() * (N() + 1) / 2 + N() * (i % 7); }));
}

TEST(ProcessGroup, AllreduceOfAnEmptyTensor) {
  Tensor t = zeros({0, 3}, {.dtype = kFloat32});
  EXPECT_NO_THROW(group().allreduce(t).wait());
  EXPECT_EQ(t.numel(), 0);
}

TEST(ProcessGroup, CollectivesRunInTheOrderPosted) {
  // Many in flight at once, waited for in reverse: each has its own result.
  std::vector<Tensor> tensors;
  std::vector<dist::Work> works;
  for (int k = 0; k < 16; ++k) {
    tensors.push_back(make<double>({5}, [k](int64_t i) { return k * R() + i; }));
    works.push_back(group().allreduce(tensors.back()));
  }
  for (int k = 15; k >= 0; --k) works[k].wait();
  for (int k = 0; k < 16; ++k) {
    EXPECT_TRUE(works[k].is_completed());
    EXPECT_TRUE(equals<double>(tensors[k], [k](int64_t i) { return k * N() * (N() - 1) / 2 + N() * i; })) << k;
  }
}

TEST(ProcessGroup, BroadcastFromEveryRoot) {
  for (int root = 0; root < N(); ++root) {
    Tensor f = make<double>({2, 3}, [](int64_t i) { return 100.5 * R() + i; });
    Tensor n = make<int64_t>({4}, [](int64_t i) { return -1000 * R() - i; });
    dist::Work first = group().broadcast(f, root);
    dist::Work second = group().broadcast(n, root);
    first.wait();
    second.wait();
    EXPECT_TRUE(equals<double>(f, [root](int64_t i) { return 100.5 * root + i; })) << "root " << root;
    EXPECT_TRUE(equals<int64_t>(n, [root](int64_t i) { return -1000 * root - i; })) << "root " << root;
  }
}

TEST(ProcessGroup, AllgatherStackedAndConcatenatedInRankOrder) {
  Tensor input = make<float>({2, 3}, [](int64_t i) { return 100 * R() + i; });
  Tensor stacked = zeros({N(), 2, 3}, {.dtype = kFloat32});
  Tensor concatenated = zeros({N() * 2, 3}, {.dtype = kFloat32});
  group().allgather(stacked, input).wait();
  group().allgather(concatenated, input).wait();
  auto expected = [](int64_t j) { return 100 * (j / 6) + j % 6; };  // rank j / 6, element j % 6
  EXPECT_TRUE(equals<float>(stacked, expected));
  EXPECT_TRUE(equals<float>(concatenated, expected));
  EXPECT_TRUE(equals<float>(input, [](int64_t i) { return 100 * R() + i; }));  // input untouched
}

TEST(ProcessGroup, AllgatherInt64) {
  Tensor input = make<int64_t>({3}, [](int64_t i) { return (R() << 33) + i; });
  Tensor output = zeros({N(), 3}, {.dtype = kInt64});
  group().allgather(output, input).wait();
  EXPECT_TRUE(equals<int64_t>(output, [](int64_t j) { return ((j / 3) << 33) + j % 3; }));
}

TEST(ProcessGroup, ReduceScatterLeavesEachRankItsPiece) {
  // input[j] = r + j on rank r, j < 2 N: rank r's piece k is sum over ranks = N (N - 1) / 2 + N (2 r + k).
  Tensor input = make<float>({N() * 2}, [](int64_t j) { return R() + j; });
  Tensor output = zeros({2}, {.dtype = kFloat32});
  group().reduce_scatter(output, input).wait();
  EXPECT_TRUE(equals<float>(output, [](int64_t k) { return N() * (N() - 1) / 2 + N() * (2 * R() + k); }));
}

TEST(ProcessGroup, ReduceScatterAvgFloat64Stacked) {
  // input[p][k] = r + p / 2 + k / 8 on rank r: rank r's piece is (N - 1) / 2 + r / 2 + k / 8.
  Tensor input = make<double>({N(), 3}, [](int64_t j) { return R() + (j / 3) / 2.0 + (j % 3) / 8.0; });
  Tensor output = zeros({3}, {.dtype = kFloat64});
  group().reduce_scatter(output, input, dist::ReduceOp::Avg).wait();
  EXPECT_TRUE(equals<double>(output, [](int64_t k) { return (N() - 1) / 2.0 + R() / 2.0 + k / 8.0; }));
}

TEST(ProcessGroup, ReduceScatterInt64) {
  Tensor input = make<int64_t>({N()}, [](int64_t j) { return (int64_t{1} << 35) * (R() + 1) + j; });
  Tensor output = zeros({1}, {.dtype = kInt64});
  group().reduce_scatter(output, input).wait();
  EXPECT_TRUE(equals<int64_t>(output, [](int64_t) { return (int64_t{1} << 35) * N() * (N() + 1) / 2 + N() * R(); }));
}

TEST(ProcessGroup, BarrierFinishes) {
  dist::Work work = group().barrier();
  work.wait();
  EXPECT_TRUE(work.is_completed());
  EXPECT_TRUE(dist::Work().is_completed());
}

TEST(ProcessGroup, CountsThePayloadBytesItSends) {
  group().barrier().wait();
  group().reset_bytes_sent();
  EXPECT_EQ(group().bytes_sent(), 0);
  Tensor a = zeros({10}, {.dtype = kFloat32});
  Tensor b = zeros({3}, {.dtype = kFloat64});
  Tensor c = zeros({2}, {.dtype = kInt64});
  Tensor gathered = zeros({N(), 2}, {.dtype = kInt64});
  Tensor scattered = zeros({1}, {.dtype = kFloat64});
  Tensor to_scatter = zeros({N()}, {.dtype = kFloat64});
  group().allreduce(a).wait();                            // 40 bytes
  group().broadcast(b, 0).wait();                         // 24 bytes on rank 0
  group().allgather(gathered, c).wait();                  // 16 bytes
  group().reduce_scatter(scattered, to_scatter).wait();   // 8 N bytes
  group().barrier().wait();                               // none
  int64_t expected = N() == 1 ? 0 : 40 + (R() == 0 ? 24 : 0) + 16 + 8 * N();
  EXPECT_EQ(group().bytes_sent(), expected);
  // A duplicate counts on its own.
  dist::ProcessGroup other = group().duplicate();
  other.allreduce(a).wait();
  EXPECT_EQ(other.bytes_sent(), N() == 1 ? 0 : 40);
  EXPECT_EQ(group().bytes_sent(), expected);
}

TEST(ProcessGroup, VersionMovesOnTheWrittenTensor) {
  Tensor t = zeros({3}, {.dtype = kFloat32});
  uint64_t before = t.version();
  group().allreduce(t).wait();
  EXPECT_GT(t.version(), before);
}

// ---- bad input: the same error on every rank, never a hang ----

TEST(ProcessGroup, NonContiguousInputIsAnErrorNamingTheOpAndShape) {
  Tensor t = zeros({3, 4}, {.dtype = kFloat32}).t();
  EXPECT_TRUE(throws_with<ValueError>([&] { group().allreduce(t).wait(); },
                                      {"allreduce", "[4, 3]", "not contiguous"}));
  Tensor output = zeros({N(), 4, 3}, {.dtype = kFloat32});
  EXPECT_TRUE(throws_with<ValueError>([&] { group().allgather(output, t).wait(); }, {"allgather", "not contiguous"}));
}

TEST(ProcessGroup, UnsupportedDtypesAndUndefinedTensorsAreErrors) {
  Tensor flags = zeros({3}, {.dtype = kBool});
  EXPECT_TRUE(throws_with<DTypeError>([&] { group().allreduce(flags).wait(); }, {"allreduce", "[3]", "bool"}));
  Tensor n = zeros({3}, {.dtype = kInt64});
  EXPECT_TRUE(throws_with<DTypeError>([&] { group().allreduce(n, dist::ReduceOp::Avg).wait(); },
                                      {"allreduce", "avg", "int64", "[3]"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { group().broadcast(Tensor()).wait(); }, {"broadcast", "undefined"}));
}

TEST(ProcessGroup, MismatchedShapesAndDtypesOfOneRanksArgumentsAreErrors) {
  Tensor input = zeros({2, 3}, {.dtype = kFloat32});
  Tensor wrong_shape = zeros({N(), 3, 2}, {.dtype = kFloat32});
  Tensor wrong_dtype = zeros({N(), 2, 3}, {.dtype = kFloat64});
  EXPECT_TRUE(throws_with<ShapeError>([&] { group().allgather(wrong_shape, input).wait(); },
                                      {"allgather", fmt::format("[{}, 3, 2]", N()), "[2, 3]"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { group().allgather(wrong_dtype, input).wait(); },
                                      {"allgather", "float64", "float32"}));
  Tensor piece = zeros({4}, {.dtype = kFloat32});
  Tensor too_small = zeros({N() * 4 + 1}, {.dtype = kFloat32});
  EXPECT_TRUE(throws_with<ShapeError>([&] { group().reduce_scatter(piece, too_small).wait(); },
                                      {"reduce_scatter", "[4]"}));
  Tensor gathered = zeros({N() * 2, 3}, {.dtype = kFloat32});
  Tensor inside = gathered.narrow(0, 0, 2);
  EXPECT_TRUE(throws_with<ValueError>([&] { group().allgather(gathered, inside).wait(); },
                                      {"allgather", "share storage"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { group().broadcast(input, static_cast<int>(N())).wait(); },
                                      {"broadcast", "root"}));
}

TEST(ProcessGroup, ABadInputOnOneRankIsAnErrorOnEveryRank) {
  // The last rank passes a transposed tensor; it throws at the call, the others in wait().
  bool bad = R() == N() - 1;
  Tensor t = bad ? zeros({3, 4}, {.dtype = kFloat32}).t() : zeros({4, 3}, {.dtype = kFloat32});
  if (bad) {
    EXPECT_TRUE(throws_with<ValueError>([&] { group().allreduce(t); }, {"allreduce", "not contiguous"}));
  } else {
    dist::Work work = group().allreduce(t);
    EXPECT_TRUE(throws_with<ValueError>([&] { work.wait(); },
                                        {"allreduce", fmt::format("rank {} passed an invalid input", N() - 1)}));
  }
  // The group still works afterwards.
  Tensor ok = make<double>({2}, [](int64_t i) { return R() + i; });
  group().allreduce(ok).wait();
  EXPECT_TRUE(equals<double>(ok, [](int64_t i) { return N() * (N() - 1) / 2 + N() * i; }));
}

TEST(ProcessGroup, RanksThatDisagreeOnTheShapeGetAnErrorNamingBoth) {
  Tensor t = zeros({R() + 1}, {.dtype = kFloat32});  // [1] on rank 0, [2] on rank 1, ...
  dist::Work work = group().allreduce(t);
  if (N() == 1) {
    EXPECT_NO_THROW(work.wait());
  } else {
    EXPECT_TRUE(throws_with<ShapeError>(
        [&] { work.wait(); },
        {"allreduce: the ranks disagree", "rank 0 posts allreduce (sum) of [1] float32",
         "rank 1 posts allreduce (sum) of [2] float32"}));
  }
}

TEST(ProcessGroup, RanksThatDisagreeOnTheCollectiveGetAnError) {
  Tensor t = zeros({3}, {.dtype = kFloat64});
  dist::Work work = R() == 0 ? group().broadcast(t, 0) : group().allreduce(t);
  if (N() == 1) {
    EXPECT_NO_THROW(work.wait());
  } else {
    EXPECT_TRUE(throws_with<ShapeError>([&] { work.wait(); },
                                        {"rank 0 posts broadcast from root 0 of [3] float64",
                                         "rank 1 posts allreduce (sum) of [3] float64"}));
  }
}

TEST(ProcessGroup, ACollectiveARankNeverJoinsTimesOut) {
  dist::ProcessGroup g = group().duplicate();  // the timeout breaks this group only
  g.set_timeout(300ms);
  EXPECT_EQ(g.timeout(), 300ms);
  EXPECT_EQ(g.world_size(), N());
  EXPECT_EQ(g.rank(), R());
  group().barrier().wait();
  Tensor t = make<float>({2}, [](int64_t i) { return R() + i; });
  if (N() == 1) {
    g.allreduce(t).wait();  // a world of one has no one to wait for
    EXPECT_TRUE(equals<float>(t, [](int64_t i) { return i; }));
    return;
  }
  if (R() != 0) {
    dist::Work work = g.allreduce(t);
    EXPECT_TRUE(throws_with<dist::TimeoutError>([&] { work.wait(); }, {"allreduce", "timed out after 300 ms"}));
    EXPECT_TRUE(throws_with<dist::CommError>([&] { g.barrier(); }, {"barrier", "broken", "timed out"}));
  } else {
    // Rank 0 joins late, long after the others timed out, which unblocks their communication threads.
    std::this_thread::sleep_for(2s);
    g.allreduce(t).wait();
    EXPECT_TRUE(equals<float>(t, [](int64_t i) { return N() * (N() - 1) / 2 + N() * i; }));
  }
  group().barrier().wait();  // the world group still works on every rank
}

}  // namespace
}  // namespace descent
