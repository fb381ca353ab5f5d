// A character-level GPT, written out: token and position embeddings, pre-norm transformer blocks
// (causal self-attention, GELU MLP), a final norm and the output projection tied to the token
// embedding -- the layout of nn::GPT (nn/gpt.h), which adds the KV cache that `descent sample`
// uses. Trains on the fortunes corpus (or the text file given) with AdamW, warmup + cosine and
// clipping, then writes a sample. Read nn/functional_attention.h and data/text.h first.
// Usage: 11_char_gpt [FILE] [--smoke]   (--smoke: a tiny model, 20 steps)
#include <cmath>
#include <string>

#include <descent/descent.h>

using namespace descent;

struct Sizes {
  int64_t vocab = 256, context = 128, layers = 4, heads = 4, width = 128;
};

// x + attention(norm(x)), then + mlp(norm(.)): GPT-2's pre-norm block.
struct Block : nn::Module {
  int64_t heads;
  nn::LayerNorm attention_norm, mlp_norm;
  nn::Linear qkv, projection, expand, contract;
  Block(int64_t width, int64_t heads)
      : heads(heads), attention_norm({width}), mlp_norm({width}), qkv(width, 3 * width), projection(width, width),
        expand(width, 4 * width), contract(4 * width, width) {
    register_module("attention_norm", attention_norm);
    register_module("qkv", qkv);
    register_module("projection", projection);
    register_module("mlp_norm", mlp_norm);
    register_module("expand", expand);
    register_module("contract", contract);
  }
  // [B, T, C] -> [B, T, H, D] -> [B, H, T, D]: each head attends on its own D features.
  Tensor split_heads(const Tensor& x) const { return x.unflatten(-1, {heads, -1}).transpose(1, 2); }
  Tensor forward(const Tensor& x) {  // x [B, T, C]
    const int64_t width = x.size(-1);
    Tensor packed = qkv(attention_norm(x));  // [B, T, 3C]: queries, keys and values side by side
    Tensor q = split_heads(packed.narrow(-1, 0, width));
    Tensor k = split_heads(packed.narrow(-1, width, width));
    Tensor v = split_heads(packed.narrow(-1, 2 * width, width));
    Tensor attended = nn::functional::scaled_dot_product_attention(q, k, v, {.is_causal = true});
    Tensor h = x + projection(attended.transpose(1, 2).reshape(x.sizes()));
    return h + contract(gelu(expand(mlp_norm(h))));
  }
};

struct CharGPT : nn::Module {
  nn::Embedding tokens, positions;
  nn::ModuleList blocks;
  nn::LayerNorm final_norm;
  explicit CharGPT(const Sizes& s) : tokens(s.vocab, s.width), positions(s.context, s.width), final_norm({s.width}) {
    register_module("tokens", tokens);
    register_module("positions", positions);
    for (int64_t i = 0; i < s.layers; ++i) blocks.push_back(std::make_shared<Block>(s.width, s.heads));
    register_module("blocks", blocks);
    register_module("final_norm", final_norm);
    for (auto& [name, p] : named_parameters()) {  // GPT-2's initialisation: N(0, 0.02), biases 0
      if (p.dim() >= 2) nn::init::normal_(p, 0.0, 0.02);
      else if (name.ends_with(".bias")) nn::init::zeros_(p);
    }
  }
  Tensor forward(const Tensor& x) {  // tokens int64 [B, T] -> logits [B, T, V]
    Tensor h = tokens(x) + positions(arange(x.size(1), {.dtype = kInt64}));
    for (size_t i = 0; i < blocks.size(); ++i) h = blocks.at<Block>(i).forward(h);
    return nn::functional::linear(final_norm(h), tokens.weight);  // tied: logits = h E^T
  }
};

