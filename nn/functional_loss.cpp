// The losses of nn/functional_loss.h. cross_entropy is one fused node (WeightedLogSoftmaxBackward):
// forward loss[n, s] = -sum_c t[n, c, s] log_softmax(x)[n, c, s] for a weighted target t, backward
//   d loss / d x = (sum_c t) softmax(x) - t,    d loss / d t = -log_softmax(x),
// written with public ops. Class indices, class weights, ignore_index and label smoothing only
// change t, so every option goes through the same node. Shapes: N batch, C classes, S the
// product of the extra dims d....
#include <descent/nn/functional_loss.h>

#include <limits>
#include <string>
#include <vector>

#include <descent/autograd/ops.h>
#include <descent/autograd/record.h>
#include <descent/core/error.h>

namespace descent::nn::functional {

using autograd::Node;
using autograd::record;
using autograd::SavedTensor;

namespace {

Tensor reduce(const Tensor& loss, Reduction reduction) {
  switch (reduction) {
    case Reduction::None: return loss;
    case Reduction::Sum: return sum(loss);
    case Reduction::Mean: return mean(loss);
  }
  return loss;
}

void check_same_shape(const Tensor& input, const Tensor& target, const char* op) {
  check<ShapeError>(input.sizes() == target.sizes(), "{}: input {} and target {} differ in shape", op,
                    input.sizes(), target.sizes());
  check<DTypeError>(input.is_floating_point() && target.is_floating_point(),
                    "{}: input ({}) and target ({}) must be floating", op, input.dtype(), target.dtype());
}

struct WeightedLogSoftmaxBackward : Node {
  SavedTensor input;   // [N, C, S] logits
  SavedTensor target;  // [N, C, S] weighted target
  std::string name() const override { return "CrossEntropyBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    Tensor x = input.unpack(*this), t = target.unpack(*this);
    Tensor g = unsqueeze(grads[0], 1);  // [N, 1, S]
    std::vector<Tensor> result(2);
    if (needs_input_grad(0)) result[0] = mul(sub(mul(softmax(x, 1), sum(t, {1}, true)), t), g);
    if (needs_input_grad(1)) result[1] = mul(log_softmax(x, 1), neg(g));
    return result;
  }
  void release_saved() override {
    input.reset();
    target.reset();
  }
};

// loss[n, s] = -sum_c target[n, c, s] log_softmax(x)[n, c, s] for x and target [N, C, S].
Tensor weighted_log_softmax_loss(const Tensor& x, const Tensor& target) {
  Tensor loss = core::neg(core::sum(core::mul(target, core::log_softmax(x, 1)), {1}));
  if (auto node = record<WeightedLogSoftmaxBackward>(loss, {x, target})) {
    node->input = SavedTensor(x, false);
    node->target = SavedTensor(target, false);
  }
  return loss;
}

// PyTorch's binary_cross_entropy kernels (aten/src/ATen/native/Loss.cpp): the forward clamps each
// log at -100 and the input gradient's x (1 - x) at 1e-12, so both stay finite at x in {0, 1}:
//   loss = -(y max(log x, -100) + (1 - y) max(log(1 - x), -100))
//   d loss / d x = (x - y) / max(x (1 - x), 1e-12),   d loss / d y = log(1 - x) - log(x) (unclamped).
struct BinaryCrossEntropyBackward : Node {
  SavedTensor input, target;
  std::string name() const override { return "BinaryCrossEntropyBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    Tensor x = input.unpack(*this), y = target.unpack(*this);
    std::vector<Tensor> result(2);
    // NOTE: PyTorch's EPSILON is the float 1e-12 (9.99999996e-13), which a float64 gradient shows.
    constexpr double kEpsilon = static_cast<double>(1e-12f);
    if (needs_input_grad(0)) {
      result[0] = mul(grads[0], div(sub(x, y), clamp(mul(x, sub(1.0, x)), kEpsilon, std::nullopt)));
    }
    if (needs_input_grad(1)) result[1] = mul(grads[0], sub(log(sub(1.0, x)), log(x)));
    return result;
  }
  void release_saved() override {
    input.reset();
    target.reset();
  }
};

Tensor binary_cross_entropy_elements(const Tensor& x, const Tensor& y) {
  Tensor log_x = core::clamp(core::log(x), -100.0, std::nullopt);
  Tensor log_1mx = core::clamp(core::log(core::sub(1.0, x)), -100.0, std::nullopt);
  Tensor loss = core::neg(core::add(core::mul(y, log_x), core::mul(core::sub(1.0, y), log_1mx)));
  if (auto node = record<BinaryCrossEntropyBackward>(loss, {x, y})) {
    node->input = SavedTensor(x, false);
    node->target = SavedTensor(y, false);
  }
  return loss;
}

// The classification input as [N, C, S]: [C] is one row, [N, C, d...] folds d... into S.
struct ClassLayout {
  int64_t batch = 1, classes = 0, extent = 1;
  Dims target_shape;  // the shape of class-index targets: input's without the class dim
};

ClassLayout class_layout(const Tensor& input, const char* op) {
  check<ShapeError>(input.dim() >= 1, "{}: input {} needs a class dim", op, input.sizes());
  check<DTypeError>(input.is_floating_point(), "{}: input must be floating, not {}", op, input.dtype());
  ClassLayout layout;
  if (input.dim() == 1) {
    layout.classes = input.size(0);
    return layout;
  }
  layout.batch = input.size(0);
  layout.classes = input.size(1);
  layout.target_shape.push_back(layout.batch);
  for (int d = 2; d < input.dim(); ++d) {
    layout.extent *= input.size(d);
    layout.target_shape.push_back(input.size(d));
  }
  return layout;
}

// The weighted target of class indices [N, S] as a constant [N, C, S]:
//   t[n, c, s] = (1 - eps) w[y] [c == y] + eps / C w[c],   zero where y == ignore_index,
// and the sum of w[y] over the targets not ignored (the divisor of the mean).
std::pair<Tensor, double> index_target(const Tensor& target, const ClassLayout& layout, const Tensor& weight,
                                       int64_t ignore_index, double smoothing, DType dtype, const char* op) {
  const int64_t n_rows = layout.batch, classes = layout.classes, extent = layout.extent;
  std::vector<int64_t> labels = target.to_vector<int64_t>();
  std::vector<double> w = weight.defined() ? weight.to_vector<double>() : std::vector<double>(classes, 1.0);
  Tensor t = core::zeros({n_rows, classes, extent}, {.dtype = kFloat64});
  double* data = t.data<double>();
  double weight_total = 0.0;
  for (int64_t n = 0; n < n_rows; ++n) {
    for (int64_t s = 0; s < extent; ++s) {
      int64_t y = labels[n * extent + s];
      if (y == ignore_index) continue;
      check<IndexError>(y >= 0 && y < classes, "{}: target {} is out of bounds for {} classes", op, y, classes);
      double* column = data + n * classes * extent + s;
      for (int64_t c = 0; c < classes; ++c) column[c * extent] = smoothing / static_cast<double>(classes) * w[c];
      column[y * extent] += (1.0 - smoothing) * w[y];
      weight_total += w[y];
    }
  }
  return {t.to(dtype), weight_total};
}

Tensor reduce_rows(const Tensor& loss, const ClassLayout& layout, Reduction reduction, double mean_divisor) {
  switch (reduction) {
    case Reduction::None: return reshape(loss, layout.target_shape);
    case Reduction::Sum: return sum(loss);
    case Reduction::Mean:
      // NOTE: with every target ignored PyTorch's mean is 0 / 0 = NaN, yet its gradient is 0 (the
      // targets are), not 0 * inf: the NaN is added as a constant.
      if (mean_divisor == 0.0) return add(sum(loss), std::numeric_limits<double>::quiet_NaN());
      return div(sum(loss), mean_divisor);
  }
  return loss;
}

void check_class_weight(const Tensor& weight, const ClassLayout& layout, const char* op) {
  if (!weight.defined()) return;
  check<ShapeError>(weight.dim() == 1 && weight.size(0) == layout.classes,
                    "{}: weight {} should be [{}], one per class", op, weight.sizes(), layout.classes);
}

void check_index_target(const Tensor& target, const ClassLayout& layout, const Tensor& input, const char* op) {
  check<ShapeError>(target.sizes() == layout.target_shape, "{}: input {} needs class-index target {}, got {}", op,
                    input.sizes(), layout.target_shape, target.sizes());
}

}  // namespace

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  check_same_shape(input, target, "mse_loss");
  return reduce(square(sub(input, target)), reduction);
}

Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  check_same_shape(input, target, "l1_loss");
  return reduce(abs(sub(input, target)), reduction);
}

Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, Reduction reduction, double beta) {
  check_same_shape(input, target, "smooth_l1_loss");
  check<ValueError>(beta >= 0.0, "smooth_l1_loss: beta {} must be >= 0", beta);
  if (beta == 0.0) return l1_loss(input, target, reduction);
  Tensor d = sub(input, target), ad = abs(d);
  return reduce(where(lt(ad, beta), div(mul(square(d), 0.5), beta), sub(ad, 0.5 * beta)), reduction);
}

