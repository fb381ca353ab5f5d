// The DataLoader alone: samples/s of one shuffled epoch of Fashion-MNIST's training set at batch
// 64 (x [64, 1, 28, 28] float32, y [64] int64), by worker count. Without the Debian package
// (dataset-fashion-mnist) it reads a same-sized IDX set of random bytes written to a temp dir.
#include <filesystem>
#include <fstream>
#include <memory>

#include <benchmark/benchmark.h>

#include <descent/descent.h>

namespace {

namespace fs = std::filesystem;
using descent::data::FashionMNIST;

// 60000 28x28 images and labels in the standard file names, written once.
std::string synthetic_root() {
  fs::path root = fs::temp_directory_path() / "descent_bench_fashion_mnist";
  fs::create_directories(root);
  auto write = [&](const std::string& name, std::vector<uint8_t> header, int64_t bytes) {
    std::ofstream out(root / name, std::ios::binary);
    out.write(reinterpret_cast<const char*>(header.data()), static_cast<std::streamsize>(header.size()));
    std::vector<char> data(static_cast<size_t>(bytes));
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 2654435761u) >> 24) % 10;
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
  };
  // 60000 = 0x0000EA60; 28 = 0x1C.
  write("train-images-idx3-ubyte", {0, 0, 8, 3, 0, 0, 0xEA, 0x60, 0, 0, 0, 28, 0, 0, 0, 28}, 60000 * 28 * 28);
  write("train-labels-idx1-ubyte", {0, 0, 8, 1, 0, 0, 0xEA, 0x60}, 60000);
  return root.string();
}

const FashionMNIST& train_set() {
  static const FashionMNIST train = [] {
    const std::string installed = "/usr/share/datasets/fashion-mnist";
    return FashionMNIST(fs::exists(installed) ? installed : synthetic_root(), descent::data::Split::Train);
  }();
  return train;
}

void BM_LoaderEpoch(benchmark::State& state) {
  const FashionMNIST& train = train_set();
  descent::data::DataLoader loader(
      train, {.batch_size = 64, .shuffle = true, .num_workers = static_cast<int>(state.range(0)), .seed = 0});
  for (auto _ : state) {
    int64_t samples = 0;
    for (auto [x, y] : loader) samples += x.size(0);
    benchmark::DoNotOptimize(samples);
  }
  state.SetItemsProcessed(state.iterations() * train.size());
}
BENCHMARK(BM_LoaderEpoch)->ArgName("workers")->Arg(0)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
