// The C++ API as a new user writes it (issue #20): a user module called as net(x), registering a
// module built in the call, the guards under namespace descent, std::cout and fmt format specs
// for tensors and modules, an optimizer of no parameters, modules that registered nothing, and
// messages that name the user's layer instead of the ops inside it.
#include <sstream>
#include <string>
#include <vector>

#include "testing.h"

namespace descent {
namespace {

using testing::throws_with;

// The north star's user module: forward declared exactly as the user writes it.
struct TwoLayer : nn::Module {
  nn::Linear fc1{4, 3}, fc2{3, 2};
  TwoLayer() {
    register_module("fc1", fc1);
    register_module("fc2", fc2);
  }
  Tensor forward(const Tensor& x) { return fc2(relu(fc1(x))); }
};

TEST(UserModule, IsCallableLikeALayer) {
  manual_seed(0);
  TwoLayer net;
  Tensor x = randn({5, 4});
  Tensor out = net(x);
  EXPECT_TRUE(testing::tensors_close(out, net.forward(x), 0, 0));
  nn::Module& base = net;
  EXPECT_TRUE(testing::tensors_close(base(x), out, 0, 0));  // through the base: forward is virtual
  EXPECT_EQ(out.sizes(), (Dims{5, 2}));
}

struct NoForward : nn::Module {};

TEST(UserModule, WithoutForwardThrowsNamingIt) {
  NoForward module;
  EXPECT_TRUE(throws_with<Error>([&] { module(zeros({2})); }, {"NoForward", "forward(const Tensor&)", "[2]"}));
}

struct Owner : nn::Module {
  nn::Linear& head = register_module("head", nn::Linear(4, 2));
  Tensor forward(const Tensor& x) { return head(x); }
};

TEST(UserModule, RegistersAModuleBuiltInTheCall) {
  Owner owner;
  auto names = owner.named_parameters();
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names[0].first, "head.weight");
  EXPECT_EQ(names[1].first, "head.bias");
  EXPECT_TRUE(names[0].second.is_same(owner.head.weight));
  EXPECT_EQ(owner(zeros({3, 4})).sizes(), (Dims{3, 2}));
}

TEST(Guards, AreReachableFromNamespaceDescent) {
  Tensor x = ones({2}).requires_grad_(true);
  {
    NoGradGuard no_grad;
    EXPECT_FALSE((x * 2.0).requires_grad());
    EnableGradGuard enable;
    EXPECT_TRUE((x * 2.0).requires_grad());
  }
  EXPECT_TRUE((x * 2.0).requires_grad());
}

TEST(Printing, StreamsAndFormatSpecs) {
  Tensor t = tensor({1.0f, 2.5f});
  std::ostringstream stream;
  stream << t;
  EXPECT_EQ(stream.str(), to_string(t));
  EXPECT_EQ(fmt::format("{:.2f}", t), "tensor([1.00, 2.50], shape=[2], dtype=float32)");
  EXPECT_EQ(fmt::format("{:.1}", t), "tensor([1.0, 2.5], shape=[2], dtype=float32)");
  EXPECT_EQ(fmt::format("{}", t), to_string(t));
  TwoLayer net;
  std::ostringstream tree;
  tree << net;
  EXPECT_EQ(tree.str(), net.to_string());
  EXPECT_NE(tree.str().find("Linear(in_features=4, out_features=3"), std::string::npos);
}

TEST(Optimizer, AnEmptyParameterListIsAnError) {
  EXPECT_TRUE(throws_with<ValueError>([] { optim::SGD opt(std::vector<Tensor>{}, {.lr = 0.1}); },
                                      {"Optimizer", "empty parameter list", "register_module"}));
  NoForward nothing;
  EXPECT_TRUE(throws_with<ValueError>([&] { optim::Adam opt(nothing.parameters(), {}); }, {"empty parameter list"}));
}

struct Forgetful : nn::Module {
  nn::Linear used{4, 3}, forgotten{3, 2};
  Forgetful() { register_module("used", used); }
};

TEST(UnregisteredModules, FindsMemberLayersNeverRegistered) {
  Forgetful model;
  std::vector<std::string> found = nn::unregistered_modules(model);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_NE(found[0].find("Linear at byte offset"), std::string::npos) << found[0];
  EXPECT_NE(found[0].find("of Forgetful"), std::string::npos) << found[0];
  TwoLayer complete;
  EXPECT_TRUE(nn::unregistered_modules(complete).empty());
}

TEST(Messages, NameTheLayerAndTheWayOut) {
  nn::Linear fc{4, 2};
  EXPECT_TRUE(throws_with<DTypeError>([&] { fc(zeros({3, 4}, {.dtype = kFloat64})); },
                                      {"Linear(in_features=4, out_features=2", "float64", "float32",
                                       "model.to(kFloat64)", "x.to(kFloat32)"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { fc(zeros({3, 4}, {.dtype = kInt64})); },
                                      {"Linear(", "int64", "must be floating", "x.to(kFloat32)"}));
}

}  // namespace
}  // namespace descent
