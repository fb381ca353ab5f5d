// Seeded synthetic data sets for examples and tests: the same seed gives the same tensors on every
// machine and thread count (they draw from descent's counter-based Generator).
#pragma once

#include <cstdint>

#include <descent/data/dataset.h>

namespace descent::data {

// Two interleaved spirals in the plane, n_per_class points each: x float32 [2n, 2] (radius <= 1
// before noise), y int64 [2n] in {0, 1}. Point t of class c sits at angle theta = sqrt(t) * 4.33 pi
// and radius theta / (4.33 pi), class 1 the rotation of class 0 by pi; noise is Gaussian with std
// `noise`.
TensorDataset two_spirals(int64_t n_per_class, double noise = 0.05, uint64_t seed = 0);

// `classes` Gaussian clusters in `dim` dimensions with centres uniform in [-spread, spread]^dim and
// standard deviation `std`: x float32 [classes * n_per_class, dim], y int64 (the cluster).
TensorDataset gaussian_blobs(int64_t n_per_class, int64_t classes, int64_t dim, double std = 1.0,
                             double spread = 5.0, uint64_t seed = 0);

// A regression task a student network can learn exactly: x ~ N(0, 1) [n, in_features] and
// y = tanh(x W1 + b1) W2 + b2 + noise * N(0, 1), [n, out_features], with a random teacher
// (W1 ~ N(0, 1/in_features), W2 ~ N(0, 1/hidden), b ~ N(0, 0.01)) fixed by the seed.
TensorDataset teacher_regression(int64_t n, int64_t in_features, int64_t hidden, int64_t out_features,
                                 double noise = 0.0, uint64_t seed = 0);

}  // namespace descent::data
