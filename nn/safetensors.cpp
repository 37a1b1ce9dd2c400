// safetensors.cpp — the safetensors reader and writer (see safetensors.h).
#include "nn/safetensors.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "engine/file_io.h"
#include "engine/text.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "safetensors.cpp copies raw bytes: the host must be little-endian");

namespace nanofed::nn {

namespace {

using ordered_json = nlohmann::ordered_json;

const char* st_dtype(DType t) {
  switch (t) {
    case DType::f32: return "F32";
    case DType::i32: return "I32";
    case DType::u8: return "U8";
  }
  return "?";
}

// The reference sorts by its Dtype enum, larger first; among ours that is F32 > I32 > U8.
int st_rank(DType t) { return t == DType::f32 ? 2 : t == DType::i32 ? 1 : 0; }

// What a file's dtype becomes here, and its element size in the file.
struct FileDType {
  const char* name;
  size_t size;
  DType to;
};
const FileDType kFileDTypes[] = {{"F32", 4, DType::f32}, {"I32", 4, DType::i32}, {"U8", 1, DType::u8},
                                 {"BOOL", 1, DType::u8}, {"I64", 8, DType::i32}, {"F64", 8, DType::f32}};

std::string offsets_str(uint64_t b, uint64_t e) {
  return "[" + std::to_string(b) + ", " + std::to_string(e) + "]";
}

struct Entry {
  std::string name;
  const FileDType* dtype;
  Shape shape;
  uint64_t begin, end;
};

}  // namespace

// ---------------------------------------------------------------- writing

std::string serialize_safetensors(const NamedTensors& tensors, const Metadata& metadata) {
  std::vector<std::pair<std::string, Tensor>> sorted;
  std::set<std::string> seen;
  for (auto& [name, t] : tensors) {
    NF_CHECK(!name.empty(), "write_safetensors: a tensor name is empty");
    NF_CHECK(name != "__metadata__", "write_safetensors: '__metadata__' is reserved, not a tensor name");
    NF_CHECK(seen.insert(name).second, "write_safetensors: tensor '" << name << "' appears twice");
    NF_CHECK(t.defined(), "write_safetensors: tensor '" << name << "' is undefined");
    sorted.push_back({name, t.to(Device::cpu())});
  }
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    const int ra = st_rank(a.second.dtype()), rb = st_rank(b.second.dtype());
    return ra != rb ? ra > rb : a.first < b.first;
  });

  ordered_json header = ordered_json::object();
  if (!metadata.empty()) {
    ordered_json m = ordered_json::object();
    for (auto& [k, v] : metadata) m[k] = v;
    header["__metadata__"] = m;
  }
  uint64_t offset = 0;
  for (auto& [name, t] : sorted) {
    ordered_json info = ordered_json::object();
    info["dtype"] = st_dtype(t.dtype());
    info["shape"] = ordered_json::array();
    for (int64_t d : t.shape()) info["shape"].push_back(d);
    info["data_offsets"] = ordered_json::array({offset, offset + (uint64_t)t.nbytes()});
    offset += t.nbytes();
    header[name] = info;
  }
  std::string json;
  try {
    json = header.dump();
  } catch (const nlohmann::json::exception& e) {  // e.g. a name that is not valid UTF-8
    NF_CHECK(false, "write_safetensors: cannot encode the header: " << json_error_text(e.what()));
  }
  json.append((8 - json.size() % 8) % 8, ' ');  // like the reference: pad to 8 with spaces

  std::string out(8, '\0');
  const uint64_t n = json.size();
  std::memcpy(&out[0], &n, 8);
  out += json;
  out.reserve(out.size() + offset);
  for (auto& [name, t] : sorted)
    if (t.nbytes()) out.append((const char*)t.raw_data(), t.nbytes());
  return out;
}

void write_safetensors(const std::string& path, const NamedTensors& tensors, const Metadata& metadata) {
  nanofed::write_file_atomic(path, serialize_safetensors(tensors, metadata), "write_safetensors");
}

// ---------------------------------------------------------------- reading

