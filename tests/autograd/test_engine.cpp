// The engine's rules: accumulation into leaves, explicit and implicit seeds, retain_graph,
// gradient validation, version checks, in-place rules, grad modes, hooks, autograd::grad with
// create_graph, custom Functions, anomaly mode, to_dot, and a million-node chain.
#include <algorithm>

#include <descent/autograd/dot.h>
#include <descent/autograd/engine.h>
#include <descent/autograd/function.h>
#include <descent/autograd/graph.h>
#include <descent/autograd/record.h>

#include "testing.h"

namespace descent {
namespace {

using testing::tensors_close;
using testing::throws_with;

Tensor leaf(std::vector<double> values) { return core::tensor(values, {.dtype = kFloat64, .requires_grad = true}); }
Tensor values(std::vector<double> v) { return core::tensor(v, {.dtype = kFloat64}); }

TEST(Engine, ProductRuleIntoLeavesAndAccumulation) {
  Tensor x = leaf({1, 2, 3}), w = leaf({4, 5, 6});
  Tensor y = x * w + x;  // dy/dx = w + 1, dy/dw = x
  EXPECT_FALSE(y.is_leaf());
  EXPECT_EQ(y.grad_fn()->name(), "AddBackward");
  y.backward(core::ones_like(y));
  EXPECT_TRUE(tensors_close(x.grad(), values({5, 6, 7})));
  EXPECT_TRUE(tensors_close(w.grad(), values({1, 2, 3})));
  (x * 2.0).backward(core::ones_like(x));  // accumulates: += 2
  EXPECT_TRUE(tensors_close(x.grad(), values({7, 8, 9})));
}

TEST(Engine, ImplicitSeedOnlyForOneElementOutputs) {
  Tensor x = leaf({3});
  (x * x).backward();
  EXPECT_TRUE(tensors_close(x.grad(), values({6})));
  Tensor v = leaf({1, 2});
  EXPECT_TRUE(throws_with<Error>([&] { (v * v).backward(); }, {"backward", "one-element", "[2]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { (v * v).backward(values({1, 2, 3})); }, {"backward", "[3]", "[2]"}));
  Tensor c = values({1.0});
  EXPECT_TRUE(throws_with<Error>([&] { c.backward(); }, {"does not require grad"}));
}

TEST(Engine, BroadcastGradientsAreSummedBackToTheInputShape) {
  Tensor m = core::tensor({1.0, 2.0, 3.0, 4.0, 5.0, 6.0}, {2, 3}, {.dtype = kFloat64, .requires_grad = true});
  Tensor row = leaf({10, 20, 30});
  Tensor y = m * row;
  y.backward(core::ones_like(y));
  EXPECT_TRUE(tensors_close(row.grad(), values({5, 7, 9})));
  EXPECT_EQ(m.grad().sizes(), (Dims{2, 3}));
}

TEST(Engine, SecondBackwardNeedsRetainGraph) {
  Tensor x = leaf({2});
  Tensor y = x * x;
  y.backward(Tensor(), /*retain_graph=*/true);
  y.backward();
  EXPECT_TRUE(tensors_close(x.grad(), values({8})));
  Tensor z = x * x;
  z.backward();
  EXPECT_TRUE(throws_with<Error>([&] { z.backward(); }, {"MulBackward", "second time", "retain_graph"}));
}

struct WrongShape : autograd::Function<WrongShape> {
  static Tensor forward(autograd::Context&, const Tensor& x) { return core::clone(x); }
  static std::vector<Tensor> backward(autograd::Context&, std::vector<Tensor>) {
    return {core::ones({5}, {.dtype = kFloat64})};
  }
};

TEST(Engine, AGradientOfTheWrongShapeNamesTheNode) {
  Tensor x = leaf({1, 2});
  Tensor y = WrongShape::apply(x);
  EXPECT_TRUE(throws_with<ShapeError>([&] { y.backward(core::ones_like(y)); },
                                      {"WrongShapeBackward", "[5]", "input 0", "[2]"}));
}

TEST(Engine, ModifyingASavedTensorInPlaceIsCaught) {
  Tensor x = leaf({1, 2});
  Tensor h = x * 1.0;
  Tensor y = h * h;  // saves h
  h.add_(1.0);
  EXPECT_TRUE(throws_with<Error>([&] { y.backward(core::ones_like(y)); },
                                 {"a tensor saved by MulBackward was modified in place"}));
}

TEST(Engine, InPlaceOnALeafThatRequiresGradIsAnError) {
  Tensor x = leaf({1, 2});
  EXPECT_TRUE(throws_with<Error>([&] { x.add_(1.0); }, {"add_", "leaf", "NoGradGuard"}));
  {
    autograd::NoGradGuard no_grad;
    x.add_(1.0);
  }
  EXPECT_TRUE(tensors_close(x.detach(), values({2, 3})));
}

TEST(Engine, InPlaceOnANonLeafTakesTheNewHistory) {
  Tensor x = leaf({1, 2});
  Tensor y = x * 3.0;
  y.add_(x);  // y = 3x + x
  y.backward(core::ones_like(y));
  EXPECT_TRUE(tensors_close(x.grad(), values({4, 4})));
}

TEST(Engine, NoGradGuardRecordsNothingAndNests) {
  Tensor x = leaf({1});
  {
    autograd::NoGradGuard outer;
    EXPECT_FALSE((x * x).requires_grad());
    {
      autograd::EnableGradGuard inner;
      EXPECT_TRUE((x * x).requires_grad());
    }
    EXPECT_FALSE(autograd::grad_mode_enabled());
  }
  EXPECT_TRUE(autograd::grad_mode_enabled());
  EXPECT_FALSE(x.detach().requires_grad());
}

// Gradients meeting at one node are summed in place only when nobody else holds the sum: add's
// backward hands one tensor to both inputs, and a hook may keep the gradient it saw.
TEST(Engine, AccumulationNeverWritesIntoASharedGradient) {
  Tensor a = leaf({0.5, -1.0}), b = leaf({2.0, 3.0});
  Tensor x = core::tensor({1.0, 1.0}, {.dtype = kFloat64});
  std::vector<Tensor> seen;
  b.register_hook([&](const Tensor& g) {
    seen.push_back(g);
    return Tensor();
  });
  for (int i = 0; i < 3; ++i) x = x * b + a;
  // x = ((b + a) b + a) b + a: dx/da = b^2 + b + 1, dx/db = 3 b^2 + 2 a b + a
  double expected_a[2], expected_b[2];
  for (int k = 0; k < 2; ++k) {
    double av = a.at<double>({k}), bv = b.at<double>({k});
    expected_a[k] = bv * bv + bv + 1;
    expected_b[k] = 3 * bv * bv + 2 * av * bv + av;
  }
  x.backward(core::ones_like(x));
  EXPECT_TRUE(tensors_close(a.grad(), values({expected_a[0], expected_a[1]})));
  EXPECT_TRUE(tensors_close(b.grad(), values({expected_b[0], expected_b[1]})));
  ASSERT_EQ(seen.size(), 1u);  // the hook sees the summed gradient once
  EXPECT_TRUE(tensors_close(seen[0], values({expected_b[0], expected_b[1]})));
  // A second backward accumulates into .grad, and the tensor the hook kept is left as it was.
  Tensor y = b * 1.0 + b * 1.0;
  y.backward(core::ones_like(y));
  EXPECT_TRUE(tensors_close(seen[0], values({expected_b[0], expected_b[1]})));
  EXPECT_TRUE(tensors_close(b.grad(), values({expected_b[0] + 2, expected_b[1] + 2})));
}

// The engine reuses the vectors that carry gradients between nodes: a seed the caller keeps, and
// a gradient a node passes on unchanged to several inputs, are read, never summed into.
TEST(Engine, SeedsAndPassedOnGradientsAreNeverSummedInto) {
  Tensor x = leaf({1, 2});
  Tensor seed = values({1, 10});
  Tensor y = (x + x) + x;  // both adds hand the same gradient tensor to both inputs
  y.backward(seed);
  EXPECT_TRUE(tensors_close(seed, values({1, 10})));
  EXPECT_TRUE(tensors_close(x.grad(), values({3, 30})));
}

// Nodes of several outputs (chunk) next to nodes of one: each gets a buffer of its own size,
// whatever vector it was recycled from, and an output no gradient reached stays undefined.
TEST(Engine, MultiOutputNodesGetBuffersOfTheirSize) {
  Tensor x = leaf({1, 2, 3, 4});
  std::vector<Tensor> parts = chunk(x * 1.0, 4);
  Tensor y = sum(parts[0] * 2.0 + parts[3] * 5.0) + sum(chunk(x, 2)[1] * 7.0);
  y.backward();
  EXPECT_TRUE(tensors_close(x.grad(), values({2, 0, 7, 12})));
}

// What record<NodeT>(out, {inputs...}) writes into the node per input: the edge (invalid for an
// undefined input or one outside the graph) and the input's shape and dtype.
struct PassBackward : autograd::Node {
  std::string name() const override { return "PassBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override { return {grads[0], Tensor(), Tensor()}; }
};

TEST(Engine, RecordingKeepsEachInputsEdgeAndMetadata) {
  Tensor x = leaf({1, 2, 3}), none, constant = core::zeros({2, 1}, {.dtype = kFloat32});
  Tensor out = core::mul(x, 2.0);
  auto node = autograd::record<PassBackward>(out, {x, none, constant});
  ASSERT_NE(node, nullptr);
  ASSERT_EQ(node->num_inputs(), 3u);
  EXPECT_TRUE(node->needs_input_grad(0));
  EXPECT_FALSE(node->needs_input_grad(1));
  EXPECT_FALSE(node->needs_input_grad(2));
  EXPECT_EQ(node->input_meta(0).shape, Dims({3}));
  EXPECT_EQ(node->input_meta(0).dtype, kFloat64);
  EXPECT_EQ(node->input_meta(1).shape, Dims());
  EXPECT_EQ(node->input_meta(2).shape, Dims({2, 1}));
  EXPECT_EQ(node->input_meta(2).dtype, kFloat32);
  EXPECT_EQ(out.grad_fn(), node);
  out.backward(values({1, 1, 1}));
  EXPECT_TRUE(tensors_close(x.grad(), values({1, 1, 1})));
  // Nothing requires grad: no node.
  EXPECT_EQ(autograd::record<PassBackward>(core::mul(constant, 2.0), {constant, none}), nullptr);
}

TEST(Engine, HooksReadAndReplaceGradients) {
  Tensor x = leaf({1, 2});
  Tensor h = x * 2.0;
  Tensor seen;
  h.register_hook([&](const Tensor& g) {
    seen = g;
    return g * 10.0;  // replaces the gradient flowing on
  });
  int leaf_calls = 0;
  x.register_hook([&](const Tensor&) {
    ++leaf_calls;
    return Tensor();
  });
  Tensor accumulated;
  x.register_post_accumulate_grad_hook([&](const Tensor& t) { accumulated = core::clone(t.grad()); });
  (h * 1.0).backward(core::ones_like(h));
  EXPECT_TRUE(tensors_close(seen, values({1, 1})));
  EXPECT_TRUE(tensors_close(x.grad(), values({20, 20})));
  EXPECT_EQ(leaf_calls, 1);
  EXPECT_TRUE(tensors_close(accumulated, values({20, 20})));
}

TEST(Engine, QueuedCallbacksRunAfterTheLastGradientOfThePass) {
  Tensor x = leaf({1, 2}), w = leaf({3, 4});
  std::vector<std::string> events;
  // x's hook queues a callback that must run after both leaves' gradients are in, whichever
  // accumulates first; a callback queued by that callback runs after it, in the same pass.
  x.register_post_accumulate_grad_hook([&](const Tensor&) {
    events.push_back("x accumulated");
    autograd::queue_callback([&] {
      events.push_back(fmt::format("first callback, grads defined: {} {}", x.grad().defined(), w.grad().defined()));
      autograd::queue_callback([&] { events.push_back("second callback"); });
    });
  });
  w.register_post_accumulate_grad_hook([&](const Tensor&) { events.push_back("w accumulated"); });
  (w * 2.0 + x * w).sum().backward();
  ASSERT_EQ(events.size(), 4u);
  std::sort(events.begin(), events.begin() + 2);
  EXPECT_EQ(events, (std::vector<std::string>{"w accumulated", "x accumulated", "first callback, grads defined: true true",
                                              "second callback"}));
  events.clear();
  (x * 3.0).sum().backward();  // a new pass: the hook queues again, on this pass
  EXPECT_EQ(events, (std::vector<std::string>{"x accumulated", "first callback, grads defined: true true",
                                              "second callback"}));
  EXPECT_TRUE(throws_with<Error>([] { autograd::queue_callback([] {}); }, {"queue_callback", "no backward pass"}));
}

TEST(Engine, RetainGradKeepsANonLeafGradient) {
  Tensor x = leaf({1, 2});
  Tensor h = x * 3.0;
  h.retain_grad();
  Tensor y = h * h;
  y.backward(core::ones_like(y));
  EXPECT_TRUE(tensors_close(h.grad(), values({6, 12})));
  EXPECT_FALSE((x * 1.0).grad().defined());
}

TEST(Engine, GradReturnsGradientsWithoutTouchingDotGrad) {
  Tensor x = leaf({1, 2, 3});
  Tensor y = x * x * x;
  std::vector<Tensor> g = autograd::grad({y}, {x}, {.grad_outputs = {core::ones_like(y)}, .create_graph = true});
  EXPECT_TRUE(tensors_close(g[0], values({3, 12, 27})));  // 3x^2
  EXPECT_TRUE(g[0].requires_grad());
  EXPECT_FALSE(x.grad().defined());
  std::vector<Tensor> h = autograd::grad({g[0]}, {x}, {.grad_outputs = {core::ones_like(y)}});
  EXPECT_TRUE(tensors_close(h[0], values({6, 12, 18})));  // 6x
  Tensor unused = leaf({1});
  EXPECT_TRUE(throws_with<Error>([&] { autograd::grad({x * 2.0}, {unused}, {.grad_outputs = {core::ones_like(x)}}); },
                                 {"grad", "not used", "allow_unused"}));
  std::vector<Tensor> none = autograd::grad({x * 2.0}, {unused}, {.grad_outputs = {core::ones_like(x)}, .allow_unused = true});
  EXPECT_FALSE(none[0].defined());
}

TEST(Engine, GradWithRespectToANonLeaf) {
  Tensor x = leaf({1, 2});
  Tensor h = x * 3.0;
  Tensor y = h * h;
  std::vector<Tensor> g = autograd::grad({y}, {h}, {.grad_outputs = {core::ones_like(y)}});
  EXPECT_TRUE(tensors_close(g[0], values({6, 12})));
}

struct Cube : autograd::Function<Cube> {
  static Tensor forward(autograd::Context& ctx, const Tensor& x) {
    ctx.save_for_backward({x});
    ctx.saved_values["power"] = 3;
    return x * x * x;
  }
  static std::vector<Tensor> backward(autograd::Context& ctx, std::vector<Tensor> grads) {
    Tensor x = ctx.saved_tensors()[0];
    return {grads[0] * ctx.saved_values["power"] * x * x};
  }
};

TEST(Engine, CustomFunctionsRecordOneNode) {
  Tensor x = leaf({1, 2});
  Tensor y = Cube::apply(x);
  EXPECT_EQ(y.grad_fn()->name(), "CubeBackward");
  EXPECT_EQ(y.grad_fn()->num_inputs(), 1u);
  y.backward(core::ones_like(y));
  EXPECT_TRUE(tensors_close(x.grad(), values({3, 12})));
  EXPECT_TRUE(throws_with<Error>([&] { y.backward(core::ones_like(y)); }, {"CubeBackward", "retain_graph"}));
}

struct NaNGradient : autograd::Function<NaNGradient> {
  static Tensor forward(autograd::Context&, const Tensor& x) { return core::clone(x); }
  static std::vector<Tensor> backward(autograd::Context&, std::vector<Tensor> grads) {
    return {grads[0] * std::numeric_limits<double>::quiet_NaN()};
  }
};

TEST(Engine, AnomalyModeNamesTheNodeAndTheForwardOp) {
  Tensor x = leaf({1, 2});
  {
    Tensor y = NaNGradient::apply(x);
    EXPECT_NO_THROW(y.backward(core::ones_like(y)));  // off: NaN flows silently
  }
  autograd::AnomalyGuard anomaly;
  Tensor y = NaNGradient::apply(x * 2.0);
  EXPECT_TRUE(throws_with<Error>([&] { y.backward(core::ones_like(y)); },
                                 {"NaNGradientBackward", "NaN or Inf", "NaNGradient of [2]"}));
}

// The recorded context is composed from the node's name once the forward has finished with it:
// generic nodes (one type for every unary op, every reduction, ...) are named at construction.
TEST(Engine, AnomalyModeRecordsEachOpsNameAndShapes) {
  autograd::AnomalyGuard anomaly;
  Tensor x = leaf({1, 2});
  Tensor a = core::randn({2, 3}, {.dtype = kFloat64, .requires_grad = true});
  Tensor b = core::randn({3, 4}, {.dtype = kFloat64, .requires_grad = true});
  Tensor image = core::randn({1, 2, 5, 5}, {.dtype = kFloat64, .requires_grad = true});
  Tensor filters = core::randn({3, 2, 3, 3}, {.dtype = kFloat64, .requires_grad = true});
  struct Case {
    std::string what;
    Tensor y;
    std::string context;
  };
  std::vector<Case> cases = {
      {"exp", exp(x), "Exp of [2]"},
      {"x / 2", x / 2.0, "Div of [2]"},
      {"mm", mm(a, b), "Mm of [2, 3] and [3, 4]"},
      {"sum", x.sum(), "Sum of [2]"},
      {"softmax", softmax(a, 1), "Softmax of [2, 3]"},
      {"conv2d", nn::functional::conv2d(image, filters), "Convolution of [1, 2, 5, 5] and [3, 2, 3, 3]"},
      {"custom", NaNGradient::apply(x), "NaNGradient of [2]"},
  };
  for (const Case& c : cases) {
    ASSERT_TRUE(c.y.grad_fn() != nullptr) << c.what;
    EXPECT_EQ(c.y.grad_fn()->forward_context(), c.context) << c.what;
  }
}

TEST(Engine, ToDotShowsNodesLeavesAndShapes) {
  Tensor x = leaf({1, 2});
  Tensor y = x * x + 1.0;
  std::string dot = autograd::to_dot(y);
  EXPECT_NE(dot.find("digraph"), std::string::npos);
  EXPECT_NE(dot.find("AddBackward"), std::string::npos);
  EXPECT_NE(dot.find("MulBackward"), std::string::npos);
  EXPECT_NE(dot.find("leaf [2] float64"), std::string::npos);
}

TEST(Engine, AMillionNodeChainRunsAndIsDestroyedWithoutRecursion) {
  Tensor a = core::tensor({0.5}, {.requires_grad = true});
  Tensor b = core::tensor({1.0}, {.requires_grad = true});
  Tensor x = core::tensor({1.0}, {.requires_grad = true});
  Tensor y = x;
  for (int i = 0; i < 500000; ++i) y = y * b + a;  // 1,000,000 nodes
  y.backward();
  EXPECT_NEAR(x.grad().item<double>(), 1.0, 1e-6);          // b = 1
  EXPECT_NEAR(a.grad().item<double>(), 500000.0, 1e-1);     // one per step
  MemoryStats before = memory_stats();
  {
    Tensor z = x;
    for (int i = 0; i < 500000; ++i) z = z * b + a;
  }  // dropped without backward: the whole chain is destroyed here
  EXPECT_LE(memory_stats().live_tensors, before.live_tensors);
}

}  // namespace
}  // namespace descent
