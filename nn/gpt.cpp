// The GPT decoder and its key-value cache; see nn/gpt.h for the layout and dimension letters.
// With the cache, a new token's query attends to the stored keys and values of every earlier
// position, so its cost is one position through each Linear plus one row of attention.
#include <descent/nn/gpt.h>

#include <algorithm>
#include <cmath>

#include <descent/autograd/graph.h>
#include <descent/autograd/ops.h>
#include <descent/core/error.h>
#include <descent/nn/functional.h>
#include <descent/nn/functional_attention.h>
#include <descent/nn/init.h>

namespace descent::nn {

namespace {

constexpr double kInitStd = 0.02;  // GPT-2's initialiser range

// [B, T, C] -> [B, H, T, D]
Tensor split_heads(const Tensor& x, int64_t heads) { return x.unflatten(-1, {heads, -1}).transpose(1, 2); }

}  // namespace

// ---- CausalSelfAttention ----

CausalSelfAttention::CausalSelfAttention(int64_t width, int64_t heads, double dropout, Generator* generator)
    : width(width), heads(heads), qkv(width, 3 * width), projection(width, width),
      residual_dropout(dropout, generator) {
  register_module("qkv", qkv);
  register_module("projection", projection);
  register_module("residual_dropout", residual_dropout);
}

Tensor CausalSelfAttention::forward(const Tensor& x, Tensor* cache_keys, Tensor* cache_values, int64_t past) {
  const int64_t new_positions = x.size(1);
  Tensor packed = qkv(x);  // [B, T, 3C]
  Tensor q = split_heads(packed.narrow(-1, 0, width), heads);
  Tensor k = split_heads(packed.narrow(-1, width, width), heads);
  Tensor v = split_heads(packed.narrow(-1, 2 * width, width), heads);
  functional::AttentionOptions attention{.is_causal = true};
  if (cache_keys != nullptr) {
    cache_keys->narrow(2, past, new_positions).copy_(k);
    cache_values->narrow(2, past, new_positions).copy_(v);
    k = cache_keys->narrow(2, 0, past + new_positions);
    v = cache_values->narrow(2, 0, past + new_positions);
    if (past > 0) {
      // Query i is position past + i: it attends to keys j <= past + i. One query needs no mask.
      attention.is_causal = false;
      if (new_positions > 1) {
        attention.attn_mask = tril(ones({new_positions, past + new_positions}, {.dtype = kBool}), past);
      }
    }
  }
  Tensor y = functional::scaled_dot_product_attention(q, k, v, attention);  // [B, H, T, D]
  y = y.transpose(1, 2).reshape({x.size(0), new_positions, width});
  return residual_dropout(projection(y));
}

// ---- FeedForward ----

FeedForward::FeedForward(int64_t width, double dropout, Generator* generator)
    : expand(width, 4 * width), projection(4 * width, width), residual_dropout(dropout, generator) {
  register_module("expand", expand);
  register_module("activation", activation);
  register_module("projection", projection);
  register_module("residual_dropout", residual_dropout);
}

Tensor FeedForward::forward(const Tensor& x) { return residual_dropout(projection(activation(expand(x)))); }

// ---- TransformerBlock ----

TransformerBlock::TransformerBlock(int64_t width, int64_t heads, double dropout, Generator* generator)
    : attention_norm({width}), attention(width, heads, dropout, generator), mlp_norm({width}),
      mlp(width, dropout, generator) {
  register_module("attention_norm", attention_norm);
  register_module("attention", attention);
  register_module("mlp_norm", mlp_norm);
  register_module("mlp", mlp);
}

Tensor TransformerBlock::forward(const Tensor& x, Tensor* cache_keys, Tensor* cache_values, int64_t past) {
  Tensor h = x + attention.forward(attention_norm(x), cache_keys, cache_values, past);
  return h + mlp.forward(mlp_norm(h));
}

// ---- GPT ----

namespace {

const GPTOptions& checked(const GPTOptions& o) {
  check<ValueError>(o.vocab_size >= 1 && o.context >= 1 && o.layers >= 1 && o.heads >= 1 && o.width >= 1,
                    "GPT: sizes must be >= 1: vocab_size {}, context {}, layers {}, heads {}, width {}", o.vocab_size,
                    o.context, o.layers, o.heads, o.width);
  check<ValueError>(o.width % o.heads == 0, "GPT: width {} is not divisible by heads {}", o.width, o.heads);
  check<ValueError>(o.dropout >= 0 && o.dropout <= 1, "GPT: dropout must be in [0, 1], got {}", o.dropout);
  return o;
}

}  // namespace

GPT::GPT(const GPTOptions& options_)
    : options(checked(options_)), token_embedding(options.vocab_size, options.width),
      position_embedding(options.context, options.width), embedding_dropout(options.dropout, options.generator),
      final_norm({options.width}) {
  register_module("token_embedding", token_embedding);
  register_module("position_embedding", position_embedding);
  register_module("embedding_dropout", embedding_dropout);
  for (int64_t layer = 0; layer < options.layers; ++layer) {
    blocks.push_back(
        std::make_shared<TransformerBlock>(options.width, options.heads, options.dropout, options.generator));
  }
  register_module("blocks", blocks);
  register_module("final_norm", final_norm);
  if (!options.tie_embeddings) {
    head = std::make_shared<Linear>(options.width, options.vocab_size, /*bias=*/false);
    register_module("head", head);
  }
  const double residual_std = kInitStd / std::sqrt(2.0 * static_cast<double>(options.layers));
  for (auto& [name, parameter] : named_parameters()) {
    bool residual_projection = name.ends_with("projection.weight");
    if (parameter.dim() >= 2) {
      init::normal_(parameter, 0.0, residual_projection ? residual_std : kInitStd, options.generator);
    } else if (name.ends_with(".bias")) {
      init::zeros_(parameter);
    }  // LayerNorm weights keep their ones
  }
}

KVCache GPT::make_cache(int64_t batch) const {
  check<ValueError>(batch >= 1, "GPT::make_cache: batch must be >= 1, got {}", batch);
  KVCache cache;
  const int64_t head_dim = options.width / options.heads;
  for (int64_t layer = 0; layer < options.layers; ++layer) {
    cache.keys.push_back(zeros({batch, options.heads, options.context, head_dim}));
    cache.values.push_back(zeros({batch, options.heads, options.context, head_dim}));
  }
  return cache;
}

Tensor GPT::forward(const Tensor& tokens) { return run(tokens, nullptr); }

Tensor GPT::forward(const Tensor& tokens, KVCache& cache) {
  autograd::NoGradGuard no_grad;  // the cache is written in place: inference only
  return run(tokens, &cache);
}

Tensor GPT::run(const Tensor& tokens, KVCache* cache) {
  check<DTypeError>(tokens.dtype() == kInt64, "GPT: tokens must be int64, got {}", tokens.dtype());
  check<ShapeError>(tokens.dim() == 2 && tokens.size(1) >= 1, "GPT: tokens {} must be [B, T] with T >= 1",
                    tokens.sizes());
  const int64_t batch = tokens.size(0), new_positions = tokens.size(1);
  const int64_t past = cache != nullptr ? cache->length : 0;
  check<ShapeError>(past + new_positions <= options.context,
                    "GPT: tokens {} at position {} need {} positions, more than the context {}", tokens.sizes(), past,
                    past + new_positions, options.context);
  if (cache != nullptr) {
    check<ShapeError>(static_cast<int64_t>(cache->keys.size()) == options.layers && cache->batch() == batch &&
                          cache->capacity() == options.context,
                      "GPT: tokens {} do not fit a cache of {} layers, batch {}, capacity {} (make it with make_cache)",
                      tokens.sizes(), cache->keys.size(), cache->batch(), cache->capacity());
  }
  Tensor positions = arange(past, past + new_positions, 1, {.dtype = kInt64});
  Tensor h = embedding_dropout(token_embedding(tokens) + position_embedding(positions));  // [B, T, C]
  for (size_t layer = 0; layer < blocks.size(); ++layer) {
    auto& block = blocks.at<TransformerBlock>(layer);
    h = cache != nullptr ? block.forward(h, &cache->keys[layer], &cache->values[layer], past) : block.forward(h);
  }
  if (cache != nullptr) cache->length = past + new_positions;
  h = final_norm(h);
  return head ? (*head)(h) : functional::linear(h, token_embedding.weight);  // [B, T, V]
}

std::vector<int64_t> GPT::generate(std::span<const int64_t> prompt, int64_t count, const GenerateOptions& generation,
                                   const std::function<void(int64_t)>& on_token) {
  const auto prompt_length = static_cast<int64_t>(prompt.size());
  check<ValueError>(prompt_length >= 1 && prompt_length <= options.context,
                    "GPT::generate: the prompt has {} tokens; it needs 1 to context = {}", prompt_length,
                    options.context);
  check<ValueError>(count >= 0, "GPT::generate: count must be >= 0, got {}", count);
  autograd::NoGradGuard no_grad;
  // Eval mode (no dropout) while generating; the caller's mode is back afterwards, also on a throw.
  struct ModeRestorer {
    Module& model;
    bool was_training;
    ~ModeRestorer() { model.train(was_training); }
  } restore{*this, is_training()};
  eval();
  std::vector<int64_t> sequence(prompt.begin(), prompt.end());
  // The tokens [first, end) of the sequence as a [1, n] batch.
  auto batch_of = [&](size_t first) {
    return tensor(std::vector<int64_t>(sequence.begin() + static_cast<std::ptrdiff_t>(first), sequence.end()))
        .unsqueeze(0);
  };
  KVCache cache = generation.use_cache ? make_cache(1) : KVCache{};
  size_t fed = 0;  // with the cache: the sequence's tokens the cache has seen are [start, fed)
  std::vector<int64_t> drawn;
  for (int64_t i = 0; i < count; ++i) {
    const auto length = static_cast<int64_t>(sequence.size());
    Tensor logits;
    if (!generation.use_cache) {
      logits = forward(batch_of(static_cast<size_t>(std::max<int64_t>(0, length - options.context))));
    } else {
      if (cache.length + (length - static_cast<int64_t>(fed)) > options.context) {
        // NOTE: full. Positions are absolute, so sliding one token would change every stored key:
        // refill from the last half of the context instead, one pass every context / 2 tokens.
        cache.clear();
        fed = static_cast<size_t>(length - std::max<int64_t>(1, options.context / 2));
      }
      logits = forward(batch_of(fed), cache);
      fed = sequence.size();
    }
    Tensor last = logits.select(0, 0).select(0, logits.size(1) - 1);  // [V]
    int64_t token = sample_token(last, generation.sampling, generation.generator);
    sequence.push_back(token);
    drawn.push_back(token);
    if (on_token) on_token(token);
  }
  return drawn;
}

std::string GPT::extra_repr() const {
  return fmt::format("vocab_size={}, context={}, layers={}, heads={}, width={}, dropout={}, tie_embeddings={}",
                     options.vocab_size, options.context, options.layers, options.heads, options.width,
                     options.dropout, options.tie_embeddings);
}

}  // namespace descent::nn