SafetensorsFile parse_safetensors(const std::string& bytes, const std::string& source) {
#define NF_ST_CHECK(cond, msg) NF_CHECK(cond, "read_safetensors: " << source << ": " << msg)
  NF_ST_CHECK(bytes.size() >= 8, "file is " << bytes.size() << " bytes, shorter than the 8-byte header length");
  uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  const uint64_t after = bytes.size() - 8;
  NF_ST_CHECK(n <= after, "header length " << n << " is larger than the " << after
                                           << " bytes that follow it (truncated or not a safetensors file)");
  ordered_json header;
  try {
    header = ordered_json::parse(bytes.begin() + 8, bytes.begin() + 8 + (std::ptrdiff_t)n);
  } catch (const nlohmann::json::exception& e) {
    NF_ST_CHECK(false, "invalid JSON header: " << json_error_text(e.what()));
  }
  NF_ST_CHECK(header.is_object(), "the JSON header is not an object");
  const uint64_t data_len = after - n;
  const char* data = bytes.data() + 8 + n;

  SafetensorsFile out;
  std::vector<Entry> entries;
  for (auto& [key, val] : header.items()) {
    if (key == "__metadata__") {
      NF_ST_CHECK(val.is_object(), "'__metadata__' is not an object");
      for (auto& [k, v] : val.items()) {
        NF_ST_CHECK(v.is_string(), "metadata '" << k << "' is not a string");
        out.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    const std::string where = "tensor '" + key + "': ";
    NF_ST_CHECK(val.is_object(), where << "the entry is not an object");
    NF_ST_CHECK(val.contains("dtype") && val["dtype"].is_string(), where << "missing or non-string 'dtype'");
    NF_ST_CHECK(val.contains("shape") && val["shape"].is_array(), where << "missing or non-list 'shape'");
    NF_ST_CHECK(val.contains("data_offsets") && val["data_offsets"].is_array() && val["data_offsets"].size() == 2 &&
                    val["data_offsets"][0].is_number_unsigned() && val["data_offsets"][1].is_number_unsigned(),
                where << "missing 'data_offsets' or not two non-negative integers");
    Entry e;
    e.name = key;
    const std::string dt = val["dtype"].get<std::string>();
    e.dtype = nullptr;
    for (const FileDType& f : kFileDTypes)
      if (dt == f.name) e.dtype = &f;
    NF_ST_CHECK(e.dtype, where << "unknown or unsupported dtype '" << dt << "' (nanofed reads F32, I32, U8, BOOL, "
                                  "I64 and F64)");
    uint64_t numel = 1;
    bool overflow = false;
    for (auto& d : val["shape"]) {
      NF_ST_CHECK(d.is_number_unsigned() && d.get<uint64_t>() < (1ULL << 62),
                  where << "shape " << val["shape"].dump() << " must hold non-negative integers");
      const uint64_t v = d.get<uint64_t>();
      if (v && numel > std::numeric_limits<uint64_t>::max() / v / 8) overflow = true;
      numel *= v;
      e.shape.push_back((int64_t)v);
    }
    e.begin = val["data_offsets"][0].get<uint64_t>();
    e.end = val["data_offsets"][1].get<uint64_t>();
    NF_ST_CHECK(e.begin <= e.end, where << "data_offsets " << offsets_str(e.begin, e.end) << " end before they begin");
    NF_ST_CHECK(e.end <= data_len, where << "data_offsets " << offsets_str(e.begin, e.end) << " lie beyond the "
                                         << data_len << " data bytes of the file (truncated?)");
    NF_ST_CHECK(!overflow && numel * e.dtype->size == e.end - e.begin,
                where << "shape " << shape_str(e.shape) << " of " << dt << " needs "
                      << (overflow ? std::string("too many") : std::to_string(numel * e.dtype->size))
                      << " bytes but data_offsets " << offsets_str(e.begin, e.end) << " span " << e.end - e.begin);
    entries.push_back(std::move(e));
  }

  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  const Entry* prev = nullptr;  // the non-empty tensor reaching furthest so far
  for (const Entry& e : entries) {
    if (e.begin == e.end) continue;  // empty tensors occupy no bytes
    NF_ST_CHECK(!prev || e.begin >= prev->end,
                "tensors '" << prev->name << "' " << offsets_str(prev->begin, prev->end) << " and '" << e.name
                            << "' " << offsets_str(e.begin, e.end) << " overlap");
    if (!prev || e.end > prev->end) prev = &e;
  }

  for (const Entry& e : entries) {
    Tensor t = empty(e.shape, Device::cpu(), e.dtype->to);
    const char* src = data + e.begin;
    const int64_t count = t.numel();
    if (std::strcmp(e.dtype->name, "I64") == 0) {
      int32_t* dst = t.data<int32_t>();
      for (int64_t i = 0; i < count; ++i) {
        int64_t v;
        std::memcpy(&v, src + 8 * i, 8);
        NF_ST_CHECK(v >= std::numeric_limits<int32_t>::min() && v <= std::numeric_limits<int32_t>::max(),
                    "tensor '" << e.name << "': I64 value " << v << " at index " << i << " does not fit in i32");
        dst[i] = (int32_t)v;
      }
    } else if (std::strcmp(e.dtype->name, "F64") == 0) {
      float* dst = t.data<float>();
      for (int64_t i = 0; i < count; ++i) {
        double v;
        std::memcpy(&v, src + 8 * i, 8);
        dst[i] = (float)v;
      }
    } else if (count) {
      std::memcpy(t.raw_data(), src, e.end - e.begin);
    }
    out.tensors.push_back({e.name, t});
  }
  return out;
#undef NF_ST_CHECK
}

SafetensorsFile read_safetensors(const std::string& path) {
  nanofed::check_input_file(path, "read_safetensors");  // a directory opens as an empty stream
  std::ifstream in(path, std::ios::binary);
  NF_CHECK(in, "read_safetensors: " << path << ": cannot open: " << std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  NF_CHECK(!in.bad(), "read_safetensors: " << path << ": read failed");
  return parse_safetensors(ss.str(), path);
}

}  // namespace nanofed::nn
