// The learning-rate schedules of optim/schedulers.h. Each chained_lrs() is the recursive form
// torch.optim.lr_scheduler 1.13 uses in step(); closed_form_lrs() is the form it uses in step(epoch).
#include <descent/optim/schedulers.h>

#include <algorithm>
#include <cmath>
#include <numbers>

namespace descent::optim {

namespace {

std::string format_list(const std::vector<double>& values) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += format_double(values[i]);
  }
  return out;
}

const std::string& metadata_at(const StateDict& dict, const std::string& key) {
  auto found = dict.metadata.find(key);
  check<ValueError>(found != dict.metadata.end(), "load_state_dict: missing key {}", key);
  return found->second;
}

std::vector<double> parse_list(const StateDict& dict, const std::string& key) {
  const std::string& text = metadata_at(dict, key);
  std::vector<double> values;
  size_t begin = 0;
  while (begin <= text.size() && !text.empty()) {
    size_t end = std::min(text.find(',', begin), text.size());
    values.push_back(parse_double(text.substr(begin, end - begin), key));
    begin = end + 1;
  }
  return values;
}

int64_t parse_int(const StateDict& dict, const std::string& key) {
  return static_cast<int64_t>(parse_double(metadata_at(dict, key), key));
}

// A value per group from one value (for all groups) or one per group.
std::vector<double> per_group(const std::vector<double>& values, size_t groups, const char* schedule,
                              const char* option) {
  check<ValueError>(values.size() == 1 || values.size() == groups, "{}: {} has {} values for {} groups", schedule,
                    option, values.size(), groups);
  return values.size() == 1 ? std::vector<double>(groups, values[0]) : values;
}

// Nested schedules' state under "<prefix><index>.".
void store_nested(StateDict& dict, const std::vector<std::shared_ptr<LRScheduler>>& schedulers) {
  for (size_t i = 0; i < schedulers.size(); ++i) {
    StateDict inner = schedulers[i]->state_dict();
    for (auto& [key, value] : inner.metadata) dict.metadata[fmt::format("scheduler.{}.{}", i, key)] = value;
  }
}

void load_nested(const StateDict& dict, const std::vector<std::shared_ptr<LRScheduler>>& schedulers) {
  for (size_t i = 0; i < schedulers.size(); ++i) {
    std::string prefix = fmt::format("scheduler.{}.", i);
    StateDict inner;
    for (const auto& [key, value] : dict.metadata) {
      if (key.compare(0, prefix.size(), prefix) == 0) inner.metadata[key.substr(prefix.size())] = value;
    }
    schedulers[i]->load_state_dict(inner);
  }
}

Optimizer& optimizer_of(const std::vector<std::shared_ptr<LRScheduler>>& schedulers, const char* schedule) {
  check<ValueError>(!schedulers.empty(), "{}: no schedules given", schedule);
  for (const auto& s : schedulers) {
    check<ValueError>(&s->optimizer() == &schedulers[0]->optimizer(), "{}: the schedules step different optimizers",
                      schedule);
  }
  return schedulers[0]->optimizer();
}

}  // namespace

// ---- LRScheduler ----

LRScheduler::LRScheduler(Optimizer& optimizer) : optimizer_(&optimizer) {
  for (ParamGroup& group : optimizer.param_groups()) {
    if (!group.initial_lr()) group.set_initial_lr(group.lr());
    base_lrs_.push_back(*group.initial_lr());
  }
}

void LRScheduler::restart() {
  last_epoch_ = -1;
  step();
}

void LRScheduler::step() {
  ++last_epoch_;
  set_lrs(chained_lrs());
}

void LRScheduler::step_to(int64_t epoch) {
  last_epoch_ = epoch;
  std::optional<std::vector<double>> closed = closed_form_lrs();
  set_lrs(closed ? *closed : chained_lrs());
}

std::vector<double> LRScheduler::group_lrs() const {
  std::vector<double> lrs;
  for (const ParamGroup& group : optimizer_->param_groups()) lrs.push_back(group.lr());
  return lrs;
}

