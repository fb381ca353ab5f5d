// `descent train`: builds the model, optimizer, schedule and loader of a TrainConfig, trains with
// a test evaluation after every epoch, and writes metrics.csv, checkpoint.safetensors and
// curves.png into the run's directory. Read tools/commands.h and tools/checkpoint_layout.h first.
//
// Resuming: the checkpoint holds everything that decides what comes next (weights, optimizer
// buffers, schedule, the loader's position, the default generator, the counters), so a run
// stopped after any optimizer step and resumed ends with the same bits as one never stopped.
#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include <descent/core/parallel.h>
#include <descent/core/random.h>
#include <descent/data/dataloader.h>
#include <descent/data/sampler.h>
#include <descent/nn/functional_loss.h>
#include <descent/optim/clip.h>
#include <descent/optim/rules.h>
#include <descent/optim/schedulers.h>
#include "tools/checkpoint_layout.h"
#include "tools/commands.h"
#include "tools/metrics.h"
#include "tools/models.h"
#include "tools/progress.h"
#include "tools/tasks.h"

namespace descent::tools {

namespace {

using Clock = std::chrono::steady_clock;

// Set by SIGINT / SIGTERM: the loop stops after the current step and writes a checkpoint.
volatile std::sig_atomic_t g_stop_requested = 0;

extern "C" void request_stop(int signal) {
  g_stop_requested = 1;
  std::signal(signal, SIG_DFL);  // a second Ctrl-C ends the process at once
}

// The rule named by --optimizer, with the command line's options that it has (SGD has no betas,
// Adam no momentum, only SGD has nesterov).
std::unique_ptr<optim::Optimizer> make_optimizer(const TrainConfig& c, const std::vector<optim::GroupSpec>& groups) {
  const std::pair<const char*, double> given[] = {
      {"lr", c.lr},          {"momentum", c.momentum}, {"weight_decay", c.weight_decay},
      {"beta1", c.betas.at(0)}, {"beta2", c.betas.at(1)}, {"nesterov", c.nesterov ? 1.0 : 0.0}};
  std::unique_ptr<optim::UpdateRule> defaults = optim::make_rule(c.optimizer);
  std::map<std::string, double> options;
  for (const auto& [name, value] : given) {
    if (defaults->has(name)) options[name] = value;
  }
  return std::make_unique<optim::Optimizer>(optim::make_groups(groups, *optim::make_rule(c.optimizer, options)));
}

// The lr schedule: stepped after every optimizer step, except plateau, stepped after every epoch
// on the test loss. "constant" has none.
struct Schedule {
  std::unique_ptr<optim::LRScheduler> per_step;
  std::unique_ptr<optim::ReduceLROnPlateau> plateau;

  Schedule(const TrainConfig& c, optim::Optimizer& optimizer, int64_t steps_per_epoch) {
    int64_t total_steps = c.epochs * steps_per_epoch;
    if (c.schedule == "step" && c.step_size > 0) {  // x gamma every step_size epochs
      per_step = std::make_unique<optim::StepLR>(optimizer, c.step_size * steps_per_epoch, c.gamma);
    } else if (c.schedule == "step") {  // x gamma at half and at three quarters of the steps
      per_step = std::make_unique<optim::MultiStepLR>(
          optimizer, std::vector<int64_t>{total_steps / 2, total_steps * 3 / 4}, c.gamma);
    } else if (c.schedule == "cosine") {
      per_step = std::make_unique<optim::CosineAnnealingLR>(optimizer, total_steps);
    } else if (c.schedule == "warmup-cosine") {
      per_step = std::make_unique<optim::LambdaLR>(optim::warmup_cosine(
          optimizer, {.warmup_steps = c.warmup_steps_for(total_steps), .total_steps = total_steps}));
    } else if (c.schedule == "onecycle") {
      per_step = std::make_unique<optim::OneCycleLR>(optimizer, optim::OneCycleLROptions{.max_lr = {c.lr}, .total_steps = total_steps});
    } else if (c.schedule == "plateau") {  // halve the lr when the test loss did not improve for an epoch
      plateau = std::make_unique<optim::ReduceLROnPlateau>(optimizer,
                                                           optim::ReduceLROnPlateauOptions{.factor = 0.5, .patience = 1});
    } else {
      check<ValueError>(c.schedule == "constant", "descent train: unknown schedule '{}'", c.schedule);
    }
  }
  optim::StateDict state_dict() const {
    if (per_step) return per_step->state_dict();
    if (plateau) return plateau->state_dict();
    return {};
  }
  void load_state_dict(const optim::StateDict& dict) {
    if (per_step) per_step->load_state_dict(dict);
    if (plateau) plateau->load_state_dict(dict);
  }
};

// --limit-train-batches (Lightning's limit_train_batches): each epoch reads only the first
// `count` indices of the permutation the loader would have read, so the examples still change
// from epoch to epoch.
class FirstOfPermutation : public data::Sampler {
 public:
  FirstOfPermutation(int64_t n, int64_t count, uint64_t seed) : all_(n, seed), count_(std::min(n, count)) {}
  int64_t size() const override { return count_; }
  std::vector<int64_t> indices(int64_t epoch) const override {
    std::vector<int64_t> order = all_.indices(epoch);
    order.resize(static_cast<size_t>(count_));
    return order;
  }