// Continues `prompt` by `count` bytes, re-running the whole window for each (nn::GPT caches).
std::string sample(CharGPT& model, const Sizes& s, std::string text, int count, Generator& generator) {
  autograd::NoGradGuard no_grad;
  model.eval();
  data::ByteTokenizer bytes;
  for (int i = 0; i < count; ++i) {
    std::vector<int64_t> ids = bytes.encode(text.substr(text.size() > size_t(s.context) ? text.size() - s.context : 0));
    Tensor logits = model.forward(tensor(ids).unsqueeze(0));             // [1, T, V]
    Tensor last = logits.select(0, 0).select(0, logits.size(1) - 1);    // the next byte's logits [V]
    text += static_cast<char>(nn::sample_token(last, {.temperature = 0.8, .top_k = 40}, &generator));
  }
  model.train();
  return text;
}

int main(int argc, char** argv) {
  std::string file;
  bool smoke = false;
  for (int i = 1; i < argc; ++i) {
    std::string argument = argv[i];
    if (argument == "--smoke") smoke = true;
    else file = argument;
  }
  Sizes s;
  if (smoke) s = {.context = 32, .layers = 1, .heads = 2, .width = 32};
  const int64_t batch = smoke ? 8 : 32, steps = smoke ? 20 : 2000;

  manual_seed(0);
  auto corpus = file.empty() ? std::make_shared<const data::TextCorpus>(data::fortunes_corpus(), "fortunes")
                             : data::TextCorpus::from_file(file);
  using data::TextDataset;
  auto train = std::make_shared<TextDataset>(corpus, TextDataset::Split::Train, s.context, batch * steps, /*seed=*/1);
  auto held_out = std::make_shared<TextDataset>(corpus, TextDataset::Split::HeldOut, s.context);
  data::DataLoader loader(train, {.batch_size = batch, .seed = 1});

  CharGPT model(s);
  fmt::print("{} parameters, {} training bytes\n", model.num_parameters(), corpus->split());
  // Decay the matrices of the blocks, not biases, norms or the embeddings (the tables go to the
  // second group that weight_decay_groups makes, the one without decay).
  std::vector<std::pair<std::string, Tensor>> blocks, tables;
  for (auto& named : model.named_parameters()) {
    bool table = named.first == "tokens.weight" || named.first == "positions.weight";
    (table ? tables : blocks).push_back(named);
  }
  auto groups = optim::weight_decay_groups(blocks, 0.05);
  for (auto& [name, table] : tables) {
    groups.back().params.push_back(table);
    groups.back().names.push_back(name);
  }
  optim::AdamW optimizer(groups, {.lr = 1e-3});
  auto schedule = optim::warmup_cosine(optimizer, {.warmup_steps = steps / 20, .total_steps = steps});

  int64_t step = 0;
  for (auto [x, y] : loader) {  // x, y int64 [B, T]: y is x shifted by one byte
    Tensor loss = nn::functional::cross_entropy(model.forward(x).flatten(0, 1), y.flatten());
    optimizer.zero_grad();
    loss.backward();
    optim::clip_grad_norm(model.parameters(), 1.0);
    optimizer.step();
    schedule.step();
    if (++step % (smoke ? 10 : 100) == 0) fmt::print("step {}  loss {:.3f} nats per byte\n", step, loss.item<float>());
  }

  // Held-out loss over (up to) 64 windows; bits per byte = nats / ln 2.
  autograd::NoGradGuard no_grad;
  model.eval();
  data::DataLoader eval_loader(held_out, {.batch_size = 32, .seed = 0});
  double nats = 0;
  int64_t windows = 0;
  for (auto [x, y] : eval_loader) {
    nats += nn::functional::cross_entropy(model.forward(x).flatten(0, 1), y.flatten()).item<float>() * x.size(0);
    if ((windows += x.size(0)) >= 64) break;
  }
  fmt::print("held-out loss {:.3f} nats per byte ({:.3f} bits)\n", nats / windows, nats / windows / std::log(2.0));
  Generator generator(7);
  fmt::print("---\n{}\n", sample(model, s, "The ", smoke ? 20 : 300, generator));
}
