// Differentiable elementwise functions of two tensors: each forward (a core kernel plus the node
// it records) beside its backward. Broadcast inputs get their gradient summed back to their
// shape and cast to their dtype by reduce_to_input (autograd/record.h).
//   Formulas: d(a*b) = b da + a db;  d(a/b) = da / b - a db / b^2;
//   d(a^b) = b a^(b-1) da + a^b log(a) db  (0 where a == 0 and b >= 0, as PyTorch).
#include <descent/autograd/binary_ops.h>

#include <descent/autograd/ops.h>
#include <descent/autograd/record.h>

namespace descent {

using autograd::Node;
using autograd::record;
using autograd::reduce_to_input;
using autograd::SavedTensor;

namespace {

// ---- add, sub: a + alpha * b ----

struct AddBackward : Node {
  Scalar alpha = 1;
  std::string name() const override { return "AddBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    const Tensor& g = grads[0];
    Tensor ga, gb;
    if (needs_input_grad(0)) ga = reduce_to_input(g, input_meta(0));
    if (needs_input_grad(1)) gb = reduce_to_input(alpha.to<double>() == 1.0 ? g : g * alpha, input_meta(1));
    return {ga, gb};
  }
};

// The gradient passes unchanged (x + s, x - s), or negated (s - x).
struct ShiftBackward : Node {
  bool negate = false;
  std::string name() const override { return negate ? "RsubBackward" : "AddBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    return {reduce_to_input(negate ? -grads[0] : grads[0], input_meta(0))};
  }
};

Tensor record_shift(Tensor out, const Tensor& x, bool negate) {
  if (auto node = record<ShiftBackward>(out, {x})) node->negate = negate;
  return out;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b, const Scalar& alpha) {
  Tensor out = core::add(a, b, alpha);
  if (auto node = record<AddBackward>(out, {a, b})) node->alpha = alpha;
  return out;
}
Tensor add(const Tensor& a, const Scalar& b) { return record_shift(core::add(a, b), a, false); }

Tensor sub(const Tensor& a, const Tensor& b, const Scalar& alpha) {
  Tensor out = core::sub(a, b, alpha);
  if (auto node = record<AddBackward>(out, {a, b})) node->alpha = -alpha.to<double>();
  return out;
}
Tensor sub(const Tensor& a, const Scalar& b) { return record_shift(core::sub(a, b), a, false); }
Tensor sub(const Scalar& a, const Tensor& b) { return record_shift(core::sub(a, b), b, true); }

// ---- mul ----

namespace {
struct MulBackward : Node {
  SavedTensor a, b;
  std::string name() const override { return "MulBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    const Tensor& g = grads[0];
    Tensor ga, gb;
    if (needs_input_grad(0)) ga = reduce_to_input(g * b.unpack(*this), input_meta(0));
    if (needs_input_grad(1)) gb = reduce_to_input(g * a.unpack(*this), input_meta(1));
    return {ga, gb};
  }
  void release_saved() override {
    a.reset();
    b.reset();
  }
};

// x * s and x / s: the gradient times a constant factor.
struct ScaleBackward : autograd::NamedNode {
  using NamedNode::NamedNode;
  double factor = 1.0;
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    return {reduce_to_input(grads[0] * factor, input_meta(0))};
  }
};

Tensor record_scale(Tensor out, const Tensor& x, double factor, const char* name) {
  if (auto node = record<ScaleBackward>(out, {x}, name)) node->factor = factor;
  return out;
}
}  // namespace

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = core::mul(a, b);
  if (auto node = record<MulBackward>(out, {a, b})) {
    if (node->needs_input_grad(0)) node->b = SavedTensor(b, false);
    if (node->needs_input_grad(1)) node->a = SavedTensor(a, false);
  }
  return out;
}
Tensor mul(const Tensor& a, const Scalar& b) { return record_scale(core::mul(a, b), a, b.to<double>(), "MulBackward"); }

// ---- div ----

