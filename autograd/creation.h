// Factories and random draws: the public names of core/factory.h and core/random.h.
// They make leaves; `.requires_grad = true` in TensorOptions is all autograd needs from them.
#pragma once

#include <descent/core/factory.h>
#include <descent/core/random.h>

namespace descent {

using core::arange;
using core::empty;
using core::empty_like;
using core::eye;
using core::from_blob;
using core::full;
using core::full_like;
using core::linspace;
using core::ones;
using core::ones_like;
using core::scalar_tensor;
using core::tensor;
using core::zeros;
using core::zeros_like;
using core::bernoulli;
using core::rand;
using core::rand_like;
using core::randint;
using core::randn;
using core::randn_like;
using core::randperm;

}  // namespace descent
