// The update rules' fused in-place kernels: one pass over each parameter's elements reads the
// gradient and state and writes the parameter and state, split over threads by parallel_for. The
// formulas are torch.optim 1.13's single-tensor ones, in the same order of operations.
#include <descent/optim/rules.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <string_view>

#include <descent/autograd/ops.h>
#include <descent/core/parallel.h>
#include <descent/core/vecmath.h>

namespace descent::optim {

namespace {

// Throws ValueError "<rule>: <option> = <value> must be <requirement>" when `ok` is false.
void require(bool ok, const char* rule, const char* option, double value, const char* requirement) {
  check<ValueError>(ok, "{}: {} = {} must be {}", rule, option, value, requirement);
}

void require_lr(const char* rule, double lr) { require(lr >= 0.0, rule, "lr", lr, ">= 0"); }
void require_weight_decay(const char* rule, double weight_decay) {
  require(weight_decay >= 0.0, rule, "weight_decay", weight_decay, ">= 0");
}
void require_betas(const char* rule, const std::pair<double, double>& betas) {
  require(betas.first >= 0.0 && betas.first < 1.0, rule, "beta1", betas.first, "in [0, 1)");
  require(betas.second >= 0.0 && betas.second < 1.0, rule, "beta2", betas.second, "in [0, 1)");
}
void require_eps(const char* rule, double eps) { require(eps > 0.0, rule, "eps", eps, "> 0"); }

// A state buffer of the parameter's shape and dtype, created as `initial` on first use.
Tensor& buffer(ParamState& state, const char* name, const Tensor& param, double initial) {
  auto found = state.buffers.find(name);
  if (found != state.buffers.end()) return found->second;
  return state.buffers[name] = core::full(param.sizes(), initial, {.dtype = param.dtype()});
}

// Calls kernel.template operator()<T>(begin, end) over the parameter's elements on threads, T the
// parameter's dtype (float32 or float64).
template <typename Kernel>
void for_elements(const Tensor& param, const char* rule, const Kernel& kernel) {
  dispatch_floating(param.dtype(), rule, [&]<typename T>() {
    parallel_for(0, param.numel(), kElementwiseGrain,
                 [&](int64_t begin, int64_t end) { kernel.template operator()<T>(begin, end); });
  });
}

template <typename T>
T* ptr(const Tensor& t) {
  return t.data<T>();
}

// The kernels that need a square root run in blocks small enough to stay in L1: `first(i)` does
// the element's state update and returns the value under the root, one vectorised
// vecmath::sqrt takes the roots of the block, and `second(i, root)` updates the parameter.
// NOTE: a std::sqrt inside the loop would not vectorise (it may set errno).
template <typename T, typename First, typename Second>
void in_blocks_with_sqrt(int64_t begin, int64_t end, const First& first, const Second& second) {
  constexpr int64_t kBlock = 256;
  alignas(64) T roots[kBlock];
  for (int64_t start = begin; start < end; start += kBlock) {
    int64_t n = std::min(end - start, kBlock);
    for (int64_t j = 0; j < n; ++j) roots[j] = first(start + j);
    vecmath::sqrt(roots, roots, n);
    for (int64_t j = 0; j < n; ++j) second(start + j, roots[j]);
  }
}

// Adam and AdamW share one kernel; they differ in how weight decay enters (Kingma & Ba 2015,
// Loshchilov & Hutter 2019):
//   g  = -grad if maximize else grad;  g += l2 * p (Adam's coupled decay);  p *= decay (AdamW's)
//   m  = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  vmax = max(vmax, v) (amsgrad)
//   p += -(lr / (1 - b1^t)) * m / (sqrt(v or vmax) / sqrt(1 - b2^t) + eps)
struct AdamCoefficients {
  double lr, beta1, beta2, eps, l2, decay;
  bool amsgrad, maximize;
};

void adam_update(const Tensor& param, const Tensor& grad, ParamState& state, const AdamCoefficients& c,
                 const char* rule) {
  Tensor& exp_avg = buffer(state, "exp_avg", param, 0.0);
  Tensor& exp_avg_sq = buffer(state, "exp_avg_sq", param, 0.0);
  Tensor max_exp_avg_sq = c.amsgrad ? buffer(state, "max_exp_avg_sq", param, 0.0) : Tensor();
  double step = static_cast<double>(state.step);
  double step_size = c.lr / (1.0 - std::pow(c.beta1, step));
  double bias_correction2_sqrt = std::sqrt(1.0 - std::pow(c.beta2, step));
  for_elements(param, rule, [&]<typename T>(int64_t begin, int64_t end) {
    T* __restrict p = ptr<T>(param);
    const T* __restrict g = ptr<T>(grad);
    T* __restrict m = ptr<T>(exp_avg);
    T* __restrict v = ptr<T>(exp_avg_sq);
    T* __restrict vmax = c.amsgrad ? ptr<T>(max_exp_avg_sq) : nullptr;
    const T beta1 = c.beta1, beta2 = c.beta2, one_minus_beta1 = 1 - c.beta1, one_minus_beta2 = 1 - c.beta2;
    const T l2 = c.l2, decay = c.decay, eps = c.eps, bc2_sqrt = bias_correction2_sqrt, neg_step = -step_size;
    const T sign = c.maximize ? T(-1) : T(1);
    // Pass 1: the moments (and their running maximum); the root is of v or vmax.
    auto moments = [&](int64_t i) {
      T gi = sign * g[i] + l2 * p[i];
      T mi = m[i] * beta1 + one_minus_beta1 * gi;
      T vi = v[i] * beta2 + one_minus_beta2 * gi * gi;
      m[i] = mi;
      v[i] = vi;
      if (vmax == nullptr) return vi;
      T vmaxi = std::max(vmax[i], vi);
      vmax[i] = vmaxi;
      return vmaxi;
    };
    auto parameter = [&](int64_t i, T root) { p[i] = p[i] * decay + neg_step * (m[i] / (root / bc2_sqrt + eps)); };
    in_blocks_with_sqrt<T>(begin, end, moments, parameter);
  });
}

}  // namespace

// ---- validation ----

void SGDOptions::validate() const {
  require_lr(kRule, lr);
  require(momentum >= 0.0, kRule, "momentum", momentum, ">= 0");
  require(dampening >= 0.0 && dampening <= 1.0, kRule, "dampening", dampening, "in [0, 1]");
  require_weight_decay(kRule, weight_decay);
  check<ValueError>(!nesterov || (momentum > 0.0 && dampening == 0.0),
                    "SGD: nesterov needs momentum > 0 and dampening = 0 (momentum = {}, dampening = {})", momentum,
                    dampening);
}

void AdamOptions::validate() const {
  require_lr(kRule, lr);
  require_betas(kRule, betas);
  require_eps(kRule, eps);
  require_weight_decay(kRule, weight_decay);
}

void AdamWOptions::validate() const {
  require_lr(kRule, lr);
  require_betas(kRule, betas);
  require_eps(kRule, eps);
  require_weight_decay(kRule, weight_decay);
}

void RMSpropOptions::validate() const {
  require_lr(kRule, lr);
  require(alpha >= 0.0 && alpha <= 1.0, kRule, "alpha", alpha, "in [0, 1]");
  require_eps(kRule, eps);
  require_weight_decay(kRule, weight_decay);
  require(momentum >= 0.0, kRule, "momentum", momentum, ">= 0");
}

void AdagradOptions::validate() const {
  require_lr(kRule, lr);
  require(lr_decay >= 0.0, kRule, "lr_decay", lr_decay, ">= 0");
  require_weight_decay(kRule, weight_decay);
  require(initial_accumulator_value >= 0.0, kRule, "initial_accumulator_value", initial_accumulator_value, ">= 0");
  require_eps(kRule, eps);
}

void LionOptions::validate() const {
  require_lr(kRule, lr);
  require_betas(kRule, betas);
  require_weight_decay(kRule, weight_decay);
}

// ---- kernels ----

// SGD with momentum (Sutskever et al. 2013), as torch.optim.SGD:
//   d = -grad if maximize else grad;  d += wd p
//   b = d on the first step, else momentum b + (1 - dampening) d
//   d = d + momentum b (nesterov) or b;  p += -lr d
template <>
void Rule<SGDOptions>::update(const Tensor& param, const Tensor& grad, ParamState& state) const {
  const SGDOptions& o = options_;
  bool first = !state.buffers.contains("momentum_buffer");
  Tensor momentum_buffer = o.momentum != 0.0 ? buffer(state, "momentum_buffer", param, 0.0) : Tensor();
  for_elements(param, o.kRule, [&]<typename T>(int64_t begin, int64_t end) {
    T* __restrict p = ptr<T>(param);
    const T* __restrict g = ptr<T>(grad);
    T* __restrict b = momentum_buffer.defined() ? ptr<T>(momentum_buffer) : nullptr;
    const T lr = o.lr, wd = o.weight_decay, momentum = o.momentum, keep = 1 - o.dampening;
    const T sign = o.maximize ? T(-1) : T(1);
    for (int64_t i = begin; i < end; ++i) {
      T d = sign * g[i] + wd * p[i];
      if (b != nullptr) {
        T bi = first ? d : b[i] * momentum + keep * d;
        b[i] = bi;
        d = o.nesterov ? d + momentum * bi : bi;
      }
      p[i] = p[i] + -lr * d;
    }
  });
}

template <>
void Rule<AdamOptions>::update(const Tensor& param, const Tensor& grad, ParamState& state) const {
  const AdamOptions& o = options_;
  adam_update(param, grad, state,
              {o.lr, o.betas.first, o.betas.second, o.eps, o.weight_decay, 1.0, o.amsgrad, o.maximize}, o.kRule);
}

template <>
void Rule<AdamWOptions>::update(const Tensor& param, const Tensor& grad, ParamState& state) const {
  const AdamWOptions& o = options_;
  adam_update(param, grad, state,
              {o.lr, o.betas.first, o.betas.second, o.eps, 0.0, 1.0 - o.lr * o.weight_decay, o.amsgrad, o.maximize},
              o.kRule);
}

// RMSprop (Hinton's lecture 6e; centered as Graves 2013), as torch.optim.RMSprop:
//   g = -grad if maximize else grad;  g += wd p;  s = alpha s + (1 - alpha) g^2
//   centered: a = alpha a + (1 - alpha) g;  avg = sqrt(s - a^2) + eps, else sqrt(s) + eps
//   momentum: b = momentum b + g / avg;  p += -lr b.  Otherwise p += -lr g / avg
template <>
void Rule<RMSpropOptions>::update(const Tensor& param, const Tensor& grad, ParamState& state) const {
  const RMSpropOptions& o = options_;
  Tensor square_avg = buffer(state, "square_avg", param, 0.0);
  Tensor grad_avg = o.centered ? buffer(state, "grad_avg", param, 0.0) : Tensor();
  Tensor momentum_buffer = o.momentum > 0.0 ? buffer(state, "momentum_buffer", param, 0.0) : Tensor();
  for_elements(param, o.kRule, [&]<typename T>(int64_t begin, int64_t end) {
    T* __restrict p = ptr<T>(param);
    const T* __restrict g = ptr<T>(grad);
    T* __restrict s = ptr<T>(square_avg);
    T* __restrict a = grad_avg.defined() ? ptr<T>(grad_avg) : nullptr;
    T* __restrict b = momentum_buffer.defined() ? ptr<T>(momentum_buffer) : nullptr;
    const T lr = o.lr, wd = o.weight_decay, alpha = o.alpha, one_minus_alpha = 1 - o.alpha, eps = o.eps;
    const T momentum = o.momentum, sign = o.maximize ? T(-1) : T(1);
    // Pass 1: the averages; the root is of s - a^2 (centered) or s.
    auto averages = [&](int64_t i) {
      T gi = sign * g[i] + wd * p[i];
      T si = s[i] * alpha + one_minus_alpha * gi * gi;
      s[i] = si;
      if (a == nullptr) return si;
      T ai = a[i] * alpha + one_minus_alpha * gi;
      a[i] = ai;
      return si + T(-1) * ai * ai;
    };
    auto parameter = [&](int64_t i, T root) {
      T gi = sign * g[i] + wd * p[i];
      T avg = root + eps;
      if (b == nullptr) {
        p[i] = p[i] + -lr * (gi / avg);
        return;
      }
      T bi = b[i] * momentum + gi / avg;
      b[i] = bi;
      p[i] = p[i] + -lr * bi;
    };
    in_blocks_with_sqrt<T>(begin, end, averages, parameter);
  });
}

// Adagrad (Duchi et al. 2011), as torch.optim.Adagrad:
//   g = -grad if maximize else grad;  g += wd p;  clr = lr / (1 + (t - 1) lr_decay)
//   s += g^2;  p += -clr g / (sqrt(s) + eps)
template <>
void Rule<AdagradOptions>::update(const Tensor& param, const Tensor& grad, ParamState& state) const {
  const AdagradOptions& o = options_;
  Tensor sum = buffer(state, "sum", param, o.initial_accumulator_value);
  double clr = o.lr / (1.0 + static_cast<double>(state.step - 1) * o.lr_decay);
  for_elements(param, o.kRule, [&]<typename T>(int64_t begin, int64_t end) {
    T* __restrict p = ptr<T>(param);
    const T* __restrict g = ptr<T>(grad);
    T* __restrict s = ptr<T>(sum);
    const T wd = o.weight_decay, eps = o.eps, neg_clr = -clr, sign = o.maximize ? T(-1) : T(1);
    auto accumulate = [&](int64_t i) {
      T gi = sign * g[i] + wd * p[i];
      T si = s[i] + gi * gi;
      s[i] = si;
      return si;
    };
    auto parameter = [&](int64_t i, T root) {
      T gi = sign * g[i] + wd * p[i];
      p[i] = p[i] + neg_clr * (gi / (root + eps));
    };
    in_blocks_with_sqrt<T>(begin, end, accumulate, parameter);
  });
}

// Lion (Chen et al. 2023): c = b1 m + (1 - b1) g;  p = p (1 - lr wd) - lr sign(c);
// m = b2 m + (1 - b2) g.
template <>
void Rule<LionOptions>::update(const Tensor& param, const Tensor& grad, ParamState& state) const {
  const LionOptions& o = options_;
  Tensor exp_avg = buffer(state, "exp_avg", param, 0.0);
  for_elements(param, o.kRule, [&]<typename T>(int64_t begin, int64_t end) {
    T* __restrict p = ptr<T>(param);
    const T* __restrict g = ptr<T>(grad);
    T* __restrict m = ptr<T>(exp_avg);
    const T lr = o.lr, decay = 1 - o.lr * o.weight_decay, beta1 = o.betas.first, beta2 = o.betas.second;
    const T sign = o.maximize ? T(-1) : T(1);
    for (int64_t i = begin; i < end; ++i) {
      T gi = sign * g[i];
      T c = m[i] * beta1 + (1 - beta1) * gi;
      T direction = T(c > 0) - T(c < 0);
      p[i] = p[i] * decay - lr * direction;
      m[i] = m[i] * beta2 + (1 - beta2) * gi;
    }
  });
}

// ---- the registry ----

namespace {

template <typename Options>
std::unique_ptr<UpdateRule> rule_from(const std::map<std::string, double>& options) {
  Options typed;
  for (const auto& [option, value] : options) set_option(typed, option, value);
  return make_rule(typed);
}

struct RegisteredRule {
  const char* name;
  std::unique_ptr<UpdateRule> (*make)(const std::map<std::string, double>&);
};

// Every rule, once: a new rule is its options struct and update() above, and a line here.
constexpr RegisteredRule kRegistry[] = {
    {SGDOptions::kRule, rule_from<SGDOptions>},         {AdamOptions::kRule, rule_from<AdamOptions>},
    {AdamWOptions::kRule, rule_from<AdamWOptions>},     {RMSpropOptions::kRule, rule_from<RMSpropOptions>},
    {AdagradOptions::kRule, rule_from<AdagradOptions>}, {LionOptions::kRule, rule_from<LionOptions>},
};

bool same_ignoring_case(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
  });
}

}  // namespace

