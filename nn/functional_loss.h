// The loss functions of nn::functional, as torch.nn.functional defines them. cross_entropy and
// nll_loss are fused (log-softmax and the weighted target in one node, exact for logits of
// +-1e4); the pointwise losses are compositions of the differentiable ops of autograd/ops.h.
#pragma once

#include <cstdint>

#include <descent/core/tensor.h>

namespace descent::nn::functional {

// How a loss reduces its per-element values: kept (None), summed, or averaged.
enum class Reduction { None, Mean, Sum };

// (x - y)^2
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);
// |x - y|
Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);
// 0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (d = x - y); beta 0 is l1_loss.
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean,
                      double beta = 1.0);
// 0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta): smooth_l1_loss times delta.
Tensor huber_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean,
                  double delta = 1.0);

struct CrossEntropyOptions {
  Tensor weight = Tensor();                 // [C] per-class weights, or undefined
  int64_t ignore_index = -100;   // targets equal to it add nothing (class-index targets only)
  Reduction reduction = Reduction::Mean;
  double label_smoothing = 0.0;  // in [0, 1]: the target becomes (1 - s) target + s / C
};

// Shapes: input [N, C, d...] or [C]; target either class indices (int64 [N, d...] or []) or
// class probabilities (floating, input's shape). Mean over class indices divides by the sum of
// the weights of the non-ignored targets (none left: NaN, with gradient 0, as PyTorch); over
// probabilities, by N * d....
Tensor cross_entropy(const Tensor& input, const Tensor& target, const CrossEntropyOptions& options = {});

struct NllLossOptions {
  Tensor weight = Tensor();
  int64_t ignore_index = -100;
  Reduction reduction = Reduction::Mean;
};
// -weight[y] * input[y] for log-probabilities input [N, C, d...] or [C] and int64 target [N, d...].
Tensor nll_loss(const Tensor& input, const Tensor& target, const NllLossOptions& options = {});

// -w (y log x + (1 - y) log(1 - x)) with the logs clamped at -100 and the gradient's x (1 - x)
// at 1e-12, as PyTorch: finite at x in {0, 1}.
Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight = Tensor(),
                            Reduction reduction = Reduction::Mean);

struct BceWithLogitsOptions {
  Tensor weight = Tensor();      // broadcast to the input
  Tensor pos_weight = Tensor();  // weight of the positive term, broadcast along the last dim (per class)
  Reduction reduction = Reduction::Mean;
};
// -w (p y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))), computed stably from the logits x.
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        const BceWithLogitsOptions& options = {});

enum class KlDivReduction { None, Mean, Sum, BatchMean };
// y (log y - x) for log-probabilities x (target log-probabilities when log_target); 0 where y == 0.
// BatchMean divides the sum by the batch size input.size(0) (the mathematically right KL).
Tensor kl_div(const Tensor& input, const Tensor& target, KlDivReduction reduction = KlDivReduction::Mean,
              bool log_target = false);

}  // namespace descent::nn::functional
