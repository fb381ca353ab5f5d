// MNIST / Fashion-MNIST from IDX files (see data/mnist.h).
#include <descent/data/mnist.h>

#include <filesystem>

#include <descent/data/readers.h>

namespace descent::data {

std::string find_idx_file(const std::string& root, const std::string& name) {
  std::filesystem::path plain = std::filesystem::path(root) / name;
  if (std::filesystem::exists(plain)) return plain.string();
  std::filesystem::path gzipped = std::filesystem::path(root) / (name + ".gz");
  if (std::filesystem::exists(gzipped)) return gzipped.string();
  throw FileError(fmt::format("MNIST: {}: neither {} nor {}.gz exists", root, name, name));
}

MNIST::MNIST(const std::string& root, Split split) {
  std::string prefix = split == Split::Train ? "train" : "t10k";
  std::string images_path = find_idx_file(root, prefix + "-images-idx3-ubyte");
  std::string labels_path = find_idx_file(root, prefix + "-labels-idx1-ubyte");
  IdxArray images = read_idx_array(images_path);
  check<FileError>(images.type == 0x08 && images.shape.size() == 3,
                   "MNIST: {}: expected unsigned bytes of shape [count, rows, cols], got type 0x{:02x} shape {}",
                   images_path, images.type, images.shape);
  Tensor labels = read_idx(labels_path);
  check<FileError>(labels.dim() == 1, "MNIST: {}: expected labels of shape [count], got {}", labels_path, labels.sizes());
  check<FileError>(labels.size(0) == images.shape[0], "MNIST: {} holds {} images but {} holds {} labels", images_path,
                   images.shape[0], labels_path, labels.size(0));
  count_ = images.shape[0];
  rows_ = images.shape[1];
  cols_ = images.shape[2];
  pixels_ = std::make_shared<const std::vector<uint8_t>>(std::move(images.data));
  labels_ = labels;
}

void MNIST::write_image(int64_t index, float* out) const {
  int64_t pixels = rows_ * cols_;
  const uint8_t* in = pixels_->data() + index * pixels;
  for (int64_t i = 0; i < pixels; ++i) out[i] = static_cast<float>(in[i]) * (1.0f / 255.0f);
}

Example MNIST::get(int64_t index) const {
  check_index(index, count_, "MNIST");
  Tensor x = Tensor::empty({1, rows_, cols_}, kFloat32);
  write_image(index, x.data<float>());
  return {x, labels_[index].clone()};
}

Example MNIST::get_batch(std::span<const int64_t> indices) const {
  int64_t n = static_cast<int64_t>(indices.size());
  Tensor x = Tensor::empty({n, 1, rows_, cols_}, kFloat32);
  Tensor y = Tensor::empty({n}, kInt64);
  float* x_out = x.data<float>();
  int64_t* y_out = y.data<int64_t>();
  const int64_t* labels = labels_.data<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    check_index(indices[i], count_, "MNIST");
    write_image(indices[i], x_out + i * rows_ * cols_);
    y_out[i] = labels[indices[i]];
  }
  return {x, y};
}

}  // namespace descent::data
