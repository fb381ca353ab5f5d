"""Golden trajectories of torch.optim 1.13 for tests/optim/test_rules.cpp: every update rule with
its options, on a small tanh model and on a Rosenbrock function, in float64. Lion is not in
torch 1.13; it is written here from the paper (Chen et al. 2023). Run with /usr/bin/python3."""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
import golden_io  # noqa: E402

torch.set_default_dtype(torch.float64)
STEPS = 120
# Steps after which the parameters are recorded (every step early on, then every tenth).
RECORDED = [1, 2, 3, 4, 5] + list(range(10, STEPS + 1, 10))

torch.manual_seed(0)
MODEL_W = torch.randn(2, 3) * 0.5
MODEL_B = torch.randn(3) * 0.1
MODEL_X = torch.randn(4, 2, 3)
MODEL_T = torch.randn(4, 2, 3) * 0.5
ROSEN_P = torch.tensor([-1.2, 1.0, -0.5, 0.8])


def model_loss(params):
    w, b = params
    return ((torch.tanh(MODEL_X * w + b) - MODEL_T) ** 2).sum()


def rosen_loss(params):
    (p,) = params
    return (100.0 * (p[1:] - p[:-1] ** 2) ** 2 + (1.0 - p[:-1]) ** 2).sum()


PROBLEMS = {
    "model": (lambda: [MODEL_W.clone(), MODEL_B.clone()], model_loss),
    "rosen": (lambda: [ROSEN_P.clone()], rosen_loss),
}


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


# (rule, options, lr on the model, lr on Rosenbrock). maximize cases climb the negated loss.
CASES = [
    ("SGD", {}, 0.05, 1e-4),
    ("SGD", {"momentum": 0.9}, 0.02, 1e-4),
    ("SGD", {"momentum": 0.9, "dampening": 0.3}, 0.02, 1e-4),
    ("SGD", {"momentum": 0.8, "nesterov": True}, 0.02, 1e-4),
    ("SGD", {"momentum": 0.5, "weight_decay": 0.1}, 0.03, 1e-4),
    ("SGD", {"momentum": 0.5, "maximize": True}, 0.03, 1e-4),
    ("Adam", {}, 0.01, 0.01),
    ("Adam", {"weight_decay": 0.1}, 0.01, 0.01),
    ("Adam", {"amsgrad": True}, 0.01, 0.01),
    ("Adam", {"maximize": True, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6}, 0.01, 0.01),
    ("AdamW", {}, 0.01, 0.01),
    ("AdamW", {"weight_decay": 0.3, "amsgrad": True}, 0.01, 0.01),
    ("AdamW", {"maximize": True}, 0.01, 0.01),
    ("RMSprop", {}, 0.001, 0.001),
    ("RMSprop", {"alpha": 0.9, "centered": True}, 0.0005, 0.001),
    ("RMSprop", {"momentum": 0.7}, 0.0005, 0.0005),
    ("RMSprop", {"centered": True, "momentum": 0.5, "weight_decay": 0.05, "maximize": True}, 0.0005, 0.0005),
    ("Adagrad", {}, 0.1, 0.05),
    ("Adagrad", {"lr_decay": 0.01}, 0.1, 0.05),
    ("Adagrad", {"initial_accumulator_value": 0.5, "weight_decay": 0.1, "eps": 1e-8}, 0.1, 0.05),
    ("Adagrad", {"maximize": True}, 0.1, 0.05),
    ("Lion", {}, 0.001, 0.001),
    ("Lion", {"weight_decay": 0.5, "beta1": 0.8, "beta2": 0.95}, 0.001, 0.001),
    ("Lion", {"maximize": True}, 0.001, 0.001),
]


def trajectory(rule, options, lr, problem):
    init, loss_fn = PROBLEMS[problem]
    params = [p.requires_grad_() for p in init()]
    opt = make(rule, params, dict(options, lr=lr))
    sign = -1.0 if options.get("maximize") else 1.0
    rows = []
    for step in range(1, STEPS + 1):
        opt.zero_grad()
        (sign * loss_fn(params)).backward()
        opt.step()
        if step in RECORDED:
            rows.append(torch.cat([p.detach().reshape(-1) for p in params]))
    return torch.stack(rows)


def main():
    entries = {
        "model.w": MODEL_W, "model.b": MODEL_B, "model.x": MODEL_X, "model.t": MODEL_T, "rosen.p": ROSEN_P,
        "recorded_steps": torch.tensor(RECORDED),
    }
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
