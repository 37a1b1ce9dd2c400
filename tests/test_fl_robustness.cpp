// Robust training and robustness evaluation inside federated runs (fl/robustness.h): the
// config keys, PGD / certification outputs per client and model, resume of the certification
// TSVs, and that adversarial training and smoothing augmentation change exactly what they should.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "certify/results.h"
#include "fl/robustness.h"
#include "fl/run.h"
#include "tests/test_util.h"

using namespace nanofed;
using namespace nanofed::fl;
using namespace nanofed::test;

namespace {

// The rows of a CSV whose `model` column (index 1 for robust/certify csv) equals `model`.
std::vector<std::vector<std::string>> rows_of(const std::string& csv, const std::string& model, size_t column) {
  std::vector<std::vector<std::string>> out;
  const std::vector<std::string> ls = split_lines(csv);
  for (size_t i = 1; i < ls.size(); ++i) {
    std::vector<std::string> f;
    std::stringstream ss(ls[i]);
    for (std::string x; std::getline(ss, x, ',');) f.push_back(x);
    if (ls[i].back() == ',') f.push_back("");
    if (f.at(column) == model) out.push_back(f);
  }
  return out;
}

// 4 clients on 1x6x6 synthetic images of 4 classes, a small MLP, 2 rounds.
// `overrides` replaces or adds keys.
json tiny(const std::string& out, const json& overrides = json::object()) {
  json j{{"name", "r"},          {"out", out},
          {"dataset", "synthetic"}, {"synthetic_size", 6},
          {"synthetic_train", 400}, {"synthetic_test", 80},
          {"num_clients", 4},       {"sampling", "all"},
          {"model", "mlp"},         {"hidden", {8}},
          {"rounds", 2},            {"local_steps", 3},
          {"batch_size", 8},        {"lr", 0.1},
          {"progress", false}};
  j.update(overrides);
  return j;
}

void expect_config_error(json j, const std::string& needle) {
  try {
    parse_config(j);
    BOOST_ERROR("no error for " << j.dump());
  } catch (const Error& e) {
    BOOST_TEST(std::string(e.what()).find(needle) != std::string::npos, e.what() << " lacks " << needle);
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(fl_robustness)

BOOST_AUTO_TEST_CASE(config_keys_are_validated) {
  TempDir tmp;
  const json base = tiny(tmp.path);
  auto with = [&](const char* key, json value) {
    json j = base;
    j[key] = value;
    return j;
  };
  expect_config_error(with("augment", "blur"), "augment = 'blur' is not one of none, pixel");
  json j = with("augment", "pixel");
  j["augment_sigma"] = 0;
  expect_config_error(j, "augment_sigma = 0 must be > 0");
  expect_config_error(with("adv_eps", -0.1), "adv_eps = -0.1 must be >= 0");
  expect_config_error(with("adv_norm", "l1"), "adv_norm = 'l1' is not one of linf, l2");
  expect_config_error(with("eval_eps", -0.5), "eval_eps = -0.5 must be -1");
  expect_config_error(with("certify_sigma", 0), "certify_sigma = 0 must be > 0");
  expect_config_error(with("certify_n", 50), "certify_n = 50 must be >= certify_n0 = 100");
  expect_config_error(with("certify_alpha", 1), "certify_alpha = 1 must be in (0, 1)");
  expect_config_error(with("certify_alpha", 0), "certify_alpha = 0 must be in (0, 1)");
  expect_config_error(with("personal_augment_sigma", 0), "personal_augment_sigma = 0 must be -1");
  // The defaults follow torchattacks and Cohen.
  const FlConfig c = parse_config(base);
  BOOST_TEST(c.adv_eps == 8.0 / 255.0);
  BOOST_TEST(c.certify_n0 == 100);
  BOOST_TEST(c.certify_n == 100000);
  BOOST_TEST(c.certify_alpha == 0.001);
  const attacks::AttackOptions l2 = evaluation_attack(parse_config(with("eval_attack", "l2")));
  BOOST_TEST(l2.eps == 1.0f);
  BOOST_TEST(l2.alpha == 0.2f);
}

BOOST_AUTO_TEST_CASE(augmentation_follows_global_and_personal_keys) {
  TempDir tmp;
  json j = tiny(tmp.path);
  BOOST_TEST(!training_augmentation(parse_config(j), false).has_value());
  j["augment"] = "rotation";
  j["augment_sigma"] = 0.1;
  auto g = training_augmentation(parse_config(j), false), p = training_augmentation(parse_config(j), true);
  BOOST_REQUIRE(g.has_value());
  BOOST_REQUIRE(p.has_value());
  BOOST_TEST((g->transform == certify::Transform::rotation && p->transform == certify::Transform::rotation));
  BOOST_TEST(p->sigma == 0.1f);
  j["personal_augment"] = "pixel";
  j["personal_augment_sigma"] = 0.5;
  p = training_augmentation(parse_config(j), true);
  BOOST_TEST((p->transform == certify::Transform::pixel));
  BOOST_TEST(p->sigma == 0.5f);
  j["personal_augment"] = "none";
  BOOST_TEST(!training_augmentation(parse_config(j), true).has_value());
}

BOOST_AUTO_TEST_CASE(evenly_spaced_indices) {
  BOOST_TEST(evenly_spaced(10, 5) == (std::vector<int64_t>{0, 2, 4, 6, 8}), boost::test_tools::per_element());
  BOOST_TEST(evenly_spaced(7, 3) == (std::vector<int64_t>{0, 2, 4}), boost::test_tools::per_element());
  BOOST_TEST(evenly_spaced(3, 0).size() == 3u);
  BOOST_TEST(evenly_spaced(3, 10).size() == 3u);
}

// adv_train with eps = 0 crafts x itself: training (and so every number) must equal plain
// training bit for bit, which also shows the attack leaves the model's mode, parameters and
// gradients as they were. A positive eps must change the numbers.
BOOST_AUTO_TEST_CASE(adversarial_training_with_zero_budget_is_plain_training) {
  TempDir tmp;
  json j = tiny(tmp.path, {{"strategy", "ditto"}});
  const RunResult plain = run_one(parse_config(j), tmp / "plain");
  j["adv_train"] = true;
  j["adv_eps"] = 0.0;
  j["adv_steps"] = 2;
  const RunResult zero = run_one(parse_config(j), tmp / "zero");
  BOOST_TEST(read_text(plain.dir + "/rounds.csv") == read_text(zero.dir + "/rounds.csv"));
  j["adv_eps"] = 0.3;
  j["adv_alpha"] = 0.1;
  const RunResult adv = run_one(parse_config(j), tmp / "adv");
  BOOST_TEST(read_text(plain.dir + "/rounds.csv") != read_text(adv.dir + "/rounds.csv"));
}

// Ditto's global model never sees personal_augment: its rows are identical with and without
// it, while the personal rows change.
BOOST_AUTO_TEST_CASE(personal_augmentation_changes_only_personal_models) {
  TempDir tmp;
  json j = tiny(tmp.path, {{"strategy", "ditto"}});
  const RunResult plain = run_one(parse_config(j), tmp / "plain");
  j["personal_augment"] = "pixel";
  j["personal_augment_sigma"] = 0.5;
  const RunResult aug = run_one(parse_config(j), tmp / "aug");
  const std::string a = read_text(plain.dir + "/rounds.csv"), b = read_text(aug.dir + "/rounds.csv");
  BOOST_TEST(rows_of(a, "global", 1) == rows_of(b, "global", 1));
  BOOST_TEST(rows_of(a, "personal", 1) != rows_of(b, "personal", 1));
  // augment (both sides) changes the global model too.
  j["augment"] = "translation";
  j["augment_sigma"] = 0.2;
  j["personal_augment"] = "same";
  const RunResult both = run_one(parse_config(j), tmp / "both");
  BOOST_TEST(rows_of(a, "global", 1) != rows_of(read_text(both.dir + "/rounds.csv"), "global", 1));
}

BOOST_AUTO_TEST_CASE(robust_and_certified_evaluation_per_client) {
  TempDir tmp;
  json j = tiny(tmp.path, {{"strategy", "ditto"}, {"eval_attack", "linf"}, {"eval_eps", 0.1},
                           {"eval_alpha", 0.05}, {"eval_steps", 3}, {"eval_samples", 10},
                           {"eval_certify", "pixel"}, {"certify_sigma", 0.25}, {"certify_n0", 10},
                           {"certify_n", 200}, {"certify_batch", 64}, {"certify_samples", 5},
                           {"keep_checkpoint", true}});  // for the kill simulated below
  const RunResult r = run_one(parse_config(j), tmp / "run");

  const std::string robust = read_text(r.dir + "/robust.csv");
  BOOST_TEST(split_lines(robust).at(0) ==
             "client_id,model,num_samples,clean_accuracy,robust_accuracy,success_rate,adv_trans,adv_trans_loss");
  const auto global = rows_of(robust, "global", 1), personal = rows_of(robust, "personal", 1);
  BOOST_TEST(global.size() == 4u);
  BOOST_TEST(personal.size() == 4u);
  for (const auto& row : global) {
    BOOST_TEST(row.at(2) == "10");
    BOOST_TEST(std::stod(row.at(4)) <= std::stod(row.at(3)));
    BOOST_TEST(row.at(6).empty());  // AdvTrans only on personal rows
  }
  for (const auto& row : personal) {
    const double t = std::stod(row.at(6));
    BOOST_TEST((t >= 0.0 && t <= 1.0));
  }
  BOOST_TEST(r.summary["robustness"]["attack"]["eps"].get<double>() == 0.1f);
  BOOST_TEST(r.summary["robustness"]["attack"]["personal"].contains("adv_trans"));

  // One Cohen TSV per client and model with the evenly spaced idx (client test sets have 20).
  for (const char* model : {"global", "personal"})
    for (int k = 0; k < 4; ++k) {
      const std::string path = r.dir + "/certify/" + model + "_client" + std::to_string(k) + ".tsv";
      const std::string text = read_text(path);
      BOOST_TEST(split_lines(text).at(0) == "idx\tlabel\tpredict\tradius\tcorrect\ttime\tradius_full");
      const std::vector<certify::CertifyRow> rows = certify::read_tsv(path);
      BOOST_REQUIRE(rows.size() == 5u);
      for (size_t i = 0; i < rows.size(); ++i) BOOST_TEST(rows[i].idx == (int64_t)(i * 20 / 5));
    }
  const std::string certified = read_text(r.dir + "/certify.csv");
  const auto cert = rows_of(certified, "personal", 1);
  BOOST_TEST(cert.size() == 4u);
  BOOST_TEST(r.summary["robustness"]["certify"]["personal"]["acr"].contains("mean"));

  // Resume: a torn certification file is completed with the same rows (times aside), the PGD
  // results are recomputed identically, and certify.csv's ACR comes from the full-precision
  // radii, so it equals the uninterrupted run's to the last digit. A kill during certification
  // leaves no summary.json (it is written last) and the final checkpoint.
  std::filesystem::remove(r.dir + "/summary.json");
  const std::string path = r.dir + "/certify/personal_client2.tsv";
  const std::vector<certify::CertifyRow> before = certify::read_tsv(path);
  {
    std::vector<std::string> ls = split_lines(read_text(path));
    std::ofstream f(path, std::ios::trunc);
    for (size_t i = 0; i < 3; ++i) f << ls[i] << "\n";  // header + 2 rows
    f << ls[3].substr(0, 3);                             // a torn third row
  }
  j["resume"] = true;
  const RunResult again = run_one(parse_config(j), tmp / "run");
  const std::vector<certify::CertifyRow> after = certify::read_tsv(path);
  BOOST_REQUIRE(after.size() == before.size());
  for (size_t i = 0; i < after.size(); ++i) {
    BOOST_TEST(after[i].idx == before[i].idx);
    BOOST_TEST(after[i].predict == before[i].predict);
    BOOST_TEST(after[i].radius == before[i].radius);
  }
  BOOST_TEST(read_text(again.dir + "/robust.csv") == robust);
  BOOST_TEST(read_text(again.dir + "/certify.csv") == certified);
}

BOOST_AUTO_TEST_SUITE_END()