void LRScheduler::set_lrs(const std::vector<double>& lrs) {
  std::vector<ParamGroup>& groups = optimizer_->param_groups();
  for (size_t i = 0; i < groups.size(); ++i) groups[i].set_lr(lrs[i]);
  last_lrs_ = lrs;
}

StateDict LRScheduler::state_dict() const {
  StateDict dict;
  dict.metadata["last_epoch"] = std::to_string(last_epoch_);
  dict.metadata["base_lrs"] = format_list(base_lrs_);
  dict.metadata["last_lrs"] = format_list(last_lrs_);
  return dict;
}

void LRScheduler::load_state_dict(const StateDict& dict) {
  std::vector<double> base = parse_list(dict, "base_lrs");
  check<ValueError>(base.size() == base_lrs_.size(), "load_state_dict: {} base lrs for {} groups", base.size(),
                    base_lrs_.size());
  last_epoch_ = parse_int(dict, "last_epoch");
  base_lrs_ = base;
  last_lrs_ = parse_list(dict, "last_lrs");
}

// ---- LambdaLR, MultiplicativeLR ----

namespace {
std::vector<LambdaLR::Lambda> per_group_lambdas(std::vector<LambdaLR::Lambda> lambdas, size_t groups,
                                                const char* schedule) {
  check<ValueError>(lambdas.size() == 1 || lambdas.size() == groups, "{}: {} functions for {} groups", schedule,
                    lambdas.size(), groups);
  return lambdas.size() == 1 ? std::vector<LambdaLR::Lambda>(groups, lambdas[0]) : lambdas;
}
}  // namespace

LambdaLR::LambdaLR(Optimizer& optimizer, std::vector<Lambda> lambdas)
    : LRScheduler(optimizer),
      lambdas_(per_group_lambdas(std::move(lambdas), optimizer.param_groups().size(), "LambdaLR")) {
  restart();
}

std::vector<double> LambdaLR::chained_lrs() {
  std::vector<double> lrs;
  for (size_t i = 0; i < base_lrs_.size(); ++i) lrs.push_back(base_lrs_[i] * lambdas_[i](last_epoch_));
  return lrs;
}

MultiplicativeLR::MultiplicativeLR(Optimizer& optimizer, std::vector<LambdaLR::Lambda> lambdas)
    : LRScheduler(optimizer),
      lambdas_(per_group_lambdas(std::move(lambdas), optimizer.param_groups().size(), "MultiplicativeLR")) {
  restart();
}

std::vector<double> MultiplicativeLR::chained_lrs() {
  std::vector<double> lrs = group_lrs();
  if (last_epoch_ > 0) {
    for (size_t i = 0; i < lrs.size(); ++i) lrs[i] *= lambdas_[i](last_epoch_);
  }
  return lrs;
}

// ---- StepLR, MultiStepLR ----

StepLR::StepLR(Optimizer& optimizer, int64_t step_size, double gamma)
    : LRScheduler(optimizer), step_size_(step_size), gamma_(gamma) {
  check<ValueError>(step_size > 0, "StepLR: step_size = {} must be > 0", step_size);
  restart();
}

std::vector<double> StepLR::chained_lrs() {
  std::vector<double> lrs = group_lrs();
  if (last_epoch_ != 0 && last_epoch_ % step_size_ == 0) {
    for (double& lr : lrs) lr *= gamma_;
  }
  return lrs;
}

std::optional<std::vector<double>> StepLR::closed_form_lrs() {
  std::vector<double> lrs;
  for (double base : base_lrs_) lrs.push_back(base * std::pow(gamma_, static_cast<double>(last_epoch_ / step_size_)));
  return lrs;
}

MultiStepLR::MultiStepLR(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma)
    : LRScheduler(optimizer), milestones_(std::move(milestones)), gamma_(gamma) {
  std::sort(milestones_.begin(), milestones_.end());
  restart();
}

