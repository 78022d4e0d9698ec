#!/usr/bin/env python3
"""Learning rates of PyTorch's schedulers, one value per position t = 0..T−1, for Backprop's schedule tests.

Run:  /usr/bin/python3 tools/make_schedule_reference.py      (needs Debian's python3-torch)
Writes: tests/Backprop.Tests/Golden/torch_schedules.json

Each case records optimizer.param_groups[0]["lr"] before the t-th scheduler.step(), which is the rate Backprop's
LearningRateSchedule.Rate(base, t) must return. "plateau" cases feed ReduceLROnPlateau a fixed loss sequence and
record the rate after each step(loss); "groups" cases record every group's rate for two groups of different rates.
"""
import json, os
import torch
from torch.optim import lr_scheduler as S

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "Backprop.Tests", "Golden", "torch_schedules.json")
BASE = 0.1


def case(name, make, steps):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=BASE)
    sched = make(opt)
    rates = []
    for _ in range(steps):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return {"name": name, "base": BASE, "rates": rates}


def warmup(opt, n, s, after):
    return S.SequentialLR(opt, [S.LinearLR(opt, start_factor=s, end_factor=1.0, total_iters=n), after], milestones=[n])


cases = [
    case("step_3_0.5", lambda o: S.StepLR(o, step_size=3, gamma=0.5), 10),
    case("cosine_8_0", lambda o: S.CosineAnnealingLR(o, T_max=8, eta_min=0.0), 9),
    case("cosine_10_0.01", lambda o: S.CosineAnnealingLR(o, T_max=10, eta_min=0.01), 11),
    case("warmup_3_0.1_constant", lambda o: warmup(o, 3, 0.1, S.ConstantLR(o, factor=1.0, total_iters=0)), 7),
    case("warmup_2_0.25_cosine_6_0.001", lambda o: warmup(o, 2, 0.25, S.CosineAnnealingLR(o, T_max=6, eta_min=0.001)), 9),
    case("warmup_2_0.5_step_2_0.1", lambda o: warmup(o, 2, 0.5, S.StepLR(o, step_size=2, gamma=0.1)), 8),
    case("warmup_5_0.1_cosine_40_0", lambda o: warmup(o, 5, 0.1, S.CosineAnnealingLR(o, T_max=40, eta_min=0.0)), 45),
    case("onecycle_20", lambda o: S.OneCycleLR(o, max_lr=BASE, total_steps=20, cycle_momentum=False), 20),
    case("onecycle_17_0.25_10_100", lambda o: S.OneCycleLR(o, max_lr=BASE, total_steps=17, pct_start=0.25, div_factor=10.0,
                                                           final_div_factor=100.0, cycle_momentum=False), 17),
    case("onecycle_100_max_0.5", lambda o: S.OneCycleLR(o, max_lr=0.5, total_steps=100, cycle_momentum=False), 100),
]

LOSSES = [1.0, 0.9, 0.95, 0.91, 0.92, 0.93, 0.85, 0.86, 0.87, 0.88, 0.89, 0.9, 0.91, 0.84, 0.84, 0.845, 0.85, 0.86,
          0.87, 0.88, 0.89, 0.9, 0.91, 0.92, 0.93]


def plateau(name, **kw):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=BASE)
    sched = S.ReduceLROnPlateau(opt, mode="min", **kw)
    rates = []
    for loss in LOSSES:
        opt.step()
        sched.step(loss)
        rates.append(opt.param_groups[0]["lr"])
    return {"name": name, "base": BASE, "settings": kw, "losses": LOSSES, "rates": rates}


plateaus = [
    plateau("defaults_patience_2", patience=2),
    plateau("factor_0.5_patience_1_cooldown_2", factor=0.5, patience=1, cooldown=2),
    plateau("factor_0.3_patience_0_min_0.002", factor=0.3, patience=0, min_lr=0.002),
    plateau("abs_threshold_0.02", factor=0.5, patience=1, threshold=0.02, threshold_mode="abs"),
    plateau("rel_threshold_0.05", factor=0.5, patience=1, threshold=0.05),
]


def groups_case(name, make, steps, bases=(0.1, 0.02)):
    opt = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)], "lr": b} for b in bases], lr=1.0)
    sched = make(opt)
    rates = [[] for _ in bases]
    for _ in range(steps):
        for g, r in zip(opt.param_groups, rates):
            r.append(g["lr"])
        opt.step()
        sched.step()
    return {"name": name, "bases": list(bases), "rates": rates}


groups = [
    groups_case("cosine_6_0.001", lambda o: S.CosineAnnealingLR(o, T_max=6, eta_min=0.001), 7),
    groups_case("warmup_2_0.25_step_2_0.5", lambda o: warmup(o, 2, 0.25, S.StepLR(o, step_size=2, gamma=0.5)), 8),
    groups_case("onecycle_12", lambda o: S.OneCycleLR(o, max_lr=[0.1, 0.02], total_steps=12, cycle_momentum=False), 12),
]

with open(OUT, "w") as f:
    json.dump({"generator": "tools/make_schedule_reference.py", "torch": torch.__version__, "schedules": cases, "plateau": plateaus, "groups": groups}, f, indent=1)
print(f"wrote {OUT}")
