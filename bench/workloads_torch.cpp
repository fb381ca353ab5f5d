// The workloads of bench/workloads.cpp written against LibTorch 1.13 (Debian libtorch-dev), with
// the same command line, shapes, initialisation scales and output (bench/workloads_common.h),
// the user-style models of issue #21 included:
// what bench/compare measures descent against. Built only where Torch is found.
#include <dlfcn.h>
#include <torch/torch.h>

#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "workloads_common.h"

namespace {

using namespace workloads;
namespace F = torch::nn::functional;
using Step = std::function<void()>;

template <typename Forward>
Step training_step(std::shared_ptr<torch::optim::Optimizer> opt, Forward forward) {
  return [opt, forward]() mutable {  // NOTE: mutable: torch modules' forward is not const
    opt->zero_grad();  // 1.13's default: grads set to zero, not to None
    torch::Tensor loss = forward();
    loss.backward();
    opt->step();
  };
}

std::shared_ptr<torch::optim::AdamW> adamw_over(const std::vector<torch::Tensor>& params, double lr) {
  return std::make_shared<torch::optim::AdamW>(params, torch::optim::AdamWOptions(lr));
}

Step mlp() {
  torch::nn::Sequential model(torch::nn::Linear(kMlpIn, kMlpHidden1), torch::nn::ReLU(), torch::nn::Linear(kMlpHidden1, kMlpHidden2),
                              torch::nn::ReLU(), torch::nn::Linear(kMlpHidden2, kClasses));
  auto opt = adamw_over(model->parameters(), 1e-3);
  torch::Tensor x = torch::randn({kMlpBatch, kMlpIn}), y = torch::randint(0, kClasses, {kMlpBatch});
  return training_step(opt, [model, x, y]() mutable { return F::cross_entropy(model->forward(x), y); });
}

Step cnn() {
  using namespace torch::nn;
  Sequential model(Conv2d(Conv2dOptions(1, kConv1, 3)), ReLU(), MaxPool2d(MaxPool2dOptions(2)), Conv2d(Conv2dOptions(kConv1, kConv2, 3)),
                   ReLU(), MaxPool2d(MaxPool2dOptions(2)), Flatten(), Linear(kConv2 * 5 * 5, kCnnHidden), ReLU(), Linear(kCnnHidden, kClasses));
  auto opt = std::make_shared<torch::optim::SGD>(model->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
  torch::Tensor x = torch::randn({kCnnBatch, 1, kImage, kImage}), y = torch::randint(0, kClasses, {kCnnBatch});
  return training_step(opt, [model, x, y]() mutable { return F::cross_entropy(model->forward(x), y); });
}

Step bn_cnn() {
  using namespace torch::nn;
  auto conv = [](int64_t in, int64_t out) { return Conv2d(Conv2dOptions(in, out, 3).padding(1)); };
  Sequential model(conv(1, kConv1), BatchNorm2d(kConv1), ReLU(), MaxPool2d(MaxPool2dOptions(2)), conv(kConv1, kConv2),
                   BatchNorm2d(kConv2), ReLU(), MaxPool2d(MaxPool2dOptions(2)), Dropout(0.25), Flatten(),
                   Linear(kConv2 * 7 * 7, kBnCnnHidden), ReLU(), Dropout(0.5), Linear(kBnCnnHidden, kClasses));
  model->train();
  auto opt = std::make_shared<torch::optim::Adam>(model->parameters(), torch::optim::AdamOptions(1e-3));
  torch::Tensor x = torch::randn({kBnCnnBatch, 1, kImage, kImage}), y = torch::randint(0, kClasses, {kBnCnnBatch});
  return training_step(opt, [model, x, y]() mutable { return F::cross_entropy(model->forward(x), y); });
}

// relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), as bench/workloads.cpp.
struct BasicBlockImpl : torch::nn::Module {
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr};
  torch::nn::Sequential shortcut{nullptr};
  BasicBlockImpl(int64_t in, int64_t out, int64_t stride) {
    using namespace torch::nn;
    conv1 = register_module("conv1", Conv2d(Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false)));
    bn1 = register_module("bn1", BatchNorm2d(out));
    conv2 = register_module("conv2", Conv2d(Conv2dOptions(out, out, 3).padding(1).bias(false)));
    bn2 = register_module("bn2", BatchNorm2d(out));
    if (stride != 1 || in != out) {
      shortcut = register_module("shortcut", Sequential(Conv2d(Conv2dOptions(in, out, 1).stride(stride).bias(false)), BatchNorm2d(out)));
    }
  }
  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor h = torch::relu(bn1->forward(conv1->forward(x)));
    return torch::relu(bn2->forward(conv2->forward(h)) + (shortcut ? shortcut->forward(x) : x));
  }
};
TORCH_MODULE(BasicBlock);