std::vector<double> MultiStepLR::chained_lrs() {
  std::vector<double> lrs = group_lrs();
  auto hits = std::count(milestones_.begin(), milestones_.end(), last_epoch_);
  if (hits > 0) {
    for (double& lr : lrs) lr *= std::pow(gamma_, static_cast<double>(hits));
  }
  return lrs;
}

std::optional<std::vector<double>> MultiStepLR::closed_form_lrs() {
  auto passed = std::upper_bound(milestones_.begin(), milestones_.end(), last_epoch_) - milestones_.begin();
  std::vector<double> lrs;
  for (double base : base_lrs_) lrs.push_back(base * std::pow(gamma_, static_cast<double>(passed)));
  return lrs;
}

// ---- ConstantLR, LinearLR ----

ConstantLR::ConstantLR(Optimizer& optimizer, double factor, int64_t total_iters)
    : LRScheduler(optimizer), factor_(factor), total_iters_(total_iters) {
  check<ValueError>(factor > 0.0 && factor <= 1.0, "ConstantLR: factor = {} must be in (0, 1]", factor);
  restart();
}

std::vector<double> ConstantLR::chained_lrs() {
  std::vector<double> lrs = group_lrs();
  double scale = last_epoch_ == 0 ? factor_ : last_epoch_ == total_iters_ ? 1.0 / factor_ : 1.0;
  for (double& lr : lrs) lr *= scale;
  return lrs;
}

std::optional<std::vector<double>> ConstantLR::closed_form_lrs() {
  std::vector<double> lrs;
  double scale = factor_ + (last_epoch_ >= total_iters_ ? 1.0 - factor_ : 0.0);
  for (double base : base_lrs_) lrs.push_back(base * scale);
  return lrs;
}

LinearLR::LinearLR(Optimizer& optimizer, double start_factor, double end_factor, int64_t total_iters)
    : LRScheduler(optimizer), start_factor_(start_factor), end_factor_(end_factor), total_iters_(total_iters) {
  check<ValueError>(start_factor > 0.0 && start_factor <= 1.0, "LinearLR: start_factor = {} must be in (0, 1]",
                    start_factor);
  check<ValueError>(end_factor >= 0.0 && end_factor <= 1.0, "LinearLR: end_factor = {} must be in [0, 1]", end_factor);
  check<ValueError>(total_iters > 0, "LinearLR: total_iters = {} must be > 0", total_iters);
  restart();
}

// lr_t = lr_{t-1} (1 + (e - s) / (T s + (t - 1)(e - s))), the ratio of consecutive factors.
std::vector<double> LinearLR::chained_lrs() {
  std::vector<double> lrs = group_lrs();
  if (last_epoch_ == 0) {
    for (double& lr : lrs) lr *= start_factor_;
  } else if (last_epoch_ <= total_iters_) {
    double delta = end_factor_ - start_factor_;
    double scale = 1.0 + delta / (static_cast<double>(total_iters_) * start_factor_ +
                                  static_cast<double>(last_epoch_ - 1) * delta);
    for (double& lr : lrs) lr *= scale;
  }
  return lrs;
}

std::optional<std::vector<double>> LinearLR::closed_form_lrs() {
  std::vector<double> lrs;
  double progress = static_cast<double>(std::min(total_iters_, last_epoch_)) / static_cast<double>(total_iters_);
  for (double base : base_lrs_) lrs.push_back(base * (start_factor_ + (end_factor_ - start_factor_) * progress));
  return lrs;
}

// ---- ExponentialLR, PolynomialLR ----

ExponentialLR::ExponentialLR(Optimizer& optimizer, double gamma) : LRScheduler(optimizer), gamma_(gamma) {
  restart();
}

std::vector<double> ExponentialLR::chained_lrs() {
  std::vector<double> lrs = group_lrs();
  if (last_epoch_ != 0) {
    for (double& lr : lrs) lr *= gamma_;
  }
  return lrs;
}

std::optional<std::vector<double>> ExponentialLR::closed_form_lrs() {
  std::vector<double> lrs;
  for (double base : base_lrs_) lrs.push_back(base * std::pow(gamma_, static_cast<double>(last_epoch_)));
  return lrs;
}

