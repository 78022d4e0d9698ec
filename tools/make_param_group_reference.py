#!/usr/bin/env python3
"""Reference trajectories of PyTorch optimizers with parameter groups, for Backprop's parameter-group tests.

Run:  /usr/bin/python3 tools/make_param_group_reference.py      (needs Debian's python3-torch)
Writes: tests/Backprop.Tests/Golden/torch_param_groups.json

Each case builds three groups with their own settings; the last holds one tensor of 70,001 values, large enough that
Backprop's Adam updates it in slices on several threads. Values and gradients come from integer formulas that C#
evaluates identically, so only the initial and final values at sampled indices are stored:
  initial  w[i]    = ((i·7919 + 13·k) mod 2001 − 1000) / 1000       (k = tensor number)
  gradient g_s[i]  = ((i·104729 + 7·s + 3·k) mod 1999 − 999) / 500    (s = step, 0-based)
"""
import json, os
import torch

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "Backprop.Tests", "Golden", "torch_param_groups.json")
SIZES = [7, 5, 70001]
STEPS = 3


def formula(n, mul, add, mod, center, scale):
    i = torch.arange(n, dtype=torch.int64)
    return (((i * mul + add) % mod - center).double() / scale).float()


def initial(k, n):
    return formula(n, 7919, 13 * k, 2001, 1000, 1000)


def gradient(k, n, s):
    return formula(n, 104729, 7 * s + 3 * k, 1999, 999, 500)


def sampled(n):
    if n < 100:
        return list(range(n))
    idx = set(range(0, n, 611)) | {n - 1, n - 2}
    for b in (17472, 35008, 52480):          # where 4 slices of 64-value granules meet
        idx |= {b - 1, b, b + 1}
    return sorted(idx)


def case(name, make, groups):
    tensors = [initial(k, n).clone().requires_grad_(True) for k, n in enumerate(SIZES)]
    opt = make([dict(g, params=[t]) for g, t in zip(groups, tensors)])
    for s in range(STEPS):
        opt.zero_grad()
        for k, t in enumerate(tensors):
            t.grad = gradient(k, t.numel(), s)
        opt.step()
    return {
        "name": name, "groups": groups, "sizes": SIZES, "steps": STEPS,
        "indices": [sampled(n) for n in SIZES],
        "after": [[float(t.detach()[i]) for i in sampled(t.numel())] for t in tensors],
    }


cases = [
    case("sgd", lambda g: torch.optim.SGD(g, lr=0.05, momentum=0.5),
         [{"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01}, {}, {"lr": 0.02, "weight_decay": 0.1, "momentum": 0.8}]),
    case("sgd_nesterov", lambda g: torch.optim.SGD(g, lr=0.05, momentum=0.5, nesterov=True, weight_decay=0.02),
         [{"lr": 0.1, "momentum": 0.9}, {"weight_decay": 0.0}, {"lr": 0.01, "momentum": 0.7}]),
    case("adam", lambda g: torch.optim.Adam(g, lr=0.001, weight_decay=0.02),
         [{"lr": 0.01, "betas": (0.8, 0.99)}, {"weight_decay": 0.0}, {"lr": 0.005, "weight_decay": 0.1, "betas": (0.85, 0.995)}]),
    case("adamw", lambda g: torch.optim.AdamW(g, lr=0.002, weight_decay=0.05),
         [{"lr": 0.03, "weight_decay": 0.3}, {"weight_decay": 0.0, "betas": (0.7, 0.9)}, {"lr": 0.01, "weight_decay": 0.2}]),
]

with open(OUT, "w") as f:
    json.dump({"generator": "tools/make_param_group_reference.py", "torch": torch.__version__, "cases": cases}, f, indent=1)
print(f"wrote {OUT}")
