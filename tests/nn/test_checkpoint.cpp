// safetensors checkpoints (nn/checkpoint.cpp): round trips of every dtype and of a module, atomic
// saves, a set of broken and hostile files (each must be a descent Error naming the file and the
// problem), and interoperability with PyTorch through tests/nn/golden/gen_checkpoint.py.
//
// The interop test leaves the file descent saved at <temp dir>/descent_nn_interop.safetensors;
// PyTorch's side of the check reads it back:
//   /usr/bin/python3 tests/nn/golden/gen_checkpoint.py --check /tmp/descent_nn_interop.safetensors
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <sys/stat.h>

#include "testing.h"

namespace descent {
namespace {

namespace fs = std::filesystem;
using testing::Golden;
using testing::tensors_close;
using testing::throws_with;

// A fresh directory for one test's files, removed afterwards.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name) : path_(fs::temp_directory_path() / ("descent_nn_" + name)) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~ScratchDir() { fs::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::vector<std::string> listing() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(path_)) names.push_back(entry.path().filename().string());
    return names;
  }

 private:
  fs::path path_;
};

TEST(Checkpoint, RoundTripOfEveryDtypeAndMetadata) {
  ScratchDir dir("round_trip");
  nn::StateDict dict;
  dict.insert("f32", tensor({1.5f, -2.0f, 3.25f, 1e-30f}, {2, 2}));
  dict.insert("f64", tensor({0.1, -1e300}, {.dtype = kFloat64}));
  dict.insert("i64", tensor({int64_t{1} << 62, int64_t{-5}}));
  dict.insert("bool", tensor({true, false, true}));
  dict.insert("scalar", scalar_tensor(7.0));
  dict.insert("empty", zeros({0, 3}));
  dict.insert("transposed", arange(6.0).reshape({2, 3}).t());  // saved row-major
  nn::Metadata metadata = {{"producer", "descent"}, {"epoch", "3"}};
  nn::save(dict, dir.file("all.safetensors"), metadata);

  nn::Checkpoint loaded = nn::load(dir.file("all.safetensors"));
  EXPECT_EQ(loaded.metadata, metadata);
  EXPECT_EQ(loaded.tensors.keys(), dict.keys());
  for (const auto& [name, t] : dict) {
    const Tensor& back = loaded.tensors.at(name);
    EXPECT_EQ(back.dtype(), t.dtype()) << name;
    EXPECT_TRUE(tensors_close(back, t, 0, 0)) << name;
  }
  EXPECT_EQ(dir.listing(), std::vector<std::string>{"all.safetensors"});  // no temporary file left
}

TEST(Checkpoint, TheHeaderFollowsTheFormat) {
  ScratchDir dir("header");
  nn::StateDict dict;
  dict.insert("b", ones({3}));
  dict.insert("a", ones({2}, {.dtype = kInt64}));
  nn::save(dict, dir.file("h.safetensors"), {{"k", "v"}});
  std::ifstream in(dir.file("h.safetensors"), std::ios::binary);
  uint64_t length = 0;
  in.read(reinterpret_cast<char*>(&length), 8);
  std::string header(length, '\0');
  in.read(header.data(), static_cast<std::streamsize>(length));
  EXPECT_EQ(length % 8, 0u);  // padded so that the data starts aligned
  auto json = nlohmann::json::parse(header);
  EXPECT_EQ(json["__metadata__"]["k"], "v");
  EXPECT_EQ(json["b"]["dtype"], "F32");
  EXPECT_EQ(json["b"]["shape"], nlohmann::json::array({3}));
  EXPECT_EQ(json["b"]["data_offsets"], nlohmann::json::array({0, 12}));
  EXPECT_EQ(json["a"]["dtype"], "I64");
  EXPECT_EQ(json["a"]["data_offsets"], nlohmann::json::array({12, 28}));
  EXPECT_EQ(fs::file_size(dir.file("h.safetensors")), 8 + length + 28);
}

TEST(Checkpoint, SaveIsAtomic) {
  ScratchDir dir("atomic");
  std::string path = dir.file("model.safetensors");
  nn::StateDict first;
  first.insert("w", ones({2}));
  nn::save(first, path);
  // A save that fails (here: the rename over a directory of the same name) leaves no temporary
  // file, and a failed save over an existing checkpoint leaves it intact.
  fs::create_directories(dir.file("taken.safetensors") + "/inside");
  EXPECT_TRUE(throws_with<Error>([&] { nn::save(first, dir.file("taken.safetensors")); },
                                 {"save: '", "taken.safetensors': cannot rename"}));
  nn::StateDict bad;
  bad.insert("w", zeros({2}));
  bad.insert("__metadata__", zeros({1}));
  EXPECT_TRUE(throws_with<ValueError>([&] { nn::save(bad, path); }, {"a tensor cannot be named __metadata__"}));
  EXPECT_TRUE(tensors_close(nn::load(path).tensors.at("w"), ones({2}), 0, 0));
  std::vector<std::string> names = dir.listing();
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"model.safetensors", "taken.safetensors"}));
  EXPECT_TRUE(throws_with<Error>([&] { nn::save(first, dir.file("missing/dir/x.safetensors")); },
                                 {"missing/dir/x.safetensors': cannot create a temporary file"}));
}