PolynomialLR::PolynomialLR(Optimizer& optimizer, int64_t total_iters, double power)
    : LRScheduler(optimizer), total_iters_(total_iters), power_(power) {
  check<ValueError>(total_iters > 0, "PolynomialLR: total_iters = {} must be > 0", total_iters);
  restart();
}

std::vector<double> PolynomialLR::chained_lrs() {
  std::vector<double> lrs = group_lrs();
  if (last_epoch_ == 0 || last_epoch_ > total_iters_) return lrs;
  double total = static_cast<double>(total_iters_), t = static_cast<double>(last_epoch_);
  double decay = std::pow((1.0 - t / total) / (1.0 - (t - 1.0) / total), power_);
  for (double& lr : lrs) lr *= decay;
  return lrs;
}

std::optional<std::vector<double>> PolynomialLR::closed_form_lrs() {
  std::vector<double> lrs;
  double t = static_cast<double>(std::min(total_iters_, last_epoch_)), total = static_cast<double>(total_iters_);
  for (double base : base_lrs_) lrs.push_back(base * std::pow(1.0 - t / total, power_));
  return lrs;
}

// ---- cosine ----

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, int64_t t_max, double eta_min)
    : LRScheduler(optimizer), t_max_(t_max), eta_min_(eta_min) {
  check<ValueError>(t_max > 0, "CosineAnnealingLR: T_max = {} must be > 0", t_max);
  restart();
}

std::vector<double> CosineAnnealingLR::chained_lrs() {
  std::vector<double> lrs = group_lrs();
  if (last_epoch_ == 0) return lrs;
  const double pi = std::numbers::pi, t = static_cast<double>(last_epoch_), t_max = static_cast<double>(t_max_);
  int64_t period = 2 * t_max_;
  int64_t phase = ((last_epoch_ - 1 - t_max_) % period + period) % period;  // Python's floor modulo
  for (size_t i = 0; i < lrs.size(); ++i) {
    if (phase == 0) {  // the minimum: the ratio below would be 0 / 0
      lrs[i] = lrs[i] + (base_lrs_[i] - eta_min_) * (1.0 - std::cos(pi / t_max)) / 2.0;
    } else {
      lrs[i] = (1.0 + std::cos(pi * t / t_max)) / (1.0 + std::cos(pi * (t - 1.0) / t_max)) * (lrs[i] - eta_min_) +
               eta_min_;
    }
  }
  return lrs;
}

std::optional<std::vector<double>> CosineAnnealingLR::closed_form_lrs() {
  std::vector<double> lrs;
  double angle = std::numbers::pi * static_cast<double>(last_epoch_) / static_cast<double>(t_max_);
  for (double base : base_lrs_) lrs.push_back(eta_min_ + (base - eta_min_) * (1.0 + std::cos(angle)) / 2.0);
  return lrs;
}

CosineAnnealingWarmRestarts::CosineAnnealingWarmRestarts(Optimizer& optimizer, int64_t t_0, int64_t t_mult,
                                                         double eta_min)
    : LRScheduler(optimizer), t_0_(t_0), t_mult_(t_mult), t_i_(t_0), eta_min_(eta_min) {
  check<ValueError>(t_0 > 0, "CosineAnnealingWarmRestarts: T_0 = {} must be > 0", t_0);
  check<ValueError>(t_mult >= 1, "CosineAnnealingWarmRestarts: T_mult = {} must be >= 1", t_mult);
  restart();
}

void CosineAnnealingWarmRestarts::step() {
  if (last_epoch_ < 0) {
    step_to(0);
    return;
  }
  if (++t_cur_ >= t_i_) {  // a restart
    t_cur_ -= t_i_;
    t_i_ *= t_mult_;
  }
  ++last_epoch_;
  set_lrs(chained_lrs());
}

