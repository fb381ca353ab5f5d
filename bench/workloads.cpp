// The performance workloads of issue #7 written against descent: `workloads NAME THREADS ITERS`
// times one training step (mlp, cnn, gpt), an autograd chain (ops), a kernel (gelu, adamw) or a
// hardware limit (sgemm: raw cblas_sgemm at 1024^3 on OpenBLAS's own threads; copy: a threaded
// copy loop), the user-style models of issue #21 (bncnn, resnet, mlpln), and prints one
// line (bench/workloads_common.h). `workloads info` prints the OpenBLAS core in use.
// bench/workloads_torch.cpp is the same against LibTorch; bench/compare runs both.
#include <cblas.h>

#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <descent/descent.h>

#include "workloads_common.h"

namespace {

using namespace descent;
namespace F = descent::nn::functional;
using namespace workloads;

using Step = std::function<void()>;

// One training step as the north star writes it: zero_grad, forward, loss, backward, step.
template <typename Forward>
Step training_step(std::shared_ptr<optim::Optimizer> opt, Forward forward) {
  return [opt, forward] {
    opt->zero_grad();
    Tensor loss = forward();
    loss.backward();
    opt->step();
  };
}

Step mlp() {
  auto model = std::make_shared<nn::Sequential>(nn::Linear(kMlpIn, kMlpHidden1), nn::ReLU(), nn::Linear(kMlpHidden1, kMlpHidden2),
                                                nn::ReLU(), nn::Linear(kMlpHidden2, kClasses));
  auto opt = std::make_shared<optim::AdamW>(model->parameters(), optim::AdamWOptions{.lr = 1e-3});
  Tensor x = core::randn({kMlpBatch, kMlpIn}), y = core::randint(0, kClasses, {kMlpBatch});
  return training_step(opt, [model, x, y] { return F::cross_entropy((*model)(x), y); });
}

Step cnn() {
  auto model = std::make_shared<nn::Sequential>(
      nn::Conv2d(1, kConv1, 3), nn::ReLU(), nn::MaxPool2d(2), nn::Conv2d(kConv1, kConv2, 3), nn::ReLU(), nn::MaxPool2d(2),
      nn::Flatten(), nn::Linear(kConv2 * 5 * 5, kCnnHidden), nn::ReLU(), nn::Linear(kCnnHidden, kClasses));
  auto opt = std::make_shared<optim::SGD>(model->parameters(), optim::SGDOptions{.lr = 0.01, .momentum = 0.9});
  Tensor x = core::randn({kCnnBatch, 1, kImage, kImage}), y = core::randint(0, kClasses, {kCnnBatch});
  return training_step(opt, [model, x, y] { return F::cross_entropy((*model)(x), y); });
}

Step bn_cnn() {
  auto conv = [](int64_t in, int64_t out) { return nn::Conv2d(in, out, 3, {.padding = 1}); };
  auto model = std::make_shared<nn::Sequential>(
      conv(1, kConv1), nn::BatchNorm2d(kConv1), nn::ReLU(), nn::MaxPool2d(2), conv(kConv1, kConv2), nn::BatchNorm2d(kConv2),
      nn::ReLU(), nn::MaxPool2d(2), nn::Dropout(0.25), nn::Flatten(), nn::Linear(kConv2 * 7 * 7, kBnCnnHidden), nn::ReLU(),
      nn::Dropout(0.5), nn::Linear(kBnCnnHidden, kClasses));
  model->train();
  auto opt = std::make_shared<optim::Adam>(model->parameters(), optim::AdamOptions{.lr = 1e-3});
  Tensor x = core::randn({kBnCnnBatch, 1, kImage, kImage}), y = core::randint(0, kClasses, {kBnCnnBatch});
  return training_step(opt, [model, x, y] { return F::cross_entropy((*model)(x), y); });
}

// relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), conv1 of the given stride; the shortcut a
// 1x1 conv + BN when the shape changes, else x.
struct BasicBlock : nn::Module {
  nn::Conv2d conv1, conv2;
  nn::BatchNorm2d bn1, bn2;
  std::shared_ptr<nn::Sequential> shortcut;
  BasicBlock(int64_t in, int64_t out, int64_t stride)
      : conv1(in, out, 3, {.stride = stride, .padding = 1, .bias = false}), conv2(out, out, 3, {.padding = 1, .bias = false}),
        bn1(out), bn2(out) {
    register_module("conv1", conv1);
    register_module("bn1", bn1);
    register_module("conv2", conv2);
    register_module("bn2", bn2);
    if (stride != 1 || in != out) {
      shortcut = std::make_shared<nn::Sequential>(nn::Conv2d(in, out, 1, {.stride = stride, .bias = false}), nn::BatchNorm2d(out));
      register_module("shortcut", shortcut);
    }
  }
  Tensor forward(const Tensor& x) {
    Tensor h = relu(bn1(conv1(x)));
    return relu(bn2(conv2(h)) + (shortcut ? (*shortcut)(x) : x));
  }
};

struct ResNet : nn::Module {
  nn::Conv2d stem{3, kResNetWidths[0], 3, {.padding = 1, .bias = false}};
  nn::BatchNorm2d stem_bn{kResNetWidths[0]};
  BasicBlock stage1{kResNetWidths[0], kResNetWidths[0], 1}, stage2{kResNetWidths[0], kResNetWidths[1], 2},
      stage3{kResNetWidths[1], kResNetWidths[2], 2};
  nn::Linear fc{kResNetWidths[2], kClasses};
  ResNet() {
    register_module("stem", stem);
    register_module("stem_bn", stem_bn);
    register_module("stage1", stage1);
    register_module("stage2", stage2);
    register_module("stage3", stage3);
    register_module("fc", fc);
  }
  Tensor forward(const Tensor& x) {
    Tensor h = stage3.forward(stage2.forward(stage1.forward(relu(stem_bn(stem(x))))));
    return fc(F::adaptive_avg_pool2d(h, 1).flatten(1));
  }
};

Step resnet() {
  auto model = std::make_shared<ResNet>();
  model->train();
  auto opt = std::make_shared<optim::SGD>(model->parameters(), optim::SGDOptions{.lr = 0.1, .momentum = 0.9, .nesterov = true});
  Tensor x = core::randn({kResNetBatch, 3, kResNetImage, kResNetImage}), y = core::randint(0, kClasses, {kResNetBatch});
  return training_step(opt, [model, x, y] { return F::cross_entropy(model->forward(x), y); });
}

Step mlp_ln() {
  auto hidden = [](int64_t in) {
    return nn::Sequential(nn::Linear(in, kMlpLnHidden), nn::LayerNorm({kMlpLnHidden}), nn::ReLU(), nn::Dropout(0.1));
  };
  auto model = std::make_shared<nn::Sequential>(hidden(kMlpIn), hidden(kMlpLnHidden), nn::Linear(kMlpLnHidden, kClasses));
  model->train();
  auto opt = std::make_shared<optim::AdamW>(model->parameters(), optim::AdamWOptions{.lr = 1e-3});
  Tensor x = core::randn({kMlpLnBatch, kMlpIn}), y = core::randint(0, kClasses, {kMlpLnBatch});
  return training_step(opt, [model, x, y] { return F::cross_entropy((*model)(x), y); });
}

// Pre-norm block: x + proj(attention(ln1(x))), then x + fc2(gelu(fc1(ln2(x)))).
struct Block : nn::Module {
  nn::LayerNorm ln1{{kGptWidth}}, ln2{{kGptWidth}};
  nn::Linear qkv{kGptWidth, 3 * kGptWidth}, proj{kGptWidth, kGptWidth};
  nn::Linear fc1{kGptWidth, 4 * kGptWidth}, fc2{4 * kGptWidth, kGptWidth};
  Block() {
    register_module("ln1", ln1);
    register_module("qkv", qkv);
    register_module("proj", proj);
    register_module("ln2", ln2);
    register_module("fc1", fc1);
    register_module("fc2", fc2);
  }
  Tensor forward(const Tensor& x) {
    int64_t batch = x.size(0), time = x.size(1), head_width = kGptWidth / kGptHeads;
    Tensor qkv_out = qkv(ln1(x));          // [B, T, 3C]
    auto head_split = [&](int64_t part) {  // [B, T, C] -> [B, H, T, C / H]
      return qkv_out.slice(2, part * kGptWidth, (part + 1) * kGptWidth).reshape({batch, time, kGptHeads, head_width}).transpose(1, 2);
    };
    Tensor attended = F::scaled_dot_product_attention(head_split(0), head_split(1), head_split(2), {.is_causal = true});
    Tensor h = x + proj(attended.transpose(1, 2).reshape({batch, time, kGptWidth}));
    return h + fc2(gelu(fc1(ln2(h))));
  }
};

struct Gpt : nn::Module {
  nn::Embedding token_embedding{kGptVocab, kGptWidth}, position_embedding{kGptContext, kGptWidth};
  nn::ModuleList blocks;
  nn::LayerNorm ln_f{{kGptWidth}};
  nn::Linear head{kGptWidth, kGptVocab};
  Gpt() {
    register_module("token_embedding", token_embedding);
    register_module("position_embedding", position_embedding);
    for (int64_t i = 0; i < kGptLayers; ++i) blocks.push_back(std::make_shared<Block>());
    register_module("blocks", blocks);
    register_module("ln_f", ln_f);
    register_module("head", head);
  }
  Tensor forward(const Tensor& tokens) {  // [B, T] -> logits [B, T, V]
    Tensor x = token_embedding(tokens) + position_embedding.weight;
    for (size_t i = 0; i < blocks.size(); ++i) x = blocks.at<Block>(i).forward(x);
    return head(ln_f(x));
  }
};

Step gpt() {
  auto model = std::make_shared<Gpt>();
  auto opt = std::make_shared<optim::AdamW>(model->parameters(), optim::AdamWOptions{.lr = 3e-4});
  Tensor tokens = core::randint(0, kGptVocab, {kGptBatch, kGptContext});
  Tensor targets = core::randint(0, kGptVocab, {kGptBatch * kGptContext});
  return training_step(opt, [=] { return F::cross_entropy(model->forward(tokens).reshape({-1, kGptVocab}), targets); });
}

Step ops() {
  Tensor a = core::full({1}, 0.001).requires_grad_(), b = core::full({1}, 0.999).requires_grad_();
  return [a, b] {
    Tensor x = core::ones({1});
    for (int64_t i = 0; i < kOpsChain / 2; ++i) x = x * b + a;
    x.backward();
  };
}

Step gelu_forward() {
  Tensor x = core::randn({kGeluElements});
  return [x] {
    autograd::NoGradGuard no_grad;
    Tensor y = gelu(x);
  };
}

Step adamw() {
  Tensor param = core::randn({kAdamWParams}).requires_grad_();
  param.set_grad(core::randn({kAdamWParams}));
  auto opt = std::make_shared<optim::AdamW>(std::vector<Tensor>{param}, optim::AdamWOptions{.lr = 1e-4});
  return [opt, param] { opt->step(); };
}

// NOTE: descent keeps OpenBLAS on one thread (core/parallel.cpp); the limit is OpenBLAS at its
// best, threaded by itself, so this process hands it the thread count back.
Step sgemm() {
  openblas_set_num_threads(get_num_threads());
  auto a = std::make_shared<std::vector<float>>(kGemmSize * kGemmSize, 0.5f);
  auto b = std::make_shared<std::vector<float>>(kGemmSize * kGemmSize, 0.25f);
  auto c = std::make_shared<std::vector<float>>(kGemmSize * kGemmSize);
  return [a, b, c] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, kGemmSize, kGemmSize, kGemmSize, 1.0f, a->data(), kGemmSize,
                b->data(), kGemmSize, 0.0f, c->data(), kGemmSize);
  };
}

