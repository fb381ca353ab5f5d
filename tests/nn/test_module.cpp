// The Module API (nn/module.h) and the containers (nn/container.h): PyTorch's dotted names and
// orders, state_dict round trips and strict-mode errors, train/eval, to(dtype), apply, printing,
// and the ownership checks (moving a module with members registered by reference, a child
// destroyed before its parent).
#include <memory>
#include <string>
#include <vector>

#include "testing.h"

namespace descent {
namespace {

using testing::tensors_close;
using testing::throws_with;

// The north star's shape of a user module: members registered by reference, no macro. The same
// structure as Net in tests/nn/golden/gen_checkpoint.py, whose PyTorch names are listed below.
struct Net : nn::Module {
  nn::Linear fc1{4, 8};
  nn::Sequential body{nn::Tanh(), nn::Linear(8, 8, /*bias=*/false)};
  nn::Linear fc2{8, 3};
  Tensor counts = register_buffer("counts", zeros({3}, {.dtype = kInt64}));
  Tensor mask = register_buffer("mask", zeros({3}, {.dtype = kBool}));
  Net() {
    register_module("fc1", fc1);
    register_module("body", body);
    register_module("fc2", fc2);
  }
  Tensor forward(const Tensor& x) { return fc2(body(relu(fc1(x)))); }
};

std::vector<std::string> names_of(const auto& named) {
  std::vector<std::string> names;
  for (const auto& entry : named) names.push_back(entry.first);
  return names;
}

TEST(Module, NamesAreThoseOfPyTorch) {
  Net net;
  // torch: [n for n, _ in Net().named_parameters()], list(Net().state_dict())
  EXPECT_EQ(names_of(net.named_parameters()),
            (std::vector<std::string>{"fc1.weight", "fc1.bias", "body.1.weight", "fc2.weight", "fc2.bias"}));
  EXPECT_EQ(names_of(net.named_buffers()), (std::vector<std::string>{"counts", "mask"}));
  EXPECT_EQ(net.state_dict().keys(), (std::vector<std::string>{"counts", "mask", "fc1.weight", "fc1.bias",
                                                               "body.1.weight", "fc2.weight", "fc2.bias"}));
  EXPECT_EQ(names_of(net.named_children()), (std::vector<std::string>{"fc1", "body", "fc2"}));
  EXPECT_EQ(names_of(net.named_modules()), (std::vector<std::string>{"", "fc1", "body", "body.0", "body.1", "fc2"}));
  EXPECT_EQ(net.modules().size(), 6u);
  EXPECT_EQ(net.children()[1], &net.body);
  EXPECT_TRUE(net.named_parameters(/*recurse=*/false).empty());
  EXPECT_EQ(names_of(net.fc1.named_parameters()), (std::vector<std::string>{"weight", "bias"}));
  // The registry and the members are the same tensors.
  EXPECT_TRUE(net.parameters()[0].is_same(net.fc1.weight));
  EXPECT_EQ(net.num_parameters(), 4 * 8 + 8 + 8 * 8 + 8 * 3 + 3);
}

TEST(Module, SharedTensorsAndModulesAreListedOnce) {
  auto shared = std::make_shared<nn::Linear>(2, 2);
  nn::Module root;
  root.register_module("a", shared);
  root.register_module("b", shared);
  EXPECT_EQ(names_of(root.named_parameters()), (std::vector<std::string>{"a.weight", "a.bias"}));
  EXPECT_EQ(root.children().size(), 1u);
  EXPECT_EQ(root.num_parameters(), 6);
}

TEST(Module, RegistrationErrors) {
  nn::Module m;
  m.register_parameter("w", zeros({2}));
  EXPECT_TRUE(throws_with<ValueError>([&] { m.register_buffer("w", zeros({2})); }, {"'w' is already registered"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { m.register_parameter("a.b", zeros({2})); }, {"'a.b' contains '.'"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { m.register_parameter("", zeros({2})); }, {"the name is empty"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { m.register_parameter("u", Tensor()); }, {"'u' is an undefined tensor"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { m.register_parameter("i", zeros({2}, {.dtype = kInt64})); },
                                      {"'i' of dtype int64 cannot require grad"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { m.register_module("self", m); }, {"its own child 'self'"}));
  EXPECT_TRUE(m.parameters()[0].requires_grad());
}

TEST(Module, StateDictRoundTrip) {
  manual_seed(1);
  Net a;
  manual_seed(2);
  Net b;
  ASSERT_FALSE(tensors_close(a.fc1.weight, b.fc1.weight));
  a.counts.copy_(tensor({3, -1, 7}));
  nn::LoadResult result = b.load_state_dict(a.state_dict());
  EXPECT_TRUE(result.missing_keys.empty());
  EXPECT_TRUE(result.unexpected_keys.empty());
  for (const auto& [name, tensor] : a.state_dict()) {
    EXPECT_TRUE(tensors_close(b.state_dict().at(name), tensor, 0, 0)) << name;
  }
  // Copied into the existing tensors: the members see the values, and they still require grad.
  EXPECT_TRUE(tensors_close(b.fc1.weight, a.fc1.weight, 0, 0));
  EXPECT_TRUE(b.fc1.weight.requires_grad());
  EXPECT_EQ(b.counts.to_vector<int64_t>(), (std::vector<int64_t>{3, -1, 7}));
  // state_dict() holds detached handles sharing storage.
  Tensor w = a.state_dict().at("fc1.weight");
  EXPECT_FALSE(w.requires_grad());
  EXPECT_TRUE(w.shares_storage(a.fc1.weight));
}

TEST(Module, LoadStateDictListsEveryProblem) {
  Net net;
  nn::StateDict dict = net.state_dict();
  nn::StateDict broken;
  for (const auto& [name, tensor] : dict) {
    if (name == "fc2.bias") continue;                                   // missing
    broken.insert(name, name == "fc1.weight" ? zeros({8, 5}) : tensor);  // shape mismatch
  }
  broken.insert("fc3.weight", zeros({1}));  // unexpected
  Tensor before = net.fc1.bias.clone();
  EXPECT_TRUE(throws_with<ValueError>([&] { net.load_state_dict(broken); },
                                      {"load_state_dict: Net", "missing keys: fc2.bias", "unexpected keys: fc3.weight",
                                       "shape mismatches: fc1.weight: checkpoint [8, 5], model [8, 4]"}));
  // Nothing copied when a check fails (fc1.bias was in the dict with the right shape).
  broken = nn::StateDict();
  for (const auto& [name, tensor] : dict) {
    broken.insert(name, name == "fc1.weight" ? zeros({8, 5}) : (name == "fc1.bias" ? zeros({8}) : tensor));
  }
  EXPECT_THROW(net.load_state_dict(broken, /*strict=*/false), ValueError);
  EXPECT_TRUE(tensors_close(net.fc1.bias, before, 0, 0));

  // Not strict: missing and unexpected keys are returned, the rest is loaded.
  nn::StateDict partial;
  partial.insert("fc1.bias", ones({8}));
  partial.insert("extra", ones({1}));
  nn::LoadResult result = net.load_state_dict(partial, /*strict=*/false);
  EXPECT_EQ(result.unexpected_keys, std::vector<std::string>{"extra"});
  EXPECT_EQ(result.missing_keys.size(), dict.size() - 1);
  EXPECT_TRUE(tensors_close(net.fc1.bias, ones({8}), 0, 0));
}

TEST(Module, NonPersistentBuffersStayOutOfTheStateDict) {
  nn::Module m;
  m.register_buffer("kept", zeros({1}));
  m.register_buffer("scratch", zeros({1}), /*persistent=*/false);
  EXPECT_EQ(names_of(m.named_buffers()), (std::vector<std::string>{"kept", "scratch"}));
  EXPECT_EQ(m.state_dict().keys(), std::vector<std::string>{"kept"});
}

TEST(Module, TrainEvalAndApply) {
  Net net;
  EXPECT_TRUE(net.is_training());
  net.eval();
  for (nn::Module* m : net.modules()) EXPECT_FALSE(m->is_training()) << m->type_name();
  net.train();
  EXPECT_TRUE(net.body[1].is_training());
  std::vector<std::string> visited;
  net.apply([&](nn::Module& m) { visited.push_back(m.type_name()); });
  // Children before parents, as torch.nn.Module.apply.
  EXPECT_EQ(visited, (std::vector<std::string>{"Linear", "Tanh", "Linear", "Sequential", "Linear", "Net"}));
}

TEST(Module, ZeroGradClearsGradients) {
  Net net;
  for (const Tensor& p : net.parameters()) p.set_grad(ones_like(p));
  net.zero_grad();
  for (const Tensor& p : net.parameters()) EXPECT_FALSE(p.grad().defined());
}

TEST(Module, ToConvertsEveryHandleInPlace) {
  Net net;
  Tensor weight = net.fc1.weight;  // a handle taken before, as an optimizer would hold
  std::vector<double> values = weight.to_vector<double>();
  weight.set_grad(ones_like(weight));
  net.to(kFloat64);
  EXPECT_EQ(weight.dtype(), kFloat64);
  EXPECT_EQ(net.fc1.weight.dtype(), kFloat64);
  EXPECT_EQ(weight.grad().dtype(), kFloat64);
  EXPECT_TRUE(weight.requires_grad());
  EXPECT_EQ(weight.to_vector<double>(), values);   // float32 -> float64 is exact
  EXPECT_EQ(net.counts.dtype(), kInt64);           // not floating: unchanged
  EXPECT_EQ(net.forward(zeros({2, 4}, {.dtype = kFloat64})).dtype(), kFloat64);
  EXPECT_TRUE(throws_with<DTypeError>([&] { net.to(kInt64); }, {"Module::to: Net", "int64 is not floating point"}));
}

TEST(Module, PrintsTheTreeWithOptionsAndCounts) {
  Net net;
  std::string text = fmt::format("{}", net);
  EXPECT_EQ(text,
            "Net(\n"
            "  (fc1): Linear(in_features=4, out_features=8, bias=true)  # 40 parameters\n"
            "  (body): Sequential(\n"
            "    (0): Tanh()\n"
            "    (1): Linear(in_features=8, out_features=8, bias=false)  # 64 parameters\n"
            "  )  # 64 parameters\n"
            "  (fc2): Linear(in_features=8, out_features=3, bias=true)  # 27 parameters\n"
            ")  # 131 parameters");
  EXPECT_EQ(fmt::format("{}", nn::LeakyReLU(0.2)), "LeakyReLU(negative_slope=0.2)");
  EXPECT_EQ(fmt::format("{}", nn::Linear(1000, 1000)), "Linear(in_features=1000, out_features=1000, bias=true)  # 1,001,000 parameters");
}

// ---- ownership ----

TEST(Module, MovingAModuleWithMembersRegisteredByReferenceThrows) {
  Net net;
  EXPECT_TRUE(throws_with<Error>([&] { Net moved(std::move(net)); },
                                 {"Net holds its submodule 'fc1' by reference", "std::shared_ptr"}));
  // Moving out of a member layer would empty the parent's submodule.
  EXPECT_TRUE(throws_with<Error>([&] { nn::Linear stolen(std::move(net.fc1)); },
                                 {"cannot move out of a Linear that a parent module holds by reference"}));
  // Assigning a new layer to a member is fine: the parent sees the replacement.
  net.fc1 = nn::Linear(4, 8, /*bias=*/false);
  EXPECT_EQ(names_of(net.named_parameters()),
            (std::vector<std::string>{"fc1.weight", "body.1.weight", "fc2.weight", "fc2.bias"}));
  // Modules without by-reference children move freely (layers, containers).
  nn::Sequential seq{nn::Linear(2, 3), nn::ReLU()};
  nn::Sequential moved = std::move(seq);
  EXPECT_EQ(names_of(moved.named_parameters()), (std::vector<std::string>{"0.weight", "0.bias"}));
  EXPECT_EQ(moved.forward(ones({1, 2})).sizes(), Dims({1, 3}));
}

TEST(Module, AChildDestroyedBeforeItsParentIsAnError) {
  nn::Module parent;
  {
    nn::Linear temporary(2, 2);
    parent.register_module("layer", temporary);
    EXPECT_EQ(parent.num_parameters(), 6);
  }
  EXPECT_TRUE(throws_with<Error>([&] { parent.parameters(); },
                                 {"submodule 'layer' was registered by reference and has been destroyed"}));
  // A parent destroyed first leaves its children usable.
  nn::Linear survivor(2, 2);
  { nn::Module short_lived; short_lived.register_module("x", survivor); }
  EXPECT_EQ(survivor.num_parameters(), 6);
  nn::Linear moved(std::move(survivor));  // no parent holds it any more
  EXPECT_EQ(moved.num_parameters(), 6);
}

// ---- containers ----

TEST(Sequential, ChainsItsLayers) {
  manual_seed(0);
  nn::Sequential seq{nn::Linear(4, 8), nn::ReLU(), nn::Linear(8, 2)};
  Tensor x = randn({3, 4});
  auto& first = seq.at<nn::Linear>(0);
  auto& last = seq.at<nn::Linear>(2);
  Tensor expected = last(relu(first(x)));
  EXPECT_TRUE(tensors_close(seq(x), expected, 0, 0));
  EXPECT_EQ(seq.size(), 3u);
  EXPECT_EQ(names_of(seq.named_parameters()), (std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"}));
  EXPECT_TRUE(throws_with<Error>([&] { seq.at<nn::ReLU>(0); }, {"Sequential: element 0 is a Linear"}));
  EXPECT_TRUE(throws_with<IndexError>([&] { seq[3]; }, {"index 3 out of range for 3 layers"}));
  auto shared = std::make_shared<nn::Tanh>();
  seq.push_back(shared);
  EXPECT_EQ(&seq[3], shared.get());
  EXPECT_TRUE(tensors_close(seq(x), tanh(expected), 0, 0));
}

TEST(Sequential, EmptyIsTheIdentity) {
  nn::Sequential seq;
  Tensor x = ones({2});
  EXPECT_TRUE(seq(x).is_same(x));
}

TEST(ModuleList, IndexesItsModules) {
  nn::ModuleList list{nn::Linear(2, 3), nn::Dropout(0.1)};
  list.push_back(nn::Linear(3, 1, false));
  EXPECT_EQ(list.size(), 3u);
  EXPECT_EQ(names_of(list.named_parameters()), (std::vector<std::string>{"0.weight", "0.bias", "2.weight"}));
  EXPECT_EQ(list.at<nn::Dropout>(1).p, 0.1);
  EXPECT_TRUE(throws_with<IndexError>([&] { list[3]; }, {"ModuleList: index 3 out of range for 3 modules"}));
}

TEST(ModuleDict, NamesItsModules) {
  nn::ModuleDict dict;
  dict.insert("encoder", nn::Linear(4, 2));
  dict.insert("act", nn::GELU());
  EXPECT_EQ(dict.keys(), (std::vector<std::string>{"encoder", "act"}));
  EXPECT_TRUE(dict.contains("act"));
  EXPECT_EQ(names_of(dict.named_parameters()), (std::vector<std::string>{"encoder.weight", "encoder.bias"}));
  EXPECT_EQ(dict.at<nn::Linear>("encoder").out_features, 2);
  EXPECT_TRUE(throws_with<IndexError>([&] { dict["decoder"]; }, {"no key 'decoder'", "encoder, act"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { dict.insert("act", nn::ReLU()); }, {"'act' is already registered"}));
}

}  // namespace
}  // namespace descent