Tensor huber_loss(const Tensor& input, const Tensor& target, Reduction reduction, double delta) {
  check_same_shape(input, target, "huber_loss");
  check<ValueError>(delta > 0.0, "huber_loss: delta {} must be > 0", delta);
  Tensor d = sub(input, target), ad = abs(d);
  return reduce(where(lt(ad, delta), mul(square(d), 0.5), mul(sub(ad, 0.5 * delta), delta)), reduction);
}

Tensor cross_entropy(const Tensor& input, const Tensor& target, const CrossEntropyOptions& options) {
  const char* op = "cross_entropy";
  ClassLayout layout = class_layout(input, op);
  check_class_weight(options.weight, layout, op);
  check<ValueError>(options.label_smoothing >= 0.0 && options.label_smoothing <= 1.0,
                    "cross_entropy: label_smoothing {} must be in [0, 1]", options.label_smoothing);
  Tensor x = reshape(input, {layout.batch, layout.classes, layout.extent});
  if (target.is_floating_point()) {
    check<DTypeError>(target.sizes() != layout.target_shape || target.sizes() == input.sizes(),
                      "cross_entropy: target {} is {}: class-index targets must be int64 (target.to(kInt64)); "
                      "floating targets are class probabilities of the input's shape {}",
                      target.sizes(), target.dtype(), input.sizes());
    // class probabilities: t = w (1 - eps) p + w eps / C, differentiable in p
    check<ShapeError>(target.sizes() == input.sizes(), "cross_entropy: input {} and probability target {} differ",
                      input.sizes(), target.sizes());
    const double eps = options.label_smoothing;
    Tensor t = add(mul(reshape(target, x.sizes()), 1.0 - eps), eps / static_cast<double>(layout.classes));
    if (options.weight.defined()) t = mul(t, view(options.weight.to(input.dtype()), {1, layout.classes, 1}));
    return reduce_rows(weighted_log_softmax_loss(x, t), layout, options.reduction,
                       static_cast<double>(layout.batch * layout.extent));
  }
  check<DTypeError>(target.dtype() == kInt64, "cross_entropy: target must be int64 class indices or floating "
                    "probabilities, not {}", target.dtype());
  check_index_target(target, layout, input, op);
  auto [t, weight_total] = index_target(target, layout, options.weight, options.ignore_index,
                                        options.label_smoothing, input.dtype(), op);
  return reduce_rows(weighted_log_softmax_loss(x, t), layout, options.reduction, weight_total);
}

