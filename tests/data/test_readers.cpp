// IDX (plain and gzip), CSV and MNIST-layout reading, and the errors for bad files: each test
// writes its files into a fresh temporary directory.
#include <filesystem>
#include <fstream>

#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <descent/data/mnist.h>
#include <descent/data/readers.h>
#include "testing.h"

namespace descent::data {
namespace {

using descent::testing::throws_with;

class ReadersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("descent_readers_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, const std::vector<uint8_t>& bytes) {
    std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return path;
  }
  std::string write_text(const std::string& name, const std::string& text) {
    return write(name, std::vector<uint8_t>(text.begin(), text.end()));
  }
  std::filesystem::path dir_;
};

// An IDX file of unsigned bytes: header (magic 00 00 08 ndim, big-endian sizes) then the data.
std::vector<uint8_t> idx_bytes(const std::vector<uint32_t>& shape, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> out = {0, 0, 0x08, static_cast<uint8_t>(shape.size())};
  for (uint32_t size : shape) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(size >> shift));
  }
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

std::vector<uint8_t> gzip(const std::vector<uint8_t>& bytes) {
  z_stream stream{};
  EXPECT_EQ(deflateInit2(&stream, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::vector<uint8_t> out(deflateBound(&stream, bytes.size()) + 64);
  stream.next_in = const_cast<Bytef*>(bytes.data());
  stream.avail_in = static_cast<uInt>(bytes.size());
  stream.next_out = out.data();
  stream.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&stream, Z_FINISH), Z_STREAM_END);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

std::vector<uint8_t> iota_bytes(size_t n) {
  std::vector<uint8_t> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(i * 7 % 256);
  return out;
}

TEST_F(ReadersTest, IdxPlainAndGzipGiveTheSameTensor) {
  std::vector<uint8_t> data = iota_bytes(2 * 3 * 4);
  Tensor plain = read_idx(write("a.idx", idx_bytes({2, 3, 4}, data)));
  Tensor gzipped = read_idx(write("a.idx.gz", gzip(idx_bytes({2, 3, 4}, data))));
  EXPECT_EQ(plain.sizes(), Dims({2, 3, 4}));
  EXPECT_EQ(plain.dtype(), kInt64);
  std::vector<int64_t> values = plain.to_vector<int64_t>();
  for (size_t i = 0; i < data.size(); ++i) EXPECT_EQ(values[i], data[i]);
  EXPECT_EQ(gzipped.to_vector<int64_t>(), values);
}

TEST_F(ReadersTest, IdxBigEndianInt32AndFloat) {
  std::vector<uint8_t> ints = {0, 0, 0x0C, 1, 0, 0, 0, 2, 0xff, 0xff, 0xff, 0xfe, 0, 0, 1, 0};
  EXPECT_EQ(read_idx(write("i.idx", ints)).to_vector<int64_t>(), (std::vector<int64_t>{-2, 256}));
  std::vector<uint8_t> floats = {0, 0, 0x0D, 1, 0, 0, 0, 1, 0x3f, 0xc0, 0, 0};  // 1.5f big-endian
  Tensor f = read_idx(write("f.idx", floats));
  EXPECT_EQ(f.dtype(), kFloat32);
  EXPECT_EQ(f.item<float>(), 1.5f);
}

TEST_F(ReadersTest, IdxWrongMagicNumber) {
  std::string path = write("bad.idx", {1, 2, 3, 4, 0, 0, 0, 0});
  EXPECT_TRUE(throws_with<FileError>([&] { read_idx(path); }, {path, "offset 0", "wrong magic number 0x01020304"}));
  std::string unknown_type = write("type.idx", {0, 0, 0x07, 1, 0, 0, 0, 0});
  EXPECT_TRUE(throws_with<FileError>([&] { read_idx(unknown_type); }, {"wrong magic number 0x00000701"}));
}

TEST_F(ReadersTest, IdxTruncatedHeaderAndData) {
  std::string tiny = write("tiny.idx", {0, 0});
  EXPECT_TRUE(throws_with<FileError>([&] { read_idx(tiny); }, {tiny, "truncated header"}));
  std::string header = write("header.idx", {0, 0, 8, 3, 0, 0, 0, 2});
  EXPECT_TRUE(throws_with<FileError>([&] { read_idx(header); }, {header, "offset 8", "3 dims need 16 bytes"}));
  std::vector<uint8_t> short_data = idx_bytes({2, 3}, iota_bytes(5));
  std::string path = write("short.idx", short_data);
  EXPECT_TRUE(throws_with<FileError>([&] { read_idx(path); },
                                     {path, "offset 17", "truncated data: shape [2, 3] needs 6 bytes, the file has 5"}));
  // Sizes whose product overflows must be refused before anything is allocated or read.
  std::string huge = write("huge.idx", idx_bytes({0xffffffffu, 0xffffffffu, 0xffffffffu}, {}));
  EXPECT_TRUE(throws_with<FileError>([&] { read_idx(huge); }, {huge, "offset 4", "more elements than int64 can count"}));
  std::string extra = write("extra.idx", idx_bytes({2}, iota_bytes(3)));
  EXPECT_TRUE(throws_with<FileError>([&] { read_idx(extra); }, {extra, "offset 10", "1 unexpected bytes"}));
}

// No elements, yet the strides of [0, 2^32 - 1, 2^32 - 1, 2^32 - 1] overflow int64 (a fuzzed header).
TEST_F(ReadersTest, IdxEmptyShapeWhoseStridesOverflow) {
  std::string path = write("empty.idx", idx_bytes({0, 0xffffffffu, 0xffffffffu, 0xffffffffu}, {}));
  EXPECT_TRUE(throws_with<FileError>([&] { read_idx(path); }, {path, "more elements than int64 can count"}));
  std::string fine = write("fine.idx", idx_bytes({0, 0xffffffffu}, {}));
  EXPECT_EQ(read_idx(fine).sizes(), Dims({0, 0xffffffffu}));
}

TEST_F(ReadersTest, DirectoriesAndFifosAreRefusedWithoutReading) {
  std::filesystem::create_directory(dir_ / "dir.idx");
  std::string directory = (dir_ / "dir.idx").string();
  EXPECT_TRUE(throws_with<FileError>([&] { read_idx(directory); }, {directory, "not a regular file (a directory)"}));
  std::string fifo = (dir_ / "fifo.idx").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // Opening a FIFO for reading would wait for a writer: it must be refused at once.
  EXPECT_TRUE(throws_with<FileError>([&] { read_idx(fifo); }, {fifo, "not a regular file (a FIFO)"}));
  EXPECT_TRUE(throws_with<FileError>([&] { read_csv(fifo); }, {fifo, "not a regular file (a FIFO)"}));
  EXPECT_TRUE(throws_with<FileError>([&] { read_file("/dev/null"); }, {"/dev/null", "a character device"}));
}

// What a gzip file inflates to is bounded by its IDX header: a stream holding more stops there
// (a truncated or hostile file must not make the reader hold gigabytes).
TEST_F(ReadersTest, GzipIsInflatedOnlyAsFarAsTheHeaderAllows) {
  std::vector<uint8_t> long_stream = gzip(idx_bytes({16}, std::vector<uint8_t>(8 << 20, 0)));
  std::string path = write("long.gz", long_stream);
  EXPECT_TRUE(throws_with<FileError>([&] { read_idx(path); }, {path, "holds more than the 24 bytes expected"}));
  std::vector<uint8_t> cut(long_stream.begin(), long_stream.begin() + static_cast<std::ptrdiff_t>(long_stream.size() / 2));
  std::string truncated = write("cut_long.gz", cut);
  EXPECT_TRUE(throws_with<FileError>([&] { read_idx(truncated); }, {truncated, "holds more than the 24 bytes expected"}));
  // A header claiming more than deflate's 1032:1 ratio allows is refused before inflating.
  std::string claim = write("claim.gz", gzip(idx_bytes({1u << 31, 1u << 30}, iota_bytes(64))));
  EXPECT_TRUE(throws_with<FileError>([&] { read_idx(claim); },
                                     {claim, "needs 2305843009213693952 bytes, more than a gzip file of"}));
}

TEST_F(ReadersTest, BrokenAndTruncatedGzip) {
  std::vector<uint8_t> compressed = gzip(idx_bytes({64}, iota_bytes(64)));
  std::vector<uint8_t> cut(compressed.begin(), compressed.begin() + static_cast<std::ptrdiff_t>(compressed.size() / 2));
  std::string truncated = write("cut.gz", cut);
  EXPECT_TRUE(throws_with<FileError>([&] { read_idx(truncated); }, {truncated, "compressed offset", "truncated gzip"}));
  std::vector<uint8_t> corrupt = compressed;
  for (size_t i = 10; i < corrupt.size() - 8; ++i) corrupt[i] = 0xff;  // the deflate blocks, not the header
  std::string broken = write("broken.gz", corrupt);
  EXPECT_TRUE(throws_with<FileError>([&] { read_idx(broken); }, {broken, "compressed offset", "broken gzip stream"}));
  std::string missing = (dir_ / "missing.idx").string();
  EXPECT_TRUE(throws_with<FileError>([&] { read_idx(missing); }, {missing, "cannot open"}));
}

TEST_F(ReadersTest, CsvWithAndWithoutHeader) {
  CsvTable with = read_csv(write_text("h.csv", "a, b ,c\n1,2,3\n\n4.5,-6,1e2\r\n"));
  EXPECT_EQ(with.columns, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(with.values.sizes(), Dims({2, 3}));
  EXPECT_EQ(with.values.to_vector<float>(), (std::vector<float>{1, 2, 3, 4.5f, -6, 100}));
  CsvTable without = read_csv(write_text("n.csv", "1;2\n3;4"), {.delimiter = ';', .dtype = kFloat64});
  EXPECT_TRUE(without.columns.empty());
  EXPECT_EQ(without.values.dtype(), kFloat64);
  EXPECT_EQ(without.values.to_vector<double>(), (std::vector<double>{1, 2, 3, 4}));
}

TEST_F(ReadersTest, CsvRaggedAndNonNumericRows) {
  std::string ragged = write_text("r.csv", "x,y\n1,2\n3\n");
  EXPECT_TRUE(throws_with<FileError>([&] { read_csv(ragged); }, {ragged, "line 3", "ragged row: 1 fields where the first row has 2"}));
  std::string text = write_text("t.csv", "1,2\n3,abc\n");
  EXPECT_TRUE(throws_with<FileError>([&] { read_csv(text); }, {text, "line 2, column 2", "'abc' is not a number"}));
  std::string header_forced = write_text("f.csv", "1,2\n");
  EXPECT_EQ(read_csv(header_forced, {.header = CsvOptions::Header::Yes}).values.size(0), 0);
}

// int64 and bool columns are parsed as integers: exact beyond 2^53, and nothing out of range (inf,
// 1e19) is converted; float columns refuse finite numbers beyond their range.
TEST_F(ReadersTest, CsvIntegerColumnsAreParsedAsIntegers) {
  CsvTable ints = read_csv(write_text("i.csv", "9007199254740993,-9223372036854775808\n+7, 0\n"), {.dtype = kInt64});
  EXPECT_EQ(ints.values.to_vector<int64_t>(), (std::vector<int64_t>{9007199254740993, INT64_MIN, 7, 0}));
  CsvTable bools = read_csv(write_text("b.csv", "0,1\n1,1\n"), {.dtype = kBool});
  EXPECT_EQ(bools.values.dtype(), kBool);
  EXPECT_EQ(bools.values.to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 1, 1}));
  std::string inf = write_text("inf.csv", "1,2\n3,inf\n");
  EXPECT_TRUE(throws_with<FileError>([&] { read_csv(inf, {.dtype = kInt64}); },
                                     {inf, "line 2, column 2", "'inf' is not an integer"}));
  std::string big = write_text("big.csv", "1\n9223372036854775808\n");
  EXPECT_TRUE(throws_with<FileError>([&] { read_csv(big, {.dtype = kInt64}); },
                                     {big, "line 2, column 1", "out of the range of int64"}));
  std::string half = write_text("half.csv", "1.5\n");
  EXPECT_TRUE(throws_with<FileError>([&] { read_csv(half, {.dtype = kBool}); }, {half, "line 1, column 1", "not an integer"}));
  std::string two = write_text("two.csv", "0,2\n");
  EXPECT_TRUE(throws_with<FileError>([&] { read_csv(two, {.dtype = kBool}); }, {two, "column 2", "not 0 or 1"}));
  std::string wide = write_text("wide.csv", "1e39\n");
  EXPECT_TRUE(throws_with<FileError>([&] { read_csv(wide); }, {wide, "line 1, column 1", "out of the range of float32"}));
  EXPECT_EQ(read_csv(wide, {.dtype = kFloat64}).values.item<double>(), 1e39);
  std::string beyond = write_text("beyond.csv", "1e999\n");
  EXPECT_TRUE(throws_with<FileError>([&] { read_csv(beyond, {.dtype = kFloat64}); }, {beyond, "out of the range of float64"}));
  EXPECT_TRUE(std::isinf(read_csv(inf).values.at<float>({1, 1})));  // inf is a float
}

