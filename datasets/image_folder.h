// image_folder.h — torchvision's ImageFolder: root/<class>/**/<image>, one class per
// sub-folder.
//
// Like torchvision: classes are the sub-folder names of root sorted alphabetically (class i =
// i-th name); within a class, files are taken recursively, sorted by folder then file name;
// a file is an image by its extension (case-insensitive); a class folder with no image is an
// error. Each image is decoded by stb_image, converted to `channels` (3: RGB, alpha dropped
// like PIL's convert("RGB"); 1: grayscale L = 0.299 R + 0.587 G + 0.114 B, PIL's formula),
// resized to height x width, and returned as f32 [N, channels, height, width] in [0, 1].
//
// Deviations from torchvision (ImageFolder + Resize + ToTensor):
//  - Extensions: .png .jpg .jpeg .bmp .ppm .pgm .gif (first frame) .tga. TIFF and WebP
//    (which PIL reads) are not decodable by stb_image: such a file is an error, not skipped.
//  - Resize is plain bilinear with half-pixel centers (PyTorch's interpolate(bilinear,
//    align_corners=False), no antialiasing); PIL's bilinear antialiases when shrinking.
//    Images already of the requested size are copied unchanged.
//  - Grayscale is computed in float before resizing (PIL rounds L to a byte first).
// An unreadable or corrupt image is an error naming the file and stb_image's reason.
#pragma once
#include <string>
#include <vector>

#include "datasets/dataset.h"

namespace nanofed::datasets {

struct ImageFolder {
  Dataset data;                      // num_classes = classes.size(), name = root
  std::vector<std::string> classes;  // sorted sub-folder names; label i is classes[i]
  std::vector<std::string> files;    // path of sample i
};

ImageFolder read_image_folder(const std::string& root, int64_t height, int64_t width, int64_t channels = 3);

// Bilinear resize of one channel-major float image [channels, in_h, in_w] -> [channels, out_h,
// out_w], half-pixel centers (align_corners=False). Exposed for tests.
std::vector<float> resize_bilinear(const std::vector<float>& src, int64_t channels, int64_t in_h, int64_t in_w,
                                   int64_t out_h, int64_t out_w);

}  // namespace nanofed::datasets
