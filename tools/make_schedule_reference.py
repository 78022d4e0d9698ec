#!/usr/bin/env python3
"""Learning rates of PyTorch's schedulers, one value per position t = 0..T−1, for Backprop's schedule tests.

Run:  /usr/bin/python3 tools/make_schedule_reference.py      (needs Debian's python3-torch)
Writes: tests/Backprop.Tests/Golden/torch_schedules.json

Each case records optimizer.param_groups[0]["lr"] before the t-th scheduler.step(), which is the rate Backprop's
LearningRateSchedule.Rate(base, t) must return.
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
]

with open(OUT, "w") as f:
    json.dump({"generator": "tools/make_schedule_reference.py", "torch": torch.__version__, "schedules": cases}, f, indent=1)
print(f"wrote {OUT}")
