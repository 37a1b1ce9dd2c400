// train_command.cpp — `nanofed train`. One model, one data set: SGD/Adam(W) with an optional cosine
// schedule, optional augmentation (crop + flip, or a smoothing distribution to train for
// certification), a progress line, a per-epoch CSV, a checkpoint after every epoch (resumable
// with --resume), and the final test accuracy.
//
// Files: OUT/epochs.csv; CKPT (--save, default OUT/model.safetensors) holds the model's
// state_dict alone with nn/model_io.h's metadata; nn::optimizer_path(CKPT) beside it holds the
// optimizer state with the training settings (TrainSettings) as metadata.
#include "tools/train_command.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <memory>
#include <optional>

#include "certify/smoothing.h"
#include "engine/file_io.h"
#include "datasets/loader.h"
#include "nn/checkpoint.h"
#include "nn/lr_scheduler.h"
#include "nn/model_io.h"
#include "nn/models.h"
#include "nn/optim.h"
#include "nn/train_settings.h"
#include "nn/training.h"
#include "tools/cli_args.h"
#include "tools/cli_data.h"
#include "tools/progress.h"
#include "tools/report_command.h"
#if NANOFED_CUDA
#include "engine/cuda/runtime.h"
#endif

namespace nanofed::cli {

namespace {

constexpr const char* kCommand = "nanofed train";
const char* const kAugmentations = "none, crop-flip, pixel, rotation, translation, scaling, affine";

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

ArgParser make_parser() {
  ArgParser p(kCommand, "Trains one model and reports its test accuracy.");
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
      .option("augment", "none",
              "none | crop-flip (random crop, padding 4, + horizontal flip) | pixel | rotation | translation | "
              "scaling | affine (one draw per image of the smoothing distribution nanofed certify uses)")
      .option("augment-sigma", "0.25", "sigma of a smoothing --augment (as nanofed certify's --sigma)")
      .option("augment-grid", "linspace", "warp sampling grid of a smoothing --augment (as nanofed certify's --grid)")
      .option("device", "cpu", "cpu | cuda")
      .option("seed", "0", "seeds the initialization and the data order")
      .option("out", "runs/train", "directory for epochs.csv and the checkpoint")
      .option("save", "", "checkpoint path (default: OUT/model.safetensors)")
      .option("resume", "",
              "continue from a checkpoint of this command: its settings continue exactly; flags that differ "
              "apply from the next epoch")
      .flag("tf32", "TF32 tensor-op GEMMs on the GPU (default strict fp32)");
  return p;
}

bool one_of(const std::string& s, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (s == n) return true;
  return false;
}

// The flag values no run can use, rejected before anything is read or created. The ranges the
// fl config shares (lr, momentum, ...) come from nn/train_settings.h.
void check_flags(const ArgParser& a) {
  const std::pair<const char*, nn::Setting> shared[] = {
      {"lr", nn::Setting::lr},         {"momentum", nn::Setting::momentum},     {"weight-decay", nn::Setting::weight_decay},
      {"seed", nn::Setting::seed},     {"batch-size", nn::Setting::batch_size}, {"limit", nn::Setting::limit},
      {"classes", nn::Setting::classes}};
  for (const auto& [flag, setting] : shared) {
    const std::string why = nn::out_of_range(setting, a.number(flag));
    NF_CHECK(why.empty(), kCommand << ": --" << flag << " " << a.str(flag) << " " << why);
  }
  NF_CHECK(a.integer("epochs") >= 0, kCommand << ": --epochs " << a.str("epochs") << " must be >= 0");
  NF_CHECK(one_of(a.str("optimizer"), {"sgd", "adam", "adamw"}),
           kCommand << ": --optimizer '" << a.str("optimizer") << "' is not one of sgd, adam, adamw");
  NF_CHECK(one_of(a.str("schedule"), {"none", "cosine"}), kCommand << ": --schedule must be none or cosine, got '"
                                                                    << a.str("schedule") << "'");
  NF_CHECK(one_of(a.str("augment"), {"none", "crop-flip", "pixel", "rotation", "translation", "scaling", "affine"}),
           kCommand << ": --augment '" << a.str("augment") << "' is not one of " << kAugmentations);
  NF_CHECK(!(a.given("resume") && a.integer("epochs") == 0),
           kCommand << ": --epochs 0 saves an initialized model and does not combine with --resume");
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

// --augment: crop-flip (CIFAR-style), a smoothing distribution of certify::perturb (train with
// the noise or warps `nanofed certify` will certify against), or none (an empty Transform).
datasets::Transform make_augmentation(const ArgParser& a, const Shape& sample) {
  const std::string name = a.str("augment");
  if (name == "crop-flip")
    return datasets::transforms::Compose(
        {datasets::transforms::RandomCrop(sample.back(), 4), datasets::transforms::RandomHorizontalFlip(0.5f)});
  const std::optional<certify::Smoothing> smoothing = certify::augmentation(
      name, a.number("augment-sigma"), certify::parse_grid(a.str("augment-grid"), std::string(kCommand) + ": --augment-grid"),
      std::string(kCommand) + ": --augment " + name + " --augment-sigma");
  if (!smoothing) return {};
  const certify::Smoothing s = *smoothing;
  return {"smoothing augmentation (" + name + ")", [s](const Tensor& x, Generator& g) { return certify::perturb(x, s, g); }};
}

// ---- the training settings, saved with the optimizer state ----

// What the optimizer and the lr schedule are built from. A cosine schedule anneals from lr over
// epochs (schedule_start, schedule_start + schedule_epochs]; a constant lr has both 0, so that
// the saved settings do not depend on how many epochs a run was asked for.
struct TrainSettings {
  std::string optimizer, schedule;
  double lr = 0, momentum = 0, weight_decay = 0;
  int64_t schedule_start = 0, schedule_epochs = 0;
};

// A cosine schedule over the epochs after `done` up to `epochs` (nothing for a constant lr).
void schedule_over(TrainSettings& s, int64_t done, int64_t epochs) {
  const bool cosine = s.schedule == "cosine";
  s.schedule_start = cosine ? done : 0;
  s.schedule_epochs = cosine ? std::max<int64_t>(1, epochs - done) : 0;
}

TrainSettings settings_from_flags(const ArgParser& a, int64_t epochs) {
  TrainSettings s;
  s.optimizer = a.str("optimizer");
  s.schedule = a.str("schedule");
  s.lr = a.number("lr");
  s.momentum = a.number("momentum");
  s.weight_decay = a.number("weight-decay");
  schedule_over(s, 0, epochs);
  return s;
}

std::string exact(double v) {  // round-trips a double through text
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}
std::string short_number(double v) { return format_number_list({v}); }

nn::Metadata settings_metadata(const TrainSettings& s, int64_t epoch) {
  return {{"epoch", std::to_string(epoch)},      {"optimizer", s.optimizer},
          {"lr", exact(s.lr)},                   {"momentum", exact(s.momentum)},
          {"weight_decay", exact(s.weight_decay)}, {"schedule", s.schedule},
          {"schedule_start", std::to_string(s.schedule_start)}, {"schedule_epochs", std::to_string(s.schedule_epochs)}};
}

// One number of a checkpoint file's metadata; `path` and the key name it in errors.
double metadata_number(const std::string& path, const nn::Metadata& meta, const std::string& key) {
  auto it = meta.find(key);
  NF_CHECK(it != meta.end(), kCommand << ": --resume: " << path << " has no '" << key << "' in its metadata");
  const std::vector<double> v = parse_number_list(it->second, std::string(kCommand) + ": " + path + ": metadata '" + key + "'");
  NF_CHECK(v.size() == 1, kCommand << ": " << path << ": metadata '" << key << "' expects one number, got '" << it->second << "'");
  return v[0];
}

TrainSettings settings_from_metadata(const std::string& path, const nn::Metadata& meta) {
  TrainSettings s;
  for (const char* key : {"optimizer", "schedule"})
    NF_CHECK(meta.count(key), kCommand << ": --resume: " << path << " has no '" << key << "' in its metadata");
  s.optimizer = meta.at("optimizer");
  s.schedule = meta.at("schedule");
  s.lr = metadata_number(path, meta, "lr");
  s.momentum = metadata_number(path, meta, "momentum");
  s.weight_decay = metadata_number(path, meta, "weight_decay");
  s.schedule_start = (int64_t)metadata_number(path, meta, "schedule_start");
  s.schedule_epochs = (int64_t)metadata_number(path, meta, "schedule_epochs");
  NF_CHECK(one_of(s.optimizer, {"sgd", "adam", "adamw"}) && one_of(s.schedule, {"none", "cosine"}) &&
               (s.schedule == "none" || s.schedule_epochs >= 1) &&
               nn::out_of_range(nn::Setting::lr, s.lr).empty() && nn::out_of_range(nn::Setting::momentum, s.momentum).empty() &&
               nn::out_of_range(nn::Setting::weight_decay, s.weight_decay).empty(),
           kCommand << ": --resume: " << path << ": its training settings are not valid (" << s.optimizer << ", "
                    << s.schedule << ", lr " << s.lr << ", momentum " << s.momentum << ", weight_decay " << s.weight_decay
                    << ", schedule_epochs " << s.schedule_epochs << ")");
  return s;
}

std::string describe(const TrainSettings& s) {
  std::string d = s.optimizer + ", lr " + short_number(s.lr);
  if (s.optimizer == "sgd") d += ", momentum " + short_number(s.momentum);
  d += ", weight decay " + short_number(s.weight_decay);
  if (s.schedule == "cosine")
    return d + ", cosine over epochs " + std::to_string(s.schedule_start + 1) + "-" +
           std::to_string(s.schedule_start + s.schedule_epochs);
  return d + ", constant lr";
}

// The settings of a run resumed after epoch `done` of `epochs`: a flag given with another value
// than the saved one, or an --epochs that moves the end of a cosine schedule, starts new settings
// with the next epoch (a cosine schedule anew over the epochs left); otherwise the saved
// schedule continues exactly. `changes` receives what differs, for the message.
TrainSettings resumed_settings(const ArgParser& a, const TrainSettings& saved, int64_t done, int64_t epochs,
                               std::vector<std::string>& changes) {
  TrainSettings s = saved;
  auto text = [&](const char* flag, std::string& field) {
    if (!a.given(flag) || a.str(flag) == field) return;
    changes.push_back(std::string("--") + flag + " " + a.str(flag) + " (was " + field + ")");
    field = a.str(flag);
  };
  auto number = [&](const char* flag, double& field) {
    if (!a.given(flag) || a.number(flag) == field) return;
    changes.push_back(std::string("--") + flag + " " + a.str(flag) + " (was " + short_number(field) + ")");
    field = a.number(flag);
  };
  text("optimizer", s.optimizer);
  number("lr", s.lr);
  number("momentum", s.momentum);
  number("weight-decay", s.weight_decay);
  text("schedule", s.schedule);
  const int64_t saved_end = saved.schedule_start + saved.schedule_epochs;
  if (s.schedule == "cosine" && saved.schedule == "cosine" && saved_end != epochs)
    changes.push_back("--epochs " + std::to_string(epochs) + " (the saved cosine schedule ends with epoch " +
                      std::to_string(saved_end) + ")");
  if (!changes.empty()) schedule_over(s, done, epochs);
  return s;
}

std::unique_ptr<nn::Optimizer> make_optimizer(const TrainSettings& s, const std::vector<Tensor>& params) {
  if (s.optimizer == "sgd")
    return std::make_unique<nn::SGD>(params, nn::SGDOptions(s.lr).momentum(s.momentum).weight_decay(s.weight_decay));
  if (s.optimizer == "adam") return std::make_unique<nn::Adam>(params, nn::AdamOptions(s.lr).weight_decay(s.weight_decay));
  return std::make_unique<nn::AdamW>(params, nn::AdamWOptions(s.lr).weight_decay(s.weight_decay));
}

// The schedule at epoch `done` (nullptr for a constant lr); sets the optimizer's lr.
std::unique_ptr<nn::LRScheduler> make_schedule(const TrainSettings& s, nn::Optimizer& opt, int64_t done) {
  if (s.schedule != "cosine") return nullptr;
  auto schedule = std::make_unique<nn::CosineAnnealingLR>(opt, s.schedule_epochs);
  for (int64_t e = s.schedule_start; e < done; ++e) schedule->step();
  return schedule;
}

// ---- --resume ----

struct Start {
  int64_t done = 0;              // epochs trained before this run (the checkpoint's)
  TrainSettings settings;        // what the optimizer and the schedule are built from
  nn::NamedTensors optimizer_state;  // "state.*" of the saved optimizer to carry over (empty: fresh)
};

// The checkpoint's normalization is part of the model but not of its state_dict: it wins, and a
// --normalize that disagrees with it is an error rather than silently dropped.
void restore_normalization(const ArgParser& a, const std::string& path, const nn::Metadata& meta, nn::Module& model) {
  const nn::Metadata flags = nn::model_metadata(a.str("model"), nn::ModelOptions(), model);
  const bool had = nn::restore_input_normalization(path, meta, model);
  auto saved = [&](const char* key) { return meta.count(key) ? meta.at(key) : std::string(); };
  NF_CHECK(!a.given("normalize") ||
               (had && flags.at("input_mean") == saved("input_mean") && flags.at("input_std") == saved("input_std")),
           kCommand << ": --normalize differs from the normalization of the checkpoint --resume " << path
                    << " was trained with (" << (had ? saved("input_mean") + " / " + saved("input_std") : "none")
                    << "); drop --normalize to continue with the checkpoint's");
}

// Per-parameter state (momentum buffers, Adam moments and steps) carries over when the optimizer
// stays the same kind (for SGD: with or without momentum alike); the hyper-parameters never do:
// the new optimizer has its own, from the settings.
bool state_carries(const TrainSettings& saved, const TrainSettings& now) {
  return saved.optimizer == now.optimizer && (now.optimizer != "sgd" || (saved.momentum == 0) == (now.momentum == 0));
}

nn::NamedTensors per_parameter_state(const nn::NamedTensors& state) {
  nn::NamedTensors out;
  for (const auto& [key, t] : state)
    if (key.compare(0, 6, "state.") == 0) out.push_back({key, t});
  return out;
}

// Loads the model (weights, normalization) from --resume, reads the optimizer file beside it and
// decides the settings; prints which: the saved schedule continued exactly, or new settings.
Start resume(const ArgParser& a, nn::Module& model, int64_t epochs) {
  const std::string path = a.str("resume"), side = nn::optimizer_path(path);
  const nn::Metadata meta = nn::load_checkpoint(path, model);
  restore_normalization(a, path, meta, model);
  Start start;
  start.done = (int64_t)metadata_number(path, meta, "epoch");
  NF_CHECK(nanofed::file_exists(side), kCommand << ": --resume " << path << ": no optimizer state beside it (" << side
                                                 << " is missing; " << kCommand << " writes it with every checkpoint)");
  const nn::SafetensorsFile state = nn::read_safetensors(side);
  const int64_t side_epoch = (int64_t)metadata_number(side, state.metadata, "epoch");
  NF_CHECK(side_epoch == start.done, kCommand << ": --resume " << path << " is from epoch " << start.done << " but "
                                              << side << " from epoch " << side_epoch
                                              << " (the run was stopped between the two writes); train anew without --resume");
  const TrainSettings saved = settings_from_metadata(side, state.metadata);
  std::vector<std::string> changes;
  start.settings = start.done < epochs ? resumed_settings(a, saved, start.done, epochs, changes) : saved;
  const bool carries = state_carries(saved, start.settings);
  if (carries) start.optimizer_state = per_parameter_state(state.tensors);
  std::printf("resuming from %s after epoch %lld: ", path.c_str(), (long long)start.done);
  if (start.done >= epochs) std::printf("nothing left to train for --epochs %lld\n", (long long)epochs);
  else if (changes.empty()) std::printf("the saved schedule continues exactly (%s)\n", describe(saved).c_str());
  else {
    std::printf("new settings from epoch %lld (%s): %s; optimizer state %s\n", (long long)start.done + 1, join(changes).c_str(),
                describe(start.settings).c_str(), carries ? "carried over" : "started afresh");
  }
  return start;
}

// The optimizer's own hyper-parameters with the carried "state.*" entries.
void load_carried_state(nn::Optimizer& opt, const nn::NamedTensors& carried, const std::string& path) {
  if (carried.empty()) return;
  nn::NamedTensors state = carried;
  for (const auto& [key, t] : opt.state_dict())
    if (key.compare(0, 6, "state.") != 0) state.push_back({key, t});
  try {
    opt.load_state_dict(state);
  } catch (const Error& e) {
    throw Error(std::string(kCommand) + ": --resume: " + nn::optimizer_path(path) + ": " + e.what());
  }
}

// ---- results ----

// epochs.csv for a run that starts after epoch `done`: a new file with the header, or the
// resumed run's rows up to `done` (a run stopped between its row and its checkpoint wrote a row
// the checkpoint does not have; that epoch is trained again and its row written once).
std::ofstream open_csv(const std::string& path, int64_t done) {
  const bool append = done > 0 && nanofed::file_exists(path);
  if (append) nanofed::truncate_csv(path, done, 0, kCommand);
  std::ofstream csv(path, append ? std::ios::app : std::ios::trunc);
  NF_CHECK(csv.good(), kCommand << ": cannot write " << path);
  if (!append) csv << "epoch,lr,train_loss,test_loss,test_accuracy,seconds,images_per_s\n";
  return csv;
}

void create_parent(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
}

void progress(int64_t epoch, int64_t epochs, int64_t step, int64_t steps, double loss, double images_per_s) {
  std::fprintf(stderr, "\repoch %lld/%lld %s %lld/%lld  loss %.4f  %.0f img/s ", (long long)epoch, (long long)epochs,
               progress_bar(step, steps).c_str(), (long long)step, (long long)steps, loss, images_per_s);
  std::fflush(stderr);
}

// ---- setup: everything checked and loaded before anything is created ----

struct Run {
  int64_t epochs = 0;
  Device device;
  std::string out_dir, ckpt;
  datasets::TrainTest data;
  std::shared_ptr<nn::Module> model;
  std::unique_ptr<nn::Optimizer> opt;
  std::unique_ptr<nn::LRScheduler> schedule;
  Start start;
  nn::Metadata meta;  // the checkpoint's; nn::load_model rebuilds the model from it
  datasets::Transform augment;
};

std::shared_ptr<nn::Module> build_model(const ArgParser& a, const datasets::TrainTest& data, Generator& init_gen,
                                        nn::ModelOptions& mo) {
  const Shape sample = data.train.sample_shape();
  mo.num_classes = data.train.num_classes;
  mo.width = a.integer("width");
  mo.gen = &init_gen;
  if (sample.size() == 3) {
    mo.in_channels = sample[0];
    mo.image_size = sample[1];
  }
  std::shared_ptr<nn::Module> model = nn::make_model(a.str("model"), mo);
  set_normalization(a, sample, *model);
  return model;
}

nn::Metadata checkpoint_metadata(const ArgParser& a, const nn::ModelOptions& mo, const nn::Module& model) {
  nn::Metadata meta = nn::model_metadata(a.str("model"), mo, model);
  meta["dataset"] = a.str("dataset");
  meta["seed"] = a.str("seed");
  meta["augment"] = a.str("augment");
  if (a.str("augment") != "none" && a.str("augment") != "crop-flip") meta["augment_sigma"] = a.str("augment-sigma");
  return meta;
}

Run setup(const ArgParser& a) {
  check_flags(a);
  Run r;
  r.device = a.device("device");
#if NANOFED_CUDA
  if (a.on("tf32")) cuda::set_tf32(true);
#endif
  r.epochs = a.integer("epochs");
  const uint64_t seed = (uint64_t)a.integer("seed");
  r.out_dir = a.str("out");
  r.ckpt = a.given("save") ? a.str("save") : r.out_dir + "/model.safetensors";
  r.data = load_data(a, seed);
  const int64_t limit = a.integer("limit");
  if (limit > 0 && limit < r.data.train.size()) r.data.train = r.data.train.slice(0, limit);
  Generator init_gen = Generator(seed).derive({1});
  nn::ModelOptions mo;
  r.model = build_model(a, r.data, init_gen, mo);
  r.model->to(r.device);
  r.augment = make_augmentation(a, r.data.train.sample_shape());
  if (a.given("resume")) r.start = resume(a, *r.model, r.epochs);
  else r.start.settings = settings_from_flags(a, r.epochs);
  r.opt = make_optimizer(r.start.settings, r.model->parameters());
  load_carried_state(*r.opt, r.start.optimizer_state, a.str("resume"));
  r.schedule = make_schedule(r.start.settings, *r.opt, r.start.done);
  r.meta = checkpoint_metadata(a, mo, *r.model);
  return r;
}

// ---- the loop ----

struct EpochReport {
  int64_t epoch = 0;
  double lr = 0, train_loss = 0, seconds = 0, images_per_s = 0;
  nn::Evaluation test;
};

nn::Evaluation test_scores(Run& r) {  // the same evaluation as the federated runs' (fl::score)
  const datasets::Dataset test = r.data.test.to(r.device);
  return nn::evaluate(*r.model, test.images, test.labels, 1000);
}

// One epoch: the steps (a progress line on a terminal), the schedule, the test set.
EpochReport train_one_epoch(Run& r, datasets::DataLoader& loader, int64_t epoch) {
  loader.set_epoch(epoch - 1);
  const auto start = Clock::now();
  const bool tty = isatty(2);
  int64_t seen = 0;
  datasets::DataLoader::Iterator it = loader.begin();
  auto next = [&](int64_t) {
    const nn::Batch b{it->x, it->y};
    ++it;
    seen += b.x.size(0);
    return b;
  };
  auto report = [&](int64_t step, const Tensor& loss_sum) {  // .item() syncs: every 20 steps only
    if (tty && (step % 20 == 0 || step == loader.size()))
      progress(epoch, r.epochs, step, loader.size(), loss_sum.item() / step, seen / seconds_since(start));
  };
  const nn::EpochResult result = nn::train_epoch(*r.model, *r.opt, loader.size(), next, report);
  EpochReport e;
  e.epoch = epoch;
  e.seconds = seconds_since(start);
  e.train_loss = result.loss;
  e.images_per_s = result.samples / e.seconds;
  if (tty) std::fprintf(stderr, "\n");
  NF_CHECK(std::isfinite(e.train_loss), kCommand << ": the training loss became " << e.train_loss << " in epoch "
                                                 << epoch << " (lower --lr?)");
  e.lr = r.opt->lr();
  if (r.schedule) r.schedule->step();
  e.test = test_scores(r);
  return e;
}

// ---- reporting ----

void print_header(const ArgParser& a, const Run& r) {
  std::printf("%s: %s on %s (%lld train / %lld test, %s), %lld parameters, %s on %s\n", kCommand,
              a.str("model").c_str(), a.str("dataset").c_str(), (long long)r.data.train.size(),
              (long long)r.data.test.size(), shape_str(r.data.train.sample_shape()).c_str(),
              (long long)r.model->num_parameters(), r.opt->name(), r.device.str().c_str());
}

// The epoch's line, its epochs.csv row and its checkpoint.
void record_epoch(Run& r, const EpochReport& e, std::ofstream& csv) {
  std::printf("epoch %lld/%lld  train loss %.4f  test loss %.4f  test accuracy %.2f%%  %.1f s  %.0f img/s\n",
              (long long)e.epoch, (long long)r.epochs, e.train_loss, e.test.loss(), 100 * e.test.accuracy(), e.seconds,
              e.images_per_s);
  csv << e.epoch << "," << e.lr << "," << e.train_loss << "," << e.test.loss() << "," << e.test.accuracy() << ","
      << e.seconds << "," << e.images_per_s << "\n";
  csv.flush();
  r.meta["epoch"] = std::to_string(e.epoch);
  r.meta["test_accuracy"] = std::to_string(e.test.accuracy());
  nn::save_checkpoint(r.ckpt, *r.model, r.opt.get(), r.meta, settings_metadata(r.start.settings, e.epoch));
}

// The epochs after the checkpoint's (if any); returns the final test scores.
nn::Evaluation train_epochs(const ArgParser& a, Run& r, const std::string& csv_path) {
  std::ofstream csv = open_csv(csv_path, r.start.done);
  if (r.start.done >= r.epochs) return test_scores(r);  // resumed a finished run
  datasets::LoaderOptions lo;
  lo.batch_size = a.integer("batch-size");
  lo.shuffle = true;
  lo.seed = (uint64_t)a.integer("seed");
  lo.device = r.device;
  datasets::DataLoader loader(r.data.train, lo, r.augment);
  EpochReport e;
  for (int64_t epoch = r.start.done + 1; epoch <= r.epochs; ++epoch) {
    e = train_one_epoch(r, loader, epoch);
    record_epoch(r, e, csv);
  }
  return e.test;
}

}  // namespace

int train_command(const std::vector<std::string>& args) {
  ArgParser a = make_parser();
  if (!a.parse_or_print_help(args)) return 0;
  Run r = setup(a);
  // Everything is checked and loaded: only now is anything created.
  std::filesystem::create_directories(r.out_dir);
  create_parent(r.ckpt);
  print_header(a, r);
  if (r.epochs == 0) {
    r.meta["epoch"] = "0";
    nn::save_checkpoint(r.ckpt, *r.model, r.opt.get(), r.meta, settings_metadata(r.start.settings, 0));
    std::printf("saved the initialized model to %s\n", r.ckpt.c_str());
    return 0;
  }
  const std::string csv_path = r.out_dir + "/epochs.csv";
  const nn::Evaluation test = train_epochs(a, r, csv_path);
  std::printf("final test accuracy %.2f%% (loss %.4f); checkpoint %s, per-epoch results %s\n", 100 * test.accuracy(),
              test.loss(), r.ckpt.c_str(), csv_path.c_str());
  print_report_command(r.out_dir);
  return 0;
}

}  // namespace nanofed::cli