void CosineAnnealingWarmRestarts::step_to(int64_t epoch) {
  check<ValueError>(epoch >= 0, "CosineAnnealingWarmRestarts: epoch = {} must be >= 0", epoch);
  t_i_ = t_0_;
  t_cur_ = epoch;
  if (epoch >= t_0_ && t_mult_ == 1) {
    t_cur_ = epoch % t_0_;
  } else if (epoch >= t_0_) {
    // The restart n with T_0 (T_mult^n - 1) / (T_mult - 1) <= epoch, the sum of the periods before it.
    int64_t start = 0;
    while (start + t_i_ <= epoch) {
      start += t_i_;
      t_i_ *= t_mult_;
    }
    t_cur_ = epoch - start;
  }
  last_epoch_ = epoch;
  set_lrs(chained_lrs());
}

std::vector<double> CosineAnnealingWarmRestarts::chained_lrs() {
  std::vector<double> lrs;
  double angle = std::numbers::pi * static_cast<double>(t_cur_) / static_cast<double>(t_i_);
  for (double base : base_lrs_) lrs.push_back(eta_min_ + (base - eta_min_) * (1.0 + std::cos(angle)) / 2.0);
  return lrs;
}

StateDict CosineAnnealingWarmRestarts::state_dict() const {
  StateDict dict = LRScheduler::state_dict();
  dict.metadata["T_i"] = std::to_string(t_i_);
  dict.metadata["T_cur"] = std::to_string(t_cur_);
  return dict;
}

void CosineAnnealingWarmRestarts::load_state_dict(const StateDict& dict) {
  LRScheduler::load_state_dict(dict);
  t_i_ = parse_int(dict, "T_i");
  t_cur_ = parse_int(dict, "T_cur");
}

// ---- momentum cycling ----

void set_group_momentum(ParamGroup& group, double momentum) {
  group.set(group.rule().has("momentum") ? "momentum" : "beta1", momentum);
}

double group_momentum(const ParamGroup& group) {
  return group.get(group.rule().has("momentum") ? "momentum" : "beta1");
}

namespace {
void require_momentum(const Optimizer& optimizer, const char* schedule) {
  for (const ParamGroup& group : optimizer.param_groups()) {
    check<ValueError>(group.rule().has("momentum") || group.rule().has("beta1"),
                      "{}: cycle_momentum needs a rule with momentum or beta1, not {}", schedule, group.rule().name());
  }
}
}  // namespace

CyclicLR::CyclicLR(Optimizer& optimizer, CyclicLROptions options)
    : LRScheduler(optimizer), options_(std::move(options)) {
  size_t groups = optimizer.param_groups().size();
  base_lrs_ = per_group(options_.base_lr, groups, "CyclicLR", "base_lr");
  max_lrs_ = per_group(options_.max_lr, groups, "CyclicLR", "max_lr");
  check<ValueError>(options_.mode == "triangular" || options_.mode == "triangular2" || options_.mode == "exp_range",
                    "CyclicLR: mode = {} must be triangular, triangular2 or exp_range", options_.mode);
  check<ValueError>(options_.scale_mode == "cycle" || options_.scale_mode == "iterations",
                    "CyclicLR: scale_mode = {} must be cycle or iterations", options_.scale_mode);
  check<ValueError>(options_.step_size_up > 0 && options_.step_size_down >= 0,
                    "CyclicLR: step_size_up = {} must be > 0 and step_size_down = {} >= 0", options_.step_size_up,
                    options_.step_size_down);
  for (size_t i = 0; i < groups; ++i) optimizer.param_groups()[i].set_lr(base_lrs_[i]);
  double up = static_cast<double>(options_.step_size_up);
  double down = options_.step_size_down > 0 ? static_cast<double>(options_.step_size_down) : up;
  total_size_ = up + down;
  step_ratio_ = up / total_size_;
  if (options_.cycle_momentum) {
    require_momentum(optimizer, "CyclicLR");
    for (ParamGroup& group : optimizer.param_groups()) set_group_momentum(group, options_.base_momentum);
    base_momentums_.assign(groups, options_.base_momentum);
  }
  restart();
}

