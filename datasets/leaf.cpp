#include "datasets/leaf.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "engine/file_io.h"

namespace nanofed::datasets {

using nlohmann::json;

namespace {

const char* kWho = "read_leaf_json";

void read_user(const std::string& path, const std::string& user, const json& entry, int64_t count,
               const Shape& sample_shape, int64_t num_classes, std::vector<Dataset>& out) {
  const std::string key = "user_data[\"" + user + "\"]";
  NF_CHECK(entry.is_object() && entry.contains("x") && entry.contains("y") && entry["x"].is_array() &&
               entry["y"].is_array(),
           kWho << ": '" << path << "': " << key << " must be an object with arrays \"x\" and \"y\"");
  const json &x = entry["x"], &y = entry["y"];
  NF_CHECK((int64_t)x.size() == count && (int64_t)y.size() == count,
           kWho << ": '" << path << "': " << key << " has " << x.size() << " x and " << y.size()
                << " y entries but num_samples says " << count);
  const int64_t row = shape_numel(sample_shape);
  std::vector<float> images((size_t)(count * row));
  std::vector<int32_t> labels((size_t)count);
  for (int64_t i = 0; i < count; ++i) {
    const json& xi = x[i];
    NF_CHECK(xi.is_array() && (int64_t)xi.size() == row,
             kWho << ": '" << path << "': " << key << ".x[" << i << "] has "
                  << (xi.is_array() ? std::to_string(xi.size()) + " values" : std::string("no array"))
                  << ", expected " << row << " numbers (sample shape " << shape_str(sample_shape) << ")");
    for (int64_t j = 0; j < row; ++j) {
      NF_CHECK(xi[j].is_number(), kWho << ": '" << path << "': " << key << ".x[" << i << "][" << j
                                       << "] is " << xi[j].type_name() << ", expected a number");
      images[(size_t)(i * row + j)] = xi[j].get<float>();
    }
    const json& yi = y[i];
    // LEAF writes labels as ints; a float with an integral value (e.g. 3.0) is accepted.
    NF_CHECK(yi.is_number() && std::floor(yi.get<double>()) == yi.get<double>(),
             kWho << ": '" << path << "': " << key << ".y[" << i << "] is " << yi.dump() << ", expected an integer label");
    const double label = yi.get<double>();
    NF_CHECK(label >= 0 && label < (double)num_classes, kWho << ": '" << path << "': " << key << ".y[" << i << "] = "
                                                              << yi.dump() << " is outside [0, " << num_classes << ")");
    labels[(size_t)i] = (int32_t)label;
  }
  Shape shape = sample_shape;
  shape.insert(shape.begin(), count);
  out.push_back({from_vector(images, shape), from_vector(labels, {count}), num_classes, path + ":" + user});
}

// The users of one parsed file (`path` names it in errors), appended to `out`.
void read_doc(const json& doc, const std::string& path, const Shape& sample_shape, int64_t num_classes,
              FederatedData& out) {
  NF_CHECK(doc.is_object(), kWho << ": '" << path << "': expected a JSON object with users, num_samples, user_data");
  for (const char* k : {"users", "num_samples", "user_data"})
    NF_CHECK(doc.contains(k), kWho << ": '" << path << "': missing key \"" << k << "\"");
  const json &users = doc["users"], &counts = doc["num_samples"], &data = doc["user_data"];
  NF_CHECK(users.is_array(), kWho << ": '" << path << "': \"users\" must be an array of names");
  NF_CHECK(counts.is_array(), kWho << ": '" << path << "': \"num_samples\" must be an array of counts");
  NF_CHECK(data.is_object(), kWho << ": '" << path << "': \"user_data\" must be an object keyed by user");
  NF_CHECK(counts.size() == users.size(), kWho << ": '" << path << "': " << users.size() << " users but "
                                              << counts.size() << " num_samples entries");
  for (size_t u = 0; u < users.size(); ++u) {
    NF_CHECK(users[u].is_string(), kWho << ": '" << path << "': users[" << u << "] is " << users[u].dump()
                                        << ", expected a string");
    NF_CHECK(counts[u].is_number_integer() && counts[u].get<int64_t>() >= 0,
             kWho << ": '" << path << "': num_samples[" << u << "] is " << counts[u].dump()
                  << ", expected a non-negative integer");
    const std::string name = users[u].get<std::string>();
    NF_CHECK(data.contains(name), kWho << ": '" << path << "': user \"" << name << "\" (users[" << u
                                       << "]) has no entry in user_data");
    read_user(path, name, data[name], counts[u].get<int64_t>(), sample_shape, num_classes, out.clients);
    out.users.push_back(name);
  }
}

void check_arguments(const Shape& sample_shape, int64_t num_classes) {
  NF_CHECK(!sample_shape.empty() && shape_numel(sample_shape) > 0,
           kWho << ": sample_shape must be non-empty with positive dims, got " << shape_str(sample_shape));
  NF_CHECK(num_classes > 0, kWho << ": num_classes must be positive, got " << num_classes);
}

}  // namespace

FederatedData read_leaf_json(const std::vector<std::string>& paths, const Shape& sample_shape,
                             int64_t num_classes) {
  check_arguments(sample_shape, num_classes);
  FederatedData out;
  for (const std::string& p : paths) read_doc(read_json_file(p, kWho), p, sample_shape, num_classes, out);
  return out;
}

FederatedData parse_leaf_json(const std::string& text, const std::string& source, const Shape& sample_shape,
                              int64_t num_classes) {
  check_arguments(sample_shape, num_classes);
  FederatedData out;
  read_doc(parse_json_text(text, source, kWho), source, sample_shape, num_classes, out);
  return out;
}

FederatedData read_leaf_json(const std::string& path, const Shape& sample_shape, int64_t num_classes) {
  return read_leaf_json(std::vector<std::string>{path}, sample_shape, num_classes);
}

}  // namespace nanofed::datasets
