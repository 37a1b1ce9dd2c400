// cli_data.h — the data flags of `nanofed train`, `nanofed attack` and `nanofed certify`, and
// the one loader behind them, so the three commands read a data set the same way (an attack on
// `--dataset synthetic` sees the very test set training held out).
//
//   --dataset        fmnist | mnist | cmnist | cfmnist | cifar10 | folder:PATH | synthetic
//                    (cmnist / cfmnist: colored, train in environment 0, test in 1)
//   --data-dir       where `make data` put the data sets
//   --shape          CxHxW of synthetic data, and the size folder images are resized to
//   --classes        classes of synthetic data
//   --synthetic-size training samples of synthetic data (test: a fifth, at least 1)
// folder:PATH is split 80% train / 20% test by a permutation seeded like synthetic data.
// The commands that evaluate a checkpoint (attack, certify) add
//   --split          test | train
//   --data-seed      seed of synthetic data and the folder split (default: the checkpoint's
//                    training seed, so they see the data `nanofed train` held out)
#pragma once
#include <cstdint>
#include <string>

#include "datasets/dataset.h"
#include "nn/safetensors.h"
#include "tools/cli_args.h"

namespace nanofed::cli {

// Declares the flags above on `p`.
void add_data_options(ArgParser& p);

// Loads the data set the flags name. `seed` draws synthetic data and the folder split (train
// passes its --seed; attack and certify the seed the checkpoint was trained with).
datasets::TrainTest load_data(const ArgParser& a, uint64_t seed);

// Declares the data flags and --split / --data-seed.
void add_eval_data_options(ArgParser& p);

// The split the flags name, checked against the model that will see it (check_model_input).
datasets::Dataset load_eval_split(const ArgParser& a, const nn::Metadata& model_meta);
// Throws unless `data` fits the model whose checkpoint metadata is `model_meta` (nn/model_io.h):
// image shape and number of classes. The message names the flags to change.
void check_model_input(const ArgParser& a, const nn::Metadata& model_meta, const datasets::Dataset& data);

// "3x32x32" -> {3, 32, 32}; anything else throws naming the command and --shape.
Shape parse_shape(const std::string& s, const std::string& command);

}  // namespace nanofed::cli