struct ResNetImpl : torch::nn::Module {
  torch::nn::Conv2d stem{torch::nn::Conv2dOptions(3, kResNetWidths[0], 3).padding(1).bias(false)};
  torch::nn::BatchNorm2d stem_bn{kResNetWidths[0]};
  BasicBlock stage1{kResNetWidths[0], kResNetWidths[0], 1}, stage2{kResNetWidths[0], kResNetWidths[1], 2},
      stage3{kResNetWidths[1], kResNetWidths[2], 2};
  torch::nn::Linear fc{kResNetWidths[2], kClasses};
  ResNetImpl() {
    register_module("stem", stem);
    register_module("stem_bn", stem_bn);
    register_module("stage1", stage1);
    register_module("stage2", stage2);
    register_module("stage3", stage3);
    register_module("fc", fc);
  }
  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor h = stage3->forward(stage2->forward(stage1->forward(torch::relu(stem_bn->forward(stem->forward(x))))));
    return fc->forward(torch::adaptive_avg_pool2d(h, {1, 1}).flatten(1));
  }
};
TORCH_MODULE(ResNet);

Step resnet() {
  ResNet model;
  model->train();
  auto opt = std::make_shared<torch::optim::SGD>(model->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9).nesterov(true));
  torch::Tensor x = torch::randn({kResNetBatch, 3, kResNetImage, kResNetImage}), y = torch::randint(0, kClasses, {kResNetBatch});
  return training_step(opt, [model, x, y]() mutable { return F::cross_entropy(model->forward(x), y); });
}

Step mlp_ln() {
  using namespace torch::nn;
  Sequential model(Linear(kMlpIn, kMlpLnHidden), LayerNorm(LayerNormOptions({kMlpLnHidden})), ReLU(), Dropout(0.1),
                   Linear(kMlpLnHidden, kMlpLnHidden), LayerNorm(LayerNormOptions({kMlpLnHidden})), ReLU(), Dropout(0.1),
                   Linear(kMlpLnHidden, kClasses));
  model->train();
  auto opt = adamw_over(model->parameters(), 1e-3);
  torch::Tensor x = torch::randn({kMlpLnBatch, kMlpIn}), y = torch::randint(0, kClasses, {kMlpLnBatch});
  return training_step(opt, [model, x, y]() mutable { return F::cross_entropy(model->forward(x), y); });
}

// Pre-norm block: x + proj(attention(ln1(x))), then x + fc2(gelu(fc1(ln2(x)))).
struct BlockImpl : torch::nn::Module {
  torch::nn::LayerNorm ln1{torch::nn::LayerNormOptions({kGptWidth})}, ln2{torch::nn::LayerNormOptions({kGptWidth})};
  torch::nn::Linear qkv{kGptWidth, 3 * kGptWidth}, proj{kGptWidth, kGptWidth};
  torch::nn::Linear fc1{kGptWidth, 4 * kGptWidth}, fc2{4 * kGptWidth, kGptWidth};
  BlockImpl() {
    register_module("ln1", ln1);
    register_module("qkv", qkv);
    register_module("proj", proj);
    register_module("ln2", ln2);
    register_module("fc1", fc1);
    register_module("fc2", fc2);
  }
  torch::Tensor forward(const torch::Tensor& x) {
    int64_t batch = x.size(0), time = x.size(1), head_width = kGptWidth / kGptHeads;
    torch::Tensor qkv_out = qkv->forward(ln1->forward(x));
    auto head_split = [&](int64_t part) {
      return qkv_out.slice(2, part * kGptWidth, (part + 1) * kGptWidth).reshape({batch, time, kGptHeads, head_width}).transpose(1, 2);
    };
    // 1.13's (private) fused entry point; public as scaled_dot_product_attention from 2.0.
    torch::Tensor attended = std::get<0>(at::_scaled_dot_product_attention(head_split(0), head_split(1), head_split(2), {}, 0.0,
                                                                          /*need_attn_weights=*/false, /*is_causal=*/true));
    torch::Tensor h = x + proj->forward(attended.transpose(1, 2).reshape({batch, time, kGptWidth}));
    return h + fc2->forward(torch::gelu(fc1->forward(ln2->forward(h))));
  }
};
TORCH_MODULE(Block);

