// leaf.h — LEAF benchmark JSON (FEMNIST, Synthetic, ...): one file of many users.
//
//   {"users": ["u0", ...], "num_samples": [n0, ...],
//    "user_data": {"u0": {"x": [[f, f, ...], ...], "y": [label, ...]}, ...}}
//
// Each user becomes one Dataset whose images are f32 [n_u, *sample_shape] (e.g. {1, 28, 28}
// for FEMNIST, {D} for feature vectors; each x row is a flat list of numel(sample_shape)
// numbers, stored as given) and labels i32 [n_u] in [0, num_classes). Checked: the three
// keys, one num_samples entry per user, every user present in user_data with x and y of
// num_samples[u] entries, row lengths, numeric values, integer labels in range. Errors name
// the file and the JSON key path (e.g. user_data["f0_1"].x[3]); a parse error gives its line, and
// a key given twice is an error (nanofed::parse_json_strict). Only numeric x is supported (not Shakespeare / Sent140 text).
// Users keep the file's "users" order; several files (LEAF's all_data_0.json, ...) are
// read in the order given and their users appended.
#pragma once
#include <string>
#include <vector>

#include "datasets/dataset.h"

namespace nanofed::datasets {

struct FederatedData {
  std::vector<std::string> users;
  std::vector<Dataset> clients;  // clients[i] belongs to users[i]; name "<file>:<user>"
};

FederatedData read_leaf_json(const std::string& path, const Shape& sample_shape, int64_t num_classes);
FederatedData read_leaf_json(const std::vector<std::string>& paths, const Shape& sample_shape,
                             int64_t num_classes);
// The same for the JSON text of one file in memory; `source` names it in errors.
FederatedData parse_leaf_json(const std::string& text, const std::string& source, const Shape& sample_shape,
                              int64_t num_classes);

}  // namespace nanofed::datasets
