// descent lab weight-decay: Loshchilov & Hutter, "Decoupled weight decay regularization" (ICLR
// 2019), figure 2: Adam with an L2 term in the gradient against AdamW's decoupled decay, over a
// grid of learning rate x weight decay. Their claim: with AdamW the best weight decay hardly
// depends on the lr (the good region of the heat map lies along an axis), with Adam + L2 it moves
// with it (a diagonal).
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include <descent/descent.h>
#include "lab/experiment.h"
#include "lab/fashion.h"

namespace descent::lab {
namespace {

struct DecayRule {
  std::string name;
  std::vector<double> decays;
  std::function<std::unique_ptr<optim::Optimizer>(const std::vector<Tensor>&, double lr, double decay)> make;
};

Report run_weight_decay(const Context& context) {
  const bool smoke = context.smoke;
  const int64_t hidden = smoke ? 16 : 64;
  const int64_t epochs = smoke ? 1 : 15;
  const int64_t batch = 64;
  // A small training set, trained long: weight decay matters only where the model can overfit.
  FashionData data = load_fashion(context, smoke ? 512 : 5000, smoke ? 500 : 0);
  const std::vector<double> lrs = {1e-4, 3e-4, 1e-3, 3e-3};
  const std::vector<DecayRule> rules = {
      {"Adam + L2", {0.0, 1e-4, 1e-3, 1e-2, 1e-1},
       [](const std::vector<Tensor>& params, double lr, double decay) {
         return std::make_unique<optim::Adam>(params, optim::AdamOptions{.lr = lr, .weight_decay = decay});
       }},
      // torch.optim.AdamW's decay is lr x weight_decay per step; their normalised lambda differs.
      {"AdamW", {0.0, 1e-2, 1e-1, 1.0, 10.0},
       [](const std::vector<Tensor>& params, double lr, double decay) {
         return std::make_unique<optim::AdamW>(params, optim::AdamWOptions{.lr = lr, .weight_decay = decay});
       }},
  };

  Report report("Adam with L2 against AdamW over learning rate x weight decay");
  report.describe(fmt::format(
      "A 784-{}-10 MLP trains for {} epochs (batch {}) on {} Fashion-MNIST pictures from the same initial weights "
      "and in the same order, for every cell of the grid: lr in {{1e-4, 3e-4, 1e-3, 3e-3}} x five weight decays "
      "per rule (Adam + L2: the coefficient added to the gradient, 0 to 1e-1; AdamW: `weight_decay` of "
      "torch.optim.AdamW, whose step decays the weights by lr x weight_decay, 0 to 10). The table gives the test "
      "accuracy ({} pictures) of each cell and the best weight decay per lr.",
      hidden, epochs, batch, data.train_x.size(0), data.test_x.size(0)));
  report.set_columns({"rule", "lr", "wd grid 1 (0)", "wd grid 2", "wd grid 3", "wd grid 4", "wd grid 5",
                      "best weight decay"});

  std::map<std::string, std::set<double>> best_decays;  // rule -> the best decay of each lr
  std::map<std::string, double> best_accuracy;
  for (const DecayRule& rule : rules) {
    std::vector<double> accuracies;  // [lr][decay], as the heat map reads them
    std::vector<std::vector<double>> by_lr(lrs.size());
    for (double decay : rule.decays) {
      for (size_t l = 0; l < lrs.size(); ++l) {
        manual_seed(0);
        nn::Sequential model = fashion_mlp(hidden);
        std::unique_ptr<optim::Optimizer> optimizer = rule.make(model.parameters(), lrs[l], decay);
        for (int64_t epoch = 0; epoch < epochs; ++epoch) {
          train_epoch(model, *optimizer, data.train_x, data.train_y, batch, /*seed=*/epoch);
        }
        by_lr[l].push_back(evaluate(model, data.test_x, data.test_y).accuracy);
      }
    }
    for (size_t l = 0; l < lrs.size(); ++l) {
      size_t best = std::max_element(by_lr[l].begin(), by_lr[l].end()) - by_lr[l].begin();
      best_decays[rule.name].insert(rule.decays[best]);
      best_accuracy[rule.name] = std::max(best_accuracy[rule.name], by_lr[l][best]);
      std::vector<Cell> row = {rule.name, lrs[l]};
      for (double accuracy : by_lr[l]) row.emplace_back(accuracy);
      row.emplace_back(rule.decays[best]);
      report.add_row(std::move(row));
    }
    // The heat map: x the lr, y the weight decay.
    std::vector<std::string> lr_ticks, decay_ticks;
    for (double lr : lrs) lr_ticks.push_back(fmt::format("{:g}", lr));
    for (double decay : rule.decays) decay_ticks.push_back(fmt::format("{:g}", decay));
    for (size_t l = 0; l < lrs.size(); ++l) {
      for (size_t d = 0; d < rule.decays.size(); ++d) accuracies.push_back(by_lr[l][d]);
    }
    report.plot(context, {.file = rule.name == "AdamW" ? "adamw.png" : "adam_l2.png",
                          .title = rule.name + ": test accuracy", .x_label = "lr", .y_label = "weight decay",
                          .x_ticks = lr_ticks, .y_ticks = decay_ticks, .values = accuracies});
  }

  size_t adamw_distinct = best_decays["AdamW"].size(), l2_distinct = best_decays["Adam + L2"].size();
  report.conclude(fmt::format(
      "Across the {} learning rates the best weight decay took {} distinct value(s) with AdamW and {} with Adam + L2, "
      "so the decoupling Loshchilov & Hutter report {} (best test accuracy: AdamW {:.2f}%, Adam + L2 {:.2f}%).",
      lrs.size(), adamw_distinct, l2_distinct,
      adamw_distinct < l2_distinct ? "showed here" : "did not show here", 100 * best_accuracy["AdamW"],
      100 * best_accuracy["Adam + L2"]));
  return report;
}

const Registration kRegistration{{"weight-decay",
                                  "Adam with L2 vs AdamW over a grid of lr x weight decay (heat maps)",
                                  run_weight_decay}};

}  // namespace
}  // namespace descent::lab
