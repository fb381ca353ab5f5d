// Parameter initialisation (nn::init), as torch.nn.init: each function fills a tensor in place
// under NoGradGuard (so it works on parameters that require grad) and returns it. Random ones
// draw from `generator`, or the default generator (manual_seed) when it is null.
#pragma once

#include <optional>
#include <utility>

#include <descent/core/random.h>
#include <descent/core/tensor.h>

namespace descent::nn::init {

// The nonlinearity a gain is computed for (torch.nn.init.calculate_gain's names).
enum class Nonlinearity { Linear, Conv1d, Conv2d, Conv3d, Sigmoid, Tanh, ReLU, LeakyReLU, SELU };
enum class FanMode { FanIn, FanOut };

// The recommended gain: 1 for linear, conv and sigmoid; 5/3 for tanh; sqrt(2) for relu;
// sqrt(2 / (1 + slope^2)) for leaky_relu (slope = param, default 0.01); 3/4 for selu.
// `param` is only meaningful for LeakyReLU.
double calculate_gain(Nonlinearity nonlinearity, std::optional<double> param = std::nullopt);

// (fan_in, fan_out) of a weight: dims 1 and 0 times the product of the dims after them (the
// receptive field of a conv kernel). Fewer than 2 dims is a ValueError.
std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& t);

const Tensor& uniform_(const Tensor& t, double low = 0.0, double high = 1.0, Generator* generator = nullptr);
const Tensor& normal_(const Tensor& t, double mean = 0.0, double std = 1.0, Generator* generator = nullptr);
const Tensor& constant_(const Tensor& t, double value);
const Tensor& zeros_(const Tensor& t);
const Tensor& ones_(const Tensor& t);
// The identity matrix (ones on the diagonal of a 2-d tensor, also when not square).
const Tensor& eye_(const Tensor& t);

// Glorot & Bengio (2010): U(-a, a) with a = gain sqrt(6 / (fan_in + fan_out)), or
// N(0, gain^2 2 / (fan_in + fan_out)).
const Tensor& xavier_uniform_(const Tensor& t, double gain = 1.0, Generator* generator = nullptr);
const Tensor& xavier_normal_(const Tensor& t, double gain = 1.0, Generator* generator = nullptr);

// He et al. (2015): std = gain / sqrt(fan) with gain = calculate_gain(nonlinearity, a);
// uniform on +-sqrt(3) std, or normal with that std. A tensor with a zero size is left as is.
const Tensor& kaiming_uniform_(const Tensor& t, double a = 0.0, FanMode mode = FanMode::FanIn,
                               Nonlinearity nonlinearity = Nonlinearity::LeakyReLU, Generator* generator = nullptr);
const Tensor& kaiming_normal_(const Tensor& t, double a = 0.0, FanMode mode = FanMode::FanIn,
                              Nonlinearity nonlinearity = Nonlinearity::LeakyReLU, Generator* generator = nullptr);

// Saxe et al. (2013): the tensor viewed as [size(0), rest] gets orthonormal rows (or columns,
// whichever are fewer), times `gain`: the Q of a Householder QR of a standard normal matrix,
// with column signs fixed by R's diagonal so that Q is Haar-distributed.
const Tensor& orthogonal_(const Tensor& t, double gain = 1.0, Generator* generator = nullptr);

// N(mean, std^2) conditioned on [a, b], by inverting the normal CDF on a uniform draw between
// the bounds' CDF values (as torch.nn.init.trunc_normal_).
const Tensor& trunc_normal_(const Tensor& t, double mean = 0.0, double std = 1.0, double a = -2.0, double b = 2.0,
                            Generator* generator = nullptr);

}  // namespace descent::nn::init
