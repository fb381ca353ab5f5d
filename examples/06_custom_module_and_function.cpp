// Extending descent: a custom autograd Function (Swish, x sigmoid(x), with a hand-written
// backward, checked against finite differences) and a custom Module (a residual block with its
// own learnable parameter) that uses it; then a few hundred steps on Gaussian blobs.
// Read autograd/function.h and nn/module.h. `--smoke`: fewer steps.
#include <string>

#include <descent/descent.h>

using namespace descent;

// swish(x) = x s(x) with s the logistic sigmoid; swish'(x) = s(x) + x s(x) (1 - s(x)).
struct Swish : autograd::Function<Swish> {
  static Tensor forward(autograd::Context& ctx, const Tensor& x) {
    ctx.save_for_backward({x});  // forward runs without recording: only what backward needs is kept
    return x * sigmoid(x);
  }
  static std::vector<Tensor> backward(autograd::Context& ctx, std::vector<Tensor> grads) {
    Tensor x = ctx.saved_tensors()[0];
    Tensor s = sigmoid(x);
    return {grads[0] * (s + x * s * (1.0 - s))};  // public ops: differentiable again
  }
};

// h + gate * swish(fc(h)): a residual block whose branch starts switched off (gate = 0), a
// learnable scalar registered beside the Linear child's parameters.
struct ResidualBlock : nn::Module {
  nn::Linear fc;
  Tensor gate;
  explicit ResidualBlock(int64_t width) : fc(width, width) {
    register_module("fc", fc);
    gate = register_parameter("gate", zeros({1}));
  }
  Tensor forward(const Tensor& h) { return h + gate * Swish::apply(fc(h)); }
};

struct Classifier : nn::Module {
  nn::Linear embed, head;
  ResidualBlock block1, block2;
  Classifier(int64_t in, int64_t width, int64_t classes) : embed(in, width), head(width, classes), block1(width), block2(width) {
    register_module("embed", embed);
    register_module("block1", block1);
    register_module("block2", block2);
    register_module("head", head);
  }
  Tensor forward(const Tensor& x) { return head(block2.forward(block1.forward(embed(x)))); }
};

int main(int argc, char** argv) {
  const bool smoke = argc > 1 && std::string(argv[1]) == "--smoke";
  manual_seed(0);

  // The Function's backward against central differences, in float64.
  Tensor x = randn({3, 4}, {.dtype = kFloat64, .requires_grad = true});
  auto check = autograd::gradcheck([](const std::vector<Tensor>& in) { return Swish::apply(in[0]); }, {x});
  fmt::print("gradcheck of Swish: {}\n", check ? "passed" : check.message);
  if (!check) return 1;
  Tensor y = Swish::apply(x).sum();
  fmt::print("its node: {}\n\n", y.grad_fn()->name());

  Classifier net(8, 32, 4);
  fmt::print("{}\n", net);  // the parameter names are dotted paths: block1.gate, block1.fc.weight, ...
  data::TensorDataset blobs = data::gaussian_blobs(200, 4, 8, /*std=*/2.0, /*spread=*/2.0, /*seed=*/3);
  optim::Adam opt(net.parameters(), {.lr = 3e-3});

  const int steps = smoke ? 20 : 300;
  for (int step = 1; step <= steps; ++step) {
    Tensor loss = nn::functional::cross_entropy(net.forward(blobs.x()), blobs.y());
    opt.zero_grad();
    loss.backward();
    opt.step();
    if (step % 50 == 0 || step == steps) {
      fmt::print("step {:3}  loss {:.4f}  gates {:+.3f} {:+.3f}\n", step, loss.item<float>(),
                 net.block1.gate.item<float>(), net.block2.gate.item<float>());
    }
  }
}
