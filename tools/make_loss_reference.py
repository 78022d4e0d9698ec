#!/usr/bin/python3
"""Regenerates the PyTorch reference values for Backprop's extra losses and gradient clipping.

How to run (from the repository root; needs Debian's python3-torch, `apt-get install python3-torch`):

    /usr/bin/python3 tools/make_loss_reference.py

What it writes: tests/Backprop.Tests/Golden/torch_losses.json, with two sections.

"losses": one entry per case, in the format of torch_ops.json's cases:

    name      unique case name, e.g. "ce_weights_smoothing_ignore_6x4"
    loss      the Backprop loss class (L1Loss, SmoothL1Loss, HuberLoss, NllLoss, KLDivLoss, CrossEntropyLoss)
    args      its constructor arguments: reduction ("Mean", "Sum", "BatchMean"), beta, delta, weight,
              label_smoothing, ignore_index (absent = the default)
    inputs    [prediction, target] as {shape, data, grad}; grad = whether dL/dinput is in the file
    r         the random scalar R of L = loss * R
    output    {shape: [], data: [loss]}
    grads     dL/dprediction and dL/dtarget (null where grad is false)

"clip": one entry per case of torch.nn.utils.clip_grad_norm_ / clip_grad_value_:

    name, kind ("norm" or "value"), max_norm or clip_value
    grads       the gradients before clipping, [{shape, data}]
    total_norm  what clip_grad_norm_ returned (norm cases only)
    clipped     the gradients after clipping

BatchMean for a loss other than kl_div (where PyTorch has no such reduction) is computed as reduction='sum'
divided by the batch size, which is its definition. Inputs are float32 from a seeded numpy generator; references are
computed by PyTorch in float64 from those exact values, away from the losses' kinks (|p - t| = 0, beta, delta) except
in the cases whose note says they sit on one. Output is deterministic: the same script gives the same file byte for
byte. PyTorch is never a dependency of the library or its tests: the tests read only the committed JSON.
"""

import json
import os
import warnings

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "Backprop.Tests", "Golden", "torch_losses.json")
SEED = 20240610


def num(v):
    # 9 significant digits round-trip float32 exactly; references (float64) keep 9 digits, far below any tolerance.
    return float("%.9g" % v)


def flat(a):
    return [num(v) for v in np.asarray(a, dtype=np.float64).reshape(-1)]


def f32(a):
    return np.asarray(a, dtype=np.float32)


def t64(a, grad=False):
    return torch.tensor(np.asarray(a, dtype=np.float64), dtype=torch.float64, requires_grad=grad)


class Gen:
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)

    def normal(self, shape, scale=1.0):
        return f32(self.rng.standard_normal(shape) * scale)

    def away(self, p, t, kinks, gap=0.05):
        """Moves prediction entries whose |p - t| is within gap of a kink (0, beta, delta) off it."""
        p = p.astype(np.float64)
        for k in kinks:
            d = np.abs(p - t) - k
            near = np.abs(d) < gap
            p = np.where(near, p + np.sign(p - t + 1e-12) * 2 * gap, p)
        return f32(p)

    def log_probs(self, shape):
        return f32(torch.log_softmax(t64(self.normal(shape, 2.0)), -1).numpy())

    def probs(self, shape, zeros=False):
        p = self.rng.uniform(0.05, 1.0, shape)
        if zeros:
            p = np.where(self.rng.random(shape) < 0.3, 0.0, p)
            p[..., 0] = np.maximum(p[..., 0], 0.1)   # no all-zero row
        return f32(p / p.sum(-1, keepdims=True))

    def labels(self, n, c):
        return f32(self.rng.integers(0, c, n))


def divide(reduction, n):
    """The torch reduction string and the divisor applied after it (BatchMean = sum / N outside kl_div)."""
    return {"Mean": ("mean", 1), "Sum": ("sum", 1), "BatchMean": ("sum", n)}[reduction]


