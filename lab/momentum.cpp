// descent lab momentum: plain SGD, heavy ball, Nesterov and Adam from the same start on two
// functions of two variables, an ill-conditioned quadratic and Rosenbrock's valley; the steps
// each needs to come within a tolerance of the minimum, and the trajectories over the contours.
// The point is a parameter tensor of 2 float64 numbers trained by descent's own optimizers.
//
// The quadratic f = (x^2 + kappa y^2) / 2 has Hessian diag(1, kappa), mu = 1, L = kappa. Each
// method gets its textbook step for a quadratic with these mu and L, and its asymptotic rate
// (the factor by which the distance to the minimum shrinks per step) predicts its steps:
//   gradient descent, lr = 2 / (L + mu):                          rate (kappa - 1) / (kappa + 1)
//   heavy ball (Polyak 1964, "Some methods of speeding up the convergence of iteration
//   methods"), lr = 4 / (sqrt L + sqrt mu)^2, momentum ((sqrt kappa - 1) / (sqrt kappa + 1))^2:
//                                                                 rate (sqrt kappa - 1) / (sqrt kappa + 1)
//   Nesterov (Nesterov 2004, "Introductory lectures on convex optimization", scheme 2.2.19),
//   lr = 1 / L, momentum (sqrt kappa - 1) / (sqrt kappa + 1):     rate 1 - 1 / sqrt kappa
// torch.optim.SGD's momentum (v = m v + g, w -= lr v) is exactly Polyak's
// w_{t+1} = w_t - lr g_t + m (w_t - w_{t-1}), and its nesterov=true the look-ahead form of
// Sutskever et al. 2013, so these settings carry over as they are. Adam (Kingma & Ba 2015) has
// no such rate; it gets a step size picked by hand.
#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <descent/descent.h>
#include "lab/experiment.h"