namespace {
struct DivBackward : Node {
  SavedTensor a, b;
  std::string name() const override { return "DivBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    const Tensor& g = grads[0];
    Tensor denominator = b.unpack(*this);
    Tensor ga, gb;
    if (needs_input_grad(0)) ga = reduce_to_input(g / denominator, input_meta(0));
    if (needs_input_grad(1)) {
      gb = reduce_to_input(-g * a.unpack(*this) / (denominator * denominator), input_meta(1));
    }
    return {ga, gb};
  }
  void release_saved() override {
    a.reset();
    b.reset();
  }
};

// s / x: d/dx = -s / x^2
struct ReciprocalScaleBackward : Node {
  SavedTensor x;
  double numerator = 1.0;
  std::string name() const override { return "DivBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    Tensor v = x.unpack(*this);
    return {reduce_to_input(-grads[0] * numerator / (v * v), input_meta(0))};
  }
  void release_saved() override { x.reset(); }
};
}  // namespace

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = core::div(a, b);
  if (auto node = record<DivBackward>(out, {a, b})) {
    node->b = SavedTensor(b, false);
    if (node->needs_input_grad(1)) node->a = SavedTensor(a, false);
  }
  return out;
}
Tensor div(const Tensor& a, const Scalar& b) {
  return record_scale(core::div(a, b), a, 1.0 / b.to<double>(), "DivBackward");
}
Tensor div(const Scalar& a, const Tensor& b) {
  Tensor out = core::div(a, b);
  if (auto node = record<ReciprocalScaleBackward>(out, {b})) {
    node->x = SavedTensor(b, false);
    node->numerator = a.to<double>();
  }
  return out;
}

// ---- pow ----

namespace {
// The gradient with respect to the exponent: g * a^b * log(a), zero where a == 0 and b >= 0.
Tensor pow_exponent_grad(const Tensor& g, const Tensor& base, const Tensor& exponent, const Tensor& result) {
  Tensor zero_base = core::logical_and(core::eq(base, 0), core::ge(exponent, 0));
  return where(zero_base, 0.0, g * result * log(base));
}

struct PowBackward : Node {
  SavedTensor base, exponent, result;
  std::string name() const override { return "PowBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    const Tensor& g = grads[0];
    Tensor a = base.unpack(*this), b = exponent.unpack(*this);
    Tensor ga, gb;
    if (needs_input_grad(0)) {
      ga = reduce_to_input(where(core::eq(b, 0), 0.0, g * b * pow(a, b - 1)), input_meta(0));
    }
    if (needs_input_grad(1)) gb = reduce_to_input(pow_exponent_grad(g, a, b, result.unpack(*this)), input_meta(1));
    return {ga, gb};
  }
  void release_saved() override {
    base.reset();
    exponent.reset();
    result.reset();
  }
};

struct ScalarBasePowBackward : Node {
  SavedTensor exponent, result;
  double base = 0.0;
  std::string name() const override { return "PowBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    Tensor b = exponent.unpack(*this);
    Tensor a = core::full_like(b, base);
    return {reduce_to_input(pow_exponent_grad(grads[0], a, b, result.unpack(*this)), input_meta(0))};
  }
  void release_saved() override {
    exponent.reset();
    result.reset();
  }
};
}  // namespace

Tensor pow(const Tensor& a, const Tensor& b) {
  Tensor out = core::pow(a, b);
  if (auto node = record<PowBackward>(out, {a, b})) {
    node->base = SavedTensor(a, false);
    node->exponent = SavedTensor(b, false);
    if (node->needs_input_grad(1)) node->result = SavedTensor(out, true);
  }
  return out;
}

Tensor pow(const Scalar& a, const Tensor& b) {
  Tensor out = core::pow(a, b);
  if (auto node = record<ScalarBasePowBackward>(out, {b})) {
    node->exponent = SavedTensor(b, false);
    node->result = SavedTensor(out, true);
    node->base = a.to<double>();
  }
  return out;
}

// ---- maximum, minimum: the gradient goes to the larger (smaller) input, half each on ties ----

namespace {
struct ExtremumBackward : Node {
  SavedTensor a, b;
  bool is_max = true;
  std::string name() const override { return is_max ? "MaximumBackward" : "MinimumBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    const Tensor& g = grads[0];
    Tensor x = a.unpack(*this), y = b.unpack(*this);
    Tensor a_wins = (is_max ? core::gt(x, y) : core::lt(x, y)).to(g.dtype());
    Tensor tie = core::eq(x, y).to(g.dtype());
    Tensor a_share = a_wins + tie * 0.5;
    Tensor ga, gb;
    if (needs_input_grad(0)) ga = reduce_to_input(g * a_share, input_meta(0));
    if (needs_input_grad(1)) gb = reduce_to_input(g * (1.0 - a_share), input_meta(1));
    return {ga, gb};
  }
  void release_saved() override {
    a.reset();
    b.reset();
  }
};

Tensor extremum(Tensor out, const Tensor& a, const Tensor& b, bool is_max) {
  if (auto node = record<ExtremumBackward>(out, {a, b})) {
    node->a = SavedTensor(a, false);
    node->b = SavedTensor(b, false);
    node->is_max = is_max;
  }
  return out;
}
}  // namespace

Tensor maximum(const Tensor& a, const Tensor& b) { return extremum(core::maximum(a, b), a, b, true); }
Tensor minimum(const Tensor& a, const Tensor& b) { return extremum(core::minimum(a, b), a, b, false); }