// x is the position in the current cycle; the height of the triangle at x times the mode's scale.
std::vector<double> CyclicLR::chained_lrs() {
  double t = static_cast<double>(last_epoch_);
  double cycle = std::floor(1.0 + t / total_size_);
  double x = 1.0 + t / total_size_ - cycle;
  double height = x <= step_ratio_ ? x / step_ratio_ : (x - 1.0) / (step_ratio_ - 1.0);
  double scale = options_.scale_fn                ? options_.scale_fn(options_.scale_mode == "cycle" ? cycle : t)
                 : options_.mode == "triangular"  ? 1.0
                 : options_.mode == "triangular2" ? 1.0 / std::pow(2.0, cycle - 1.0)
                                                  : std::pow(options_.gamma, t);
  std::vector<double> lrs;
  for (size_t i = 0; i < base_lrs_.size(); ++i) lrs.push_back(base_lrs_[i] + (max_lrs_[i] - base_lrs_[i]) * height * scale);
  if (options_.cycle_momentum) {
    std::vector<ParamGroup>& groups = optimizer_->param_groups();
    for (size_t i = 0; i < groups.size(); ++i) {
      double amplitude = (options_.max_momentum - base_momentums_[i]) * height;
      set_group_momentum(groups[i], options_.max_momentum - amplitude * scale);
    }
  }
  return lrs;
}

OneCycleLR::OneCycleLR(Optimizer& optimizer, OneCycleLROptions options)
    : LRScheduler(optimizer), options_(std::move(options)) {
  if (options_.total_steps == 0) {
    check<ValueError>(options_.epochs > 0 && options_.steps_per_epoch > 0,
                      "OneCycleLR: give total_steps, or epochs = {} and steps_per_epoch = {} both > 0",
                      options_.epochs, options_.steps_per_epoch);
    options_.total_steps = options_.epochs * options_.steps_per_epoch;
  }
  check<ValueError>(options_.total_steps > 0, "OneCycleLR: total_steps = {} must be > 0", options_.total_steps);
  check<ValueError>(options_.pct_start >= 0.0 && options_.pct_start <= 1.0, "OneCycleLR: pct_start = {} must be in [0, 1]",
                    options_.pct_start);
  check<ValueError>(options_.anneal_strategy == "cos" || options_.anneal_strategy == "linear",
                    "OneCycleLR: anneal_strategy = {} must be cos or linear", options_.anneal_strategy);
  double total = static_cast<double>(options_.total_steps), pct = options_.pct_start;
  enum { kInitial = 0, kMax = 1, kMin = 2 };
  if (options_.three_phase) {
    phases_ = {{pct * total - 1.0, kInitial, kMax, true, false},
               {2.0 * pct * total - 2.0, kMax, kInitial, false, true},
               {total - 1.0, kInitial, kMin, true, true}};
  } else {
    phases_ = {{pct * total - 1.0, kInitial, kMax, true, false}, {total - 1.0, kMax, kMin, false, true}};
  }
  std::vector<ParamGroup>& groups = optimizer.param_groups();
  std::vector<double> max_lrs = per_group(options_.max_lr, groups.size(), "OneCycleLR", "max_lr");
  for (size_t i = 0; i < groups.size(); ++i) {
    double initial = max_lrs[i] / options_.div_factor;
    group_lrs_.push_back({initial, max_lrs[i], initial / options_.final_div_factor});
    groups[i].set_initial_lr(initial);
    base_lrs_[i] = initial;
  }
  if (options_.cycle_momentum) {
    require_momentum(optimizer, "OneCycleLR");
    for (ParamGroup& group : groups) set_group_momentum(group, options_.max_momentum);
  }
  restart();
}

double OneCycleLR::anneal(double start, double end, double pct) const {
  if (options_.anneal_strategy == "cos") return end + (start - end) / 2.0 * (std::cos(std::numbers::pi * pct) + 1.0);
  return (end - start) * pct + start;
}