// A save killed while writing leaves its temporary behind; the next save to that target removes
// it, and nothing else (other targets' temporaries, names that only look alike).
TEST(Checkpoint, SaveRemovesStaleTemporariesOfItsTarget) {
  ScratchDir dir("stale");
  std::vector<std::string> left = {".model.safetensors.tmp-Ab12Cd", ".model.safetensors.tmp-zzzzzz"};
  std::vector<std::string> kept = {".other.safetensors.tmp-Ab12Cd", ".model.safetensors.tmp-short",
                                   ".model.safetensors.tmp-Ab12Cd.bak", "model.safetensors.tmp-Ab12Cd"};
  for (const std::string& name : left) std::ofstream(dir.file(name)) << "half a checkpoint";
  for (const std::string& name : kept) std::ofstream(dir.file(name)) << "not ours";
  nn::StateDict dict;
  dict.insert("w", ones({2}));
  nn::save(dict, dir.file("model.safetensors"));
  std::vector<std::string> names = dir.listing();
  std::vector<std::string> expected = kept;
  expected.push_back("model.safetensors");
  std::sort(names.begin(), names.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(names, expected);
}

// ---- broken files ----

// A file: the 8-byte length (the header's own length unless given), the header, then the data.
std::string write_raw(const ScratchDir& dir, const std::string& header, const std::string& data,
                      std::optional<uint64_t> length = std::nullopt) {
  std::string path = dir.file("broken.safetensors");
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  uint64_t n = length.value_or(header.size());
  out.write(reinterpret_cast<const char*>(&n), 8);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  return path;
}

struct BrokenCase {
  std::string name;
  std::string header;
  size_t data_bytes;
  std::string expected_message;
  std::optional<uint64_t> length = std::nullopt;
};

TEST(Checkpoint, BrokenFilesAreErrorsNamingFileAndProblem) {
  ScratchDir dir("broken");
  const std::string f32x4 = R"("dtype":"F32","shape":[4])";
  std::vector<BrokenCase> cases = {
      {"header length past the end", "{}", 0, "header length 4096 exceeds the 2 bytes after the length field", 4096},
      {"header length over the limit", "{}", 0, "header length 1000000000000 exceeds the limit", 1000000000000},
      {"bad JSON", R"({"a": {"dtype": "F32",)", 0, "the header is not valid JSON"},
      {"invalid UTF-8", "{\"\xff\": 1}", 0, "the header is not valid JSON"},
      {"not an object", "[1, 2]", 0, "the header is not a JSON object"},
      {"entry not an object", R"({"a": 3})", 0, "the entry of 'a' is not an object"},
      {"unknown dtype", R"({"a":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}})", 4, "'a' has an unknown dtype 'F33'"},
      {"unsupported dtype", R"({"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})", 4,
       "'a' has dtype F16, which descent does not support"},
      {"dtype not a string", R"({"a":{"dtype":4,"shape":[1],"data_offsets":[0,4]}})", 4, "the dtype of 'a' is 4"},
      {"wrong byte count", R"({"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}})", 20,
       "'a' of shape [2, 3] and dtype F32 needs 24 bytes, but data_offsets [0, 20] hold 20"},
      {"shape overflowing 64 bits", R"({"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", 8,
       "needs 18446744073709551615 bytes"},
      {"empty shape whose strides overflow", R"({"a":{"dtype":"F32","shape":[0,4294967296,4294967296],"data_offsets":[0,0]}})",
       0, "the shape of 'a' is [0, 4294967296, 4294967296]: its strides overflow int64"},
      {"size too large", R"({"a":{"dtype":"F64","shape":[18446744073709551615],"data_offsets":[0,8]}})", 8,
       "too large"},
      {"negative size", R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4,
       "the shape of 'a' holds -1, not a non-negative integer"},
      {"fractional size", R"({"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", 4, "holds 1.5"},
      {"too many dims", R"({"a":{"dtype":"F32","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,4]}})", 4,
       "'a' has 9 dims, more than 8"},
      {"shape not an array", R"({"a":{"dtype":"F32","shape":4,"data_offsets":[0,16]}})", 16, "the shape of 'a' is not an array"},
      {"three offsets", R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}})", 8,
       "data_offsets of 'a' is [0,4,8], not two non-negative integers"},
      {"negative offset", R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})", 4, "not two non-negative integers"},
      {"end before start", R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}})", 4, "the end precedes the start"},
      {"missing field", R"({"a":{"dtype":"F32","shape":[1]}})", 4, "'a' lacks the field 'data_offsets'"},
      {"unknown field", R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":1}})", 4,
       "'a' has an unknown field 'extra'"},
      {"out of the file", "{\"a\":{" + f32x4 + R"(,"data_offsets":[0,16]}})", 8,
       "'a' has data_offsets [0, 16] outside the 8 bytes of data"},
      {"overlapping ranges", "{\"a\":{" + f32x4 + R"(,"data_offsets":[0,16]},"b":{)" + f32x4 + R"(,"data_offsets":[8,24]}})",
       24, "'b' at [8, 24] overlaps 'a' at [0, 16]"},
      {"a gap between ranges", "{\"a\":{" + f32x4 + R"(,"data_offsets":[0,16]},"b":{)" + f32x4 + R"(,"data_offsets":[20,36]}})",
       36, "bytes [16, 20] before 'b' belong to no tensor"},
      {"data before the first range", "{\"a\":{" + f32x4 + R"(,"data_offsets":[4,20]}})", 20,
       "bytes [0, 4] before 'a' belong to no tensor"},
      {"trailing bytes", "{\"a\":{" + f32x4 + R"(,"data_offsets":[0,16]}})", 20,
       "bytes [16, 20] after the last tensor belong to no tensor"},
      {"duplicate name", "{\"a\":{" + f32x4 + R"(,"data_offsets":[0,16]},"a":{)" + f32x4 + R"(,"data_offsets":[0,16]}})",
       16, "the header names 'a' twice"},
      {"metadata not an object", R"({"__metadata__":[1]})", 0, "__metadata__ is not an object of strings"},
      {"metadata value not a string", R"({"__metadata__":{"epoch":3}})", 0, "__metadata__ value of 'epoch' is not a string"},
  };
  for (const BrokenCase& c : cases) {
    std::string path = write_raw(dir, c.header, std::string(c.data_bytes, '\0'), c.length);
    EXPECT_TRUE(throws_with<Error>([&] { nn::load(path); }, {"load: '" + path + "': ", c.expected_message})) << c.name;
  }
}