// dst[i] = src[i] split over the threads as descent's elementwise kernels split their work.
Step copy() {
  auto src = std::make_shared<std::vector<float>>(kCopyElements, 1.0f), dst = std::make_shared<std::vector<float>>(kCopyElements);
  return [src, dst] {
    parallel_for(0, kCopyElements, kElementwiseGrain, [&](int64_t begin, int64_t end) {
      const float* in = src->data();
      float* out = dst->data();
      for (int64_t i = begin; i < end; ++i) out[i] = in[i];
    });
    asm volatile("" : : "r"(dst->data()) : "memory");  // the copy is used
  };
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::function<Step()>> all = {
      {"mlp", mlp}, {"cnn", cnn}, {"gpt", gpt}, {"ops", ops}, {"gelu", gelu_forward},
      {"adamw", adamw}, {"sgemm", sgemm}, {"copy", copy}, {"bncnn", bn_cnn}, {"resnet", resnet}, {"mlpln", mlp_ln},
  };
  return workloads::run_main(argc, argv, [](int threads) { descent::set_num_threads(threads); }, all,
                             [] {
                               // openblas_get_parallel: 0 sequential, 1 pthreads, 2 OpenMP.
                               std::printf("openblas_core=%s openblas_parallel=%d threads=%d\n", openblas_get_corename(),
                                           openblas_get_parallel(), descent::get_num_threads());
                             });
}
