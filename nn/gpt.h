// GPT: a pre-norm decoder-only transformer in GPT-2's layout (Radford et al. 2019, section 2.3:
// LayerNorm before each attention and MLP branch, one after the last block), built from the
// public layers, with a key-value cache so that generating a token costs one position's work.
// Read nn/attention.h and nn/functional_attention.h first. Dimension letters: B batch, T new
// positions, S positions attended (past + T), C width, H heads, D = C / H, V vocabulary.
//   nn::GPT gpt{{.vocab_size = 256, .context = 128, .layers = 4, .heads = 4, .width = 128}};
//   Tensor logits = gpt(tokens);                                      // int64 [B, T] -> [B, T, V]
//   auto text = gpt.generate(prompt, 100, {.sampling = {.top_k = 40}}, print_token);
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include <descent/core/random.h>
#include <descent/nn/activation.h>
#include <descent/nn/container.h>
#include <descent/nn/dropout.h>
#include <descent/nn/embedding.h>
#include <descent/nn/linear.h>
#include <descent/nn/module.h>
#include <descent/nn/normalization.h>
#include <descent/nn/sampling.h>

namespace descent::nn {

struct GPTOptions {
  int64_t vocab_size = 256;     // 256: byte tokens
  int64_t context = 128;        // the longest sequence (rows of the position embedding)
  int64_t layers = 4;
  int64_t heads = 4;
  int64_t width = 128;          // C, a multiple of heads
  double dropout = 0.0;         // after the embeddings and on each residual branch, in training only
  bool tie_embeddings = true;   // the output projection is the token embedding's weight (Press & Wolf 2017)
  Generator* generator = nullptr;  // dropout's draws; the default generator when null
};

// The keys and values of the positions processed so far, per layer: buffers [B, H, context, D]
// filled up to length(). Made by GPT::make_cache; GPT::forward(tokens, cache) appends to it.
struct KVCache {
  std::vector<Tensor> keys, values;  // one [B, H, context, D] each per layer
  int64_t length = 0;                // positions held
  int64_t batch() const { return keys.empty() ? 0 : keys.front().size(0); }
  int64_t capacity() const { return keys.empty() ? 0 : keys.front().size(2); }
  void clear() { length = 0; }
};

// Masked multi-head self-attention: one Linear makes q, k and v (qkv.weight [3C, C]), heads attend
// causally with scaled_dot_product_attention, `projection` mixes them back.
class CausalSelfAttention : public Module {
 public:
  CausalSelfAttention(int64_t width, int64_t heads, double dropout, Generator* generator);
  // x [B, T, C] -> [B, T, C]. With a cache layer (keys, values [B, H, capacity, D]) x holds
  // positions [past, past + T): its keys and values are written there and its queries attend
  // to positions [0, past + T). Without one, past must be 0.
  Tensor forward(const Tensor& x, Tensor* cache_keys = nullptr, Tensor* cache_values = nullptr, int64_t past = 0);

  int64_t width, heads;
  Linear qkv, projection;
  Dropout residual_dropout;
};

// The position-wise MLP: C -> 4C, GELU, -> C.
class FeedForward : public Module {
 public:
  FeedForward(int64_t width, double dropout, Generator* generator);
  Tensor forward(const Tensor& x);

  Linear expand, projection;
  GELU activation;
  Dropout residual_dropout;
};

// x + attention(norm(x)), then + mlp(norm(.)).
class TransformerBlock : public Module {
 public:
  TransformerBlock(int64_t width, int64_t heads, double dropout, Generator* generator);
  Tensor forward(const Tensor& x, Tensor* cache_keys = nullptr, Tensor* cache_values = nullptr, int64_t past = 0);

  LayerNorm attention_norm;
  CausalSelfAttention attention;
  LayerNorm mlp_norm;
  FeedForward mlp;
};

struct GenerateOptions {
  SamplingOptions sampling = {};
  Generator* generator = nullptr;  // the draws; the default generator when null
  // true: each token runs one position through the model, with the KV cache; when the cache is
  // full, it is refilled from the last context / 2 tokens. false: each token re-runs the whole
  // sequence, cut to its last `context` tokens (the reference the cache is tested against).
  bool use_cache = true;
};

class GPT : public Module {
 public:
  // Weights N(0, 0.02), biases 0, the residual projections N(0, 0.02 / sqrt(2 layers)) (GPT-2's
  // scaling, section 2.3). Throws ValueError for sizes < 1, a width not divisible by heads, or
  // dropout outside [0, 1].
  explicit GPT(const GPTOptions& options);

  // tokens int64 [B, T] with T <= context -> logits [B, T, V]; position t sees tokens <= t only.
  Tensor forward(const Tensor& tokens);
  Tensor operator()(const Tensor& tokens) { return forward(tokens); }
  // Inference with a cache (under no-grad): tokens [B, T] are positions [cache.length, + T),
  // appended to the cache; returns their logits [B, T, V]. Throws ShapeError when they do not
  // fit in the cache or the batch differs from the cache's.
  Tensor forward(const Tensor& tokens, KVCache& cache);
  KVCache make_cache(int64_t batch) const;

  // Draws `count` tokens after `prompt` (1 to context tokens), calling on_token with each as it
  // is drawn; returns them. The model is in eval mode meanwhile (and restored after).
  std::vector<int64_t> generate(std::span<const int64_t> prompt, int64_t count, const GenerateOptions& options = {},
                                const std::function<void(int64_t)>& on_token = {});
  std::string extra_repr() const override;

  GPTOptions options;
  Embedding token_embedding, position_embedding;  // [V, C], [context, C]
  Dropout embedding_dropout;
  ModuleList blocks;  // `layers` TransformerBlocks
  LayerNorm final_norm;
  std::shared_ptr<Linear> head;  // [V, C] without bias; null when tied to token_embedding

 private:
  // The logits of tokens [B, T] at positions [past, past + T), with the cache when not null.
  Tensor run(const Tensor& tokens, KVCache* cache);
};

}  // namespace descent::nn