 private:
  data::RandomSampler all_;
  int64_t count_;
};

// The counters of a run, kept in the checkpoint as run.<name>.
struct RunCounters {
  int64_t global_step = 0;       // optimizer steps taken
  double epoch_loss_sum = 0.0;   // over the current epoch's micro-batches so far
  int64_t epoch_batches = 0;
  double train_seconds = 0.0;    // training time, evaluation excluded, over every invocation
  int64_t samples = 0;           // training examples seen

  void to_metadata(nn::Metadata& m) const {
    m["run.global_step"] = std::to_string(global_step);
    m["run.epoch_loss_sum"] = optim::format_double(epoch_loss_sum);
    m["run.epoch_batches"] = std::to_string(epoch_batches);
    m["run.train_seconds"] = optim::format_double(train_seconds);
    m["run.samples"] = std::to_string(samples);
  }
  void from_checkpoint(const nn::Checkpoint& c, const std::string& file) {
    global_step = static_cast<int64_t>(metadata_count(c, "run.global_step", file));
    epoch_loss_sum = optim::parse_double(metadata_at(c, "run.epoch_loss_sum", file), "run.epoch_loss_sum");
    epoch_batches = static_cast<int64_t>(metadata_count(c, "run.epoch_batches", file));
    train_seconds = optim::parse_double(metadata_at(c, "run.train_seconds", file), "run.train_seconds");
    samples = static_cast<int64_t>(metadata_count(c, "run.samples", file));
  }
};

// runs/<date-time> in local time, e.g. runs/2026-11-30_18-52-07.
std::string default_out_dir() {
  std::time_t now = std::time(nullptr);
  return fmt::format("runs/{:%Y-%m-%d_%H-%M-%S}", fmt::localtime(now));
}

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// Everything a run is made of, built from a config in the same order every time, so that a
// resumed run draws the same initial weights (then overwritten) as the run it continues.
struct Trainer {
  TrainConfig config;
  std::string out_dir;
  std::string command_line;                // of the run's first invocation
  std::vector<std::string> resumed_with;   // the command lines of its resumes, in order
  Task task;
  std::unique_ptr<Classifier> model;
  std::unique_ptr<optim::Optimizer> optimizer;
  std::unique_ptr<data::DataLoader> loader;
  int64_t steps_per_epoch = 0;
  std::unique_ptr<Schedule> schedule;
  RunCounters counters;

  Trainer(const TrainConfig& config_, std::string out, std::string command)
      : config(config_), out_dir(std::move(out)), command_line(std::move(command)) {
    manual_seed(config.seed);
    task = load_task(config);
    model = make_model(config, task);
    optimizer = make_optimizer(config, model->parameter_groups(config.weight_decay));
    data::DataLoaderOptions loader_options{.batch_size = config.batch_size, .shuffle = true,
                                           .num_workers = config.image_dataset() ? 1 : 0, .seed = config.seed};
    if (config.limit_train_batches > 0) {
      loader_options.sampler = std::make_shared<FirstOfPermutation>(
          task.train->size(), config.limit_train_batches * config.batch_size, config.seed);
    }
    loader = std::make_unique<data::DataLoader>(task.train, loader_options);
    steps_per_epoch = (loader->size() + config.accumulate - 1) / config.accumulate;
    schedule = std::make_unique<Schedule>(config, *optimizer, steps_per_epoch);
  }

  double lr() const { return optimizer->param_groups().front().lr(); }
  double samples_per_second() const {
    return counters.train_seconds > 0 ? static_cast<double>(counters.samples) / counters.train_seconds : 0.0;
  }