struct GptImpl : torch::nn::Module {
  torch::nn::Embedding token_embedding{kGptVocab, kGptWidth}, position_embedding{kGptContext, kGptWidth};
  torch::nn::ModuleList blocks;
  torch::nn::LayerNorm ln_f{torch::nn::LayerNormOptions({kGptWidth})};
  torch::nn::Linear head{kGptWidth, kGptVocab};
  GptImpl() {
    register_module("token_embedding", token_embedding);
    register_module("position_embedding", position_embedding);
    for (int64_t i = 0; i < kGptLayers; ++i) blocks->push_back(Block());
    register_module("blocks", blocks);
    register_module("ln_f", ln_f);
    register_module("head", head);
  }
  torch::Tensor forward(const torch::Tensor& tokens) {
    torch::Tensor x = token_embedding->forward(tokens) + position_embedding->weight;
    for (const auto& block : *blocks) x = block->as<BlockImpl>()->forward(x);
    return head->forward(ln_f->forward(x));
  }
};
TORCH_MODULE(Gpt);

Step gpt() {
  Gpt model;
  auto opt = adamw_over(model->parameters(), 3e-4);
  torch::Tensor tokens = torch::randint(0, kGptVocab, {kGptBatch, kGptContext});
  torch::Tensor targets = torch::randint(0, kGptVocab, {kGptBatch * kGptContext});
  return training_step(opt, [=]() mutable { return F::cross_entropy(model->forward(tokens).reshape({-1, kGptVocab}), targets); });
}

Step ops() {
  torch::Tensor a = torch::full({1}, 0.001).requires_grad_(), b = torch::full({1}, 0.999).requires_grad_();
  return [a, b] {
    torch::Tensor x = torch::ones({1});
    for (int64_t i = 0; i < kOpsChain / 2; ++i) x = x * b + a;
    x.backward();
  };
}

Step gelu_forward() {
  torch::Tensor x = torch::randn({kGeluElements});
  return [x] {
    torch::NoGradGuard no_grad;
    torch::Tensor y = torch::gelu(x);
  };
}

Step adamw() {
  torch::Tensor param = torch::randn({kAdamWParams}).requires_grad_();
  param.mutable_grad() = torch::randn({kAdamWParams});
  auto opt = adamw_over({param}, 1e-4);
  return [opt] { opt->step(); };
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::function<Step()>> all = {
      {"mlp", mlp}, {"cnn", cnn}, {"gpt", gpt}, {"ops", ops}, {"gelu", gelu_forward}, {"adamw", adamw},
      {"bncnn", bn_cnn}, {"resnet", resnet}, {"mlpln", mlp_ln},
  };
  return workloads::run_main(argc, argv, [](int threads) { torch::set_num_threads(threads); }, all, [] {
    std::printf("torch=%s threads=%d", TORCH_VERSION, torch::get_num_threads());
    // The OpenBLAS that libtorch loaded (looked up at run time: it is not linked here directly).
    using CoreName = char* (*)();
    auto core_name = reinterpret_cast<CoreName>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
    std::printf(" | openblas_core=%s", core_name ? core_name() : "(none loaded)");
    std::istringstream config(at::show_config());
    for (std::string line; std::getline(config, line);) {
      for (const char* key : {"CPU capability", "MKL-DNN", "OpenMP"}) {
        if (line.find(key) != std::string::npos) std::printf(" |%s", line.substr(line.find('-') + 1).c_str());
      }
    }
    std::printf("\n");
  });
}
