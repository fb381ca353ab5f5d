// Loss along a line and on a filter-normalised plane (study/landscape.h).
#include <descent/study/landscape.h>

#include <cmath>

#include <descent/autograd/graph.h>
#include <descent/autograd/ops.h>

namespace descent::study {

namespace {

double evaluate(const LossFunction& metric, const char* op) {
  check<ValueError>(static_cast<bool>(metric), "{}: the metric function is empty", op);
  autograd::NoGradGuard no_grad;
  Tensor value = metric();
  check<ShapeError>(value.defined() && value.numel() == 1, "{}: the metric must be one number, not shape {}", op,
                    value.defined() ? fmt::format("{}", value.sizes()) : std::string("undefined"));
  return value.item<double>();
}

}  // namespace

std::vector<double> loss_along_line(const LossFunction& metric, const TensorList& params, const TensorList& from,
                                    const TensorList& to, const std::vector<double>& alphas) {
  const char* op = "study::loss_along_line";
  check_parameters(params, op);
  check_like(from, params, op);
  check_like(to, params, op);
  ParameterSnapshot snapshot(params);
  TensorList difference = clone(to);
  axpy_(difference, -1.0, from);
  std::vector<double> out;
  out.reserve(alphas.size());
  for (double alpha : alphas) {
    {
      autograd::NoGradGuard no_grad;
      for (size_t i = 0; i < params.size(); ++i) {
        Tensor p = params[i];
        p.copy_(from[i]);
        p.add_(difference[i], alpha);
      }
    }
    out.push_back(evaluate(metric, op));
  }
  snapshot.restore();
  return out;
}

void filter_normalize_(TensorList& direction, const TensorList& weights, bool ignore_vectors) {
  const char* op = "study::filter_normalize_";
  check_like(direction, weights, op);
  autograd::NoGradGuard no_grad;
  for (size_t i = 0; i < weights.size(); ++i) {
    Tensor d = direction[i];
    const Tensor& w = weights[i];
    if (w.dim() <= 1) {
      if (ignore_vectors) {
        d.zero_();
      } else {
        d.copy_(w);
      }
      continue;
    }
    for (int64_t j = 0; j < w.size(0); ++j) {
      Tensor d_filter = d.select(0, j);
      double d_norm = d_filter.norm().item<double>();
      if (d_norm == 0.0) continue;
      double w_norm = w.select(0, j).norm().item<double>();
      d_filter.mul_(w_norm / d_norm);
    }
  }
}

TensorList filter_normalized_direction(const TensorList& params, Generator& generator, bool ignore_vectors) {
  check_parameters(params, "study::filter_normalized_direction");
  TensorList direction = randn_like(params, generator);
  filter_normalize_(direction, params, ignore_vectors);
  return direction;
}

LandscapePlane loss_plane(const LossFunction& metric, const TensorList& params, const TensorList& d1,
                          const TensorList& d2, const std::vector<double>& alphas, const std::vector<double>& betas) {
  const char* op = "study::loss_plane";
  check_parameters(params, op);
  check_like(d1, params, op);
  check_like(d2, params, op);
  ParameterSnapshot snapshot(params);
  LandscapePlane out{alphas, betas, {}};
  out.values.reserve(alphas.size() * betas.size());
  for (double alpha : alphas) {
    for (double beta : betas) {
      {
        autograd::NoGradGuard no_grad;
        for (size_t i = 0; i < params.size(); ++i) {
          Tensor p = params[i];
          p.copy_(snapshot.values()[i]);
          p.add_(d1[i], alpha);
          p.add_(d2[i], beta);
        }
      }
      out.values.push_back(evaluate(metric, op));
    }
  }
  snapshot.restore();
  return out;
}

}  // namespace descent::study