  void save_checkpoint() const {
    nn::Checkpoint checkpoint;
    add_prefixed(checkpoint, "model", model->state_dict());
    add_prefixed(checkpoint, "optimizer", optimizer->state_dict());
    add_prefixed(checkpoint, "schedule", schedule->state_dict());
    add_prefixed(checkpoint, "loader", loader->state_dict());
    checkpoint.metadata.merge(config.to_metadata());
    counters.to_metadata(checkpoint.metadata);
    checkpoint.metadata["rng.seed"] = std::to_string(default_generator().seed());
    checkpoint.metadata["rng.offset"] = std::to_string(default_generator().offset());
    checkpoint.metadata["command_line"] = command_line;
    checkpoint.metadata["resumed_with"] = nlohmann::json(resumed_with).dump();
    // What a reader of the file (PyTorch, say) needs to use the model: docs/TRAINING.md.
    checkpoint.metadata["architecture"] = model->to_string();
    checkpoint.metadata["input.shape"] = fmt::format("{}", task.train->get(0).x.sizes());
    checkpoint.metadata["input.mean"] = optim::format_double(task.mean);
    checkpoint.metadata["input.std"] = optim::format_double(task.std);
    checkpoint.metadata["input.normalization"] = "(x - input.mean) / input.std, x as the dataset gives it (images: pixels in [0, 1])";
    checkpoint.metadata["classes"] = nlohmann::json(task.class_names).dump();
    nn::save(checkpoint.tensors, checkpoint_path(out_dir), checkpoint.metadata);
  }

  void load_checkpoint(const nn::Checkpoint& checkpoint, const std::string& file) {
    model->load_state_dict(take_prefixed_tensors(checkpoint, "model"));
    optimizer->load_state_dict(take_prefixed(checkpoint, "optimizer"));
    schedule->load_state_dict(take_prefixed(checkpoint, "schedule"));
    loader->load_state_dict(take_prefixed(checkpoint, "loader"));
    counters.from_checkpoint(checkpoint, file);
    default_generator().manual_seed(metadata_count(checkpoint, "rng.seed", file));
    default_generator().set_offset(metadata_count(checkpoint, "rng.offset", file));
    // The first invocation's command line stays; this one joins the resumes.
    resumed_with.push_back(command_line);
    command_line = metadata_at(checkpoint, "command_line", file);
    if (auto earlier = checkpoint.metadata.find("resumed_with"); earlier != checkpoint.metadata.end()) {
      nlohmann::json list = nlohmann::json::parse(earlier->second, nullptr, false);
      check<ValueError>(list.is_array(), "{}: metadata resumed_with is not a JSON list", file);
      std::vector<std::string> lines;
      for (const nlohmann::json& line : list) {
        check<ValueError>(line.is_string(), "{}: metadata resumed_with holds a non-string {}", file, line.dump());
        lines.push_back(line.get<std::string>());
      }
      resumed_with.insert(resumed_with.begin(), lines.begin(), lines.end());
    }
  }