std::vector<double> OneCycleLR::chained_lrs() {
  check<ValueError>(last_epoch_ <= options_.total_steps, "OneCycleLR: stepped {} times, but total_steps is {}",
                    last_epoch_ + 1, options_.total_steps);
  double t = static_cast<double>(last_epoch_);
  std::vector<double> lrs;
  std::vector<ParamGroup>& groups = optimizer_->param_groups();
  for (size_t g = 0; g < groups.size(); ++g) {
    double start_step = 0.0;
    for (size_t i = 0; i < phases_.size(); ++i) {
      const Phase& phase = phases_[i];
      if (t <= phase.end_step || i + 1 == phases_.size()) {
        double pct = (t - start_step) / (phase.end_step - start_step);
        lrs.push_back(anneal(group_lrs_[g][phase.start_lr], group_lrs_[g][phase.end_lr], pct));
        if (options_.cycle_momentum) {
          double from = phase.start_momentum_max ? options_.max_momentum : options_.base_momentum;
          double to = phase.end_momentum_max ? options_.max_momentum : options_.base_momentum;
          set_group_momentum(groups[g], anneal(from, to, pct));
        }
        break;
      }
      start_step = phase.end_step;
    }
  }
  return lrs;
}

// ---- SequentialLR, ChainedScheduler ----

NestedSchedules::NestedSchedules(const char* name, std::vector<std::shared_ptr<LRScheduler>> schedulers)
    : LRScheduler(optimizer_of(schedulers, name)), name_(name), schedulers_(std::move(schedulers)) {}

void NestedSchedules::step_to(int64_t epoch) {
  throw ValueError(fmt::format("{}: step_to({}) is not supported; call step()", name_, epoch));
}

std::vector<double> NestedSchedules::chained_lrs() { return group_lrs(); }

StateDict NestedSchedules::state_dict() const {
  StateDict dict = LRScheduler::state_dict();
  store_nested(dict, schedulers_);
  return dict;
}

void NestedSchedules::load_state_dict(const StateDict& dict) {
  LRScheduler::load_state_dict(dict);
  load_nested(dict, schedulers_);
}

SequentialLR::SequentialLR(Optimizer& optimizer, std::vector<std::shared_ptr<LRScheduler>> schedulers,
                           std::vector<int64_t> milestones)
    : NestedSchedules("SequentialLR", std::move(schedulers)), milestones_(std::move(milestones)) {
  check<ValueError>(optimizer_ == &optimizer, "SequentialLR: the schedules step another optimizer");
  check<ValueError>(milestones_.size() + 1 == schedulers_.size(),
                    "SequentialLR: {} schedules need {} milestones, got {}", schedulers_.size(),
                    schedulers_.size() - 1, milestones_.size());
  // As PyTorch: back to the initial lrs, undo the schedules' own first steps, then the first
  // schedule's first step alone.
  for (ParamGroup& group : optimizer.param_groups()) group.set_lr(*group.initial_lr());
  last_epoch_ = 0;
  schedulers_[0]->restart();
  last_lrs_ = schedulers_[0]->get_last_lr();
}

void SequentialLR::step() {
  ++last_epoch_;
  size_t index = std::upper_bound(milestones_.begin(), milestones_.end(), last_epoch_) - milestones_.begin();
  LRScheduler& scheduler = *schedulers_[index];
  if (index > 0 && milestones_[index - 1] == last_epoch_) {
    scheduler.step_to(0);
  } else {
    scheduler.step();
  }
  last_lrs_ = scheduler.get_last_lr();
}

ChainedScheduler::ChainedScheduler(std::vector<std::shared_ptr<LRScheduler>> schedulers)
    : NestedSchedules("ChainedScheduler", std::move(schedulers)) {
  last_lrs_ = group_lrs();
}

void ChainedScheduler::step() {
  ++last_epoch_;
  for (const auto& scheduler : schedulers_) scheduler->step();
  last_lrs_ = group_lrs();
}