std::unique_ptr<UpdateRule> make_rule(const std::string& name, const std::map<std::string, double>& options) {
  for (const RegisteredRule& rule : kRegistry) {
    if (same_ignoring_case(name, rule.name)) return rule.make(options);
  }
  throw ValueError(fmt::format("optim::make_rule: no update rule named '{}' (known: {})", name,
                               fmt::join(rule_names(), ", ")));
}

std::vector<std::string> rule_names() {
  std::vector<std::string> names;
  for (const RegisteredRule& rule : kRegistry) names.emplace_back(rule.name);
  return names;
}

std::vector<ParamGroup> make_groups(const std::vector<GroupSpec>& specs, const UpdateRule& defaults) {
  std::vector<ParamGroup> groups;
  for (const GroupSpec& spec : specs) {
    ParamGroup group(spec.params, defaults.clone(), spec.names);
    for (const auto& [option, value] : spec.overrides) group.set(option, value);
    groups.push_back(std::move(group));
  }
  return groups;
}

std::vector<GroupSpec> weight_decay_groups(const std::vector<std::pair<std::string, Tensor>>& named_parameters,
                                           double weight_decay) {
  GroupSpec decay{{}, {{"weight_decay", weight_decay}}};
  GroupSpec no_decay{{}, {{"weight_decay", 0.0}}};
  for (const auto& [name, param] : named_parameters) {
    GroupSpec& spec = param.dim() >= 2 ? decay : no_decay;
    spec.params.push_back(param);
    spec.names.push_back(name);
  }
  std::vector<GroupSpec> groups;
  for (GroupSpec* spec : {&decay, &no_decay}) {
    if (!spec->params.empty()) groups.push_back(std::move(*spec));
  }
  return groups;
}

}  // namespace descent::optim
