// Transforms (normalize, random crop with padding, horizontal flip) and the synthetic sets: values
// checked against hand-computed ones, and the same seed giving the same data.
#include <cmath>
#include <set>

#include <descent/data/synthetic.h>
#include <descent/data/transforms.h>
#include "testing.h"

namespace descent::data {
namespace {

using descent::testing::tensors_close;
using descent::testing::throws_with;

// [C=2, H=3, W=3] with distinct values (10 c + 3 h + w).
Tensor ramp() { return core::arange(18, {.dtype = kFloat32}).view({2, 3, 3}) + core::tensor({0.0f, 1.0f}).view({2, 1, 1}); }

TEST(Transforms, NormalizePerChannel) {
  Generator g(0);
  Tensor x = core::ones({2, 2, 2});
  Tensor out = transforms::normalize({0.5f, 2.0f}, {0.5f, 4.0f})(x, g);
  EXPECT_TRUE(tensors_close(out[0], core::full({2, 2}, 1.0f)));
  EXPECT_TRUE(tensors_close(out[1], core::full({2, 2}, -0.25f)));
  EXPECT_TRUE(throws_with<ShapeError>([&] { transforms::normalize({0, 0, 0}, {1, 1, 1})(x, g); }, {"3 means", "[2, 2, 2]"}));
  EXPECT_TRUE(throws_with<ValueError>([] { transforms::normalize({0}, {0}); }, {"std 0"}));
}

TEST(Transforms, RandomCropIsAShiftedWindowOfThePaddedImage) {
  Tensor x = ramp();
  std::set<std::pair<float, float>> corners;
  for (uint64_t seed = 0; seed < 60; ++seed) {
    Generator g(seed);
    Tensor out = transforms::random_crop(3, 1)(x, g);
    ASSERT_EQ(out.sizes(), Dims({2, 3, 3}));
    // Find the shift (dy, dx) in [-1, 1]^2 that explains every element (zeros where out of bounds).
    bool explained = false;
    for (int dy = -1; dy <= 1 && !explained; ++dy) {
      for (int dx = -1; dx <= 1 && !explained; ++dx) {
        bool all = true;
        for (int c = 0; c < 2; ++c) for (int r = 0; r < 3; ++r) for (int k = 0; k < 3; ++k) {
          int row = r + dy, col = k + dx;
          float expected = row >= 0 && row < 3 && col >= 0 && col < 3 ? x.at<float>({c, row, col}) : 0.0f;
          all = all && out.at<float>({c, r, k}) == expected;
        }
        if (all) {
          explained = true;
          corners.insert({float(dy), float(dx)});
        }
      }
    }
    EXPECT_TRUE(explained) << "seed " << seed;
    Generator again(seed);
    EXPECT_TRUE(tensors_close(transforms::random_crop(3, 1)(x, again), out, 0, 0));
  }
  EXPECT_EQ(corners.size(), 9u);  // every one of the 3 x 3 positions occurs in 60 draws
  Generator g(0);
  EXPECT_TRUE(throws_with<ShapeError>([&] { transforms::random_crop(6, 1)(x, g); }, {"random_crop", "[2, 3, 3]"}));
}

TEST(Transforms, HorizontalFlipMirrorsColumns) {
  Tensor x = ramp();
  int flipped = 0;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    Generator g(seed);
    Tensor out = transforms::compose({transforms::random_horizontal_flip(0.5)})(x, g);
    bool mirror = out.at<float>({1, 2, 0}) == x.at<float>({1, 2, 2});
    if (mirror) {
      ++flipped;
      for (int k = 0; k < 3; ++k) EXPECT_EQ(out.at<float>({0, 1, k}), x.at<float>({0, 1, 2 - k}));
    } else {
      EXPECT_TRUE(tensors_close(out, x, 0, 0));
    }
  }
  EXPECT_NEAR(flipped, 100, 30);  // about 4 sigma of a binomial(200, 0.5)
  Generator g(1);
  EXPECT_TRUE(tensors_close(transforms::random_horizontal_flip(0.0)(x, g), x, 0, 0));
}

TEST(Synthetic, TwoSpiralsShapesLabelsAndSeeds) {
  TensorDataset spirals = two_spirals(100, 0.0, 3);
  EXPECT_EQ(spirals.x().sizes(), Dims({200, 2}));
  EXPECT_EQ(spirals.y().sum().item<int64_t>(), 100);
  // Without noise each point lies on its spiral: radius = theta / (4.33 pi) with theta its angle (mod 2 pi).
  for (int64_t i = 0; i < 200; i += 17) {
    double px = spirals.x().at<float>({i, 0}), py = spirals.x().at<float>({i, 1});
    if (i >= 100) px = -px, py = -py;
    double radius = std::hypot(px, py);
    double theta = radius * 4.33 * M_PI;
    EXPECT_NEAR(std::cos(theta) * radius, px, 1e-5);
    EXPECT_NEAR(std::sin(theta) * radius, py, 1e-5);
  }
  EXPECT_TRUE(tensors_close(two_spirals(100, 0.1, 3).x(), two_spirals(100, 0.1, 3).x(), 0, 0));
  EXPECT_FALSE(tensors_close(two_spirals(100, 0.1, 3).x(), two_spirals(100, 0.1, 4).x(), 0, 0));
}

TEST(Synthetic, BlobsClusterAroundTheirCentres) {
  TensorDataset blobs = gaussian_blobs(500, 3, 2, 0.5, 5.0, 1);
  EXPECT_EQ(blobs.x().sizes(), Dims({1500, 2}));
  for (int64_t c = 0; c < 3; ++c) {
    Tensor members = blobs.x().slice(0, c * 500, (c + 1) * 500);
    Tensor spread = members.std({0});
    EXPECT_NEAR(spread.at<float>({0}), 0.5, 0.05);
    EXPECT_EQ(blobs.y().at<int64_t>({c * 500}), c);
  }
}

TEST(Synthetic, TeacherRegressionIsAFunctionOfX) {
  TensorDataset a = teacher_regression(64, 5, 8, 2, 0.0, 9);
  EXPECT_EQ(a.x().sizes(), Dims({64, 5}));
  EXPECT_EQ(a.y().sizes(), Dims({64, 2}));
  TensorDataset noisy = teacher_regression(64, 5, 8, 2, 0.1, 9);
  EXPECT_TRUE(tensors_close(noisy.x(), a.x(), 0, 0));  // same teacher and inputs; noise drawn last
  double residual = (noisy.y() - a.y()).std().item<double>();
  EXPECT_NEAR(residual, 0.1, 0.03);
  EXPECT_TRUE(throws_with<ValueError>([] { teacher_regression(0, 1, 1, 1); }, {"teacher_regression", "n 0"}));
}

}  // namespace
}  // namespace descent::data
