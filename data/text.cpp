// Byte tokenizer, character vocabulary, the fortunes corpus, TextCorpus and TextDataset (see
// data/text.h).
#include <descent/data/text.h>

#include <algorithm>
#include <filesystem>

#include <descent/core/factory.h>

namespace descent::data {
namespace {

// The control characters that plain text uses; any other byte below 0x20 (and 0x7f) is not text.
bool is_text_control(uint8_t byte) {
  return byte == '\t' || byte == '\n' || byte == '\v' || byte == '\f' || byte == '\r' || byte == '\b' ||
         byte == 0x1b || byte == 0x07;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

// ---- ByteTokenizer ----

std::vector<int64_t> ByteTokenizer::encode(std::string_view text) const {
  std::vector<int64_t> tokens(text.size());
  for (size_t i = 0; i < text.size(); ++i) tokens[i] = static_cast<uint8_t>(text[i]);
  return tokens;
}

std::string ByteTokenizer::decode(std::span<const int64_t> tokens) const {
  std::string text(tokens.size(), '\0');
  for (size_t i = 0; i < tokens.size(); ++i) {
    check<ValueError>(tokens[i] >= 0 && tokens[i] < kVocabSize,
                      "ByteTokenizer::decode: token {} at position {} is outside [0, 256)", tokens[i], i);
    text[i] = static_cast<char>(static_cast<uint8_t>(tokens[i]));
  }
  return text;
}

// ---- CharVocabulary ----

CharVocabulary CharVocabulary::from_corpus(std::span<const uint8_t> corpus) {
  check<ValueError>(!corpus.empty(), "CharVocabulary::from_corpus: the corpus is empty");
  bool present[256] = {};
  for (uint8_t byte : corpus) present[byte] = true;
  CharVocabulary vocabulary;
  std::fill(std::begin(vocabulary.ids_), std::end(vocabulary.ids_), int16_t{-1});
  for (int byte = 0; byte < 256; ++byte) {
    if (!present[byte]) continue;
    vocabulary.ids_[byte] = static_cast<int16_t>(vocabulary.symbols_.size());
    vocabulary.symbols_.push_back(static_cast<char>(byte));
  }
  return vocabulary;
}

std::string CharVocabulary::state() const {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string state;
  state.reserve(symbols_.size() * 2);
  for (char symbol : symbols_) {
    auto byte = static_cast<uint8_t>(symbol);
    state.push_back(kDigits[byte >> 4]);
    state.push_back(kDigits[byte & 15]);
  }
  return state;
}

CharVocabulary CharVocabulary::from_state(std::string_view state) {
  check<ValueError>(!state.empty() && state.size() % 2 == 0,
                    "CharVocabulary::from_state: the state must be a non-empty even number of hex digits, "
                    "got {} characters", state.size());
  std::vector<uint8_t> symbols;
  for (size_t i = 0; i < state.size(); i += 2) {
    int high = hex_digit(state[i]);
    int low = hex_digit(state[i + 1]);
    check<ValueError>(high >= 0 && low >= 0, "CharVocabulary::from_state: '{}' at offset {} is not a hex byte",
                      state.substr(i, 2), i);
    auto byte = static_cast<uint8_t>(high * 16 + low);
    check<ValueError>(symbols.empty() || byte > symbols.back(),
                      "CharVocabulary::from_state: symbol {:#04x} at offset {} does not follow {:#04x} "
                      "(symbols must be strictly increasing)", byte, i, symbols.empty() ? 0 : symbols.back());
    symbols.push_back(byte);
  }
  return from_corpus(symbols);
}

std::vector<int64_t> CharVocabulary::encode(std::string_view text) const {
  std::vector<int64_t> tokens(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    int16_t id = ids_[static_cast<uint8_t>(text[i])];
    check<ValueError>(id >= 0, "CharVocabulary::encode: byte {:#04x} at offset {} is not in the vocabulary "
                      "of {} symbols", static_cast<uint8_t>(text[i]), i, symbols_.size());
    tokens[i] = id;
  }
  return tokens;
}

std::string CharVocabulary::decode(std::span<const int64_t> tokens) const {
  std::string text(tokens.size(), '\0');
  for (size_t i = 0; i < tokens.size(); ++i) {
    check<ValueError>(tokens[i] >= 0 && tokens[i] < vocab_size(),
                      "CharVocabulary::decode: token {} at position {} is outside [0, {})", tokens[i], i,
                      vocab_size());
    text[i] = symbols_[static_cast<size_t>(tokens[i])];
  }
  return text;
}

// ---- fortunes ----

std::vector<uint8_t> fortunes_corpus(const std::string& directory) {
  namespace fs = std::filesystem;
  std::error_code error;
  check<FileError>(fs::is_directory(directory, error),
                   "fortunes_corpus: {}: no such directory; install the Debian package `fortunes` "
                   "(scripts/install-deps does)", directory);
  std::vector<fs::path> files;
  for (const fs::directory_entry& entry : fs::directory_iterator(directory, error)) {
    std::string extension = entry.path().extension().string();
    // foo.u8 is a symbolic link to foo (the UTF-8 name of the same file); foo.dat is strfile's index.
    if (extension == ".dat" || extension == ".u8" || entry.is_symlink() || !entry.is_regular_file()) continue;
    files.push_back(entry.path());
  }
  check<FileError>(!error, "fortunes_corpus: {}: cannot list: {}", directory, error.message());
  check<FileError>(!files.empty(),
                   "fortunes_corpus: {}: holds no fortune files; install the Debian package `fortunes` "
                   "(scripts/install-deps does)", directory);
  std::sort(files.begin(), files.end());
  std::vector<uint8_t> corpus;
  for (const fs::path& file : files) {
    std::vector<uint8_t> bytes = read_file(file.string());
    corpus.insert(corpus.end(), bytes.begin(), bytes.end());
    if (!corpus.empty() && corpus.back() != '\n') corpus.push_back('\n');
  }
  return corpus;
}

// ---- TextCorpus ----

TextCorpus::TextCorpus(std::vector<uint8_t> bytes, const std::string& name, const TextCorpusOptions& options)
    : name_(name), characters_(options.characters) {
  check<ValueError>(options.held_out_fraction > 0 && options.held_out_fraction < 1,
                    "TextCorpus: {}: held_out_fraction must be in (0, 1), got {}", name, options.held_out_fraction);
  check<ValueError>(options.min_tokens >= 1, "TextCorpus: {}: min_tokens must be >= 1, got {}", name,
                    options.min_tokens);
  check<FileError>(!bytes.empty(), "TextCorpus: {}: the file is empty", name);
  int64_t nuls = 0;
  int64_t binary = 0;
  for (uint8_t byte : bytes) {
    nuls += byte == 0;
    binary += (byte < 0x20 && !is_text_control(byte)) || byte == 0x7f;
  }
  auto total = static_cast<int64_t>(bytes.size());
  check<FileError>(binary * 100 <= total,
                   "TextCorpus: {}: does not look like text: {} of its {} bytes are control characters "
                   "({} of them NUL); more than 1% means binary", name, binary, total, nuls);
  if (characters_) {
    vocabulary_ = CharVocabulary::from_corpus(bytes);
    tokens_ = vocabulary_.encode(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  } else {
    tokens_.assign(bytes.begin(), bytes.end());
  }
  auto held_out = static_cast<int64_t>(static_cast<double>(total) * options.held_out_fraction);
  split_ = total - held_out;
  check<FileError>(split_ >= options.min_tokens && held_out >= options.min_tokens,
                   "TextCorpus: {}: too short: {} bytes split into {} for training and {} held out "
                   "(fraction {}), each part needs at least {}", name, total, split_, held_out,
                   options.held_out_fraction, options.min_tokens);
}

std::shared_ptr<const TextCorpus> TextCorpus::from_file(const std::string& path, const TextCorpusOptions& options) {
  return std::make_shared<const TextCorpus>(read_file(path), path, options);
}

int64_t TextCorpus::vocab_size() const {
  return characters_ ? vocabulary_.vocab_size() : ByteTokenizer::kVocabSize;
}

const CharVocabulary& TextCorpus::vocabulary() const {
  check<ValueError>(characters_, "TextCorpus::vocabulary: {}: the corpus is byte-level (options.characters "
                    "was false)", name_);
  return vocabulary_;
}

std::string TextCorpus::decode(std::span<const int64_t> tokens) const {
  return characters_ ? vocabulary_.decode(tokens) : ByteTokenizer().decode(tokens);
}

std::vector<int64_t> TextCorpus::encode(std::string_view text) const {
  return characters_ ? vocabulary_.encode(text) : ByteTokenizer().encode(text);
}

// ---- TextDataset ----

TextDataset::TextDataset(TextCorpusPtr corpus, Split split, int64_t context, int64_t windows, uint64_t seed)
    : corpus_(std::move(corpus)), split_(split), context_(context), seed_(seed) {
  check<ValueError>(corpus_ != nullptr, "TextDataset: the corpus is null");
  check<ValueError>(context >= 1, "TextDataset: {}: context must be >= 1, got {}", corpus_->name(), context);
  check<ValueError>(windows >= 0, "TextDataset: {}: windows must be >= 0, got {}", corpus_->name(), windows);
  begin_ = split == Split::Train ? 0 : corpus_->split();
  end_ = split == Split::Train ? corpus_->split() : corpus_->size();
  const char* part = split == Split::Train ? "training" : "held-out";
  check<FileError>(end_ - begin_ >= context + 1,
                   "TextDataset: {}: too short: the {} part holds {} tokens, a window of context {} needs {}",
                   corpus_->name(), part, end_ - begin_, context, context + 1);
  if (split == Split::Train) {
    windows_ = windows > 0 ? windows : std::max<int64_t>(1, (end_ - begin_) / context);
  } else {
    windows_ = (end_ - begin_ - 1) / context;
    check<ValueError>(windows == 0, "TextDataset: {}: windows is for the training split only (got {})",
                      corpus_->name(), windows);
  }
}

int64_t TextDataset::start(int64_t index) const {
  check_index(index, windows_, "TextDataset::start");
  if (split_ == Split::HeldOut) return begin_ + index * context_;
  // Starts s in [begin, end - T - 1]: so many of them. The modulo's bias is below count / 2^64.
  auto count = static_cast<uint64_t>(end_ - begin_ - context_);
  uint64_t draw = derive_seed(seed_, static_cast<uint64_t>(epoch_.load()), static_cast<uint64_t>(index));
  return begin_ + static_cast<int64_t>(draw % count);
}

Example TextDataset::get(int64_t index) const {
  int64_t s = start(index);
  const int64_t* tokens = corpus_->tokens().data();
  std::vector<int64_t> x(tokens + s, tokens + s + context_);
  std::vector<int64_t> y(tokens + s + 1, tokens + s + context_ + 1);
  return {core::tensor(x), core::tensor(y)};
}

Example TextDataset::get_batch(std::span<const int64_t> indices) const {
  auto n = static_cast<int64_t>(indices.size());
  Tensor x = core::empty({n, context_}, TensorOptions{.dtype = kInt64});
  Tensor y = core::empty({n, context_}, TensorOptions{.dtype = kInt64});
  int64_t* xs = x.data<int64_t>();
  int64_t* ys = y.data<int64_t>();
  const int64_t* tokens = corpus_->tokens().data();
  for (int64_t i = 0; i < n; ++i) {
    int64_t s = start(indices[static_cast<size_t>(i)]);
    std::copy(tokens + s, tokens + s + context_, xs + i * context_);
    std::copy(tokens + s + 1, tokens + s + context_ + 1, ys + i * context_);
  }
  return {x, y};
}

}  // namespace descent::data
