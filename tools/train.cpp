// train.cpp — `nanofed train`. One model, one data set: SGD/Adam(W) with an optional cosine
// schedule, a progress line, a per-epoch CSV, a checkpoint after every epoch (resumable with
// --resume), and the final test accuracy.
#include "tools/train.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "datasets/loader.h"
#include "engine/autograd.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "engine/ops/softmax.h"
#include "fl/metrics.h"
#include "nn/checkpoint.h"
#include "nn/lr_scheduler.h"
#include "nn/model_io.h"
#include "nn/models.h"
#include "nn/optim.h"
#include "tools/cli_args.h"
#include "tools/cli_data.h"
#include "tools/progress.h"
#if NANOFED_CUDA
#include "engine/cuda/runtime.h"
#endif

namespace nanofed::cli {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

ArgParser make_parser() {
  ArgParser p("nanofed train", "Trains one model and reports its test accuracy.");
  add_data_options(p);
  p.option("limit", "0", "use only the first N training samples (0 = all)")
      .option("model", "cnn", "logreg | mlp | cnn | cnn28 | cnn64 | mnist_cnn | resnet18")
      .option("width", "64", "ResNet18 base width")
      .option("normalize", "", "M1,..,MC,S1,..,SC: input normalization inside the model (channel means, then stds)")
      .option("epochs", "2", "passes over the training set (0: save the initialized model)")
      .option("batch-size", "64", "samples per step")
      .option("optimizer", "sgd", "sgd | adam | adamw")
      .option("lr", "0.05", "learning rate")
      .option("momentum", "0.9", "SGD momentum")
      .option("weight-decay", "0", "weight decay (L2 for sgd/adam, decoupled for adamw)")
      .option("schedule", "none", "none | cosine (per epoch, over --epochs)")
      .option("device", "cpu", "cpu | cuda")
      .option("seed", "0", "seeds the initialization and the data order")
      .option("out", "runs/train", "directory for epochs.csv and the checkpoint")
      .option("save", "", "checkpoint path (default: OUT/model.safetensors)")
      .option("resume", "", "continue from a checkpoint written by this command")
      .flag("augment", "random crop (padding 4) + horizontal flip, for CIFAR-like data")
      .flag("tf32", "TF32 tensor-op GEMMs on the GPU (default strict fp32)");
  return p;
}

// --normalize M1,..,MC,S1,..,SC (or M,S for every channel): the model's input normalization,
// per channel [C, 1, 1]. The data stay in [0, 1], so attacks and certification of the saved
// model work in pixel space.
void set_normalization(const ArgParser& a, const Shape& sample, nn::Module& model) {
  if (!a.given("normalize")) return;
  const std::vector<double> v = a.numbers("normalize");
  NF_CHECK(sample.size() == 3, "nanofed train: --normalize needs image data [C, H, W], got " << shape_str(sample));
  const int64_t c = v.size() == 2 ? 1 : sample[0];
  NF_CHECK((int64_t)v.size() == 2 * c, "nanofed train: --normalize expects the " << sample[0] << " channel means, then the "
                                           << sample[0] << " stds (or one mean and one std), got " << v.size() << " numbers");
  const std::vector<float> mean(v.begin(), v.begin() + c), std(v.begin() + c, v.end());
  for (float s : std) NF_CHECK(s > 0, "nanofed train: --normalize: every std must be positive, got " << s);
  model.set_input_normalization(from_vector(mean, {c, 1, 1}), from_vector(std, {c, 1, 1}));
}

std::unique_ptr<nn::Optimizer> make_optimizer(const ArgParser& a, const std::vector<Tensor>& params) {
  const std::string name = a.str("optimizer");
  const double lr = a.number("lr"), wd = a.number("weight-decay");
  if (name == "sgd")
    return std::make_unique<nn::SGD>(params, nn::SGDOptions(lr).momentum(a.number("momentum")).weight_decay(wd));
  if (name == "adam") return std::make_unique<nn::Adam>(params, nn::AdamOptions(lr).weight_decay(wd));
  if (name == "adamw") return std::make_unique<nn::AdamW>(params, nn::AdamWOptions(lr).weight_decay(wd));
  NF_CHECK(false, "nanofed train: --optimizer '" << name << "' is not one of sgd, adam, adamw");
  return nullptr;
}

struct Scores {
  double loss = 0, accuracy = 0;
};

// Mean loss and accuracy over a data set, in eval mode and without a tape (fl::score: the same
// evaluation the federated runs use).
Scores evaluate(nn::Module& model, const datasets::Dataset& data, Device device) {
  const fl::ClientScore s = fl::score(model, data, 1000, device);
  return {s.loss(), s.accuracy()};
}

void progress(int epoch, int epochs, int64_t step, int64_t steps, double loss, double images_per_s) {
  std::fprintf(stderr, "\repoch %d/%d %s %lld/%lld  loss %.4f  %.0f img/s ", epoch, epochs,
               progress_bar(step, steps).c_str(), (long long)step, (long long)steps, loss, images_per_s);
  std::fflush(stderr);
}

}  // namespace

