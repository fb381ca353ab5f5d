// nn::GPT: causality (exact), the KV cache against full recomputation, memorising a short text,
// and clear errors for bad sizes and prompts.
#include "testing.h"

#include <descent/nn/gpt.h>

namespace descent::nn {
namespace {

using descent::testing::tensors_close;
using descent::testing::throws_with;

GPTOptions tiny(int64_t context = 16) {
  return {.vocab_size = 11, .context = context, .layers = 2, .heads = 2, .width = 16};
}

Tensor random_tokens(int64_t batch, int64_t length, int64_t vocab, uint64_t seed) {
  Generator generator(seed);
  return randint(0, vocab, {batch, length}, {}, &generator);
}

TEST(GPT, NamesAndTiedEmbedding) {
  manual_seed(0);
  GPT tied(tiny());
  GPT untied({.vocab_size = 11, .context = 16, .layers = 2, .heads = 2, .width = 16, .tie_embeddings = false});
  auto names = [](const GPT& model) {
    std::vector<std::string> result;
    for (const auto& [name, parameter] : model.named_parameters()) result.push_back(name);
    return result;
  };
  std::vector<std::string> tied_names = names(tied);
  EXPECT_EQ(tied_names.front(), "token_embedding.weight");
  EXPECT_NE(std::find(tied_names.begin(), tied_names.end(), "blocks.1.attention.qkv.weight"), tied_names.end());
  EXPECT_NE(std::find(tied_names.begin(), tied_names.end(), "blocks.0.mlp.projection.bias"), tied_names.end());
  EXPECT_EQ(tied_names.back(), "final_norm.bias");
  EXPECT_EQ(tied.head, nullptr);
  ASSERT_NE(untied.head, nullptr);
  EXPECT_EQ(names(untied).back(), "head.weight");
  EXPECT_EQ(untied.num_parameters() - tied.num_parameters(), 11 * 16);
}

TEST(GPT, LogitsAtPositionTDependOnlyOnTokensUpToT) {
  manual_seed(1);
  GPT model(tiny());
  model.eval();
  const int64_t length = 16, cut = 7;
  Tensor tokens = random_tokens(3, length, 11, 2);
  Tensor changed = tokens.clone();
  changed.narrow(1, cut + 1, length - cut - 1).copy_(random_tokens(3, length - cut - 1, 11, 3));
  Tensor logits = model(tokens), changed_logits = model(changed);
  ASSERT_EQ(logits.sizes(), (Dims{3, length, 11}));
  // Bit for bit: the masked keys get weight exactly 0.
  EXPECT_EQ(logits.narrow(1, 0, cut + 1).to_vector<float>(), changed_logits.narrow(1, 0, cut + 1).to_vector<float>());
  // ... while the later positions do see the change.
  EXPECT_NE(logits.narrow(1, cut + 1, length - cut - 1).to_vector<float>(),
            changed_logits.narrow(1, cut + 1, length - cut - 1).to_vector<float>());
}

TEST(GPT, CachedLogitsEqualFullRecomputation) {
  manual_seed(4);
  GPT model(tiny());
  model.eval();
  const int64_t length = 16;
  Tensor tokens = random_tokens(2, length, 11, 5);
  Tensor full = model(tokens);
  KVCache cache = model.make_cache(2);
  // A prompt of 5, then single tokens, then a chunk of 4 after a non-empty past (the masked path).
  std::vector<std::pair<int64_t, int64_t>> chunks = {{0, 5}, {5, 1}, {6, 1}, {7, 4}, {11, 1}, {12, 4}};
  for (auto [start, size] : chunks) {
    Tensor cached = model.forward(tokens.narrow(1, start, size), cache);
    EXPECT_EQ(cache.length, start + size);
    EXPECT_TRUE(tensors_close(cached, full.narrow(1, start, size), 0.0, 1e-6)) << "positions " << start << "+" << size;
  }
  EXPECT_TRUE(throws_with<ShapeError>([&] { model.forward(tokens.narrow(1, 0, 1), cache); }, {"context 16"}));
}

TEST(GPT, CachedGenerationDrawsTheSameTokensAsFullRecomputation) {
  manual_seed(6);
  GPT model(tiny());
  std::vector<int64_t> prompt = {3, 1, 4};
  const int64_t within_context = 16 - 3 + 1;  // tokens drawn while the whole sequence fits the context
  for (const SamplingOptions& sampling : {SamplingOptions{}, SamplingOptions{.temperature = 0.8, .top_k = 5},
                                          SamplingOptions{.top_p = 0.9}, SamplingOptions{.temperature = 0}}) {
    Generator cached_generator(42), full_generator(42);
    std::vector<int64_t> streamed;
    std::vector<int64_t> cached =
        model.generate(prompt, within_context, {.sampling = sampling, .generator = &cached_generator},
                       [&](int64_t token) { streamed.push_back(token); });
    std::vector<int64_t> full = model.generate(
        prompt, within_context, {.sampling = sampling, .generator = &full_generator, .use_cache = false});
    EXPECT_EQ(cached, full) << "temperature " << sampling.temperature << ", top_k " << sampling.top_k;
    EXPECT_EQ(streamed, cached);
    Generator again(42);
    EXPECT_EQ(model.generate(prompt, within_context, {.sampling = sampling, .generator = &again}), cached);
  }
  EXPECT_TRUE(model.is_training());  // generate switched to eval and back
}

TEST(GPT, GenerationContinuesPastTheContext) {
  manual_seed(7);
  GPT model(tiny(8));
  std::vector<int64_t> prompt = {1, 2};
  Generator cached_generator(9), full_generator(9);
  std::vector<int64_t> cached = model.generate(prompt, 40, {.generator = &cached_generator});
  std::vector<int64_t> full = model.generate(prompt, 40, {.generator = &full_generator, .use_cache = false});
  ASSERT_EQ(cached.size(), 40u);
  for (int64_t token : cached) EXPECT_TRUE(token >= 0 && token < 11) << token;
  // Identical while the sequence fits the context (8 - 2 + 1 tokens); the two then forget differently.
  EXPECT_EQ(std::vector<int64_t>(cached.begin(), cached.begin() + 7),
            std::vector<int64_t>(full.begin(), full.begin() + 7));
}

TEST(GPT, MemorisesAShortText) {
  manual_seed(8);
  const std::string text =
      "It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of "
      "foolishness, it was the epoch of belief, it was the epoch of incredulity, it was the season of Light...";
  ASSERT_EQ(text.size(), 200u);
  std::vector<int64_t> bytes(text.begin(), text.end());
  Tensor all = tensor(bytes);
  Tensor x = all.narrow(0, 0, 199).unsqueeze(0), y = all.narrow(0, 1, 199);  // one sequence: every position known
  GPT model({.vocab_size = 256, .context = 199, .layers = 2, .heads = 2, .width = 32});
  optim::AdamW optimizer(model.parameters(), {.lr = 1e-2, .weight_decay = 0.0});
  double loss_value = 0;
  for (int step = 0; step < 150; ++step) {
    Tensor loss = functional::cross_entropy(model(x).squeeze(0), y);
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    loss_value = loss.item<float>();
  }
  EXPECT_LT(loss_value, 0.05);
}

TEST(GPT, BadSizesAndPromptsAreClearErrors) {
  EXPECT_TRUE(throws_with<ValueError>([] { GPT({.heads = 4, .width = 30}); }, {"width 30", "heads 4"}));
  EXPECT_TRUE(throws_with<ValueError>([] { GPT({.layers = 0}); }, {"layers 0"}));
  manual_seed(9);
  GPT model(tiny(8));
  std::vector<int64_t> long_prompt(9, 1);
  EXPECT_TRUE(throws_with<ValueError>([&] { model.generate(long_prompt, 1); }, {"9 tokens", "context = 8"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { model.generate({}, 1); }, {"0 tokens"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { model(random_tokens(1, 9, 11, 1)); }, {"[1, 9]", "context 8"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { model(zeros({1, 4})); }, {"int64"}));
  KVCache wrong_batch = model.make_cache(2);
  EXPECT_TRUE(throws_with<ShapeError>([&] { model.forward(random_tokens(1, 2, 11, 1), wrong_batch); }, {"batch 2"}));
}

}  // namespace
}  // namespace descent::nn