TEST_F(ReadersTest, MnistLayoutPlainAndGzip) {
  std::vector<uint8_t> pixels = iota_bytes(3 * 2 * 2);
  write("train-images-idx3-ubyte", idx_bytes({3, 2, 2}, pixels));
  write("train-labels-idx1-ubyte.gz", gzip(idx_bytes({3}, {7, 0, 9})));
  MNIST train(dir_.string(), Split::Train);
  ASSERT_EQ(train.size(), 3);
  auto [x, y] = train.get(1);
  EXPECT_EQ(x.sizes(), Dims({1, 2, 2}));
  EXPECT_EQ(x.dtype(), kFloat32);
  EXPECT_FLOAT_EQ(x.at<float>({0, 1, 1}), pixels[7] / 255.0f);
  EXPECT_EQ(y.dtype(), kInt64);
  EXPECT_EQ(y.item<int64_t>(), 0);
  std::vector<int64_t> rows = {2, 0};
  Example batch = train.get_batch(rows);
  EXPECT_EQ(batch.x.sizes(), Dims({2, 1, 2, 2}));
  EXPECT_EQ(batch.y.to_vector<int64_t>(), (std::vector<int64_t>{9, 7}));
  EXPECT_FLOAT_EQ(batch.x.at<float>({1, 0, 0, 1}), pixels[1] / 255.0f);
  EXPECT_TRUE(throws_with<IndexError>([&] { train.get(3); }, {"MNIST", "index 3"}));
}

