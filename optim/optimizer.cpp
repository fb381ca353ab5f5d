// The Optimizer's loop over groups and parameters, zero_grad, and state_dict in the flat
// (tensors + metadata) form described in optim/optimizer.h.
#include <descent/optim/optimizer.h>

#include <charconv>
#include <set>

#include <descent/autograd/graph.h>
#include <descent/autograd/ops.h>

namespace descent::optim {

// ---- UpdateRule ----

bool UpdateRule::has(const std::string& option) const {
  for (const auto& [name, value] : hyperparameters()) {
    if (name == option) return true;
  }
  return false;
}

double UpdateRule::get(const std::string& option) const {
  for (const auto& [name, value] : hyperparameters()) {
    if (name == option) return value;
  }
  throw ValueError(fmt::format("{}: no option named {}", this->name(), option));
}

std::optional<BufferSpec> UpdateRule::state_buffer(const std::string&, const Tensor& param) const {
  return BufferSpec{param.sizes(), param.dtype()};
}

// ---- ParamGroup ----

ParamGroup::ParamGroup(std::vector<Tensor> params, std::unique_ptr<UpdateRule> rule, std::vector<std::string> names)
    : params_(std::move(params)), rule_(std::move(rule)), names_(std::move(names)) {
  check<ValueError>(names_.empty() || names_.size() == params_.size(),
                    "ParamGroup: {} names for {} parameters", names_.size(), params_.size());
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor& p = params_[i];
    check<ValueError>(p.defined(), "ParamGroup: parameter {} is undefined", param_name(i));
    check<ValueError>(p.is_leaf(), "ParamGroup: parameter {} is not a leaf tensor (it has a grad_fn)", param_name(i));
    check<DTypeError>(p.is_floating_point(), "ParamGroup: parameter {} has dtype {}, not a floating dtype",
                      param_name(i), p.dtype());
  }
}

ParamGroup::ParamGroup(const ParamGroup& other)
    : params_(other.params_), rule_(other.rule_->clone()), names_(other.names_), initial_lr_(other.initial_lr_) {}

ParamGroup& ParamGroup::operator=(const ParamGroup& other) {
  if (this != &other) {
    params_ = other.params_;
    rule_ = other.rule_->clone();
    names_ = other.names_;
    initial_lr_ = other.initial_lr_;
  }
  return *this;
}

std::string ParamGroup::param_name(size_t i) const {
  return names_.empty() ? fmt::format("params[{}]", i) : names_[i];
}

// ---- doubles as text ----

std::string format_double(double value) { return fmt::format("{}", value); }  // shortest round trip

double parse_double(const std::string& text, const std::string& key) {
  double value = 0.0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  check<ValueError>(error == std::errc() && end == text.data() + text.size(),
                    "load_state_dict: {} = \"{}\" is not a number", key, text);
  return value;
}

// ---- Optimizer ----

Optimizer::Optimizer(std::vector<ParamGroup> groups, NonFiniteGrad non_finite) : non_finite_(non_finite) {
  size_t params = 0;
  for (const ParamGroup& group : groups) params += group.params().size();
  // As PyTorch's "optimizer got an empty parameter list"; the likely cause, named.
  check<ValueError>(params > 0, "Optimizer: got an empty parameter list (a model's member layers and tensors count "
                    "only once registered: register_module(\"fc\", fc), register_parameter(\"w\", w))");
  for (ParamGroup& group : groups) add_param_group(std::move(group));
}

void Optimizer::add_param_group(ParamGroup group) {
  std::set<const TensorImpl*> seen;
  for (const ParamGroup& existing : groups_) {
    for (const Tensor& p : existing.params()) seen.insert(p.impl());
  }
  for (size_t i = 0; i < group.params().size(); ++i) {
    bool fresh = seen.insert(group.params()[i].impl()).second;
    check<ValueError>(fresh, "Optimizer: parameter {} of group {} is already in a group", group.param_name(i),
                      groups_.size());
  }
  groups_.push_back(std::move(group));
}

ParamState& Optimizer::state(const Tensor& param) { return state_[param.impl()]; }

bool Optimizer::gradients_finite() {
  for (size_t g = 0; g < groups_.size(); ++g) {
    const ParamGroup& group = groups_[g];
    for (size_t i = 0; i < group.params().size(); ++i) {
      Tensor grad = group.params()[i].grad();
      if (!grad.defined() || core::all(core::isfinite(grad)).item<bool>()) continue;
      check<ValueError>(non_finite_ != NonFiniteGrad::kThrow,
                        "Optimizer::step: the gradient of parameter {} of group {} holds NaN or infinity",
                        group.param_name(i), g);
      return false;
    }
  }
  return true;
}

void Optimizer::step() {
  autograd::NoGradGuard no_grad;
  if (non_finite_ != NonFiniteGrad::kApply && !gradients_finite()) {
    ++skipped_steps_;
    return;
  }
  for (const ParamGroup& group : groups_) {
    for (const Tensor& param : group.params()) {
      Tensor grad = param.grad();
      if (!grad.defined()) continue;  // no gradient: skipped, as in PyTorch
      // The kernels run over contiguous memory: a strided parameter is updated through a copy.
      Tensor target = param.is_contiguous() ? param : param.contiguous();
      ParamState& state = state_[param.impl()];
      ++state.step;
      group.rule().update(target, grad.contiguous(), state);
      if (!target.is_same(param)) param.detach().copy_(target);
      param.bump_version();
    }
  }
}

