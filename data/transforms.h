// Transforms of one example's image x [C, H, W] (float32), for data::TransformDataset. The random
// ones draw from the Generator they are handed, which TransformDataset seeds per (seed, epoch,
// example): augmentation is repeatable and independent of the thread count.
#pragma once

#include <vector>

#include <descent/data/dataset.h>

namespace descent::data::transforms {

// (x[c] - mean[c]) / std[c] per channel; one value applies to every channel.
Transform normalize(std::vector<float> mean, std::vector<float> std);
// Pads each side with `padding` zeros, then crops a size x size window at a uniform position.
Transform random_crop(int64_t size, int64_t padding = 0);
// Mirrors left-right with probability p.
Transform random_horizontal_flip(double p = 0.5);
// The transforms in order.
Transform compose(std::vector<Transform> transforms);

}  // namespace descent::data::transforms