// The header is flat; a deeply nested one (200,000 levels crashed eval with a stack overflow) is
// refused before it is parsed, wherever the nesting sits.
TEST(Checkpoint, DeeplyNestedHeadersAreRefused) {
  ScratchDir dir("deep");
  const size_t depth = 200'000;
  std::string nested_shape = R"({"a":{"dtype":"F32","shape":)" + std::string(depth, '[') + std::string(depth, ']') +
                             R"(,"data_offsets":[0,4]}})";
  std::string path = write_raw(dir, nested_shape, std::string(4, '\0'));
  EXPECT_TRUE(throws_with<Error>([&] { nn::load(path); }, {path, "the header nests deeper than 3 levels at byte 29"}));
  std::string nested_metadata = R"({"__metadata__":{"k":)" + std::string(depth, '{') + std::string(depth, '}') + "}}";
  path = write_raw(dir, nested_metadata, "");
  EXPECT_TRUE(throws_with<Error>([&] { nn::load(path); }, {path, "nests deeper than 3 levels"}));
  // Brackets inside strings are text, not nesting.
  path = write_raw(dir, R"({"__metadata__":{"[[[[{{{{":"]]]\"[[[["}})", "");
  EXPECT_EQ(nn::load(path).metadata.at("[[[[{{{{"), "]]]\"[[[[");
}

TEST(Checkpoint, TruncatedAndUnreadableFiles) {
  ScratchDir dir("truncated");
  std::string path = dir.file("short.safetensors");
  for (size_t size : {0, 5}) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << std::string(size, '\x01');
    EXPECT_TRUE(throws_with<Error>([&] { nn::load(path); },
                                   {"load: '" + path + "'", fmt::format("the file has {} bytes, fewer than the 8-byte", size)}));
  }
  // A good file cut short anywhere is an error, never a crash or a read out of bounds.
  nn::StateDict dict;
  dict.insert("w", arange(10.0));
  dict.insert("b", tensor({true, false}));
  std::string good = dir.file("good.safetensors");
  nn::save(dict, good);
  std::string bytes;
  {
    std::ifstream in(good, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(cut));
    EXPECT_THROW(nn::load(path), Error) << "cut at " << cut;
  }
  EXPECT_TRUE(throws_with<Error>([&] { nn::load(dir.file("absent.safetensors")); }, {"absent.safetensors': cannot open"}));
  // Opening a FIFO would wait for a writer forever; a directory is no checkpoint either.
  std::string fifo = dir.file("fifo.safetensors");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_TRUE(throws_with<Error>([&] { nn::load(fifo); }, {"fifo.safetensors': not a regular file (a FIFO)"}));
  EXPECT_TRUE(throws_with<Error>([&] { nn::load(dir.file("")); }, {"not a regular file (a directory)"}));
}

TEST(Checkpoint, BoolBytesOtherThanZeroOrOneAreRefused) {
  ScratchDir dir("bools");
  std::string path = write_raw(dir, R"({"m":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}})", std::string("\x01\x00\x02", 3));
  EXPECT_TRUE(throws_with<Error>([&] { nn::load(path); }, {"'m' (BOOL) holds the byte 2 at element 2, neither 0 nor 1"}));
}

TEST(Checkpoint, RangesMayBeListedInAnyOrder) {
  // The format fixes the byte ranges, not the order of the header's keys: ranges listed out of
  // order that tile the data exactly are valid (as for the reference implementation).
  ScratchDir dir("order");
  float values[3] = {1.0f, 2.0f, 3.0f};
  std::string data(reinterpret_cast<const char*>(values), sizeof values);
  std::string path = write_raw(dir, R"({"second":{"dtype":"F32","shape":[2],"data_offsets":[4,12]},)"
                                    R"("first":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", data);
  nn::Checkpoint loaded = nn::load(path);
  EXPECT_EQ(loaded.tensors.keys(), (std::vector<std::string>{"second", "first"}));
  EXPECT_TRUE(tensors_close(loaded.tensors.at("second"), tensor({2.0f, 3.0f}), 0, 0));
  EXPECT_TRUE(tensors_close(loaded.tensors.at("first"), tensor({1.0f}), 0, 0));
}

// ---- modules and PyTorch ----

// The model of tests/nn/golden/gen_checkpoint.py.
struct NetForInterop : nn::Module {
  nn::Linear fc1{4, 8};
  nn::Sequential body{nn::Tanh(), nn::Linear(8, 8, /*bias=*/false)};
  nn::Linear fc2{8, 3};
  Tensor counts = register_buffer("counts", zeros({3}, {.dtype = kInt64}));
  Tensor mask = register_buffer("mask", zeros({3}, {.dtype = kBool}));
  NetForInterop() {
    register_module("fc1", fc1);
    register_module("body", body);
    register_module("fc2", fc2);
  }
  Tensor forward(const Tensor& x) { return fc2(body(relu(fc1(x)))); }
};

TEST(Checkpoint, LoadsPyTorchWeightsAndPyTorchReadsOurs) {
  NetForInterop net;
  std::string from_pytorch = std::string(DESCENT_TEST_DATA_DIR) + "/nn/golden/checkpoint_model.safetensors";
  nn::load(net, from_pytorch);
  EXPECT_EQ(nn::load(from_pytorch).metadata, (nn::Metadata{{"producer", "gen_checkpoint.py"}}));
  EXPECT_EQ(net.counts.to_vector<int64_t>(), (std::vector<int64_t>{3, -1, 7}));
  EXPECT_EQ(net.mask.to_vector<bool>(), (std::vector<bool>{true, false, true}));
  Golden io("nn/golden/checkpoint_io.json");
  EXPECT_TRUE(tensors_close(net.forward(io.tensor("input")), io.tensor("expected"), 0, 1e-6));

  // Saved by descent, read back by descent; gen_checkpoint.py --check reads the same file.
  std::string ours = (fs::temp_directory_path() / "descent_nn_interop.safetensors").string();
  nn::save(net, ours, {{"producer", "descent"}});
  NetForInterop again;
  nn::load(again, ours);
  for (const auto& [name, t] : net.state_dict()) {
    EXPECT_TRUE(tensors_close(again.state_dict().at(name), t, 0, 0)) << name;
  }
}

TEST(Checkpoint, LoadIntoAModuleNamesTheFileAndTheKeys) {
  ScratchDir dir("module");
  nn::Linear small(2, 3);
  nn::save(small, dir.file("small.safetensors"));
  NetForInterop net;
  EXPECT_TRUE(throws_with<ValueError>([&] { nn::load(net, dir.file("small.safetensors")); },
                                      {"small.safetensors': load_state_dict: NetForInterop", "missing keys: counts, mask",
                                       "unexpected keys: weight, bias"}));
  nn::Linear other(2, 3);
  nn::LoadResult result = nn::load(other, dir.file("small.safetensors"));
  EXPECT_TRUE(result.missing_keys.empty());
  EXPECT_TRUE(tensors_close(other.weight, small.weight, 0, 0));
}

}  // namespace
}  // namespace descent
