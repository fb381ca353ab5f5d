// Text for language models: a byte-level tokenizer (256 symbols, any file), a character
// vocabulary built from a corpus (storable in a checkpoint's metadata), a corpus read once and
// split by position, and the TextDataset of context + 1 token windows the DataLoader serves.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <descent/data/dataset.h>
#include <descent/data/readers.h>

namespace descent::data {

// Bytes as tokens: token b is byte b. Every byte string round-trips, NULs and invalid UTF-8 included.
class ByteTokenizer {
 public:
  static constexpr int64_t kVocabSize = 256;
  int64_t vocab_size() const { return kVocabSize; }
  std::vector<int64_t> encode(std::string_view text) const;
  // Throws ValueError for a token outside [0, 256).
  std::string decode(std::span<const int64_t> tokens) const;
};

// The distinct bytes of a corpus, sorted: token k is the k-th smallest byte that occurs.
class CharVocabulary {
 public:
  // Throws ValueError for an empty corpus.
  static CharVocabulary from_corpus(std::span<const uint8_t> corpus);
  // The state (lower-case hex of the symbols, two digits a byte: JSON-safe for any bytes), for a
  // checkpoint's metadata, and back. from_state throws ValueError for a malformed state (odd
  // length, a non-hex digit, symbols not strictly increasing, empty).
  std::string state() const;
  static CharVocabulary from_state(std::string_view state);

  int64_t vocab_size() const { return static_cast<int64_t>(symbols_.size()); }
  const std::string& symbols() const { return symbols_; }
  // Throws ValueError naming the byte (and its offset) when a byte is not in the vocabulary.
  std::vector<int64_t> encode(std::string_view text) const;
  // Throws ValueError for a token outside [0, vocab_size()).
  std::string decode(std::span<const int64_t> tokens) const;

 private:
  std::string symbols_;      // sorted, distinct
  int16_t ids_[256] = {};    // byte -> token, -1 when absent
};

// The plain-text files of the Debian package `fortunes` (/usr/share/games/fortunes by default),
// in name order, concatenated: each is a list of `%`-separated quotations. The .dat files (strfile
// indexes) and the .u8 names (symbolic links to the same files) are skipped. Throws FileError
// naming the directory and the package when the directory is missing or holds no such file.
std::vector<uint8_t> fortunes_corpus(const std::string& directory = "/usr/share/games/fortunes");

struct TextCorpusOptions {
  double held_out_fraction = 0.1;  // the last this fraction of the tokens, in (0, 1)
  bool characters = false;         // a CharVocabulary of the corpus instead of bytes
  int64_t min_tokens = 2;          // each part must hold at least this many tokens (context + 1)
};

// A corpus's tokens, read once: the training part is tokens [0, split), the held-out part
// [split, size). Shared by the datasets over it (read-only, so safe from several threads).
class TextCorpus {
 public:
  // `name` (the file) is what errors name. Throws FileError for an empty corpus, a binary-looking
  // one (NUL bytes or other control characters than \t \n \v \f \r \b ESC BEL above 1% of the
  // bytes) or one too short for `min_tokens` in both parts; ValueError for bad options.
  TextCorpus(std::vector<uint8_t> bytes, const std::string& name, const TextCorpusOptions& options = {});
  static std::shared_ptr<const TextCorpus> from_file(const std::string& path, const TextCorpusOptions& options = {});

  const std::string& name() const { return name_; }
  const std::vector<int64_t>& tokens() const { return tokens_; }
  int64_t size() const { return static_cast<int64_t>(tokens_.size()); }
  int64_t split() const { return split_; }  // the first held-out token
  int64_t vocab_size() const;
  bool characters() const { return characters_; }
  const CharVocabulary& vocabulary() const;  // ValueError unless options.characters
  std::string decode(std::span<const int64_t> tokens) const;
  std::vector<int64_t> encode(std::string_view text) const;

 private:
  std::string name_;
  std::vector<int64_t> tokens_;
  int64_t split_ = 0;
  bool characters_ = false;
  CharVocabulary vocabulary_;
};

using TextCorpusPtr = std::shared_ptr<const TextCorpus>;

// Windows of context + 1 tokens of one part of a corpus: example i is x = tokens[s, s + T),
// y = tokens[s + 1, s + T + 1), int64 [T] each, with s + T + 1 never past the part's end.
//  - Train: `windows` examples per epoch (default: the training tokens / T), each starting at a
//    uniform position drawn from (seed, epoch, index) alone: reproducible whatever the threads.
//  - HeldOut: the non-overlapping windows s = split + i T, in order, as many as fit.
class TextDataset : public Dataset {
 public:
  enum class Split { Train, HeldOut };
  // Throws ValueError for context < 1 or windows < 0; FileError (naming the corpus) when the
  // part holds fewer than context + 1 tokens.
  TextDataset(TextCorpusPtr corpus, Split split, int64_t context, int64_t windows = 0, uint64_t seed = 0);

  int64_t size() const override { return windows_; }
  Example get(int64_t index) const override;
  Example get_batch(std::span<const int64_t> indices) const override;
  void set_epoch(int64_t epoch) const override { epoch_ = epoch; }

  // The position of example `index`'s first token in the corpus (for the current epoch).
  int64_t start(int64_t index) const;
  int64_t context() const { return context_; }
  const TextCorpus& corpus() const { return *corpus_; }

 private:
  TextCorpusPtr corpus_;
  Split split_;
  int64_t context_;
  int64_t windows_ = 0;
  int64_t begin_ = 0;  // the part's first token
  int64_t end_ = 0;    // one past its last
  uint64_t seed_;
  mutable std::atomic<int64_t> epoch_ = 0;
};

}  // namespace descent::data