TEST_F(ReadersTest, MnistCountsThatDifferAndMissingFiles) {
  write("t10k-images-idx3-ubyte", idx_bytes({3, 2, 2}, iota_bytes(12)));
  std::string labels = write("t10k-labels-idx1-ubyte", idx_bytes({2}, {1, 2}));
  EXPECT_TRUE(throws_with<FileError>([&] { FashionMNIST(dir_.string(), Split::Test); },
                                     {"holds 3 images", labels, "holds 2 labels"}));
  EXPECT_TRUE(throws_with<FileError>([&] { MNIST(dir_.string(), Split::Train); },
                                     {"train-images-idx3-ubyte.gz", "neither"}));
}

TEST(FashionMnist, DebianPackageWhenInstalled) {
  const std::string root = "/usr/share/datasets/fashion-mnist";
  if (!std::filesystem::exists(root)) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  FashionMNIST test(root, Split::Test);
  ASSERT_EQ(test.size(), 10000);
  EXPECT_EQ(test.rows(), 28);
  std::vector<int64_t> counts(10, 0);
  for (int64_t label : test.labels().to_vector<int64_t>()) counts.at(static_cast<size_t>(label))++;
  for (int64_t count : counts) EXPECT_EQ(count, 1000);  // the test set is balanced
}

}  // namespace
}  // namespace descent::data
