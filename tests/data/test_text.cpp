// Text data: byte tokenizer and character vocabulary round-trips, TextCorpus's split and its errors
// (missing, empty, binary, too short), TextDataset's windows (inside their part, shifted by one,
// held-out in order, seeded), the fortunes corpus. Files go into a fresh temporary directory.
#include <filesystem>
#include <fstream>
#include <set>

#include <unistd.h>

#include <descent/data/dataloader.h>
#include <descent/data/text.h>
#include "testing.h"

namespace descent::data {
namespace {

using descent::testing::throws_with;

class TextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("descent_text_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& bytes) {
    std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return path;
  }
  std::filesystem::path dir_;
};

std::vector<uint8_t> bytes_of(const std::string& text) { return {text.begin(), text.end()}; }

// Every byte value once, then NULs and invalid UTF-8 (a lone continuation byte, a truncated
// sequence, an overlong encoding, 0xff).
std::string awkward_bytes() {
  std::string text;
  for (int b = 0; b < 256; ++b) text.push_back(static_cast<char>(b));
  text += std::string("\0\0a\x80\xc3\xe2\x82\xc0\xaf\xff\xfe", 11);
  return text;
}

TEST(ByteTokenizer, RoundTripsArbitraryBytes) {
  ByteTokenizer tokenizer;
  std::string text = awkward_bytes();
  std::vector<int64_t> tokens = tokenizer.encode(text);
  ASSERT_EQ(tokens.size(), text.size());
  for (int b = 0; b < 256; ++b) EXPECT_EQ(tokens[static_cast<size_t>(b)], b);
  EXPECT_EQ(tokens[256], 0);
  EXPECT_EQ(tokens.back(), 0xfe);
  EXPECT_EQ(tokenizer.decode(tokens), text);
  EXPECT_EQ(tokenizer.vocab_size(), 256);
  std::vector<int64_t> bad = {65, 256};
  EXPECT_TRUE(throws_with<ValueError>([&] { tokenizer.decode(bad); }, {"token 256", "position 1"}));
  bad = {-1};
  EXPECT_TRUE(throws_with<ValueError>([&] { tokenizer.decode(bad); }, {"token -1"}));
}

TEST(CharVocabulary, SortedDistinctBytesAndRoundTrips) {
  std::string corpus = std::string("hello\0world\xff", 12);
  CharVocabulary vocabulary = CharVocabulary::from_corpus(bytes_of(corpus));
  EXPECT_EQ(vocabulary.symbols(), std::string("\0dehlorw\xff", 9));
  EXPECT_EQ(vocabulary.vocab_size(), 9);
  std::vector<int64_t> tokens = vocabulary.encode(corpus);
  EXPECT_EQ(tokens[0], 3);  // 'h'
  EXPECT_EQ(tokens[5], 0);  // NUL
  EXPECT_EQ(tokens[11], 8);  // 0xff
  EXPECT_EQ(vocabulary.decode(tokens), corpus);

  // Through the state (as a checkpoint's metadata holds it) and back.
  EXPECT_EQ(vocabulary.state(), "006465686c6f7277ff");
  CharVocabulary restored = CharVocabulary::from_state(vocabulary.state());
  EXPECT_EQ(restored.symbols(), vocabulary.symbols());
  EXPECT_EQ(restored.encode(corpus), tokens);
  EXPECT_EQ(CharVocabulary::from_state("006465686C6F7277FF").symbols(), vocabulary.symbols());

  EXPECT_TRUE(throws_with<ValueError>([&] { vocabulary.encode("hex"); }, {"byte 0x78", "offset 2"}));
  std::vector<int64_t> bad = {9};
  EXPECT_TRUE(throws_with<ValueError>([&] { vocabulary.decode(bad); }, {"token 9", "[0, 9)"}));
  EXPECT_TRUE(throws_with<ValueError>([] { CharVocabulary::from_state(""); }, {"0 characters"}));
  EXPECT_TRUE(throws_with<ValueError>([] { CharVocabulary::from_state("616"); }, {"3 characters"}));
  EXPECT_TRUE(throws_with<ValueError>([] { CharVocabulary::from_state("61zz"); }, {"'zz'", "offset 2"}));
  EXPECT_TRUE(throws_with<ValueError>([] { CharVocabulary::from_state("6261"); }, {"strictly increasing"}));
  EXPECT_TRUE(throws_with<ValueError>([] { CharVocabulary::from_state("6161"); }, {"strictly increasing"}));
  EXPECT_TRUE(throws_with<ValueError>([] { CharVocabulary::from_corpus({}); }, {"empty"}));
}

TEST_F(TextTest, CorpusSplitsByPosition) {
  std::string text = "abcdefghijklmnopqrst";  // 20 bytes
  auto corpus = TextCorpus::from_file(write("t.txt", text), {.held_out_fraction = 0.25});
  EXPECT_EQ(corpus->size(), 20);
  EXPECT_EQ(corpus->split(), 15);
  EXPECT_EQ(corpus->tokens()[15], 'p');
  EXPECT_EQ(corpus->vocab_size(), 256);
  EXPECT_EQ(corpus->decode(corpus->tokens()), text);
  EXPECT_FALSE(corpus->characters());
  EXPECT_TRUE(throws_with<ValueError>([&] { corpus->vocabulary(); }, {"byte-level"}));

  auto chars = TextCorpus::from_file(write("c.txt", "abacabad\n"), {.held_out_fraction = 0.5, .characters = true});
  EXPECT_EQ(chars->vocab_size(), 5);  // \n a b c d
  EXPECT_EQ(chars->tokens()[0], 1);
  EXPECT_EQ(chars->vocabulary().state(), "0a61626364");
  EXPECT_EQ(chars->decode(chars->tokens()), "abacabad\n");
  EXPECT_EQ(chars->encode("dab"), (std::vector<int64_t>{4, 1, 2}));
}

TEST_F(TextTest, CorpusErrorsNameTheFile) {
  std::string missing = (dir_ / "missing.txt").string();
  EXPECT_TRUE(throws_with<FileError>([&] { TextCorpus::from_file(missing); }, {missing, "cannot open"}));
  std::string empty = write("empty.txt", "");
  EXPECT_TRUE(throws_with<FileError>([&] { TextCorpus::from_file(empty); }, {empty, "empty"}));
  std::string zeros = write("zeros.bin", std::string(1000, '\0'));
  EXPECT_TRUE(throws_with<FileError>([&] { TextCorpus::from_file(zeros); },
                                     {zeros, "does not look like text", "1000 of its 1000", "1000 of them NUL"}));
  // 2% control bytes (no NUL) is binary; 1% is still text, as are \t \r \f \b and bytes >= 0x80.
  std::string mostly(98, 'a');
  mostly += "\x01\x02";
  std::string binary = write("binary.bin", mostly);
  EXPECT_TRUE(throws_with<FileError>([&] { TextCorpus::from_file(binary); }, {binary, "2 of its 100", "0 of them NUL"}));
  std::string fine(95, 'a');
  fine += std::string("\0\t\r\f\b\xe9\xff", 7) + "ok";
  EXPECT_EQ(TextCorpus::from_file(write("fine.txt", fine))->size(), 104);

  std::string short_file = write("short.txt", "abc");
  EXPECT_TRUE(throws_with<FileError>([&] { TextCorpus::from_file(short_file); },
                                     {short_file, "too short", "3 bytes", "3 for training and 0 held out"}));
  EXPECT_TRUE(throws_with<FileError>([&] { TextCorpus::from_file(short_file, {.held_out_fraction = 0.5, .min_tokens = 2}); },
                                     {short_file, "2 for training and 1 held out", "at least 2"}));
  std::string ok = write("ok.txt", "abcdefghij");
  EXPECT_TRUE(throws_with<ValueError>([&] { TextCorpus::from_file(ok, {.held_out_fraction = 1.0}); },
                                      {ok, "held_out_fraction", "(0, 1)"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { TextCorpus::from_file(ok, {.held_out_fraction = 0.0}); }, {ok}));

  auto corpus = TextCorpus::from_file(ok, {.held_out_fraction = 0.3});  // 7 + 3
  EXPECT_TRUE(throws_with<FileError>([&] { TextDataset(corpus, TextDataset::Split::HeldOut, 3); },
                                     {ok, "held-out part holds 3 tokens", "context 3 needs 4"}));
  EXPECT_TRUE(throws_with<FileError>([&] { TextDataset(corpus, TextDataset::Split::Train, 7); },
                                     {ok, "training part holds 7 tokens", "needs 8"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { TextDataset(corpus, TextDataset::Split::Train, 0); }, {"context must be >= 1"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { TextDataset(corpus, TextDataset::Split::Train, 2, -1); }, {"windows"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { TextDataset(corpus, TextDataset::Split::HeldOut, 2, 5); }, {"training split only"}));
}

// Each token's value is its position, so a window's tokens say where it was taken from.
TextCorpusPtr positional_corpus(int64_t n, double held_out_fraction) {
  std::vector<uint8_t> bytes(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) bytes[static_cast<size_t>(i)] = static_cast<uint8_t>(' ' + i);
  return std::make_shared<const TextCorpus>(bytes, "positions", TextCorpusOptions{.held_out_fraction = held_out_fraction});
}

TEST(TextDataset, TrainingWindowsStayInsideTheirPartAndShiftByOne) {
  // Exhaustively over a small corpus: every context, many epochs; every start in the part is drawn.
  auto corpus = positional_corpus(40, 0.25);  // train [0, 30), held out [30, 40)
  ASSERT_EQ(corpus->split(), 30);
  for (int64_t context = 1; context <= 29; ++context) {
    TextDataset train(corpus, TextDataset::Split::Train, context, 64, /*seed=*/context);
    EXPECT_EQ(train.size(), 64);
    std::set<int64_t> starts;
    for (int64_t epoch = 0; epoch < 8; ++epoch) {
      train.set_epoch(epoch);
      for (int64_t i = 0; i < train.size(); ++i) {
        auto [x, y] = train.get(i);
        ASSERT_EQ(x.dtype(), kInt64);
        ASSERT_EQ(x.sizes(), Dims{context});
        ASSERT_EQ(y.sizes(), Dims{context});
        int64_t s = train.start(i);
        starts.insert(s);
        ASSERT_GE(s, 0);
        ASSERT_LE(s + context + 1, 30) << "context " << context << " start " << s;
        for (int64_t t = 0; t < context; ++t) {
          ASSERT_EQ(x.data<int64_t>()[t], ' ' + s + t);
          ASSERT_EQ(y.data<int64_t>()[t], ' ' + s + t + 1);
        }
      }
    }
    EXPECT_EQ(static_cast<int64_t>(starts.size()), 30 - context) << "context " << context;
  }
}

TEST(TextDataset, HeldOutWindowsCoverTheHeldOutPartInOrder) {
  auto corpus = positional_corpus(50, 0.4);  // held out [30, 50): 20 tokens
  for (int64_t context = 1; context <= 19; ++context) {
    TextDataset held_out(corpus, TextDataset::Split::HeldOut, context);
    int64_t windows = 19 / context;
    ASSERT_EQ(held_out.size(), windows);
    std::vector<int64_t> xs;
    std::vector<int64_t> ys;
    for (int64_t i = 0; i < held_out.size(); ++i) {
      auto [x, y] = held_out.get(i);
      EXPECT_EQ(held_out.start(i), 30 + i * context);
      xs.insert(xs.end(), x.data<int64_t>(), x.data<int64_t>() + context);
      ys.insert(ys.end(), y.data<int64_t>(), y.data<int64_t>() + context);
    }
    // Targets run through the held-out part without gap or overlap; the last fits before the end.
    for (size_t k = 0; k < xs.size(); ++k) {
      ASSERT_EQ(xs[k], ' ' + 30 + static_cast<int64_t>(k));
      ASSERT_EQ(ys[k], xs[k] + 1);
    }
    EXPECT_LE(ys.back(), ' ' + 49);
    EXPECT_GT(ys.back() + context, ' ' + 49) << "another window would fit, context " << context;
  }
}

TEST(TextDataset, SeededWindowsAreReproducibleAndBatchesMatchGet) {
  auto corpus = positional_corpus(200, 0.1);
  TextDataset a(corpus, TextDataset::Split::Train, 8, 50, /*seed=*/7);
  TextDataset b(corpus, TextDataset::Split::Train, 8, 50, /*seed=*/7);
  TextDataset c(corpus, TextDataset::Split::Train, 8, 50, /*seed=*/8);
  std::vector<int64_t> starts_a;
  std::vector<int64_t> starts_b;
  std::vector<int64_t> starts_c;
  for (int64_t i = 0; i < 50; ++i) {
    starts_a.push_back(a.start(i));
    starts_b.push_back(b.start(49 - (49 - i)));  // same index, same start whatever the order
    starts_c.push_back(c.start(i));
  }
  EXPECT_EQ(starts_a, starts_b);
  EXPECT_NE(starts_a, starts_c);
  a.set_epoch(1);
  std::vector<int64_t> next_epoch;
  for (int64_t i = 0; i < 50; ++i) next_epoch.push_back(a.start(i));
  EXPECT_NE(next_epoch, starts_a);
  a.set_epoch(0);
  EXPECT_EQ(a.start(3), starts_a[3]);

  std::vector<int64_t> indices = {4, 0, 4, 31};
  auto [x, y] = a.get_batch(indices);
  ASSERT_EQ(x.sizes(), (Dims{4, 8}));
  ASSERT_EQ(y.sizes(), (Dims{4, 8}));
  for (size_t i = 0; i < indices.size(); ++i) {
    auto [xi, yi] = a.get(indices[i]);
    for (int64_t t = 0; t < 8; ++t) {
      EXPECT_EQ(x.data<int64_t>()[static_cast<int64_t>(i) * 8 + t], xi.data<int64_t>()[t]);
      EXPECT_EQ(y.data<int64_t>()[static_cast<int64_t>(i) * 8 + t], yi.data<int64_t>()[t]);
    }
  }
  // The default number of windows: the training tokens over the context.
  EXPECT_EQ(TextDataset(corpus, TextDataset::Split::Train, 8).size(), 180 / 8);
}

TEST(TextDataset, TheDataLoaderServesBatches) {
  auto corpus = positional_corpus(120, 0.25);
  auto train = std::make_shared<const TextDataset>(corpus, TextDataset::Split::Train, 6, 20, 3);
  DataLoader loader(train, {.batch_size = 8, .shuffle = true});
  int64_t rows = 0;
  for (const Example& batch : loader) {
    ASSERT_EQ(batch.x.dim(), 2);
    EXPECT_EQ(batch.x.size(1), 6);
    EXPECT_EQ(batch.y.dtype(), kInt64);
    rows += batch.x.size(0);
    for (int64_t r = 0; r < batch.x.size(0); ++r) {
      int64_t first = batch.x.contiguous().data<int64_t>()[r * 6] - ' ';
      EXPECT_LE(first + 7, 90);
    }
  }
  EXPECT_EQ(rows, 20);
}

TEST_F(TextTest, FortunesCorpusConcatenatesThePlainTextFiles) {
  std::filesystem::create_directories(dir_ / "fortunes");
  write("fortunes/b", "second\n%\nquote\n");
  write("fortunes/a", "first\n%");  // no final newline: one is added
  write("fortunes/a.dat", std::string("\0\0\0\2index", 9));
  std::filesystem::create_symlink("a", dir_ / "fortunes" / "a.u8");
  std::vector<uint8_t> corpus = fortunes_corpus((dir_ / "fortunes").string());
  EXPECT_EQ(std::string(corpus.begin(), corpus.end()), "first\n%\nsecond\n%\nquote\n");

  std::string missing = (dir_ / "nowhere").string();
  EXPECT_TRUE(throws_with<FileError>([&] { fortunes_corpus(missing); }, {missing, "no such directory", "`fortunes`"}));
  std::filesystem::create_directories(dir_ / "bare");
  write("bare/x.dat", "idx");
  EXPECT_TRUE(throws_with<FileError>([&] { fortunes_corpus((dir_ / "bare").string()); }, {"holds no fortune files", "`fortunes`"}));
}

TEST(FortunesCorpus, TheInstalledPackageIsText) {
  if (!std::filesystem::is_directory("/usr/share/games/fortunes")) GTEST_SKIP() << "the fortunes package is not installed";
  std::vector<uint8_t> bytes = fortunes_corpus();
  EXPECT_GT(bytes.size(), 1'000'000u);
  TextCorpus corpus(std::move(bytes), "fortunes");  // not binary-looking
  EXPECT_GT(corpus.split(), corpus.size() * 8 / 10);
  TextDataset held_out(std::make_shared<const TextCorpus>(corpus), TextDataset::Split::HeldOut, 256);
  EXPECT_GT(held_out.size(), 500);
}

}  // namespace
}  // namespace descent::data