Tensor nll_loss(const Tensor& input, const Tensor& target, const NllLossOptions& options) {
  const char* op = "nll_loss";
  ClassLayout layout = class_layout(input, op);
  check_class_weight(options.weight, layout, op);
  check<DTypeError>(target.dtype() == kInt64, "nll_loss: target must be int64 class indices, not {}",
                    target.dtype());
  check_index_target(target, layout, input, op);
  auto [t, weight_total] = index_target(target, layout, options.weight, options.ignore_index, 0.0, input.dtype(), op);
  // loss[n, s] = -sum_c t[n, c, s] x[n, c, s]: only the target's class counts.
  Tensor loss = neg(sum(mul(reshape(input, t.sizes()), t), {1}));
  return reduce_rows(loss, layout, options.reduction, weight_total);
}

Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight, Reduction reduction) {
  check_same_shape(input, target, "binary_cross_entropy");
  {
    autograd::NoGradGuard no_grad;
    check<ValueError>(core::all(core::logical_and(core::ge(input, 0.0), core::le(input, 1.0))).item<bool>(),
                      "binary_cross_entropy: input {} has elements outside [0, 1]", input.sizes());
  }
  Tensor loss = binary_cross_entropy_elements(input, target);
  if (weight.defined()) loss = mul(loss, weight);
  return reduce(loss, reduction);
}

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        const BceWithLogitsOptions& options) {
  check_same_shape(input, target, "binary_cross_entropy_with_logits");
  // -log sigmoid(x) = softplus(-x) and -log(1 - sigmoid(x)) = x + softplus(-x), so
  //   loss = (1 - y) x + (1 + (p - 1) y) softplus(-x),   stable for logits of any size.
  Tensor positive_scale = options.pos_weight.defined() ? add(mul(sub(options.pos_weight, 1.0), target), 1.0)
                                                       : Tensor();
  Tensor softplus_neg = softplus(neg(input));
  Tensor loss = add(mul(sub(1.0, target), input),
                    positive_scale.defined() ? mul(positive_scale, softplus_neg) : softplus_neg);
  if (options.weight.defined()) loss = mul(loss, options.weight);
  return reduce(loss, options.reduction);
}

Tensor kl_div(const Tensor& input, const Tensor& target, KlDivReduction reduction, bool log_target) {
  check_same_shape(input, target, "kl_div");
  Tensor loss;
  if (log_target) {
    loss = mul(exp(target), sub(target, input));
  } else {
    // y log y with 0 log 0 = 0 (the log is taken of 1 where y == 0, so its gradient stays finite)
    Tensor positive = gt(target, 0.0);
    Tensor y_log_y = where(positive, mul(target, log(where(positive, target, 1.0))), 0.0);
    loss = sub(y_log_y, mul(target, input));
  }
  switch (reduction) {
    case KlDivReduction::None: return loss;
    case KlDivReduction::Sum: return sum(loss);
    case KlDivReduction::Mean: return mean(loss);
    case KlDivReduction::BatchMean:
      return div(sum(loss), static_cast<double>(input.dim() == 0 ? 1 : input.size(0)));
  }
  return loss;
}

}  // namespace descent::nn::functional
