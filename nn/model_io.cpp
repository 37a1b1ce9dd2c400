// model_io.cpp — the architecture in the checkpoint's metadata (see model_io.h).
#include "nn/model_io.h"

#include <cmath>

#include "nn/checkpoint.h"

namespace nanofed::nn {

namespace {

std::string floats_str(const Tensor& t) {
  std::vector<double> values;
  for (float v : t.to_vector()) values.push_back(v);
  return format_number_list(values);
}

// The metadata of one file, read with errors that name the file and the key.
struct MetadataReader {
  const std::string& path;
  const Metadata& meta;

  const std::string& str(const std::string& key) const {
    auto it = meta.find(key);
    NF_CHECK(it != meta.end(), "load_model: " << path << ": no '" << key
                                   << "' in the checkpoint's metadata (nanofed train writes it; see nn/model_io.h)");
    return it->second;
  }
  std::vector<double> numbers(const std::string& key) const {
    return parse_number_list(str(key), "load_model: " + path + ": metadata '" + key + "'");
  }
  double number(const std::string& key) const {
    const std::vector<double> v = numbers(key);
    NF_CHECK(v.size() == 1, "load_model: " << path << ": metadata '" << key << "' expects one number, got '"
                                           << str(key) << "'");
    return v[0];
  }
  std::vector<int64_t> integers(const std::string& key) const {
    std::vector<int64_t> out;
    for (double v : numbers(key)) {
      NF_CHECK(v == std::floor(v) && v >= 0, "load_model: " << path << ": metadata '" << key
                                                            << "' expects non-negative integers, got '" << str(key) << "'");
      out.push_back((int64_t)v);
    }
    return out;
  }
  int64_t integer(const std::string& key) const {
    const std::vector<int64_t> v = integers(key);
    NF_CHECK(v.size() == 1, "load_model: " << path << ": metadata '" << key << "' expects one integer, got '"
                                           << str(key) << "'");
    return v[0];
  }
  Tensor floats(const std::string& key, const Shape& shape) const {
    const std::vector<double> v = numbers(key);
    NF_CHECK((int64_t)v.size() == shape_numel(shape), "load_model: " << path << ": metadata '" << key << "' has "
                                                                     << v.size() << " values, its shape "
                                                                     << shape_str(shape) << " needs " << shape_numel(shape));
    return from_vector(std::vector<float>(v.begin(), v.end()), shape);
  }
};

// Copies the flat arena the metadata `key` names into `arena` (params_tensor / buffers_tensor).
void load_arena(const SafetensorsFile& file, const MetadataReader& r, const std::string& key, Tensor arena) {
  const std::string& name = r.str(key);
  for (const auto& [n, t] : file.tensors) {
    if (n != name) continue;
    NF_CHECK(t.numel() == arena.numel() && t.dtype() == arena.dtype(),
             "load_model: " << r.path << ": '" << name << "' (metadata '" << key << "') has " << t.numel()
                            << " values, the model " << arena.numel());
    arena.copy_(t);
    return;
  }
  NF_CHECK(false, "load_model: " << r.path << ": metadata '" << key << "' names '" << name
                                 << "', which the file does not hold");
}

}  // namespace

Metadata model_metadata(const std::string& name, const ModelOptions& o, const Module& model) {
  std::vector<double> hidden(o.hidden.begin(), o.hidden.end());
  Metadata meta{{"model", name},
                {"in_channels", std::to_string(o.in_channels)},
                {"image_size", std::to_string(o.image_size)},
                {"num_classes", std::to_string(o.num_classes)},
                {"hidden", format_number_list(hidden)},
                {"width", std::to_string(o.width)},
                {"fc_hidden", std::to_string(o.fc_hidden)},
                {"channels", format_number_list(std::vector<double>(o.channels.begin(), o.channels.end()))},
                {"negative_slope", format_number_list({o.negative_slope})}};
  if (model.has_input_normalization()) {
    const Shape& shape = model.input_mean().shape();
    meta["input_mean"] = floats_str(model.input_mean());
    meta["input_std"] = floats_str(model.input_std());
    meta["input_norm_shape"] = format_number_list(std::vector<double>(shape.begin(), shape.end()));
  }
  return meta;
}

bool restore_input_normalization(const std::string& path, const Metadata& meta, Module& model) {
  if (!meta.count("input_mean") && !meta.count("input_std") && !meta.count("input_norm_shape")) return false;
  const MetadataReader r{path, meta};
  const std::vector<int64_t> dims = r.integers("input_norm_shape");
  const Shape shape(dims.begin(), dims.end());
  const Device device = model.device();
  model.set_input_normalization(r.floats("input_mean", shape).to(device), r.floats("input_std", shape).to(device));
  return true;
}

std::shared_ptr<Module> load_model(const std::string& path, Device device, Metadata* meta_out) {
  const SafetensorsFile file = read_safetensors(path);
  const Metadata& meta = file.metadata;
  const MetadataReader r{path, meta};
  ModelOptions o;
  o.in_channels = r.integer("in_channels");
  o.image_size = r.integer("image_size");
  o.num_classes = r.integer("num_classes");
  o.hidden = r.integers("hidden");
  o.width = r.integer("width");
  o.fc_hidden = r.integer("fc_hidden");
  if (meta.count("channels")) o.channels = r.integers("channels");  // older files: the model's widths
  o.negative_slope = (float)r.number("negative_slope");
  o.init = Init::zeros;  // every weight is overwritten by the load: skip drawing them
  std::shared_ptr<Module> model = make_model(r.str("model"), o);
  if (meta.count("params_tensor")) {  // one model among others: its flat arenas
    load_arena(file, r, "params_tensor", model->flat_parameters());
    if (meta.count("buffers_tensor")) load_arena(file, r, "buffers_tensor", model->flat_buffers());
  } else {
    load_checkpoint(path, *model);
  }
  restore_input_normalization(path, meta, *model);
  model->to(device);
  model->eval();
  if (meta_out) *meta_out = meta;
  return model;
}

}  // namespace nanofed::nn
