// What a `descent train` run is: every option that decides its result, with the defaults that
// depend on others (lr per optimizer, warmup length) resolved. It is stored in the checkpoint's
// metadata ("config.<name>"), so that --resume and `descent eval` rebuild the same run.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace descent::tools {

// The values an option of `descent train` accepts, by its command-line name: the command line
// is checked with these, and so is the config of every checkpoint read (TrainConfig::validate).
// Numbers: "" when `value` is allowed, otherwise why not ("must be > 0 and finite, got inf").
std::string option_problem(std::string_view option, double value);
// Choices: the names --model, --dataset, --optimizer and --schedule accept.
std::vector<std::string> option_choices(std::string_view option);

struct TrainConfig {
  std::string model = "cnn";                  // mlp | cnn | gpt
  std::string dataset = "fashion-mnist";      // fashion-mnist | mnist | spirals | text (gpt's)
  std::string data_dir;                       // "" : the dataset's default directory
  std::string optimizer = "sgd";              // sgd | adam | adamw | rmsprop | lion
  double lr = -1;                             // < 0: the optimizer's default (default_lr)
  double momentum = -1;                       // < 0: 0.9 for sgd, 0 for rmsprop
  bool nesterov = false;
  double weight_decay = -1;                   // < 0: the optimizer's default (default_weight_decay)
  std::vector<double> betas = {0.9, 0.999};   // adam, adamw, lion (lion's default: 0.9, 0.99)
  std::string schedule = "warmup-cosine";     // constant | step | cosine | warmup-cosine | onecycle | plateau
  int64_t step_size = 0;                      // step: epochs between lr cuts; 0: at 1/2 and 3/4 of the run
  double gamma = 0.1;                         // step: the factor of each cut
  int64_t warmup_steps = -1;                  // < 0: 5% of the optimizer steps
  int64_t batch_size = 64;                    // examples per loader batch (one micro-batch)
  int64_t accumulate = 1;                     // micro-batches per optimizer step
  int64_t epochs = 3;
  int64_t limit_train_batches = 0;            // > 0: only the first this many batches of each epoch
  double clip_grad_norm = 0;                  // 0: no clipping
  uint64_t seed = 0;
  // --model gpt (tools/text_task.cpp): the text file ("": the fortunes corpus) and the sizes.
  std::string text;
  int64_t layers = 4, heads = 4, width = 128, context = 128;

  // Fills the defaults that depend on other options (lr, momentum, weight decay, betas); the
  // warmup needs the step count and is resolved by warmup_steps_for().
  void resolve_defaults(bool betas_given);
  // Throws ValueError naming the option ("--accumulate: must be > 0, got 0") unless every value of
  // this resolved config is one the command line accepts, and the combination is runnable.
  void validate() const;
  int64_t warmup_steps_for(int64_t total_steps) const;
  bool image_dataset() const { return dataset == "fashion-mnist" || dataset == "mnist"; }
  std::string resolved_data_dir() const;

  std::map<std::string, std::string> to_metadata() const;  // keys "config.<name>"
  // Parsed strictly (no wrapping, no trailing text) and validated; errors name the file.
  static TrainConfig from_metadata(const std::map<std::string, std::string>& metadata, const std::string& file);
};

}  // namespace descent::tools
