// The loss landscape: a loss (or any scalar metric, such as accuracy) along the line between two
// parameter sets, and on a plane through the parameters spanned by two filter-normalised random
// directions. Parameters are moved, evaluated under NoGradGuard, and put back bit for bit.
//
// Method: Li, Xu, Taylor, Studer, Goldstein, "Visualizing the loss landscape of neural nets",
// NeurIPS 2018. The line: f((1 - alpha) w_a + alpha w_b), computed as w_a + alpha (w_b - w_a)
// (Goodfellow et al. 2015's linear interpolation). Filter normalisation (their section 4): a
// Gaussian direction d, then for every filter j of every weight (a slice along dim 0: a conv
// output channel, a linear layer's output row) d_j <- d_j / |d_j| * |w_j|, so each filter of the
// direction has the norm of the weight's filter; 1-d parameters (biases, norm scales) get a zero
// direction, as their code's default ("ignore biasbn"), or a copy of the weights if asked.
#pragma once

#include <cstdint>
#include <vector>

#include <descent/study/hvp.h>

namespace descent::study {

// metric(w_a + alpha (w_b - w_a)) for each alpha; `from` and `to` have one tensor per parameter.
std::vector<double> loss_along_line(const LossFunction& metric, const TensorList& params, const TensorList& from,
                                    const TensorList& to, const std::vector<double>& alphas);

// Rescales `direction` in place, filter by filter, to the norms of `weights`' filters (see above).
// A zero filter of the direction stays zero.
void filter_normalize_(TensorList& direction, const TensorList& weights, bool ignore_vectors = true);
// A N(0, I) direction from `generator`, filter-normalised against `params`.
TensorList filter_normalized_direction(const TensorList& params, Generator& generator, bool ignore_vectors = true);

// metric(w + alpha d1 + beta d2) on the grid alphas x betas; values[i * betas.size() + j] is at
// (alphas[i], betas[j]).
struct LandscapePlane {
  std::vector<double> alphas, betas;
  std::vector<double> values;
};
LandscapePlane loss_plane(const LossFunction& metric, const TensorList& params, const TensorList& d1,
                          const TensorList& d2, const std::vector<double>& alphas, const std::vector<double>& betas);

}  // namespace descent::study