// ---- ReduceLROnPlateau ----

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& optimizer, ReduceLROnPlateauOptions options)
    : optimizer_(&optimizer), options_(std::move(options)) {
  check<ValueError>(options_.factor < 1.0 && options_.factor >= 0.0, "ReduceLROnPlateau: factor = {} must be in [0, 1)",
                    options_.factor);
  check<ValueError>(options_.mode == "min" || options_.mode == "max", "ReduceLROnPlateau: mode = {} must be min or max",
                    options_.mode);
  check<ValueError>(options_.threshold_mode == "rel" || options_.threshold_mode == "abs",
                    "ReduceLROnPlateau: threshold_mode = {} must be rel or abs", options_.threshold_mode);
  min_lrs_ = per_group(options_.min_lr, optimizer.param_groups().size(), "ReduceLROnPlateau", "min_lr");
  best_ = options_.mode == "min" ? INFINITY : -INFINITY;
  for (const ParamGroup& group : optimizer.param_groups()) last_lrs_.push_back(group.lr());
}

bool ReduceLROnPlateau::is_better(double value) const {
  bool rel = options_.threshold_mode == "rel";
  if (options_.mode == "min") return value < (rel ? best_ * (1.0 - options_.threshold) : best_ - options_.threshold);
  return value > (rel ? best_ * (options_.threshold + 1.0) : best_ + options_.threshold);
}

void ReduceLROnPlateau::step(double metric) {
  ++last_epoch_;
  if (is_better(metric)) {
    best_ = metric;
    num_bad_epochs_ = 0;
  } else {
    ++num_bad_epochs_;
  }
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    num_bad_epochs_ = 0;  // bad epochs in cooldown do not count
  }
  std::vector<ParamGroup>& groups = optimizer_->param_groups();
  if (num_bad_epochs_ > options_.patience) {
    for (size_t i = 0; i < groups.size(); ++i) {
      double old_lr = groups[i].lr();
      double new_lr = std::max(old_lr * options_.factor, min_lrs_[i]);
      if (old_lr - new_lr > options_.eps) groups[i].set_lr(new_lr);
    }
    cooldown_counter_ = options_.cooldown;
    num_bad_epochs_ = 0;
  }
  last_lrs_.clear();
  for (const ParamGroup& group : groups) last_lrs_.push_back(group.lr());
}

StateDict ReduceLROnPlateau::state_dict() const {
  StateDict dict;
  dict.metadata["best"] = format_double(best_);
  dict.metadata["num_bad_epochs"] = std::to_string(num_bad_epochs_);
  dict.metadata["cooldown_counter"] = std::to_string(cooldown_counter_);
  dict.metadata["last_epoch"] = std::to_string(last_epoch_);
  dict.metadata["last_lrs"] = format_list(last_lrs_);
  return dict;
}

void ReduceLROnPlateau::load_state_dict(const StateDict& dict) {
  best_ = parse_double(metadata_at(dict, "best"), "best");
  num_bad_epochs_ = parse_int(dict, "num_bad_epochs");
  cooldown_counter_ = parse_int(dict, "cooldown_counter");
  last_epoch_ = parse_int(dict, "last_epoch");
  last_lrs_ = parse_list(dict, "last_lrs");
}

// ---- warmup_cosine ----

LambdaLR warmup_cosine(Optimizer& optimizer, WarmupCosineOptions options) {
  check<ValueError>(options.warmup_steps >= 0 && options.total_steps > options.warmup_steps,
                    "warmup_cosine: needs 0 <= warmup_steps < total_steps (got {} and {})", options.warmup_steps,
                    options.total_steps);
  check<ValueError>(options.min_lr >= 0.0, "warmup_cosine: min_lr = {} must be >= 0", options.min_lr);
  std::vector<LambdaLR::Lambda> lambdas;
  for (const ParamGroup& group : optimizer.param_groups()) {
    double base = group.initial_lr().value_or(group.lr());
    lambdas.push_back([base, options](int64_t step) {
      if (step < options.warmup_steps) return static_cast<double>(step) / static_cast<double>(options.warmup_steps);
      double progress = std::min(1.0, static_cast<double>(step - options.warmup_steps) /
                                          static_cast<double>(options.total_steps - options.warmup_steps));
      double lr = options.min_lr + (base - options.min_lr) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
      return base > 0.0 ? lr / base : 0.0;
    });
  }
  return LambdaLR(optimizer, std::move(lambdas));
}

}  // namespace descent::optim
