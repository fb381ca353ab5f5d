"""Golden trajectories of torch.optim 1.13 for tests/optim/test_rules.cpp: every update rule with
each of its options, on a small nn.Sequential model and on a Rosenbrock function, in float64,
with the parameters recorded after every step. Lion is not in torch 1.13; it is written here
from the paper (Chen et al. 2023). Run with /usr/bin/python3."""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
import golden_io  # noqa: E402

torch.set_default_dtype(torch.float64)
STEPS = 100
# Recorded values keep 9 significant digits (relative rounding <= 5e-10, far below the tests'
# 1e-6 tolerance) so that every step of every case fits in a small file.
DIGITS = 9

torch.manual_seed(0)
MODEL_X = torch.randn(8, 2)
MODEL_T = torch.randn(8, 1) * 0.5
ROSEN_P = torch.tensor([-1.2, 1.0])


def new_model():
    """Linear(2, 2) -> Tanh -> Linear(2, 1) with the weights drawn once under seed 1."""
    torch.manual_seed(1)
    return torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Tanh(), torch.nn.Linear(2, 1))


MODEL_STATE = new_model().state_dict()


def model_problem():
    model = new_model()
    model.load_state_dict(MODEL_STATE)
    return list(model.parameters()), lambda: ((model(MODEL_X) - MODEL_T) ** 2).sum()


def rosen_problem():
    p = ROSEN_P.clone().requires_grad_()
    return [p], lambda: (100.0 * (p[1:] - p[:-1] ** 2) ** 2 + (1.0 - p[:-1]) ** 2).sum()


PROBLEMS = {"model": model_problem, "rosen": rosen_problem}


class Lion(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0, maximize=False):
        super().__init__(params, dict(lr=lr, beta1=beta1, beta2=beta2, weight_decay=weight_decay, maximize=maximize))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                g = -p.grad if group["maximize"] else p.grad
                m = self.state[p].setdefault("exp_avg", torch.zeros_like(p))
                c = m * group["beta1"] + (1 - group["beta1"]) * g
                p.mul_(1 - group["lr"] * group["weight_decay"]).add_(torch.sign(c), alpha=-group["lr"])
                m.mul_(group["beta2"]).add_(g, alpha=1 - group["beta2"])


def make(rule, params, options):
    kwargs = dict(options)
    if rule in ("Adam", "AdamW") and ("beta1" in kwargs or "beta2" in kwargs):
        kwargs["betas"] = (kwargs.pop("beta1", 0.9), kwargs.pop("beta2", 0.999))
    if rule == "Lion":
        return Lion(params, **kwargs)
    return getattr(torch.optim, rule)(params, **kwargs)


# (rule, options, lr on the model, lr on Rosenbrock). Every option the rules have appears in at
# least one case; maximize cases climb the negated loss.
CASES = [
    ("SGD", {}, 0.05, 1e-4),
    ("SGD", {"momentum": 0.9, "dampening": 0.3}, 0.02, 1e-4),
    ("SGD", {"momentum": 0.8, "nesterov": True, "weight_decay": 0.1}, 0.02, 1e-4),
    ("SGD", {"momentum": 0.5, "maximize": True}, 0.03, 1e-4),
    ("Adam", {}, 0.01, 0.01),
    ("Adam", {"weight_decay": 0.1, "amsgrad": True}, 0.01, 0.01),
    ("Adam", {"maximize": True, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6}, 0.01, 0.01),
    ("AdamW", {}, 0.01, 0.01),
    ("AdamW", {"weight_decay": 0.3, "amsgrad": True, "maximize": True, "beta1": 0.85}, 0.01, 0.01),
    ("RMSprop", {}, 0.001, 0.001),
    ("RMSprop", {"alpha": 0.9, "centered": True, "eps": 1e-6}, 0.0005, 0.001),
    ("RMSprop", {"momentum": 0.7}, 0.0005, 0.0005),
    ("RMSprop", {"centered": True, "momentum": 0.5, "weight_decay": 0.05, "maximize": True}, 0.0005, 0.0005),
    ("Adagrad", {}, 0.1, 0.05),
    ("Adagrad", {"lr_decay": 0.01, "maximize": True}, 0.1, 0.05),
    ("Adagrad", {"initial_accumulator_value": 0.5, "weight_decay": 0.1, "eps": 1e-8}, 0.1, 0.05),
    ("Lion", {}, 0.001, 0.001),
    ("Lion", {"weight_decay": 0.5, "beta1": 0.8, "beta2": 0.95, "maximize": True}, 0.001, 0.001),
]


def rounded(t):
    return torch.tensor([float(f"{v:.{DIGITS}g}") for v in t.tolist()])


def trajectory(rule, options, lr, problem):
    params, loss_fn = PROBLEMS[problem]()
    opt = make(rule, params, dict(options, lr=lr))
    sign = -1.0 if options.get("maximize") else 1.0
    rows = []
    for _ in range(STEPS):
        opt.zero_grad()
        (sign * loss_fn()).backward()
        opt.step()
        rows.append(rounded(torch.cat([p.detach().reshape(-1) for p in params])))
    return torch.stack(rows)


def main():
    entries = {"model.x": MODEL_X, "model.t": MODEL_T, "rosen.p": ROSEN_P}
    for name, value in MODEL_STATE.items():
        entries["model." + name] = value
    cases = []
    for index, (rule, options, model_lr, rosen_lr) in enumerate(CASES):
        for problem, lr in (("model", model_lr), ("rosen", rosen_lr)):
            name = f"case{index}.{problem}"
            entries[name] = trajectory(rule, options, lr, problem)
            opts = {k: float(v) for k, v in dict(options, lr=lr).items()}
            cases.append({"name": name, "rule": rule, "problem": problem, "options": opts})
    entries["cases"] = {"list": cases}
    golden_io.write(os.path.join(os.path.dirname(__file__), "optim_rules.json"), entries)


if __name__ == "__main__":
    main()
