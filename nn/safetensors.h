// safetensors.h — read and write the safetensors format (huggingface/safetensors), so weights
// move to and from PyTorch (safetensors.torch.save_file / load_file) unchanged.
//
// Layout: 8-byte little-endian u64 N, then N bytes of UTF-8 JSON
//   {"__metadata__": {"k": "v", ...},
//    "<name>": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...}
// then the raw little-endian data; offsets are relative to the byte after the header.
//
// Writing (byte-identical to the reference implementation for the same tensors and metadata):
//   * dtypes F32, I32, U8 (our three); CUDA tensors are copied to the host first.
//   * tensors ordered like the reference (Python/Rust) library: by dtype, larger dtype first in
//     its enum order (F32, then I32, then U8), then by name; data packed back to back in that
//     order. "__metadata__" comes first in the header (omitted when the map is empty), its
//     entries sorted by key; each tensor's fields in the order dtype, shape, data_offsets;
//     compact JSON; the header padded with spaces to a multiple of 8 bytes.
//   * written to PATH.tmp, then renamed over PATH: a crash never leaves a half-written file.
//   * names must be unique and non-empty, and not "__metadata__".
// Reading:
//   * F32, I32, U8 as they are; BOOL as U8 (0/1); I64 converted to I32 when every value fits
//     (else an error naming the tensor); F64 converted to F32 (rounded to nearest; values beyond
//     the f32 range become inf). Any other dtype (F16, BF16, I8, ...) is an error naming it.
//   * tensors come back in file order (by data offset); every tensor is on the CPU.
//   * checked, each an Error "read_safetensors: <path>: <problem>" (naming the tensor where
//     there is one): file shorter than 8 bytes, header length beyond the file, invalid JSON,
//     header not an object, a missing or ill-typed dtype/shape/data_offsets, unknown dtype,
//     negative or non-integer dims, data_offsets whose size differs from shape x dtype size,
//     offsets beyond the file or overlapping another tensor, non-string metadata values.
//   * Deviation from the reference reader: gaps between tensors and bytes after the last one
//     are tolerated (the reference rejects them); the header size is not capped at 100 MB.
// The host must be little-endian (checked at compile time).
#pragma once
#include <map>
#include <string>

#include "nn/module.h"

namespace nanofed::nn {

using Metadata = std::map<std::string, std::string>;

struct SafetensorsFile {
  NamedTensors tensors;
  Metadata metadata;
};

void write_safetensors(const std::string& path, const NamedTensors& tensors,
                       const Metadata& metadata = {});
SafetensorsFile read_safetensors(const std::string& path);

// The exact bytes write_safetensors puts in a file (header and data), for tests and in-memory use.
std::string serialize_safetensors(const NamedTensors& tensors, const Metadata& metadata = {});
// Parses bytes as read_safetensors does; `source` names them in errors (a path, "<memory>").
SafetensorsFile parse_safetensors(const std::string& bytes, const std::string& source);

}  // namespace nanofed::nn
