// safetensors save and load (the layout is in nn/checkpoint.h). The header is parsed and written
// with nlohmann-json; every check runs before any tensor data is read, and each failure names the
// file. Read load() from the top: header length, JSON, entries, ranges, then the data.
#include <descent/nn/checkpoint.h>

#include <algorithm>
#include <cctype>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>
#include <unordered_set>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <descent/autograd/ops.h>
#include <descent/core/regular_file.h>

namespace descent::nn {

// NOTE: tensors are written and read as their bytes in memory; the format is little-endian.
static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian machine");

namespace {

using Json = nlohmann::ordered_json;

// Larger headers are refused before reading them (the reference implementation's limit).
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
// The format's header is flat: the top object, an entry object, its shape or offsets array. Deeper
// nesting is refused before parsing, since a JSON value nested 200,000 levels deep overflows the
// stack of every recursive walk of it (printing it in an error message, copying it).
constexpr int kMaxHeaderDepth = 3;
constexpr const char* kMetadataKey = "__metadata__";

std::string_view safetensors_dtype(DType dtype) {
  switch (dtype) {
    case DType::Bool: return "BOOL";
    case DType::Int64: return "I64";
    case DType::Float32: return "F32";
    case DType::Float64: return "F64";
  }
  return "?";
}

// ---- saving ----

// Writes all of `bytes`, retrying short writes.
bool write_all(int fd, const char* bytes, size_t count) {
  while (count > 0) {
    ssize_t written = ::write(fd, bytes, count);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return false;
    bytes += written;
    count -= static_cast<size_t>(written);
  }
  return true;
}

// The temporaries of earlier saves to `target` that never reached their rename (the process was
// killed while writing): ".<name>.tmp-" and the six characters of mkstemp, in its directory.
// NOTE: a save to the same target running at that moment in another process loses its temporary
// and fails; two writers of one checkpoint race anyway (the last rename wins).
void remove_stale_temporaries(const std::filesystem::path& directory, const std::string& filename) {
  std::string prefix = fmt::format(".{}.tmp-", filename);
  std::error_code error;
  for (auto it = std::filesystem::directory_iterator(directory, error); !error && it != std::filesystem::directory_iterator();
       it.increment(error)) {
    std::string name = it->path().filename().string();
    bool ours = name.size() == prefix.size() + 6 && name.starts_with(prefix) &&
                std::all_of(name.begin() + static_cast<std::ptrdiff_t>(prefix.size()), name.end(),
                            [](unsigned char c) { return std::isalnum(c); });
    std::error_code ignored;
    if (ours && it->is_regular_file(ignored)) std::filesystem::remove(it->path(), ignored);
  }
}

// A temporary file beside the target, removed on destruction unless committed by rename.
class TemporaryFile {
 public:
  explicit TemporaryFile(const std::filesystem::path& target) : target_(target) {
    std::filesystem::path directory = target.has_parent_path() ? target.parent_path() : ".";
    name_ = (directory / fmt::format(".{}.tmp-XXXXXX", target.filename().string())).string();
    fd_ = ::mkstemp(name_.data());
    if (fd_ < 0) fail(fmt::format("cannot create a temporary file in {}", directory.string()));
    // mkstemp makes the file 0600; a checkpoint is an ordinary file.
    ::fchmod(fd_, 0644);
  }
  ~TemporaryFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(name_.c_str());
  }
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;

  void write(const void* bytes, size_t count) {
    if (!write_all(fd_, static_cast<const char*>(bytes), count)) fail("write failed");
  }
  // fsync, close, rename over the target, then fsync the directory so the rename is durable.
  void commit() {
    if (::fsync(fd_) != 0) fail("fsync failed");
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail("close failed");
    if (::rename(name_.c_str(), target_.c_str()) != 0) fail("cannot rename the temporary file over it");
    committed_ = true;
    std::filesystem::path directory = target_.has_parent_path() ? target_.parent_path() : ".";
    remove_stale_temporaries(directory, target_.filename().string());
    int directory_fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY);
    if (directory_fd >= 0) {
      ::fsync(directory_fd);
      ::close(directory_fd);
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(fmt::format("save: '{}': {}: {}", target_.string(), what, std::strerror(errno)));
  }

