// Helpers shared by the tests: comparing tensors with a report of the largest difference, a
// scoped thread count, and reading golden values that a committed Python generator wrote as JSON
// (tests/<folder>/golden/).
#pragma once

#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <descent/descent.h>

namespace descent::testing {

// Elementwise |actual - expected| <= atol + rtol * |expected|, with NaN equal to NaN and
// infinities equal when of the same sign. On failure: the shapes or the worst element.
inline ::testing::AssertionResult tensors_close(const Tensor& actual, const Tensor& expected, double rtol = 1e-5,
                                                double atol = 1e-6) {
  if (!(actual.sizes() == expected.sizes())) {
    return ::testing::AssertionFailure() << "shape " << fmt::format("{}", actual.sizes()) << " != expected "
                                         << fmt::format("{}", expected.sizes());
  }
  std::vector<double> a = actual.to_vector<double>();
  std::vector<double> e = expected.to_vector<double>();
  double worst = 0.0;
  int64_t worst_index = -1;
  for (size_t i = 0; i < a.size(); ++i) {
    bool same = (std::isnan(a[i]) && std::isnan(e[i])) || a[i] == e[i];
    double diff = same ? 0.0 : std::abs(a[i] - e[i]);
    if (!same && (std::isnan(diff) || diff > atol + rtol * std::abs(e[i]))) {
      double excess = std::isnan(diff) ? INFINITY : diff;
      if (worst_index < 0 || excess > worst) {
        worst = excess;
        worst_index = static_cast<int64_t>(i);
      }
    }
  }
  if (worst_index >= 0) {
    return ::testing::AssertionFailure() << "element " << worst_index << " (row-major) of shape "
                                         << fmt::format("{}", actual.sizes()) << ": actual " << a[worst_index]
                                         << ", expected " << e[worst_index] << ", |diff| " << worst
                                         << " (rtol " << rtol << ", atol " << atol << ")";
  }
  return ::testing::AssertionSuccess();
}

// Sets the library's thread count for a test and restores the previous count when it ends.
class ThreadCount {
 public:
  explicit ThreadCount(int n) : saved_(get_num_threads()) { set_num_threads(n); }
  ~ThreadCount() { set_num_threads(saved_); }
  ThreadCount(const ThreadCount&) = delete;
  ThreadCount& operator=(const ThreadCount&) = delete;

 private:
  int saved_;
};

// Whether `body` throws E with a message containing every one of `parts`.
template <typename E, typename Body>
::testing::AssertionResult throws_with(Body&& body, std::initializer_list<std::string> parts) {
  try {
    body();
  } catch (const E& error) {
    std::string message = error.what();
    for (const std::string& part : parts) {
      if (message.find(part) == std::string::npos) {
        return ::testing::AssertionFailure() << "message \"" << message << "\" lacks \"" << part << "\"";
      }
    }
    return ::testing::AssertionSuccess();
  } catch (const std::exception& other) {
    return ::testing::AssertionFailure() << "threw another exception: " << other.what();
  }
  return ::testing::AssertionFailure() << "did not throw";
}

// A golden file: {"name": {"shape": [...], "dtype": "float32", "data": [...]}, ...}, where data
// is row-major and may hold the strings "nan", "inf" and "-inf".
class Golden {
 public:
  explicit Golden(const std::string& relative_path) {
    std::string path = std::string(DESCENT_TEST_DATA_DIR) + "/" + relative_path;
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open golden file " + path);
    json_ = nlohmann::json::parse(in);
  }
  const nlohmann::json& json() const { return json_; }
  bool has(const std::string& name) const { return json_.contains(name); }

  Tensor tensor(const std::string& name) const {
    const nlohmann::json& entry = json_.at(name);
    std::vector<int64_t> shape = entry.at("shape").get<std::vector<int64_t>>();
    std::string dtype = entry.at("dtype").get<std::string>();
    std::vector<double> values;
    for (const auto& v : entry.at("data")) values.push_back(number(v));
    DType type = dtype == "float64" ? kFloat64 : dtype == "int64" ? kInt64 : dtype == "bool" ? kBool : kFloat32;
    return core::tensor(values, Dims(shape), {.dtype = kFloat64}).to(type);
  }

  static double number(const nlohmann::json& v) {
    if (v.is_string()) {
      std::string s = v.get<std::string>();
      if (s == "nan") return NAN;
      if (s == "inf") return INFINITY;
      if (s == "-inf") return -INFINITY;
      throw std::runtime_error("golden: bad number " + s);
    }
    if (v.is_boolean()) return v.get<bool>() ? 1.0 : 0.0;
    return v.get<double>();
  }

 private:
  nlohmann::json json_;
};

}  // namespace descent::testing
