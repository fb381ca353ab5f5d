// MNIST and Fashion-MNIST: 28x28 grey images with labels 0-9, read from the four standard IDX
// files in a directory, plain or gzipped (Debian's dataset-fashion-mnist installs the .gz ones in
// /usr/share/datasets/fashion-mnist). Images are kept as bytes; get() gives x [1, 28, 28] float32
// in [0, 1] (byte / 255) and y an int64 scalar.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <descent/data/dataset.h>

namespace descent::data {

enum class Split { Train, Test };

class MNIST : public Dataset {
 public:
  // Reads <root>/{train,t10k}-{images-idx3,labels-idx1}-ubyte, each with or without ".gz".
  MNIST(const std::string& root, Split split);
  int64_t size() const override { return count_; }
  Example get(int64_t index) const override;
  Example get_batch(std::span<const int64_t> indices) const override;
  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  // All labels, int64 [size()].
  const Tensor& labels() const { return labels_; }

 private:
  // Writes example `index`'s pixels / 255 into out (rows_ * cols_ floats).
  void write_image(int64_t index, float* out) const;

  std::shared_ptr<const std::vector<uint8_t>> pixels_;  // [count, rows, cols] bytes
  Tensor labels_;
  int64_t count_ = 0, rows_ = 0, cols_ = 0;
};

// The same files and layout, a different set of pictures (Xiao et al. 2017).
class FashionMNIST : public MNIST {
 public:
  using MNIST::MNIST;
};

// The path of an IDX file in `root`: `name` if it exists, else `name`.gz; FileError if neither.
std::string find_idx_file(const std::string& root, const std::string& name);

}  // namespace descent::data