  // One epoch from wherever the loader stands; false when stopped early (a checkpoint is written).
  bool train_epoch(MetricsLog& metrics, int64_t& steps_left) {
    int64_t epoch = loader->epoch();
    int64_t step_in_epoch = counters.global_step - epoch * steps_per_epoch;
    int64_t batch_in_epoch = step_in_epoch * config.accumulate;
    ProgressBar progress(epoch + 1, config.epochs, steps_per_epoch, step_in_epoch);
    std::vector<Tensor> parameters = model->parameters();
    optim::GradientAccumulator accumulator(config.accumulate);
    double step_loss_sum = 0.0;
    auto start = Clock::now();
    model->train();
    for (auto [x, y] : *loader) {
      Tensor loss = nn::functional::cross_entropy((*model)(task.prepare(x)), y.flatten());
      double loss_value = loss.item<float>();
      counters.epoch_loss_sum += loss_value;
      ++counters.epoch_batches;
      counters.samples += x.size(0);
      step_loss_sum += loss_value;
      ++batch_in_epoch;
      // The last micro-batches of an epoch make a step even when fewer than --accumulate.
      bool step_ready = accumulator.backward(loss) || batch_in_epoch == loader->size();
      if (!step_ready) continue;
      if (config.clip_grad_norm > 0) optim::clip_grad_norm(parameters, config.clip_grad_norm);
      optimizer->step();
      optimizer->zero_grad();
      double step_lr = lr();
      if (schedule->per_step) schedule->per_step->step();
      ++counters.global_step;
      ++step_in_epoch;
      int64_t micro_batches = accumulator.pending() == 0 ? config.accumulate : accumulator.pending();
      metrics.log_step(epoch + 1, counters.global_step, step_loss_sum / static_cast<double>(micro_batches), step_lr);
      progress.update(step_in_epoch, loss_value, step_lr, x.size(0) * micro_batches);
      step_loss_sum = 0.0;
      if (--steps_left == 0 || g_stop_requested) {
        progress.finish();
        counters.train_seconds += seconds_since(start);
        metrics.flush();
        save_checkpoint();
        return false;
      }
    }
    progress.finish();
    counters.train_seconds += seconds_since(start);
    return true;
  }
};

nlohmann::ordered_json summary(const Trainer& t, const Evaluation& test) {
  nlohmann::ordered_json json;
  json["model"] = t.config.model;
  // Like the Hugging Face trainer's "epoch": fractional when stopped inside one.
  json["epochs"] = static_cast<double>(t.counters.global_step) / static_cast<double>(t.steps_per_epoch);
  json["test_accuracy"] = test.accuracy;
  json["test_loss"] = test.loss;
  json["train_seconds"] = t.counters.train_seconds;
  json["samples_per_second"] = t.samples_per_second();
  if (t.task.is_text()) {
    json["test_bits_per_token"] = test.bits_per_token();
    json["tokens_per_second"] = t.samples_per_second() * static_cast<double>(t.task.targets_per_example);
  }
  json["out"] = t.out_dir;
  return json;
}

}  // namespace

int run_train(const TrainCommand& command) {
  if (command.threads > 0) set_num_threads(command.threads);
  std::optional<nn::Checkpoint> checkpoint;
  TrainConfig config = command.config;
  std::string out_dir = command.out_dir;
  std::string file;
  if (!command.resume_dir.empty()) {
    file = checkpoint_path(command.resume_dir);
    checkpoint = nn::load(file);
    config = TrainConfig::from_metadata(checkpoint->metadata, file);
    out_dir = command.resume_dir;
  } else if (out_dir.empty()) {
    out_dir = default_out_dir();
  }
  std::filesystem::create_directories(out_dir);

  Trainer trainer(config, out_dir, command.command_line);
  if (checkpoint) trainer.load_checkpoint(*checkpoint, file);
  MetricsLog metrics(out_dir + "/metrics.csv", checkpoint ? trainer.counters.global_step : -1);
  write_hparams(out_dir, config.to_metadata(), trainer.command_line, trainer.resumed_with);

  fmt::print("descent train: {} ({} parameters) on {} ({} train, {} test), {} lr {:g}, {} schedule, "
             "batch {}{}, {} epochs -> {}{}\n",
             config.model, trainer.model->num_parameters(), config.dataset, trainer.task.train->size(),
             trainer.task.test->size(), config.optimizer, config.lr, config.schedule, config.batch_size,
             config.accumulate > 1 ? fmt::format(" x {} accumulated", config.accumulate) : "", config.epochs, out_dir,
             checkpoint ? fmt::format(" (resumed at step {})", trainer.counters.global_step) : "");
  std::fflush(stdout);

  std::signal(SIGINT, request_stop);
  std::signal(SIGTERM, request_stop);
  int64_t steps_left = command.stop_after_steps > 0 ? command.stop_after_steps : -1;
  std::optional<Evaluation> test;
  bool stopped = false;
  while (trainer.loader->epoch() < config.epochs) {
    int64_t epoch = trainer.loader->epoch();
    if (!trainer.train_epoch(metrics, steps_left)) {
      stopped = true;
      break;
    }
    test = evaluate(*trainer.model, trainer.task, trainer.task.test);
    if (trainer.schedule->plateau) trainer.schedule->plateau->step(test->loss);
    double train_loss = trainer.counters.epoch_loss_sum / static_cast<double>(std::max<int64_t>(trainer.counters.epoch_batches, 1));
    double tokens_per_second = trainer.samples_per_second() * static_cast<double>(trainer.task.targets_per_example);
    metrics.log_epoch(epoch + 1, trainer.counters.global_step, train_loss, trainer.lr(), *test, tokens_per_second);
    std::string measured =
        trainer.task.is_text()
            ? fmt::format("held-out loss {:.4f} ({:.3f} bits per token)  {:.0f} tokens/s", test->loss,
                          test->bits_per_token(), tokens_per_second)
            : fmt::format("test loss {:.4f}  test accuracy {:.2f}%", test->loss, 100.0 * test->accuracy);
    fmt::print("epoch {}/{}  train loss {:.4f}  {}  lr {:.3g}  {:.1f} s\n", epoch + 1, config.epochs, train_loss,
               measured, trainer.lr(), trainer.counters.train_seconds);
    std::fflush(stdout);
    trainer.counters.epoch_loss_sum = 0.0;
    trainer.counters.epoch_batches = 0;
    trainer.save_checkpoint();
  }
  if (!test) test = evaluate(*trainer.model, trainer.task, trainer.task.test);
  metrics.flush();  // gnuplot reads the file
  if (trainer.loader->epoch() > 0) {  // the accuracy panel needs an epoch's test
    std::string note = plot_curves(out_dir, config.epochs, config.epochs * trainer.steps_per_epoch);
    if (!note.empty()) fmt::print("note: {}\n", note);
  }
  if (stopped) {
    fmt::print("stopped after step {}; continue with: descent train --resume {}\n", trainer.counters.global_step,
               out_dir);
  }
  fmt::print("{}\n", summary(trainer, *test).dump());
  return stopped && g_stop_requested ? 130 : 0;
}

}  // namespace descent::tools
