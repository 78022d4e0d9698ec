#!/usr/bin/python3
"""Regenerates the PyTorch reference values that Backprop's BatchNorm1d/BatchNorm2d are tested against.

How to run (from the repository root; needs Debian's python3-torch, `apt-get install python3-torch`):

    /usr/bin/python3 tools/make_norm_reference.py

What it writes: tests/Backprop.Tests/Golden/torch_norm.json, with one entry per case:

    name, layer        e.g. "bn1d_8x5", "BatchNorm1d" or "BatchNorm2d"
    features, eps, momentum, affine   the layer's constructor arguments
    weight, bias       {shape, data}: gamma and beta set before the first step (random, so their gradients matter);
                       null when affine is false
    steps              training-mode forward/backward passes, in order, on the same layer:
                       input, r (L = sum(output * r)), output, grad_input, grad_weight, grad_bias (null without
                       affine), and the buffers after the step: running_mean, running_var, num_batches_tracked
    eval               one evaluation-mode pass after the steps (running statistics), in the same format, without
                       buffers

Inputs are float32 from a seeded numpy generator (with a per-channel offset and scale, so the statistics differ by
channel); references are computed by PyTorch in float64 from those exact float32 values. Gradients are zeroed
before each step. Output is deterministic: the same script gives the same file byte for byte.

PyTorch is never a dependency of the library or its tests: the tests read only the committed JSON.
"""

import json
import os

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "Backprop.Tests", "Golden", "torch_norm.json")
SEED = 20240604


def num(v):
    # 9 significant digits round-trip float32 exactly; references (float64) keep 9 digits, far below any tolerance.
    return float("%.9g" % v)


def tensor(a):
    a = np.asarray(a, dtype=np.float64)
    return {"shape": list(a.shape), "data": [num(v) for v in a.reshape(-1)]}


def f32(a):
    return np.asarray(a, dtype=np.float32)


def batch(rng, shape):
    """Normal values with a different offset and scale per channel (dimension 1)."""
    c = shape[1]
    offset = rng.uniform(-2, 2, c).reshape((1, c) + (1,) * (len(shape) - 2))
    scale = rng.uniform(0.5, 3, c).reshape((1, c) + (1,) * (len(shape) - 2))
    return f32(rng.standard_normal(shape) * scale + offset)


def one_pass(rng, layer, x32, with_buffers):
    x = torch.tensor(x32.astype(np.float64), requires_grad=True)
    layer.zero_grad()
    out = layer(x)
    r = f32(rng.standard_normal(tuple(out.shape)))
    (out * torch.tensor(r.astype(np.float64))).sum().backward()
    entry = {
        "input": tensor(x32),
        "r": tensor(r),
        "output": tensor(out.detach().numpy()),
        "grad_input": tensor(x.grad.numpy()),
        "grad_weight": tensor(layer.weight.grad.numpy()) if layer.affine else None,
        "grad_bias": tensor(layer.bias.grad.numpy()) if layer.affine else None,
    }
    if with_buffers:
        entry["running_mean"] = tensor(layer.running_mean.numpy())
        entry["running_var"] = tensor(layer.running_var.numpy())
        entry["num_batches_tracked"] = int(layer.num_batches_tracked.item())
    return entry


def case(rng, name, kind, shape, steps=3, eps=1e-5, momentum=0.1, affine=True):
    c = shape[1]
    cls = {"BatchNorm1d": torch.nn.BatchNorm1d, "BatchNorm2d": torch.nn.BatchNorm2d}[kind]
    layer = cls(c, eps=eps, momentum=momentum, affine=affine).double()
    entry = {"name": name, "layer": kind, "features": c, "eps": eps, "momentum": momentum, "affine": affine,
             "weight": None, "bias": None}
    if affine:
        w, b = f32(rng.uniform(0.5, 2.0, c)), f32(rng.standard_normal(c))
        with torch.no_grad():
            layer.weight.copy_(torch.tensor(w.astype(np.float64)))
            layer.bias.copy_(torch.tensor(b.astype(np.float64)))
        entry["weight"], entry["bias"] = tensor(w), tensor(b)
    layer.train()
    entry["steps"] = [one_pass(rng, layer, batch(rng, shape), True) for _ in range(steps)]
    layer.eval()
    entry["eval"] = one_pass(rng, layer, batch(rng, shape), False)
    return entry


def main():
    rng = np.random.default_rng(SEED)
    cases = [
        case(rng, "bn1d_8x5", "BatchNorm1d", (8, 5)),
        case(rng, "bn1d_2x3_batch_of_two", "BatchNorm1d", (2, 3)),
        case(rng, "bn1d_64x7_momentum_0.3_eps_1e-3", "BatchNorm1d", (64, 7), eps=1e-3, momentum=0.3),
        case(rng, "bn1d_6x4_no_affine", "BatchNorm1d", (6, 4), affine=False),
        case(rng, "bn1d_4x3x5_sequence", "BatchNorm1d", (4, 3, 5)),
        case(rng, "bn2d_4x3x5x5", "BatchNorm2d", (4, 3, 5, 5)),
        case(rng, "bn2d_1x2x3x4_single_image", "BatchNorm2d", (1, 2, 3, 4), steps=2),
        case(rng, "bn2d_3x4x2x3_no_affine_momentum_0.5", "BatchNorm2d", (3, 4, 2, 3), momentum=0.5, affine=False),
    ]
    doc = {
        "generator": "tools/make_norm_reference.py",
        "torch": torch.__version__,
        "loss": "L = sum(output * r); grads are dL/d(input, weight, bias), computed in float64 from the float32 inputs",
        "cases": cases,
    }
    with open(OUT, "w") as f:
        f.write(json.dumps(doc, separators=(",", ":")) + "\n")
    print(f"wrote {len(cases)} cases to {os.path.relpath(OUT)}")


if __name__ == "__main__":
    main()
