"""Golden lr sequences of torch.optim.lr_scheduler 1.13 for tests/optim/test_schedulers.cpp: each
schedule on an optimizer with two groups of different base lrs, the lrs (and the cycled momentum
or beta1) after construction and after every step. Run with /usr/bin/python3."""
import os
import sys

import torch
from torch.optim import lr_scheduler as S

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
import golden_io  # noqa: E402

BASE_LRS = [0.1, 0.03]
PLATEAU_METRICS = [5.0, 4.0, 3.9, 3.95, 3.9, 3.89, 3.5, 3.6, 3.7, 3.8, 3.4, 3.41, 3.42, 3.43, 3.44, 3.45,
                   2.0, 2.1, 2.2, 2.3, 2.4, 2.5, 2.6, 2.7, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]


def optimizer(rule="SGD"):
    groups = [{"params": [torch.zeros(1, requires_grad=True)], "lr": lr} for lr in BASE_LRS]
    if rule == "Adam":
        return torch.optim.Adam(groups)
    return torch.optim.SGD(groups, momentum=0.9)


def momentum(group):
    return group["betas"][0] if "betas" in group else group["momentum"]


# name -> (rule, make(opt) -> scheduler, steps)
CASES = {
    "lambda": ("SGD", lambda o: S.LambdaLR(o, [lambda e: 0.95 ** e, lambda e: 1.0 / (1.0 + e)]), 30),
    "multiplicative": ("SGD", lambda o: S.MultiplicativeLR(o, [lambda e: 0.9, lambda e: 0.95 if e % 2 else 1.0]), 30),
    "step": ("SGD", lambda o: S.StepLR(o, step_size=7, gamma=0.5), 40),
    "multistep": ("SGD", lambda o: S.MultiStepLR(o, milestones=[5, 12, 12, 30], gamma=0.3), 40),
    "constant": ("SGD", lambda o: S.ConstantLR(o, factor=0.25, total_iters=6), 20),
    "linear": ("SGD", lambda o: S.LinearLR(o, start_factor=0.1, end_factor=0.9, total_iters=10), 20),
    "exponential": ("SGD", lambda o: S.ExponentialLR(o, gamma=0.93), 40),
    "polynomial": ("SGD", lambda o: S.PolynomialLR(o, total_iters=15, power=2.0), 25),
    "cosine": ("SGD", lambda o: S.CosineAnnealingLR(o, T_max=10, eta_min=0.001), 45),
    "warm_restarts": ("SGD", lambda o: S.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=2, eta_min=0.002), 50),
    "warm_restarts_1": ("SGD", lambda o: S.CosineAnnealingWarmRestarts(o, T_0=6), 20),
    "cyclic_triangular": ("SGD", lambda o: S.CyclicLR(o, base_lr=[0.01, 0.002], max_lr=[0.1, 0.05], step_size_up=4,
                                                      step_size_down=6), 40),
    "cyclic_triangular2": ("SGD", lambda o: S.CyclicLR(o, base_lr=0.01, max_lr=[0.1, 0.05], step_size_up=5,
                                                       mode="triangular2", base_momentum=0.7,
                                                       max_momentum=0.95), 50),
    "cyclic_exp_range": ("SGD", lambda o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=3, mode="exp_range",
                                                     gamma=0.97, cycle_momentum=False), 40),
    "onecycle_cos": ("SGD", lambda o: S.OneCycleLR(o, max_lr=[0.2, 0.1], total_steps=40), 39),
    "onecycle_linear_three_phase": ("Adam", lambda o: S.OneCycleLR(o, max_lr=0.05, total_steps=30, pct_start=0.25,
                                                                   anneal_strategy="linear", div_factor=10.0,
                                                                   final_div_factor=100.0, three_phase=True,
                                                                   base_momentum=0.8, max_momentum=0.9), 29),
    "cyclic_scale_fn_cycle": ("SGD", lambda o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=3, step_size_down=2,
                                                          scale_fn=lambda x: 1.0 / (x * x), scale_mode="cycle"), 30),
    "cyclic_scale_fn_iterations": ("SGD", lambda o: S.CyclicLR(o, base_lr=[0.01, 0.02], max_lr=0.1, step_size_up=4,
                                                               scale_fn=lambda x: 1.0 / (1.0 + 0.1 * x),
                                                               scale_mode="iterations", max_momentum=0.95), 30),
    "onecycle_epochs": ("SGD", lambda o: S.OneCycleLR(o, max_lr=0.1, epochs=4, steps_per_epoch=6), 23),
    "sequential": ("SGD", lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.2, total_iters=5),
                                                       S.CosineAnnealingLR(o, T_max=20)], milestones=[5]), 30),
    "sequential3": ("SGD", lambda o: S.SequentialLR(o, [S.ConstantLR(o, factor=0.1, total_iters=3),
                                                        S.ExponentialLR(o, gamma=0.9),
                                                        S.StepLR(o, step_size=4, gamma=0.5)], milestones=[3, 10]), 25),
    "chained": ("SGD", lambda o: S.ChainedScheduler([S.ConstantLR(o, factor=0.1, total_iters=4),
                                                     S.ExponentialLR(o, gamma=0.9)]), 20),
}

PLATEAU_CASES = {
    "plateau_min_rel": dict(mode="min", factor=0.5, patience=2, threshold=0.01, threshold_mode="rel", cooldown=1,
                            min_lr=[0.001, 0.0005]),
    "plateau_max_abs": dict(mode="max", factor=0.3, patience=1, threshold=0.05, threshold_mode="abs", cooldown=2,
                            min_lr=0.004, eps=1e-3),
}


def main():
    entries = {"plateau_metrics": torch.tensor(PLATEAU_METRICS, dtype=torch.float64)}
    for name, (rule, make, steps) in CASES.items():
        opt = optimizer(rule)
        sched = make(opt)
        lrs, moms = [], []
        for step in range(steps + 1):
            if step > 0:
                opt.step()
                sched.step()
            lrs.append(list(sched.get_last_lr()))
            moms.append([momentum(g) for g in opt.param_groups])
        entries[name + ".lr"] = torch.tensor(lrs, dtype=torch.float64)
        entries[name + ".momentum"] = torch.tensor(moms, dtype=torch.float64)
    for name, kwargs in PLATEAU_CASES.items():
        opt = optimizer()
        sched = S.ReduceLROnPlateau(opt, **kwargs)
        lrs = []
        for metric in PLATEAU_METRICS:
            opt.step()
            sched.step(metric)
            lrs.append([g["lr"] for g in opt.param_groups])
        entries[name + ".lr"] = torch.tensor(lrs, dtype=torch.float64)
    golden_io.write(os.path.join(os.path.dirname(__file__), "optim_schedules.json"), entries)


if __name__ == "__main__":
    main()