def case(g, name, loss, args, fn, pred, target, pred_grad=True, target_grad=False, note=None):
    """fn(prediction64, target64) -> scalar loss, computed by PyTorch."""
    p, t = t64(pred, pred_grad), t64(target, target_grad)
    out = fn(p, t)
    r = g.normal(())
    (out * float(r)).backward()
    entry = {
        "name": name,
        "loss": loss,
        "args": args,
        "inputs": [
            {"shape": list(pred.shape), "data": flat(pred), "grad": pred_grad},
            {"shape": list(target.shape), "data": flat(target), "grad": target_grad},
        ],
        "r": {"shape": [], "data": flat(r)},
        "output": {"shape": [], "data": flat(out.detach().numpy())},
        "grads": [
            {"shape": list(pred.shape), "data": flat(p.grad.numpy())} if pred_grad else None,
            {"shape": list(target.shape), "data": flat(t.grad.numpy())} if target_grad else None,
        ],
    }
    if note:
        entry["note"] = note
    return entry


def pointwise_cases(g):
    c = []
    specs = [
        ("l1", "L1Loss", lambda a: {}, lambda p, t, red, a: F.l1_loss(p, t, reduction=red), lambda a: [0.0]),
        ("smooth_l1", "SmoothL1Loss", lambda a: {"beta": a}, lambda p, t, red, a: F.smooth_l1_loss(p, t, reduction=red, beta=a),
         lambda a: [0.0, a]),
        ("huber", "HuberLoss", lambda a: {"delta": a}, lambda p, t, red, a: F.huber_loss(p, t, reduction=red, delta=a),
         lambda a: [0.0, a]),
    ]
    for key, cls, args, fn, kinks in specs:
        for reduction, param, shape, tgrad in (("Mean", 1.0, (4, 3), False), ("Sum", 0.5, (5, 2), True),
                                               ("BatchMean", 2.5, (3, 4), False)):
            if key == "l1" and param != 1.0:
                param = 1.0
            pred, target = g.normal(shape, 2.0), g.normal(shape, 2.0)
            pred = g.away(pred, target, kinks(param))
            red, div = divide(reduction, shape[0])
            a = {"reduction": reduction, **args(param)}
            c.append(case(g, f"{key}_{reduction.lower()}_{shape[0]}x{shape[1]}" + ("" if key == "l1" else f"_{param}"), cls, a,
                          lambda p, t, fn=fn, red=red, div=div, param=param: fn(p, t, red, param) / div, pred, target, True, tgrad))
    # p = t exactly: PyTorch's sign(0) = 0, so those elements get no gradient from L1 (and the linear side of the others).
    pred = g.normal((2, 3))
    target = pred.copy()
    target[0, 1] += 0.75
    target[1, 2] -= 1.5
    c.append(case(g, "l1_equal_elements_2x3", "L1Loss", {"reduction": "Mean"}, lambda p, t: F.l1_loss(p, t), pred, target,
                  note="four elements with p = t exactly: sign(0) = 0"))
    pred = g.normal((2, 3))
    c.append(case(g, "smooth_l1_beta0_is_l1_2x3", "SmoothL1Loss", {"reduction": "Mean", "beta": 0.0},
                  lambda p, t: F.smooth_l1_loss(p, t, beta=0.0), pred, g.away(g.normal((2, 3)), pred, [0.0]),
                  note="beta = 0 is the L1 loss"))
    return c