void Optimizer::zero_grad(bool set_to_none) {
  autograd::NoGradGuard no_grad;
  for (const ParamGroup& group : groups_) {
    for (const Tensor& param : group.params()) {
      Tensor grad = param.grad();
      if (!grad.defined()) continue;
      if (set_to_none) {
        param.set_grad(Tensor());
      } else {
        grad.zero_();
      }
    }
  }
}

StateDict Optimizer::state_dict() const {
  StateDict dict;
  dict.metadata["optimizer.groups"] = std::to_string(groups_.size());
  dict.metadata["optimizer.skipped_steps"] = std::to_string(skipped_steps_);
  for (size_t g = 0; g < groups_.size(); ++g) {
    const ParamGroup& group = groups_[g];
    std::string prefix = fmt::format("group.{}.", g);
    dict.metadata[prefix + "rule"] = group.rule().name();
    dict.metadata[prefix + "params"] = std::to_string(group.params().size());
    for (const auto& [name, value] : group.rule().hyperparameters()) dict.metadata[prefix + name] = format_double(value);
    for (size_t i = 0; i < group.params().size(); ++i) {
      auto found = state_.find(group.params()[i].impl());
      if (found == state_.end()) continue;
      std::string state_prefix = fmt::format("state.{}.{}.", g, i);
      dict.tensors[state_prefix + "step"] = core::scalar_tensor(found->second.step, {.dtype = kInt64});
      for (const auto& [name, buffer] : found->second.buffers) dict.tensors[state_prefix + name] = buffer.clone();
    }
  }
  return dict;
}

namespace {

const std::string& metadata_at(const StateDict& dict, const std::string& key) {
  auto found = dict.metadata.find(key);
  check<ValueError>(found != dict.metadata.end(), "load_state_dict: missing key {}", key);
  return found->second;
}

}  // namespace

void Optimizer::load_state_dict(const StateDict& dict) {
  // A count, the whole text (std::stoll threw std::invalid_argument, no descent error, found by
  // tests/fuzz/fuzz_checkpoint_metadata).
  const std::string& skipped_text = metadata_at(dict, "optimizer.skipped_steps");
  int64_t skipped_steps = -1;
  auto [skipped_end, skipped_error] =
      std::from_chars(skipped_text.data(), skipped_text.data() + skipped_text.size(), skipped_steps);
  check<ValueError>(skipped_error == std::errc() && skipped_end == skipped_text.data() + skipped_text.size() &&
                        skipped_steps >= 0,
                    "load_state_dict: optimizer.skipped_steps = \"{}\" is not a count", skipped_text);
  std::string groups = metadata_at(dict, "optimizer.groups");
  check<ValueError>(groups == std::to_string(groups_.size()),
                    "load_state_dict: the checkpoint has {} groups, this optimizer {}", groups, groups_.size());
  // Validate everything first, so that a bad checkpoint leaves the optimizer as it was.
  std::vector<std::unique_ptr<UpdateRule>> rules;
  std::unordered_map<const TensorImpl*, ParamState> states;
  for (size_t g = 0; g < groups_.size(); ++g) {
    const ParamGroup& group = groups_[g];
    std::string prefix = fmt::format("group.{}.", g);
    const std::string& rule = metadata_at(dict, prefix + "rule");
    check<ValueError>(rule == group.rule().name(), "load_state_dict: group {} has rule {} in the checkpoint, {} here",
                      g, rule, group.rule().name());
    const std::string& count = metadata_at(dict, prefix + "params");
    check<ValueError>(count == std::to_string(group.params().size()),
                      "load_state_dict: group {} has {} parameters in the checkpoint, {} here", g, count,
                      group.params().size());
    std::unique_ptr<UpdateRule> loaded = group.rule().clone();
    for (const auto& [name, value] : group.rule().hyperparameters()) {
      loaded->set(name, parse_double(metadata_at(dict, prefix + name), prefix + name));
    }
    rules.push_back(std::move(loaded));
    for (size_t i = 0; i < group.params().size(); ++i) {
      const Tensor& param = group.params()[i];
      std::string state_prefix = fmt::format("state.{}.{}.", g, i);
      auto step = dict.tensors.find(state_prefix + "step");
      if (step == dict.tensors.end()) continue;  // no state yet for this parameter
      ParamState state;
      state.step = step->second.item<int64_t>();
      for (auto it = dict.tensors.lower_bound(state_prefix);
           it != dict.tensors.end() && it->first.compare(0, state_prefix.size(), state_prefix) == 0; ++it) {
        std::string buffer = it->first.substr(state_prefix.size());
        if (buffer == "step") continue;
        std::optional<BufferSpec> spec = group.rule().state_buffer(buffer, param);
        check<ValueError>(spec.has_value(), "load_state_dict: {} is not a state buffer of rule {}", it->first,
                          group.rule().name());
        check<ShapeError>(it->second.sizes() == spec->sizes,
                          "load_state_dict: {} has shape {}, but rule {} keeps it as {} for parameter {} of group {} "
                          "(shape {})",
                          it->first, it->second.sizes(), group.rule().name(), spec->sizes, group.param_name(i), g,
                          param.sizes());
        state.buffers[buffer] = it->second.to(spec->dtype).clone();
      }
      states[param.impl()] = std::move(state);
    }
  }
  for (size_t g = 0; g < groups_.size(); ++g) groups_[g].set_rule(std::move(rules[g]));
  state_ = std::move(states);
  skipped_steps_ = skipped_steps;
}

}  // namespace descent::optim
