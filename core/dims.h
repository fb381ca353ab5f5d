// Dims: the sizes or strides of a tensor, an inline array of at most kMaxDims int64 values.
// Shapes never touch the heap, which keeps creating small tensors and views cheap.
#pragma once

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <vector>

#include <fmt/format.h>

#include <descent/core/error.h>

namespace descent {

inline constexpr int kMaxDims = 8;

class Dims {
 public:
  Dims() = default;
  Dims(std::initializer_list<int64_t> values) { assign(values.begin(), values.end()); }
  Dims(std::span<const int64_t> values) { assign(values.begin(), values.end()); }
  Dims(const std::vector<int64_t>& values) { assign(values.begin(), values.end()); }
  // n copies of value
  static Dims filled(int n, int64_t value) {
    Dims d;
    d.resize(n, value);
    return d;
  }

  int size() const { return size_; }
  bool empty() const { return size_ == 0; }
  int64_t* data() { return values_; }
  const int64_t* data() const { return values_; }
  int64_t* begin() { return values_; }
  int64_t* end() { return values_ + size_; }
  const int64_t* begin() const { return values_; }
  const int64_t* end() const { return values_ + size_; }
  int64_t& operator[](int i) { return values_[i]; }
  int64_t operator[](int i) const { return values_[i]; }
  int64_t& back() { return values_[size_ - 1]; }
  int64_t back() const { return values_[size_ - 1]; }

  void push_back(int64_t value) {
    check<ShapeError>(size_ < kMaxDims, "tensor: more than {} dimensions", kMaxDims);
    values_[size_++] = value;
  }
  void insert(int position, int64_t value) {
    push_back(0);
    std::copy_backward(values_ + position, values_ + size_ - 1, values_ + size_);
    values_[position] = value;
  }
  void erase(int position) {
    std::copy(values_ + position + 1, values_ + size_, values_ + position);
    --size_;
  }
  void resize(int n, int64_t value = 0) {
    check<ShapeError>(n >= 0 && n <= kMaxDims, "tensor: {} dimensions, at most {} allowed", n, kMaxDims);
    for (int i = size_; i < n; ++i) values_[i] = value;
    size_ = n;
  }
  void clear() { size_ = 0; }

  // Product of all values (the element count of a shape); 1 for an empty Dims.
  int64_t product() const {
    int64_t p = 1;
    for (int i = 0; i < size_; ++i) p *= values_[i];
    return p;
  }
  std::vector<int64_t> vec() const { return {begin(), end()}; }
  std::span<const int64_t> span() const { return {values_, static_cast<size_t>(size_)}; }

  // An inline loop: std::equal compiles to a memcmp call, which shape checks on every op paid for.
  friend bool operator==(const Dims& a, const Dims& b) {
    if (a.size_ != b.size_) return false;
    for (int i = 0; i < a.size_; ++i) {
      if (a.values_[i] != b.values_[i]) return false;
    }
    return true;
  }

 private:
  template <typename It>
  void assign(It first, It last) {
    auto n = std::distance(first, last);
    check<ShapeError>(n <= kMaxDims, "tensor: {} dimensions, at most {} allowed", n, kMaxDims);
    std::copy(first, last, values_);
    size_ = static_cast<int>(n);
  }

  int64_t values_[kMaxDims] = {};
  int size_ = 0;
};

}  // namespace descent

// Formats as [2, 3, 4], the way error messages and printing show shapes.
template <>
struct fmt::formatter<descent::Dims> : fmt::formatter<std::string_view> {
  template <typename Context>
  auto format(const descent::Dims& d, Context& ctx) const {
    return fmt::format_to(ctx.out(), "[{}]", fmt::join(d.begin(), d.end(), ", "));
  }
};