def nll_cases(g):
    c = []
    n, k = 6, 4
    w = f32(g.rng.uniform(0.2, 2.0, k))

    def nll(p, t, weight=None, ignore=-100, red="mean", div=1):
        return F.nll_loss(p, t.long(), weight=None if weight is None else t64(weight), ignore_index=ignore, reduction=red) / div

    y = g.labels(n, k)
    c.append(case(g, "nll_mean_6x4", "NllLoss", {"reduction": "Mean"}, lambda p, t: nll(p, t), g.log_probs((n, k)), y))
    y = g.labels(n, k)
    c.append(case(g, "nll_weights_mean_6x4", "NllLoss", {"reduction": "Mean", "weight": flat(w)},
                  lambda p, t: nll(p, t, w), g.log_probs((n, k)), y))
    y = g.labels(n, k)
    y[[1, 4]] = -1
    c.append(case(g, "nll_weights_ignore_mean_6x4", "NllLoss", {"reduction": "Mean", "weight": flat(w), "ignore_index": -1},
                  lambda p, t: nll(p, t, w, -1), g.log_probs((n, k)), y, note="rows 1 and 4 ignored"))
    y = g.labels(n, k)
    y[2] = 3
    c.append(case(g, "nll_ignore_class_sum_6x4", "NllLoss", {"reduction": "Sum", "ignore_index": 3},
                  lambda p, t: nll(p, t, None, 3, "sum"), g.log_probs((n, k)), y, note="class 3 is the ignored index"))
    y = g.labels(n, k)
    y[0] = -1
    c.append(case(g, "nll_ignore_batchmean_6x4", "NllLoss", {"reduction": "BatchMean", "ignore_index": -1},
                  lambda p, t: nll(p, t, None, -1, "sum", n), g.log_probs((n, k)), y, note="BatchMean divides by all 6 rows"))
    return c


def kl_cases(g):
    c = []
    for reduction, shape, zeros, tgrad in (("BatchMean", (4, 5), False, True), ("Sum", (3, 4), True, False),
                                           ("Mean", (3, 4), False, False), ("BatchMean", (5, 3), True, False)):
        red = reduction.lower()
        c.append(case(g, f"kl_div_{red}_{shape[0]}x{shape[1]}" + ("_zero_targets" if zeros else ""), "KLDivLoss",
                      {"reduction": reduction}, lambda p, t, red=red: F.kl_div(p, t, reduction=red),
                      g.log_probs(shape), g.probs(shape, zeros), True, tgrad,
                      note="about 30% of the target entries are 0: 0 * ln 0 counts as 0" if zeros else None))
    return c


def ce_cases(g):
    c = []
    n, k = 6, 4
    w = f32(g.rng.uniform(0.2, 2.0, k))

    def ce(p, t, weight=None, smoothing=0.0, ignore=-100, red="mean", div=1):
        target = t.long() if t.dim() == 1 else t
        return F.cross_entropy(p, target, weight=None if weight is None else t64(weight), ignore_index=ignore,
                               reduction=red, label_smoothing=smoothing) / div

    def logits():
        return g.normal((n, k), 2.0)

    c.append(case(g, "ce_plain_6x4", "CrossEntropyLoss", {"reduction": "Mean"}, lambda p, t: ce(p, t), logits(), g.labels(n, k)))
    c.append(case(g, "ce_weights_6x4", "CrossEntropyLoss", {"reduction": "Mean", "weight": flat(w)},
                  lambda p, t: ce(p, t, w), logits(), g.labels(n, k)))
    c.append(case(g, "ce_smoothing_0.1_6x4", "CrossEntropyLoss", {"reduction": "Mean", "label_smoothing": 0.1},
                  lambda p, t: ce(p, t, smoothing=float(np.float32(0.1))), logits(), g.labels(n, k)))
    y = g.labels(n, k)
    y[[0, 3]] = -100
    c.append(case(g, "ce_weights_smoothing_ignore_6x4", "CrossEntropyLoss",
                  {"reduction": "Mean", "weight": flat(w), "label_smoothing": 0.25, "ignore_index": -100},
                  lambda p, t: ce(p, t, w, 0.25), logits(), y, note="rows 0 and 3 ignored"))
    y = g.labels(n, k)
    y[5] = 7
    c.append(case(g, "ce_smoothing_ignore_sum_6x4", "CrossEntropyLoss",
                  {"reduction": "Sum", "label_smoothing": 0.2, "ignore_index": 7},
                  lambda p, t: ce(p, t, smoothing=float(np.float32(0.2)), ignore=7, red="sum"), logits(), y,
                  note="ignore_index 7 is outside 0..3; row 5 ignored"))
    y = g.labels(n, k)
    y[2] = 1
    c.append(case(g, "ce_weights_ignore_batchmean_6x4", "CrossEntropyLoss",
                  {"reduction": "BatchMean", "weight": flat(w), "ignore_index": 1},
                  lambda p, t: ce(p, t, w, ignore=1, red="sum", div=n), logits(), y))
    c.append(case(g, "ce_probabilities_weights_smoothing_6x4", "CrossEntropyLoss",
                  {"reduction": "Mean", "weight": flat(w), "label_smoothing": 0.3},
                  lambda p, t: ce(p, t, w, float(np.float32(0.3))), logits(), g.probs((n, k)), True, True,
                  note="probability rows: the mean divides by N, not by a weight sum"))
    c.append(case(g, "ce_probabilities_sum_6x4", "CrossEntropyLoss", {"reduction": "Sum"},
                  lambda p, t: ce(p, t, red="sum"), logits(), g.probs((n, k)), True, True))
    return c