// ---- remainder: a - floor(a / b) * b ----

namespace {
struct RemainderBackward : Node {
  SavedTensor a, b;
  std::string name() const override { return "RemainderBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    const Tensor& g = grads[0];
    Tensor ga, gb;
    if (needs_input_grad(0)) ga = reduce_to_input(g, input_meta(0));
    if (needs_input_grad(1)) {
      Tensor quotient = core::floor(core::div(a.unpack(*this), b.unpack(*this)));
      gb = reduce_to_input(-g * quotient, input_meta(1));
    }
    return {ga, gb};
  }
  void release_saved() override {
    a.reset();
    b.reset();
  }
};
}  // namespace

Tensor remainder(const Tensor& a, const Tensor& b) {
  Tensor out = core::remainder(a, b);
  if (auto node = record<RemainderBackward>(out, {a, b})) {
    if (node->needs_input_grad(1)) {
      node->a = SavedTensor(a, false);
      node->b = SavedTensor(b, false);
    }
  }
  return out;
}
Tensor remainder(const Tensor& a, const Scalar& b) { return record_shift(core::remainder(a, b), a, false); }

// ---- where ----

namespace {
struct WhereBackward : Node {
  SavedTensor condition;
  std::string name() const override { return "WhereBackward"; }
  // Inputs: a, b (the condition is not differentiable and is saved instead).
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    const Tensor& g = grads[0];
    Tensor c = condition.unpack(*this);
    Tensor ga, gb;
    if (needs_input_grad(0)) ga = reduce_to_input(where(c, g, 0.0), input_meta(0));
    if (needs_input_grad(1)) gb = reduce_to_input(where(c, 0.0, g), input_meta(1));
    return {ga, gb};
  }
  void release_saved() override { condition.reset(); }
};

Tensor record_where(Tensor out, const Tensor& condition, const Tensor& a, const Tensor& b) {
  if (auto node = record<WhereBackward>(out, {a, b})) node->condition = SavedTensor(condition, false);
  return out;
}
}  // namespace

Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b) {
  return record_where(core::where(condition, a, b), condition, a, b);
}
Tensor where(const Tensor& condition, const Tensor& a, const Scalar& b) {
  return record_where(core::where(condition, a, b), condition, a, Tensor());
}
Tensor where(const Tensor& condition, const Scalar& a, const Tensor& b) {
  return record_where(core::where(condition, a, b), condition, Tensor(), b);
}

// ---- in place: autograd::run_in_place runs the kernel, or the out-of-place op on self (or, when
// the backward reads self, on a clone of it) and moves the result's value and history into self ----

void add_(const Tensor& self, const Tensor& other, const Scalar& alpha) {
  autograd::run_in_place(self, other, "add_", false, [&] { core::add_(self, other, alpha); },
                         [&](const Tensor& s) { return add(s, other.is_same(self) ? s : other, alpha); });
}
void add_(const Tensor& self, const Scalar& other) {
  autograd::run_in_place(self, Tensor(), "add_", false, [&] { core::add_(self, other); },
                         [&](const Tensor& s) { return add(s, other); });
}
void sub_(const Tensor& self, const Tensor& other, const Scalar& alpha) {
  autograd::run_in_place(self, other, "sub_", false, [&] { core::sub_(self, other, alpha); },
                         [&](const Tensor& s) { return sub(s, other.is_same(self) ? s : other, alpha); });
}
void sub_(const Tensor& self, const Scalar& other) {
  autograd::run_in_place(self, Tensor(), "sub_", false, [&] { core::sub_(self, other); },
                         [&](const Tensor& s) { return sub(s, other); });
}
// mul and div save self for other's gradient.
void mul_(const Tensor& self, const Tensor& other) {
  autograd::run_in_place(self, other, "mul_", other.requires_grad(), [&] { core::mul_(self, other); },
                         [&](const Tensor& s) { return mul(s, other.is_same(self) ? s : other); });
}
void mul_(const Tensor& self, const Scalar& other) {
  autograd::run_in_place(self, Tensor(), "mul_", false, [&] { core::mul_(self, other); },
                         [&](const Tensor& s) { return mul(s, other); });
}
void div_(const Tensor& self, const Tensor& other) {
  autograd::run_in_place(self, other, "div_", other.requires_grad(), [&] { core::div_(self, other); },
                         [&](const Tensor& s) { return div(s, other.is_same(self) ? s : other); });
}
void div_(const Tensor& self, const Scalar& other) {
  autograd::run_in_place(self, Tensor(), "div_", false, [&] { core::div_(self, other); },
                         [&](const Tensor& s) { return div(s, other); });
}

}  // namespace descent