  std::filesystem::path target_;
  std::string name_;
  int fd_ = -1;
  bool committed_ = false;
};

}  // namespace

void save(const StateDict& tensors, const std::string& path, const Metadata& metadata) {
  Json header = Json::object();
  if (!metadata.empty()) header[kMetadataKey] = metadata;
  std::vector<Tensor> contiguous;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    check<ValueError>(name != kMetadataKey, "save: '{}': a tensor cannot be named {}", path, kMetadataKey);
    check<ValueError>(tensor.defined(), "save: '{}': tensor '{}' is undefined", path, name);
    Tensor data = tensor.detach().contiguous();
    uint64_t bytes = static_cast<uint64_t>(data.numel() * data.element_size());
    header[name] = {{"dtype", std::string(safetensors_dtype(data.dtype()))},
                    {"shape", std::vector<int64_t>(data.sizes().begin(), data.sizes().end())},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    contiguous.push_back(std::move(data));
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // the data starts 8-byte aligned
  uint64_t length = text.size();

  TemporaryFile file{std::filesystem::path(path)};
  file.write(&length, sizeof length);
  file.write(text.data(), text.size());
  for (const Tensor& data : contiguous) {
    file.write(data.raw_data(), static_cast<size_t>(data.numel() * data.element_size()));
  }
  file.commit();
}

void save(const Module& module, const std::string& path, const Metadata& metadata) {
  save(module.state_dict(), path, metadata);
}

// ---- loading ----

namespace {

// One tensor's header entry, validated.
struct Entry {
  std::string name;
  DType dtype;
  Dims shape;
  uint64_t begin, end;  // byte range within the data section
};

class Loader {
 public:
  explicit Loader(const std::string& path) : path_(path) {}

  Checkpoint run() {
    core::RegularFile in(path_);
    if (!in.error().empty()) fail("{}", in.error());
    uint64_t file_size = in.size();
    if (file_size < 8) fail("the file has {} bytes, fewer than the 8-byte header length", file_size);
    uint64_t header_length = 0;
    read(in, &header_length, 8);
    if (header_length > kMaxHeaderBytes) fail("header length {} exceeds the limit of {} bytes", header_length, kMaxHeaderBytes);
    if (header_length > file_size - 8) {
      fail("header length {} exceeds the {} bytes after the length field (truncated file?)", header_length,
           file_size - 8);
    }
    std::string text(static_cast<size_t>(header_length), '\0');
    read(in, text.data(), text.size());

    Checkpoint checkpoint;
    std::vector<Entry> entries = parse_header(text, checkpoint.metadata);
    check_ranges(entries, file_size - 8 - header_length);

    // Data, in the file's order; each range was checked to lie inside the file.
    std::vector<const Entry*> by_offset;
    for (const Entry& entry : entries) by_offset.push_back(&entry);
    std::sort(by_offset.begin(), by_offset.end(), [](const Entry* a, const Entry* b) { return a->begin < b->begin; });
    std::vector<Tensor> tensors(entries.size());
    for (const Entry* entry : by_offset) {
      Tensor t = Tensor::empty(entry->shape, entry->dtype);
      read(in, t.raw_data(), entry->end - entry->begin);
      if (entry->dtype == kBool) check_bools(*entry, t);
      tensors[static_cast<size_t>(entry - entries.data())] = std::move(t);
    }
    for (size_t i = 0; i < entries.size(); ++i) checkpoint.tensors.insert(entries[i].name, tensors[i]);
    return checkpoint;
  }

 private:
  template <typename... Args>
  [[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) const {
    throw Error(fmt::format("load: '{}': {}", path_, fmt::format(format, std::forward<Args>(args)...)));
  }

  void read(core::RegularFile& in, void* into, uint64_t count) {
    if (!in.read(into, static_cast<size_t>(count))) fail("the file ended early (changed while being read?)");
  }

  // Brackets and braces outside strings, counted before the JSON parser sees the text.
  void check_depth(const std::string& text) const {
    int depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < text.size(); ++i) {
      char c = text[i];
      if (in_string) {
        if (c == '\\') ++i;  // the escaped character cannot end the string
        else if (c == '"') in_string = false;
      } else if (c == '"') {
        in_string = true;
      } else if (c == '{' || c == '[') {
        if (++depth > kMaxHeaderDepth) fail("the header nests deeper than {} levels at byte {}", kMaxHeaderDepth, i);
      } else if (c == '}' || c == ']') {
        --depth;
      }
    }
  }

  std::vector<Entry> parse_header(const std::string& text, Metadata& metadata) const {
    check_depth(text);
    // Duplicate top-level keys would silently replace each other in the parsed object.
    std::unordered_set<std::string> keys;
    std::optional<std::string> duplicate;
    Json::parser_callback_t note_duplicates = [&](int depth, Json::parse_event_t event, Json& parsed) {
      if (depth == 1 && event == Json::parse_event_t::key && !keys.insert(parsed.get<std::string>()).second) {
        duplicate = duplicate.value_or(parsed.get<std::string>());
      }
      return true;
    };
    Json header;
    try {
      header = Json::parse(text, note_duplicates);
    } catch (const nlohmann::json::exception& error) {
      fail("the header is not valid JSON: {}", error.what());
    }
    if (!header.is_object()) fail("the header is not a JSON object");
    if (duplicate) fail("the header names '{}' twice", *duplicate);

    std::vector<Entry> entries;
    for (const auto& [name, value] : header.items()) {
      if (name == kMetadataKey) {
        if (!value.is_object()) fail("{} is not an object of strings", kMetadataKey);
        for (const auto& [key, item] : value.items()) {
          if (!item.is_string()) fail("{} value of '{}' is not a string", kMetadataKey, key);
          metadata[key] = item.get<std::string>();
        }
      } else {
        entries.push_back(parse_entry(name, value));
      }
    }
    return entries;
  }

  Entry parse_entry(const std::string& name, const Json& value) const {
    if (!value.is_object()) fail("the entry of '{}' is not an object", name);
    for (const auto& [field, item] : value.items()) {
      if (field != "dtype" && field != "shape" && field != "data_offsets") fail("'{}' has an unknown field '{}'", name, field);
    }
    for (const char* field : {"dtype", "shape", "data_offsets"}) {
      if (!value.contains(field)) fail("'{}' lacks the field '{}'", name, field);
    }
    Entry entry{name, kFloat32, Dims(), 0, 0};
    entry.dtype = parse_dtype(name, value["dtype"]);

    const Json& shape = value["shape"];
    if (!shape.is_array()) fail("the shape of '{}' is not an array", name);
    if (shape.size() > static_cast<size_t>(kMaxDims)) fail("'{}' has {} dims, more than {}", name, shape.size(), kMaxDims);
    for (const Json& size : shape) {
      if (!size.is_number_unsigned()) fail("the shape of '{}' holds {}, not a non-negative integer", name, size.dump());
      // Sizes above 2^62 are refused here; the byte count below cannot then overflow unnoticed.
      if (size.get<uint64_t>() > (uint64_t{1} << 62)) fail("the shape of '{}' holds the size {}, too large", name, size.dump());
      entry.shape.push_back(size.get<int64_t>());
    }

    const Json& offsets = value["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned()) {
      fail("data_offsets of '{}' is {}, not two non-negative integers", name, offsets.dump());
    }
    entry.begin = offsets[0].get<uint64_t>();
    entry.end = offsets[1].get<uint64_t>();
    if (entry.end < entry.begin) fail("data_offsets of '{}' is [{}, {}]: the end precedes the start", name, entry.begin, entry.end);

    // shape x dtype size must equal the range's length; computed in 128 bits so it cannot wrap.
    unsigned __int128 bytes = static_cast<unsigned __int128>(element_size(entry.dtype));
    for (int64_t size : entry.shape) {
      bytes *= static_cast<uint64_t>(size);
      if (bytes > std::numeric_limits<uint64_t>::max()) bytes = std::numeric_limits<uint64_t>::max();
    }
    if (bytes != entry.end - entry.begin) {
      fail("'{}' of shape {} and dtype {} needs {} bytes, but data_offsets [{}, {}] hold {}", name, entry.shape,
           safetensors_dtype(entry.dtype), static_cast<uint64_t>(bytes), entry.begin, entry.end, entry.end - entry.begin);
    }
    // The strides (products of the sizes, a size 0 counted as 1) must fit in int64 too: [0, 2^40,
    // 2^40] holds no bytes but is no tensor. Each size is at most 2^62, so 128 bits cannot wrap.
    unsigned __int128 extent = 1;
    for (int64_t size : entry.shape) {
      extent *= static_cast<uint64_t>(std::max<int64_t>(size, 1));
      if (extent > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        fail("the shape of '{}' is {}: its strides overflow int64", name, entry.shape);
      }
    }
    return entry;
  }

  DType parse_dtype(const std::string& name, const Json& value) const {
    if (!value.is_string()) fail("the dtype of '{}' is {}, not a string", name, value.dump());
    std::string dtype = value.get<std::string>();
    for (DType candidate : {kBool, kInt64, kFloat32, kFloat64}) {
      if (dtype == safetensors_dtype(candidate)) return candidate;
    }
    static const std::vector<std::string> other_known = {"U8",  "I8",  "U16", "I16",     "F16",    "BF16",
                                                         "U32", "I32", "U64", "F8_E4M3", "F8_E5M2"};
    if (std::find(other_known.begin(), other_known.end(), dtype) != other_known.end()) {
      fail("'{}' has dtype {}, which descent does not support (BOOL, I64, F32, F64)", name, dtype);
    }
    fail("'{}' has an unknown dtype '{}'", name, dtype);
  }

  // Sorted by start, the ranges must tile the data section exactly: no overlap, no gap, nothing
  // outside it, nothing after the last.
  void check_ranges(const std::vector<Entry>& entries, uint64_t data_size) const {
    std::vector<const Entry*> sorted;
    for (const Entry& entry : entries) {
      if (entry.end > data_size) {
        fail("'{}' has data_offsets [{}, {}] outside the {} bytes of data (truncated file?)", entry.name, entry.begin,
             entry.end, data_size);
      }
      sorted.push_back(&entry);
    }
    std::sort(sorted.begin(), sorted.end(), [](const Entry* a, const Entry* b) {
      return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
    });
    uint64_t position = 0;
    const Entry* previous = nullptr;
    for (const Entry* entry : sorted) {
      if (entry->begin < position) {
        fail("'{}' at [{}, {}] overlaps '{}' at [{}, {}]", entry->name, entry->begin, entry->end, previous->name,
             previous->begin, previous->end);
      }
      if (entry->begin > position) fail("bytes [{}, {}] before '{}' belong to no tensor", position, entry->begin, entry->name);
      position = entry->end;
      previous = entry;
    }
    if (position != data_size) fail("bytes [{}, {}] after the last tensor belong to no tensor", position, data_size);
  }

  // A bool byte other than 0 or 1 is not a valid bool (reading it would be undefined behaviour).
  void check_bools(const Entry& entry, const Tensor& t) const {
    const auto* bytes = static_cast<const unsigned char*>(t.raw_data());
    for (int64_t i = 0; i < t.numel(); ++i) {
      if (bytes[i] > 1) fail("'{}' (BOOL) holds the byte {} at element {}, neither 0 nor 1", entry.name, bytes[i], i);
    }
  }

  std::string path_;
};

}  // namespace

Checkpoint load(const std::string& path) { return Loader(path).run(); }

LoadResult load(Module& module, const std::string& path, bool strict) {
  Checkpoint checkpoint = load(path);
  try {
    return module.load_state_dict(checkpoint.tensors, strict);
  } catch (const ValueError& error) {
    throw ValueError(fmt::format("load: '{}': {}", path, error.what()));
  }
}

}  // namespace descent::nn