def clip_cases(g):
    c = []
    shapes = [(4, 3), (3,), (2, 2)]

    def grads(scale):
        return [g.normal(s, scale) for s in shapes]

    for name, max_norm, scale in (("norm_clips", 1.0, 1.0), ("norm_no_clip", 50.0, 1.0), ("norm_tiny", 1e-3, 0.5)):
        gs = grads(scale)
        ps = [t64(np.zeros(s), True) for s in shapes]
        for p, a in zip(ps, gs):
            p.grad = t64(a)
        total = torch.nn.utils.clip_grad_norm_(ps, max_norm)
        c.append({"name": name, "kind": "norm", "max_norm": max_norm,
                  "grads": [{"shape": list(a.shape), "data": flat(a)} for a in gs],
                  "total_norm": num(float(total)),
                  "clipped": [{"shape": list(p.grad.shape), "data": flat(p.grad.numpy())} for p in ps]})
    for name, clip in (("value_0.5", 0.5), ("value_2", 2.0)):
        gs = grads(1.5)
        ps = [t64(np.zeros(s), True) for s in shapes]
        for p, a in zip(ps, gs):
            p.grad = t64(a)
        torch.nn.utils.clip_grad_value_(ps, clip)
        c.append({"name": name, "kind": "value", "clip_value": clip,
                  "grads": [{"shape": list(a.shape), "data": flat(a)} for a in gs],
                  "clipped": [{"shape": list(p.grad.shape), "data": flat(p.grad.numpy())} for p in ps]})
    return c


def main():
    # kl_div's reduction='mean' warns that it is not the KL divergence; the file tests exactly that reduction.
    warnings.filterwarnings("ignore", message="reduction: 'mean' divides the total loss")
    g = Gen(SEED)
    doc = {
        "generator": "tools/make_loss_reference.py",
        "torch": torch.__version__.split("+")[0],
        "loss": "L = loss * r; grads are dL/d(prediction, target), computed in float64 from the float32 inputs",
        "losses": pointwise_cases(g) + nll_cases(g) + kl_cases(g) + ce_cases(g),
        "clip": clip_cases(g),
    }
    text = json.dumps(doc, separators=(",", ":"))
    # One case per line keeps diffs of regenerated files readable.
    text = text.replace('},{"name"', '},\n{"name"').replace('"losses":[', '"losses":[\n').replace('"clip":[', '"clip":[\n')
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(text + "\n")
    print(f"wrote {len(doc['losses'])} loss cases and {len(doc['clip'])} clipping cases to {os.path.normpath(OUT)} "
          f"({len(text) // 1024} KB)")


if __name__ == "__main__":
    main()
