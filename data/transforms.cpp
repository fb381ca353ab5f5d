// normalize, random_crop, random_horizontal_flip, compose (see data/transforms.h).
#include <descent/data/transforms.h>

#include <descent/core/factory.h>

namespace descent::data::transforms {
namespace {

// x as a contiguous float32 [C, H, W] tensor; names the transform otherwise.
Tensor image(const Tensor& x, const char* op) {
  check<ShapeError>(x.dim() == 3, "{}: expected an image [C, H, W], got {}", op, x.sizes());
  check<DTypeError>(x.dtype() == kFloat32, "{}: expected float32, got {}", op, dtype_name(x.dtype()));
  return x.contiguous();
}

// One uniform draw in [0, 1) from the generator.
double uniform(Generator& generator) {
  return core::rand({1}, {.dtype = kFloat64}, &generator).item<double>();
}

}  // namespace

Transform normalize(std::vector<float> mean, std::vector<float> std) {
  check<ValueError>(!mean.empty() && mean.size() == std.size(), "normalize: {} means and {} stds", mean.size(), std.size());
  for (float s : std) check<ValueError>(s > 0.0f, "normalize: std {} is not positive", s);
  return [mean = std::move(mean), std = std::move(std)](const Tensor& x, Generator&) {
    Tensor in = image(x, "normalize");
    int64_t channels = in.size(0), plane = in.size(1) * in.size(2);
    check<ShapeError>(mean.size() == 1 || static_cast<int64_t>(mean.size()) == channels,
                      "normalize: {} means for an image {}", mean.size(), in.sizes());
    Tensor out = Tensor::empty(in.sizes(), kFloat32);
    const float* src = in.data<float>();
    float* dst = out.data<float>();
    for (int64_t c = 0; c < channels; ++c) {
      size_t k = mean.size() == 1 ? 0 : static_cast<size_t>(c);
      float scale = 1.0f / std[k];
      for (int64_t i = c * plane; i < (c + 1) * plane; ++i) dst[i] = (src[i] - mean[k]) * scale;
    }
    return out;
  };
}

Transform random_crop(int64_t size, int64_t padding) {
  check<ValueError>(size >= 1 && padding >= 0, "random_crop: size {} must be >= 1 and padding {} >= 0", size, padding);
  return [size, padding](const Tensor& x, Generator& generator) {
    Tensor in = image(x, "random_crop");
    int64_t channels = in.size(0), height = in.size(1), width = in.size(2);
    check<ShapeError>(height + 2 * padding >= size && width + 2 * padding >= size,
                      "random_crop: a {}x{} crop of {} padded by {}", size, size, in.sizes(), padding);
    // The window's top-left corner in padded coordinates, uniform over every position that fits.
    int64_t top = static_cast<int64_t>(uniform(generator) * static_cast<double>(height + 2 * padding - size + 1));
    int64_t left = static_cast<int64_t>(uniform(generator) * static_cast<double>(width + 2 * padding - size + 1));
    Tensor out = core::zeros({channels, size, size});
    const float* src = in.data<float>();
    float* dst = out.data<float>();
    for (int64_t c = 0; c < channels; ++c) {
      for (int64_t r = 0; r < size; ++r) {
        int64_t row = top + r - padding;
        if (row < 0 || row >= height) continue;
        for (int64_t k = 0; k < size; ++k) {
          int64_t col = left + k - padding;
          if (col >= 0 && col < width) dst[(c * size + r) * size + k] = src[(c * height + row) * width + col];
        }
      }
    }
    return out;
  };
}

Transform random_horizontal_flip(double p) {
  check<ValueError>(p >= 0.0 && p <= 1.0, "random_horizontal_flip: probability {} outside [0, 1]", p);
  return [p](const Tensor& x, Generator& generator) {
    Tensor in = image(x, "random_horizontal_flip");
    if (uniform(generator) >= p) return in;
    int64_t rows = in.size(0) * in.size(1), width = in.size(2);
    Tensor out = Tensor::empty(in.sizes(), kFloat32);
    const float* src = in.data<float>();
    float* dst = out.data<float>();
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t k = 0; k < width; ++k) dst[r * width + k] = src[r * width + width - 1 - k];
    }
    return out;
  };
}

Transform compose(std::vector<Transform> transforms) {
  return [transforms = std::move(transforms)](const Tensor& x, Generator& generator) {
    Tensor out = x;
    for (const Transform& transform : transforms) out = transform(out, generator);
    return out;
  };
}

}  // namespace descent::data::transforms
