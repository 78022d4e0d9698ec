#!/usr/bin/python3
"""Regenerates the PyTorch reference values for Backprop's convolution and pooling ops.

How to run (from the repository root; needs Debian's python3-torch, `apt-get install python3-torch`):

    /usr/bin/python3 tools/make_conv_reference.py

What it writes: tests/Backprop.Tests/Golden/torch_conv.json with two lists of cases, one per line.

    conv   {name, stride, padding, input, weight, bias (or null), r, output, grad_input, grad_weight, grad_bias}
           F.conv2d(input [N,C,H,W], weight [OC,C,KH,KW], bias [OC], stride, padding)
    pool   {name, kind ("max" | "avg"), kernel, stride, input, r, output, grad_input}
           F.max_pool2d / F.avg_pool2d(input, kernel, stride), no padding

Every tensor is {shape, data} (row-major). Gradients are dL/d(tensor) of L = sum(output * r), r a fixed random
tensor, so every output element gets a different upstream gradient. Inputs are seeded float32 values; PyTorch
computes in float64 from those exact values, so the only rounding a test sees is Backprop's float32 arithmetic.
The "ties" pool cases draw inputs from {0, 1, 2} so most windows hold several equal maxima: PyTorch (and Backprop)
route the gradient to the first of them in row-major window order. The same script gives the same file byte for byte.

PyTorch is never a dependency of the library or its tests: the tests read only the committed JSON.
"""

import json
import os

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "Backprop.Tests", "Golden", "torch_conv.json")
SEED = 20240604


def num(v):
    # 9 significant digits round-trip float32 exactly; references (float64) keep 9 digits, far below any tolerance.
    return float(f"{v:.9g}")


def tensor(a):
    a = np.asarray(a, dtype=np.float64)
    return {"shape": list(a.shape), "data": [num(v) for v in a.reshape(-1)]}


def t64(a):
    return torch.tensor(np.asarray(a, dtype=np.float64), dtype=torch.float64, requires_grad=True)


class Gen:
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)

    def normal(self, shape, std=1.0):
        return (self.rng.standard_normal(shape) * std).astype(np.float32)

    def uniform(self, shape, bound):
        return self.rng.uniform(-bound, bound, shape).astype(np.float32)

    def ints(self, shape, high):
        return self.rng.integers(0, high, shape).astype(np.float32)


def conv_case(g, name, n, c, h, w, oc, k, stride, padding, bias=True, kw=None):
    kw = kw or k
    x = g.normal((n, c, h, w))
    bound = 1 / np.sqrt(c * k * kw)   # PyTorch's default init range, so values are of realistic size
    wt = g.uniform((oc, c, k, kw), bound)
    b = g.uniform((oc,), bound) if bias else None
    tx, tw = t64(x), t64(wt)
    tb = t64(b) if bias else None
    out = F.conv2d(tx, tw, tb, stride=stride, padding=padding)
    r = g.normal(tuple(out.shape))
    (out * torch.tensor(r.astype(np.float64))).sum().backward()
    return {
        "name": name, "stride": stride, "padding": padding,
        "input": tensor(x), "weight": tensor(wt), "bias": tensor(b) if bias else None, "r": tensor(r),
        "output": tensor(out.detach().numpy()),
        "grad_input": tensor(tx.grad.numpy()), "grad_weight": tensor(tw.grad.numpy()),
        "grad_bias": tensor(tb.grad.numpy()) if bias else None,
    }


def pool_case(g, name, kind, shape, kernel, stride, ties=False):
    x = g.ints(shape, 3) if ties else g.normal(shape)
    tx = t64(x)
    fn = F.max_pool2d if kind == "max" else F.avg_pool2d
    out = fn(tx, kernel, stride)
    r = g.normal(tuple(out.shape))
    (out * torch.tensor(r.astype(np.float64))).sum().backward()
    return {
        "name": name, "kind": kind, "kernel": kernel, "stride": stride,
        "input": tensor(x), "r": tensor(r), "output": tensor(out.detach().numpy()), "grad_input": tensor(tx.grad.numpy()),
    }


def main():
    torch.manual_seed(0)
    g = Gen(SEED)
    conv = [
        conv_case(g, "k3_s1_p0_2x3x5x7_oc4", 2, 3, 5, 7, 4, 3, 1, 0),
        conv_case(g, "k3_s1_p1_2x1x6x6_oc3", 2, 1, 6, 6, 3, 3, 1, 1),
        conv_case(g, "k3_s2_p1_2x2x6x5_oc3", 2, 2, 6, 5, 3, 3, 2, 1),
        conv_case(g, "k5_s1_p2_1x1x7x6_oc2", 1, 1, 7, 6, 2, 5, 1, 2),
        conv_case(g, "k1_s1_p0_3x4x4x5_oc5_nobias", 3, 4, 4, 5, 5, 1, 1, 0, bias=False),
        conv_case(g, "k3_s2_p0_2x3x9x8_oc4", 2, 3, 9, 8, 4, 3, 2, 0),
        conv_case(g, "k5_s2_p1_2x2x8x11_oc3", 2, 2, 8, 11, 3, 5, 2, 1),
        conv_case(g, "k3_s3_p2_1x2x5x5_oc2", 1, 2, 5, 5, 2, 3, 3, 2),
        conv_case(g, "k2x3_s1_p1_2x2x4x6_oc3", 2, 2, 4, 6, 3, 2, 1, 1, kw=3),
    ]
    pool = [
        pool_case(g, "max_k2_s2_2x3x6x7", "max", (2, 3, 6, 7), 2, 2),
        pool_case(g, "max_k3_s1_1x2x5x6_overlap", "max", (1, 2, 5, 6), 3, 1),
        pool_case(g, "max_k3_s2_2x2x7x7_overlap", "max", (2, 2, 7, 7), 3, 2),
        pool_case(g, "max_k2_s2_2x2x6x6_ties", "max", (2, 2, 6, 6), 2, 2, ties=True),
        pool_case(g, "max_k3_s1_1x2x6x5_overlap_ties", "max", (1, 2, 6, 5), 3, 1, ties=True),
        pool_case(g, "avg_k2_s2_2x3x6x6", "avg", (2, 3, 6, 6), 2, 2),
        pool_case(g, "avg_k3_s2_1x2x7x8_overlap", "avg", (1, 2, 7, 8), 3, 2),
        pool_case(g, "avg_k3_s1_2x1x5x5_overlap", "avg", (2, 1, 5, 5), 3, 1),
    ]
    doc = {
        "generator": "tools/make_conv_reference.py",
        "torch": torch.__version__.split("+")[0],
        "loss": "L = sum(output * r); grads are dL/d(tensor), computed in float64 from the float32 inputs",
        "conv": conv,
        "pool": pool,
    }
    text = json.dumps(doc, separators=(",", ":"))
    text = text.replace('},{"name"', '},\n{"name"').replace('"conv":[', '"conv":[\n').replace('"pool":[', '"pool":[\n')
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(text + "\n")
    print(f"wrote {len(conv)} conv cases and {len(pool)} pool cases to {os.path.normpath(OUT)} ({len(text) // 1024} KB)")


if __name__ == "__main__":
    main()