namespace descent::lab {
namespace {

constexpr double kKappa = 100.0;

struct Problem {
  std::string name;
  std::function<Tensor(const Tensor&)> loss;  // of w [2]
  std::string gnuplot_expression;             // the same function, for the contour lines
  std::vector<double> contour_levels;
  double start_x, start_y, min_x, min_y;
  double tolerance;  // |w - w*| at which a run has converged
  int64_t max_steps;
};

using MakeOptimizer = std::function<std::unique_ptr<optim::Optimizer>(const Tensor&)>;

// An optimizer of type O with `options` for the one parameter w.
template <typename O, typename Options>
MakeOptimizer optimizer_of(Options options) {
  return [options](const Tensor& w) { return std::make_unique<O>(std::vector<Tensor>{w}, options); };
}

struct Method {
  std::string name;
  MakeOptimizer make;     // for the parameter w
  std::string settings;   // as shown in the table
  double predicted_rate;  // on the quadratic; 0: none
};

struct Trajectory {
  std::vector<std::pair<double, double>> points;    // w at every step, from the start
  std::vector<std::pair<double, double>> distance;  // (step, |w - w*|)
  int64_t steps_to_tolerance = -1;                  // -1: not within max_steps
};

Trajectory descend(const Problem& problem, const Method& method) {
  Tensor w = tensor({problem.start_x, problem.start_y}, {.dtype = kFloat64, .requires_grad = true});
  std::unique_ptr<optim::Optimizer> optimizer = method.make(w);
  Trajectory trajectory;
  for (int64_t step = 0;; ++step) {
    double x = w.data<double>()[0], y = w.data<double>()[1];
    double distance = std::hypot(x - problem.min_x, y - problem.min_y);
    trajectory.points.emplace_back(x, y);
    trajectory.distance.emplace_back(static_cast<double>(step), distance);
    if (distance <= problem.tolerance) {
      trajectory.steps_to_tolerance = step;
      break;
    }
    if (step == problem.max_steps || !std::isfinite(distance)) break;
    optimizer->zero_grad();
    problem.loss(w).backward();
    optimizer->step();
  }
  return trajectory;
}

// At most `count` points of `points`, evenly spaced, always keeping the last.
std::vector<std::pair<double, double>> thinned(const std::vector<std::pair<double, double>>& points, size_t count) {
  if (points.size() <= count) return points;
  std::vector<std::pair<double, double>> kept;
  for (size_t i = 0; i < count; ++i) kept.push_back(points[i * (points.size() - 1) / (count - 1)]);
  return kept;
}

std::string steps_text(int64_t steps) { return steps < 0 ? "not reached" : std::to_string(steps); }

Report run_momentum(const Context& context) {
  const double root_kappa = std::sqrt(kKappa);
  std::vector<Problem> problems = {
      {"quadratic", [](const Tensor& w) { return 0.5 * sum(tensor({1.0, kKappa}, {.dtype = kFloat64}) * w * w); },
       "0.5*(x**2 + 100*y**2)", {0.01, 0.05, 0.2, 0.5, 1, 2, 4, 8, 20, 50, 100}, -1.0, 0.3, 0.0, 0.0, 1e-6,
       context.smoke ? 2000 : 20000},
      {"rosenbrock",
       [](const Tensor& w) {
         Tensor x = w.select(0, 0), y = w.select(0, 1);
         return (1.0 - x) * (1.0 - x) + 100.0 * (y - x * x) * (y - x * x);
       },
       "(1-x)**2 + 100*(y-x**2)**2", {0.01, 0.1, 0.5, 1, 2, 5, 10, 20, 50}, -1.2, 1.0, 1.0, 1.0, 1e-4,
       context.smoke ? 3000 : 50000},
  };
  // Per problem: the methods' settings (the quadratic's from mu and L, Rosenbrock's by hand,
  // each as large as stays stable on its valley walls, whose curvature reaches ~1,500).
  auto methods_for = [&](const std::string& problem) -> std::vector<Method> {
    bool quadratic = problem == "quadratic";
    double sgd_lr = quadratic ? 2.0 / (kKappa + 1.0) : 1e-3;
    double ball_lr = quadratic ? 4.0 / ((root_kappa + 1.0) * (root_kappa + 1.0)) : 1e-3;
    double ball_momentum = quadratic ? std::pow((root_kappa - 1.0) / (root_kappa + 1.0), 2) : 0.9;
    double nesterov_lr = quadratic ? 1.0 / kKappa : 1e-3;
    double nesterov_momentum = quadratic ? (root_kappa - 1.0) / (root_kappa + 1.0) : 0.9;
    double adam_lr = quadratic ? 0.05 : 0.02;
    return {
        {"SGD", optimizer_of<optim::SGD>(optim::SGDOptions{.lr = sgd_lr}), fmt::format("lr {:.4g}", sgd_lr),
         (kKappa - 1.0) / (kKappa + 1.0)},
        {"heavy ball", optimizer_of<optim::SGD>(optim::SGDOptions{.lr = ball_lr, .momentum = ball_momentum}),
         fmt::format("lr {:.4g} momentum {:.4g}", ball_lr, ball_momentum), (root_kappa - 1.0) / (root_kappa + 1.0)},
        {"Nesterov",
         optimizer_of<optim::SGD>(
             optim::SGDOptions{.lr = nesterov_lr, .momentum = nesterov_momentum, .nesterov = true}),
         fmt::format("lr {:.4g} momentum {:.4g}", nesterov_lr, nesterov_momentum), 1.0 - 1.0 / root_kappa},
        {"Adam", optimizer_of<optim::Adam>(optim::AdamOptions{.lr = adam_lr}),
         fmt::format("lr {:.4g} betas 0.9 0.999", adam_lr), 0.0},
    };
  };

  Report report("momentum on an ill-conditioned quadratic and on Rosenbrock's function");
  report.describe(fmt::format(
      "Four update rules of `optim/` move a point w (2 float64 numbers) from the same start until "
      "|w - w*| falls below the tolerance or the budget of steps runs out. The quadratic is "
      "f = (x^2 + {} y^2) / 2 (condition number {}), started at (-1, 0.3), tolerance 1e-6; Rosenbrock's "
      "f = (1 - x)^2 + 100 (y - x^2)^2 is started at (-1.2, 1), tolerance 1e-4. On the quadratic each "
      "method has its textbook step for mu = 1, L = {} (see lab/momentum.cpp), and the predicted steps are "
      "ln(tolerance / |w_0 - w*|) / ln(rate) for its asymptotic rate; on Rosenbrock the steps are picked by hand.",
      kKappa, kKappa, kKappa));
  report.set_columns({"problem", "method", "settings", "steps to tolerance", "predicted steps", "final distance"});

  std::map<std::string, std::map<std::string, int64_t>> steps;  // problem -> method -> steps
  for (const Problem& problem : problems) {
    std::vector<Series> paths, distances;
    double start_distance = std::hypot(problem.start_x - problem.min_x, problem.start_y - problem.min_y);
    for (const Method& method : methods_for(problem.name)) {
      Trajectory trajectory = descend(problem, method);
      steps[problem.name][method.name] = trajectory.steps_to_tolerance;
      Cell predicted = "-";
      if (problem.name == "quadratic" && method.predicted_rate > 0) {
        double shrink = problem.tolerance / start_distance;
        predicted = static_cast<int64_t>(std::ceil(std::log(shrink) / std::log(method.predicted_rate)));
      }
      report.add_row({problem.name, method.name, method.settings, steps_text(trajectory.steps_to_tolerance), predicted,
                      trajectory.distance.back().second});
      paths.push_back({method.name, thinned(trajectory.points, 3000), "lines"});
      distances.push_back({method.name, thinned(trajectory.distance, 3000), "lines"});
    }
    bool quadratic = problem.name == "quadratic";
    report.plot(context, {.file = problem.name + "_trajectories.png",
                          .title = problem.name + ": trajectories over the contours",
                          .x_label = "x", .y_label = "y", .series = paths,
                          .contours = problem.gnuplot_expression, .contour_levels = problem.contour_levels,
                          .x_range = quadratic ? std::pair{-1.2, 0.4} : std::pair{-1.6, 1.6},
                          .y_range = quadratic ? std::pair{-1.6, 1.6} : std::pair{-0.6, 2.4}});
    report.plot(context, {.file = problem.name + "_distance.png", .title = problem.name + ": distance to the minimum",
                          .x_label = "step", .y_label = "|w - w*|", .log_y = true, .series = distances});
  }

  // The conclusion from the measured steps.
  auto as_text = [](int64_t s) { return s < 0 ? std::string("did not reach it") : fmt::format("{} steps", s); };
  const auto& quadratic = steps["quadratic"];
  int64_t sgd = quadratic.at("SGD"), ball = quadratic.at("heavy ball");
  std::string verdict = ball >= 0 && (sgd < 0 || ball < sgd)
                            ? (sgd < 0 ? "heavy ball converged where plain SGD did not"
                                       : fmt::format("heavy ball needed {:.1f}x fewer steps than plain SGD",
                                                     static_cast<double>(sgd) / static_cast<double>(ball)))
                            : "heavy ball did not beat plain SGD";
  std::string fastest = "none";
  int64_t fastest_steps = -1;
  for (const auto& [method, s] : steps["rosenbrock"]) {
    if (s >= 0 && (fastest_steps < 0 || s < fastest_steps)) fastest = method, fastest_steps = s;
  }
  report.conclude(fmt::format(
      "On the quadratic of condition number {} {} ({} against {}; Nesterov {}, Adam {}), and on Rosenbrock "
      "the fastest to the tolerance was {}{}.",
      kKappa, verdict, as_text(ball), as_text(sgd), as_text(quadratic.at("Nesterov")), as_text(quadratic.at("Adam")),
      fastest, fastest_steps >= 0 ? fmt::format(" ({} steps)", fastest_steps) : " (no method reached it)"));
  return report;
}

const Registration kRegistration{{"momentum",
                                  "SGD, heavy ball, Nesterov, Adam on an ill-conditioned quadratic and Rosenbrock: "
                                  "steps to tolerance, trajectories",
                                  run_momentum}};

}  // namespace
}  // namespace descent::lab
