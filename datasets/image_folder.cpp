#include "datasets/image_folder.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

// The one stb_image implementation; static so it cannot clash with another copy elsewhere.
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#include <stb/stb_image.h>
#pragma GCC diagnostic pop

namespace nanofed::datasets {

namespace fs = std::filesystem;

namespace {

const char* const kExtensions[] = {".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm", ".gif", ".tga"};
const char* const kUnsupported[] = {".tif", ".tiff", ".webp"};

std::string lower_extension(const fs::path& p) {
  std::string e = p.extension().string();
  for (char& c : e) c = (char)std::tolower((unsigned char)c);
  return e;
}

bool in_list(const std::string& e, const char* const* list, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (e == list[i]) return true;
  return false;
}

// Image files under `dir`, recursively, sorted by (folder, name) like sorted(os.walk(...)).
std::vector<fs::path> image_files(const fs::path& dir) {
  std::vector<fs::path> out;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::follow_directory_symlink);
       it != fs::recursive_directory_iterator(); ++it) {
    if (!it->is_regular_file()) continue;
    const std::string e = lower_extension(it->path());
    NF_CHECK(!in_list(e, kUnsupported, std::size(kUnsupported)),
             "read_image_folder: '" << it->path().string() << "': " << e
                                    << " images cannot be decoded (stb_image reads png, jpg, bmp, ppm, pgm, gif, tga)");
    if (in_list(e, kExtensions, std::size(kExtensions))) out.push_back(it->path());
  }
  std::sort(out.begin(), out.end(), [](const fs::path& a, const fs::path& b) {
    return a.parent_path() != b.parent_path() ? a.parent_path().string() < b.parent_path().string()
                                              : a.filename().string() < b.filename().string();
  });
  return out;
}

// Fills classes (sorted sub-folders of root), files and their labels.
void list_samples(const std::string& root, ImageFolder& out, std::vector<int32_t>& labels) {
  const char* who = "read_image_folder";
  for (const auto& entry : fs::directory_iterator(root))
    if (entry.is_directory()) out.classes.push_back(entry.path().filename().string());
  std::sort(out.classes.begin(), out.classes.end());
  NF_CHECK(!out.classes.empty(), who << ": '" << root << "': no class sub-folders (expected root/<class>/<image>)");
  for (size_t k = 0; k < out.classes.size(); ++k) {
    const std::vector<fs::path> files = image_files(fs::path(root) / out.classes[k]);
    NF_CHECK(!files.empty(), who << ": '" << root << "': class folder '" << out.classes[k]
                                 << "' holds no image (png, jpg, jpeg, bmp, ppm, pgm, gif, tga)");
    for (const fs::path& f : files) {
      out.files.push_back(f.string());
      labels.push_back((int32_t)k);
    }
  }
}

}  // namespace

std::vector<float> resize_bilinear(const std::vector<float>& src, int64_t channels, int64_t in_h, int64_t in_w,
                                   int64_t out_h, int64_t out_w) {
  NF_CHECK((int64_t)src.size() == channels * in_h * in_w && in_h > 0 && in_w > 0 && out_h > 0 && out_w > 0,
           "resize_bilinear: expected " << channels << "x" << in_h << "x" << in_w << " values and a positive output size");
  if (in_h == out_h && in_w == out_w) return src;
  // Source coordinate of output index o: (o + 0.5) * in/out - 0.5, clamped at 0 (PyTorch's rule).
  auto taps = [](int64_t out, int64_t in, std::vector<int64_t>& i0, std::vector<int64_t>& i1, std::vector<float>& t) {
    const double scale = (double)in / (double)out;
    for (int64_t o = 0; o < out; ++o) {
      const double s = std::max(0.0, (o + 0.5) * scale - 0.5);
      const int64_t lo = std::min((int64_t)s, in - 1);
      i0.push_back(lo);
      i1.push_back(std::min(lo + 1, in - 1));
      t.push_back((float)(s - (double)lo));
    }
  };
  std::vector<int64_t> y0, y1, x0, x1;
  std::vector<float> ty, tx;
  taps(out_h, in_h, y0, y1, ty);
  taps(out_w, in_w, x0, x1, tx);
  std::vector<float> dst((size_t)(channels * out_h * out_w));
  for (int64_t c = 0; c < channels; ++c) {
    const float* s = src.data() + c * in_h * in_w;
    float* d = dst.data() + c * out_h * out_w;
    for (int64_t y = 0; y < out_h; ++y)
      for (int64_t x = 0; x < out_w; ++x) {
        const float top = s[y0[y] * in_w + x0[x]] * (1 - tx[x]) + s[y0[y] * in_w + x1[x]] * tx[x];
        const float bottom = s[y1[y] * in_w + x0[x]] * (1 - tx[x]) + s[y1[y] * in_w + x1[x]] * tx[x];
        d[y * out_w + x] = top * (1 - ty[y]) + bottom * ty[y];
      }
  }
  return dst;
}

ImageFolder read_image_folder(const std::string& root, int64_t height, int64_t width, int64_t channels) {
  const char* who = "read_image_folder";
  NF_CHECK(channels == 1 || channels == 3, who << ": channels must be 1 or 3, got " << channels);
  NF_CHECK(height > 0 && width > 0, who << ": size must be positive, got " << height << "x" << width);
  std::error_code ec;
  NF_CHECK(fs::is_directory(root, ec), who << ": '" << root << "' is not a directory");
  ImageFolder out;
  std::vector<int32_t> labels;
  try {
    list_samples(root, out, labels);
  } catch (const fs::filesystem_error& e) {
    NF_CHECK(false, who << ": '" << root << "': cannot list (" << e.what() << ")");
  }

  const int64_t n = (int64_t)out.files.size(), plane = height * width;
  std::vector<float> images((size_t)(n * channels * plane));
  for (int64_t i = 0; i < n; ++i) {
    int w = 0, h = 0, comp = 0;
    uint8_t* px = stbi_load(out.files[i].c_str(), &w, &h, &comp, 3);
    NF_CHECK(px != nullptr, who << ": '" << out.files[i] << "': cannot decode image (" << stbi_failure_reason() << ")");
    std::vector<float> chw((size_t)(channels * w * h));
    const int64_t in_plane = (int64_t)w * h;
    for (int64_t p = 0; p < in_plane; ++p) {
      const float r = px[3 * p], g = px[3 * p + 1], b = px[3 * p + 2];
      if (channels == 1) {
        chw[p] = (0.299f * r + 0.587f * g + 0.114f * b) / 255.0f;
      } else {
        chw[p] = r / 255.0f;
        chw[in_plane + p] = g / 255.0f;
        chw[2 * in_plane + p] = b / 255.0f;
      }
    }
    stbi_image_free(px);
    const std::vector<float> sized = resize_bilinear(chw, channels, h, w, height, width);
    std::copy(sized.begin(), sized.end(), images.begin() + i * channels * plane);
  }
  out.data = {from_vector(images, {n, channels, height, width}), from_vector(labels, {n}),
              (int64_t)out.classes.size(), root};
  return out;
}

}  // namespace nanofed::datasets