int train_command(const std::vector<std::string>& args) {
  ArgParser a = make_parser();
  if (!a.parse(args)) {
    std::printf("%s", a.help().c_str());
    return 0;
  }
  const Device device = a.device("device");
#if NANOFED_CUDA
  if (a.on("tf32")) cuda::set_tf32(true);
#endif
  const int64_t epochs = a.integer("epochs"), batch_size = a.integer("batch-size"), limit = a.integer("limit");
  const uint64_t seed = (uint64_t)a.integer("seed");
  NF_CHECK(epochs >= 0, "nanofed train: --epochs must be >= 0");
  NF_CHECK(batch_size > 0, "nanofed train: --batch-size must be positive");
  const std::string out_dir = a.str("out");
  const std::string ckpt = a.given("save") ? a.str("save") : out_dir + "/model.safetensors";

  datasets::TrainTest data = load_data(a, seed);
  if (limit > 0 && limit < data.train.size()) data.train = data.train.slice(0, limit);
  const Shape sample = data.train.sample_shape();

  Generator init_gen = Generator(seed).derive({1});
  nn::ModelOptions mo;
  mo.num_classes = data.train.num_classes;
  mo.width = a.integer("width");
  mo.gen = &init_gen;
  if (sample.size() == 3) {
    mo.in_channels = sample[0];
    mo.image_size = sample[1];
  }
  std::shared_ptr<nn::Module> model = nn::make_model(a.str("model"), mo);
  set_normalization(a, sample, *model);
  model->to(device);
  model->flat_gradients();  // parameters and gradients in one arena each: one fused optimizer step
  std::unique_ptr<nn::Optimizer> opt = make_optimizer(a, model->parameters());
  std::unique_ptr<nn::LRScheduler> schedule;
  if (a.str("schedule") == "cosine") schedule = std::make_unique<nn::CosineAnnealingLR>(*opt, std::max<int64_t>(1, epochs));
  else NF_CHECK(a.str("schedule") == "none", "nanofed train: --schedule must be none or cosine");

  std::filesystem::create_directories(out_dir);
  if (!std::filesystem::path(ckpt).parent_path().empty()) std::filesystem::create_directories(std::filesystem::path(ckpt).parent_path());
  int64_t first_epoch = 1;
  if (a.given("resume")) {
    nn::Metadata meta = nn::load_checkpoint(a.str("resume"), *model, opt.get());
    NF_CHECK(meta.count("epoch"), "nanofed train: --resume " << a.str("resume") << ": no 'epoch' in its metadata");
    // The normalization is part of the model but not of its state_dict: the checkpoint's wins,
    // and a --normalize that disagrees with it is an error rather than silently dropped.
    const nn::Metadata flags = nn::model_metadata(a.str("model"), nn::ModelOptions(), *model);
    const bool had = nn::restore_input_normalization(a.str("resume"), meta, *model);
    NF_CHECK(!a.given("normalize") || (had && flags.at("input_mean") == meta["input_mean"] &&
                                       flags.at("input_std") == meta["input_std"]),
             "nanofed train: --normalize differs from the normalization of the checkpoint --resume "
                 << a.str("resume") << " was trained with (" << (had ? meta["input_mean"] + " / " + meta["input_std"] : "none")
                 << "); drop --normalize to continue with the checkpoint's");
    first_epoch = std::stoll(meta["epoch"]) + 1;
    for (int64_t e = 1; e < first_epoch && schedule; ++e) schedule->step();
    std::printf("resuming from %s after epoch %lld\n", a.str("resume").c_str(), (long long)(first_epoch - 1));
  }
  std::printf("nanofed train: %s on %s (%lld train / %lld test, %s), %lld parameters, %s on %s\n",
              a.str("model").c_str(), a.str("dataset").c_str(), (long long)data.train.size(),
              (long long)data.test.size(), shape_str(sample).c_str(), (long long)model->num_parameters(),
              opt->name(), device.str().c_str());
  nn::Metadata meta = nn::model_metadata(a.str("model"), mo, *model);  // nn::load_model rebuilds it from the file
  meta["dataset"] = a.str("dataset");
  meta["seed"] = a.str("seed");
  if (epochs == 0) {
    meta["epoch"] = "0";
    nn::save_checkpoint(ckpt, *model, opt.get(), meta);
    std::printf("saved the initialized model to %s\n", ckpt.c_str());
    return 0;
  }

  const std::string csv_path = out_dir + "/epochs.csv";
  const bool fresh_csv = first_epoch == 1 || !std::filesystem::exists(csv_path);
  std::ofstream csv(csv_path, fresh_csv ? std::ios::trunc : std::ios::app);
  NF_CHECK(csv.good(), "nanofed train: cannot write " << csv_path);
  if (fresh_csv) csv << "epoch,lr,train_loss,test_loss,test_accuracy,seconds,images_per_s\n";

  datasets::LoaderOptions lo;
  lo.batch_size = batch_size;
  lo.shuffle = true;
  lo.seed = seed;
  lo.device = device;
  datasets::Transform augment;
  if (a.on("augment"))
    augment = datasets::transforms::Compose({datasets::transforms::RandomCrop(sample.back(), 4),
                                             datasets::transforms::RandomHorizontalFlip(0.5f)});
  datasets::DataLoader loader(data.train, lo, augment);
  const bool tty = isatty(2);
  Scores test;
  for (int64_t epoch = first_epoch; epoch <= epochs; ++epoch) {
    loader.set_epoch(epoch - 1);
    model->train();
    const auto start = Clock::now();
    Tensor loss_sum = zeros({}, device);  // summed on the device: no sync per step
    int64_t step = 0, seen = 0;
    double last_loss = 0;
    for (const datasets::Batch& b : loader) {
      Tensor loss = cross_entropy((*model)(b.x), b.y);
      opt->zero_grad();
      loss.backward();
      opt->step();
      {
        NoGrad no_grad;
        add_(loss_sum, loss.detach(), 1.0f);
      }
      ++step;
      seen += b.x.size(0);
      if (tty && (step % 20 == 0 || step == loader.size())) {
        last_loss = loss_sum.item() / step;
        progress((int)epoch, (int)epochs, step, loader.size(), last_loss, seen / seconds_since(start));
      }
    }
    const double train_seconds = seconds_since(start), train_loss = loss_sum.item() / std::max<int64_t>(1, step);
    if (tty) std::fprintf(stderr, "\n");
    NF_CHECK(std::isfinite(train_loss), "nanofed train: the training loss became " << train_loss << " in epoch "
                                            << epoch << " (lower --lr?)");
    const double lr = opt->lr();
    if (schedule) schedule->step();
    test = evaluate(*model, data.test, device);
    std::printf("epoch %lld/%lld  train loss %.4f  test loss %.4f  test accuracy %.2f%%  %.1f s  %.0f img/s\n",
                (long long)epoch, (long long)epochs, train_loss, test.loss, 100 * test.accuracy, train_seconds,
                seen / train_seconds);
    csv << epoch << "," << lr << "," << train_loss << "," << test.loss << "," << test.accuracy << "," << train_seconds
        << "," << seen / train_seconds << "\n";
    csv.flush();
    meta["epoch"] = std::to_string(epoch);
    meta["test_accuracy"] = std::to_string(test.accuracy);
    nn::save_checkpoint(ckpt, *model, opt.get(), meta);
  }
  if (first_epoch > epochs) test = evaluate(*model, data.test, device);  // resumed a finished run
  std::printf("final test accuracy %.2f%% (loss %.4f); checkpoint %s, per-epoch results %s\n", 100 * test.accuracy,
              test.loss, ckpt.c_str(), csv_path.c_str());
  return 0;
}

}  // namespace nanofed::cli
