#!/usr/bin/python3
"""Regenerates the PyTorch reference values that Backprop's autograd is tested against.

How to run (from the repository root; needs Debian's python3-torch, `apt-get install python3-torch`):

    /usr/bin/python3 tools/make_torch_reference.py

What it writes: tests/Backprop.Tests/Golden/torch_ops.json, with one entry per case:

    name      unique case name, e.g. "add_row_broadcast_3x4_4"
    op        the Backprop operation it exercises (the test maps it to the Tensor API)
    args      the op's non-tensor arguments (axis, keepdim, exponent, ...)
    inputs    [{shape, data, grad}] float32 inputs, row-major; grad = whether a gradient is expected
    r         the fixed random weights R of the scalar loss L = sum(output * R)
    output    {shape, data}: the op's value
    grads     dL/d(input) for every input with grad = true (null for the others)
    note      (optional) why a case is special, e.g. needs a looser tolerance

and a "losses" section in the same format for Backprop.Nn.Losses (MSE, HalfMSE, BinaryCrossEntropy,
BinaryCrossEntropyWithLogits, CrossEntropy).

Inputs are drawn from a seeded numpy generator and rounded to float32; they are kept away from points where an op
is not differentiable (relu/abs at 0, clamp bounds, log/sqrt of non-positives, ties in max). References are then
computed by PyTorch in float64 from those exact float32 values, so the only rounding a test sees is Backprop's own
float32 arithmetic. Output is deterministic: the same script gives the same file byte for byte.

PyTorch is never a dependency of the library or its tests: the tests read only the committed JSON.
"""

import json
import os

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "Backprop.Tests", "Golden", "torch_ops.json")
SEED = 20240601


class Gen:
    """Seeded float32 inputs of the kinds the ops need."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)

    def f32(self, a):
        return np.asarray(a, dtype=np.float32)

    def normal(self, shape):
        return self.f32(self.rng.standard_normal(shape))

    def uniform(self, shape, lo, hi):
        return self.f32(self.rng.uniform(lo, hi, shape))

    def away0(self, shape, lo=0.2, hi=1.5):
        """|x| in [lo, hi) with a random sign: away from the kinks of relu, abs, leaky relu."""
        sign = np.where(self.rng.random(shape) < 0.5, -1.0, 1.0)
        return self.f32(sign * self.rng.uniform(lo, hi, shape))

    def distinct(self, shape):
        """Values at least 0.1 apart in random order: no ties for max."""
        n = int(np.prod(shape)) if len(shape) else 1
        v = (self.rng.permutation(n) - n / 2) * 0.25 + self.rng.uniform(-0.05, 0.05, n)
        return self.f32(v.reshape(shape))

    def clampable(self, shape, lo, hi):
        """Values in [-1.5, 1.5] at least 0.1 from the clamp bounds lo and hi."""
        v = self.rng.uniform(-1.5, 1.5, shape)
        for b in (lo, hi):
            near = np.abs(v - b) < 0.1
            v = np.where(near, v + np.sign(v - b + 1e-9) * 0.2, v)
        return self.f32(v)


def t64(a, grad):
    return torch.tensor(np.asarray(a, dtype=np.float64), dtype=torch.float64, requires_grad=grad)


def num(v):
    # 9 significant digits round-trip float32 exactly; references (float64) keep 9 digits, far below any tolerance.
    return float("%.9g" % v)


def flat(a):
    return [num(v) for v in np.asarray(a, dtype=np.float64).reshape(-1)]


def case(g, name, op, fn, inputs, args=None, note=None):
    """inputs: list of (float32 array, requires_grad). fn: list of float64 tensors -> output tensor."""
    ts = [t64(a, rg) for a, rg in inputs]
    out = fn(ts)
    r = g.normal(tuple(out.shape))
    loss = (out * t64(r, False)).sum()
    loss.backward()
    entry = {
        "name": name,
        "op": op,
        "args": args or {},
        "inputs": [{"shape": list(a.shape), "data": flat(a), "grad": rg} for a, rg in inputs],
        "r": {"shape": list(r.shape), "data": flat(r)},
        "output": {"shape": list(out.shape), "data": flat(out.detach().numpy())},
        "grads": [({"shape": list(t.shape), "data": flat(t.grad.numpy())} if rg else None) for t, (_, rg) in zip(ts, inputs)],
    }
    if note:
        entry["note"] = note
    return entry


def op_cases(g):
    c = []
    N, A, U = g.normal, g.away0, g.uniform

    # Elementwise binary ops, same shape and every broadcasting pattern.
    binary = {
        "add": lambda a, b: a + b,
        "sub": lambda a, b: a - b,
        "mul": lambda a, b: a * b,
        "div": lambda a, b: a / b,
    }
    patterns = [
        ("same_3x4", (3, 4), (3, 4)),
        ("row_3x4_4", (3, 4), (4,)),
        ("col_3x1_1x4", (3, 1), (1, 4)),
        ("scalar_first", (), (2, 3)),
        ("tensor_scalar", (2, 3), ()),
        ("rank3_2x1x4_3x1", (2, 1, 4), (3, 1)),
    ]
    for op, fn in binary.items():
        for pname, sa, sb in patterns:
            b = A(sb, 0.5, 2.0) if op == "div" else N(sb)
            c.append(case(g, f"{op}_{pname}", op, lambda t, fn=fn: fn(t[0], t[1]), [(N(sa), True), (b, True)]))
        # One input a constant (no gradient expected for it).
        b = A((3, 4), 0.5, 2.0) if op == "div" else N((3, 4))
        c.append(case(g, f"{op}_constant_right", op, lambda t, fn=fn: fn(t[0], t[1]), [(N((3, 4)), True), (b, False)]))

    # A float on either side, converted implicitly to a scalar tensor.
    for op, fn in binary.items():
        c.append(case(g, f"{op}_float_right", f"{op}_float", lambda t, fn=fn: fn(t[0], 2.5), [(N((2, 3)), True)],
                      {"value": 2.5, "float_first": False}))
        x = A((2, 3), 0.5, 2.0) if op == "div" else N((2, 3))
        c.append(case(g, f"{op}_float_left", f"{op}_float", lambda t, fn=fn: fn(-1.5, t[0]), [(x, True)],
                      {"value": -1.5, "float_first": True}))

    c.append(case(g, "neg_3x4", "neg", lambda t: -t[0], [(N((3, 4)), True)]))

    a = N((3, 4))
    c.append(case(g, "maximum_same_3x4", "maximum", lambda t: torch.maximum(t[0], t[1]),
                  [(a, True), (g.f32(a + A((3, 4), 0.2, 1.0)), True)]))
    row = g.distinct((4,))
    c.append(case(g, "maximum_row_3x4_4", "maximum", lambda t: torch.maximum(t[0], t[1]),
                  [(g.f32(row + A((3, 4), 0.2, 1.0)), True), (row, True)]))

    # Powers: tensor exponent (base positive so ln a exists) and constant exponents.
    c.append(case(g, "pow_tensor_same_3x4", "pow", lambda t: t[0].pow(t[1]), [(U((3, 4), 0.5, 2.0), True), (U((3, 4), -2, 2), True)],
                  note="a^b and b·a^(b-1) through MathF.Pow: a few ulp each, within the default tolerance"))
    c.append(case(g, "pow_tensor_row_3x4_4", "pow", lambda t: t[0].pow(t[1]), [(U((3, 4), 0.5, 2.0), True), (U((4,), -2, 2), True)]))
    c.append(case(g, "pow_tensor_scalar_exponent", "pow", lambda t: t[0].pow(t[1]), [(U((2, 3), 0.5, 2.0), True), (U((), 0.5, 2.5), True)]))
    for p, x in ((2.0, N((3, 4))), (3.0, N((3, 4))), (0.5, U((3, 4), 0.5, 2.0)), (-1.5, U((3, 4), 0.5, 2.0))):
        c.append(case(g, f"pow_float_{p:g}", "pow_float", lambda t, p=p: t[0].pow(p), [(x, True)], {"exponent": p}))

    # Elementwise functions.
    unary = [
        ("exp", torch.exp, N((3, 4))),
        ("log", torch.log, U((3, 4), 0.2, 3.0)),
        ("sqrt", torch.sqrt, U((3, 4), 0.2, 3.0)),
        ("abs", torch.abs, A((3, 4))),
        ("square", lambda x: x * x, N((3, 4))),
        ("sigmoid", torch.sigmoid, N((3, 4)) * 2),
        ("tanh", torch.tanh, N((3, 4)) * 2),
        ("relu", torch.relu, A((3, 4))),
    ]
    for op, fn, x in unary:
        c.append(case(g, f"{op}_3x4", op, lambda t, fn=fn: fn(t[0]), [(g.f32(x), True)]))
    c.append(case(g, "exp_rank3_2x3x4", "exp", lambda t: torch.exp(t[0]), [(N((2, 3, 4)), True)]))
    for slope in (0.01, 0.2):
        c.append(case(g, f"leaky_relu_{slope:g}", "leaky_relu", lambda t, s=slope: torch.nn.functional.leaky_relu(t[0], s),
                      [(A((3, 4)), True)], {"slope": slope}))
    c.append(case(g, "clamp_-0.5_0.7", "clamp", lambda t: t[0].clamp(-0.5, 0.7), [(g.clampable((3, 4), -0.5, 0.7), True)],
                  {"min": -0.5, "max": 0.7}))

    # Reductions.
    x3 = (2, 3, 4)
    c.append(case(g, "sum_all_2x3x4", "sum", lambda t: t[0].sum(), [(N(x3), True)]))
    c.append(case(g, "mean_all_2x3x4", "mean", lambda t: t[0].mean(), [(N(x3), True)]))
    c.append(case(g, "max_all_2x3x4", "max", lambda t: t[0].max(), [(g.distinct(x3), True)]))
    for axis in (0, 1, 2, -1):
        for keep in (False, True):
            sfx = f"axis{axis}_{'keep' if keep else 'drop'}"
            args = {"axis": axis, "keepdim": keep}
            c.append(case(g, f"sum_{sfx}", "sum_axis", lambda t, a=axis, k=keep: t[0].sum(a, keepdim=k), [(N(x3), True)], args))
            c.append(case(g, f"mean_{sfx}", "mean_axis", lambda t, a=axis, k=keep: t[0].mean(a, keepdim=k), [(N(x3), True)], args))
            c.append(case(g, f"max_{sfx}", "max_axis", lambda t, a=axis, k=keep: t[0].max(a, keepdim=k).values,
                          [(g.distinct(x3), True)], args))

    # Softmax and log-softmax along every axis of a 3-D tensor, and the last axis of a 2-D one.
    for op, fn in (("softmax", torch.softmax), ("log_softmax", torch.log_softmax)):
        for axis in (0, 1, 2):
            c.append(case(g, f"{op}_2x3x4_axis{axis}", op, lambda t, fn=fn, a=axis: fn(t[0], a), [(N(x3) * 2, True)], {"axis": axis}))
        c.append(case(g, f"{op}_4x5_axis-1", op, lambda t, fn=fn: fn(t[0], -1), [(N((4, 5)) * 3, True)], {"axis": -1}))

    # Matrix products.
    c.append(case(g, "matmul_3x4_4x5", "matmul", lambda t: t[0] @ t[1], [(N((3, 4)), True), (N((4, 5)), True)]))
    c.append(case(g, "matmul_batched_2x3x4_2x4x5", "matmul", lambda t: t[0] @ t[1], [(N((2, 3, 4)), True), (N((2, 4, 5)), True)]))
    c.append(case(g, "matmul_3d_2d_2x3x4_4x5", "matmul", lambda t: t[0] @ t[1], [(N((2, 3, 4)), True), (N((4, 5)), True)]))
    c.append(case(g, "matmul_long_2x256_256x3", "matmul", lambda t: t[0] @ t[1], [(N((2, 256)), True), (N((256, 3)), True)],
                  note="256-term float32 dot products: rounding grows like sqrt(k)*eps*sum|a_i*b_i|; kept to show that the "
                       "default tolerance still holds for long sums (worst error was 16% of the allowed one)"))

    # Shape ops.
    c.append(case(g, "reshape_2x3x4_6x4", "reshape", lambda t: t[0].reshape(6, 4), [(N(x3), True)], {"shape": [6, 4]}))
    c.append(case(g, "reshape_infer_2x3x4_4x-1", "reshape", lambda t: t[0].reshape(4, -1), [(N(x3), True)], {"shape": [4, -1]}))
    c.append(case(g, "flatten_2x3x4", "flatten", lambda t: t[0].flatten(1), [(N(x3), True)]))
    c.append(case(g, "t_3x5", "t", lambda t: t[0].t(), [(N((3, 5)), True)]))
    c.append(case(g, "transpose_2x3x4_0_2", "transpose", lambda t: t[0].transpose(0, 2), [(N(x3), True)], {"axis0": 0, "axis1": 2}))
    c.append(case(g, "permute_2x3x4_2_0_1", "permute", lambda t: t[0].permute(2, 0, 1), [(N(x3), True)], {"perm": [2, 0, 1]}))
    c.append(case(g, "rows_5x3_dup", "rows", lambda t: t[0][[3, 0, 3, 4]], [(N((5, 3)), True)], {"indices": [3, 0, 3, 4]}))
    c.append(case(g, "slice_5x3_1_3", "slice", lambda t: t[0][1:4], [(N((5, 3)), True)], {"start": 1, "count": 3}))

    # Composites: a tensor used twice, and the seeds' two-layer network with half-MSE.
    c.append(case(g, "x_times_x_plus_x", "x_times_x_plus_x", lambda t: t[0] * t[0] + t[0], [(N((3, 4)), True)]))

    def mlp(t):
        x, w1, w2, y = t
        h = torch.sigmoid(x @ w1)
        o = torch.sigmoid(h @ w2)
        return ((o - y) ** 2).sum() / (2 * o.numel())
    c.append(case(g, "mlp2_sigmoid_half_mse", "mlp2", mlp,
                  [(U((3, 4), 0, 6), False), (N((4, 2)) * 0.5, True), (N((2, 3)) * 0.5, True), (g.f32(np.eye(3)), False)]))

    # Large magnitudes: exp(x) overflows float32 beyond 88, so these need the max-subtracted forms.
    for op, fn in (("softmax", torch.softmax), ("log_softmax", torch.log_softmax)):
        c.append(case(g, f"{op}_large_3x4_axis1", op, lambda t, fn=fn: fn(t[0], 1), [(N((3, 4)) * 60, True)], {"axis": 1},
                      note="logits up to ~150: a naive exp would overflow to inf"))
    c.append(case(g, "sigmoid_large_3x4", "sigmoid", lambda t: torch.sigmoid(t[0]), [(N((3, 4)) * 30, True)],
                  note="|x| up to ~60: saturated outputs and gradients near 0 exercise the atol floor"))
    c.append(case(g, "tanh_large_3x4", "tanh", lambda t: torch.tanh(t[0]), [(N((3, 4)) * 10, True)]))
    return c


def loss_cases(g):
    """Backprop.Nn.Losses: prediction first, target second; gradients for the prediction only."""
    c = []
    N, U = g.normal, g.uniform
    c.append(case(g, "mse_4x3", "MSE", lambda t: ((t[0] - t[1]) ** 2).mean(), [(N((4, 3)), True), (N((4, 3)), False)]))
    c.append(case(g, "half_mse_4x3", "HalfMSE", lambda t: ((t[0] - t[1]) ** 2).sum() / (2 * t[0].numel()),
                  [(N((4, 3)), True), (N((4, 3)), False)]))
    bce = torch.nn.functional.binary_cross_entropy
    c.append(case(g, "bce_4x3", "BinaryCrossEntropy", lambda t: bce(t[0], t[1]),
                  [(U((4, 3), 0.05, 0.95), True), (g.f32(g.rng.integers(0, 2, (4, 3))), False)]))
    c.append(case(g, "bce_soft_targets_5x1", "BinaryCrossEntropy", lambda t: bce(t[0], t[1]),
                  [(U((5, 1), 0.05, 0.95), True), (U((5, 1), 0, 1), False)]))
    bcel = torch.nn.functional.binary_cross_entropy_with_logits
    c.append(case(g, "bce_logits_4x3", "BinaryCrossEntropyWithLogits", lambda t: bcel(t[0], t[1]),
                  [(N((4, 3)) * 3, True), (g.f32(g.rng.integers(0, 2, (4, 3))), False)]))
    c.append(case(g, "bce_logits_large_5x1", "BinaryCrossEntropyWithLogits", lambda t: bcel(t[0], t[1]),
                  [(g.f32([[-30.0], [-8.0], [0.5], [9.0], [40.0]]), True), (g.f32([[1], [0], [1], [1], [0]]), False)],
                  note="large |logits|: a naive log(sigmoid(z)) overflows to -inf; the stable form does not"))
    ce = torch.nn.functional.cross_entropy
    idx = g.rng.integers(0, 5, 4)
    c.append(case(g, "ce_indices_4x5", "CrossEntropy", lambda t: ce(t[0], t[1].long()),
                  [(N((4, 5)) * 2, True), (g.f32(idx), False)]))
    c.append(case(g, "ce_onehot_4x5", "CrossEntropy", lambda t: -(t[1] * torch.log_softmax(t[0], 1)).sum(1).mean(),
                  [(N((4, 5)) * 2, True), (g.f32(np.eye(5)[g.rng.integers(0, 5, 4)]), False)]))
    p = g.rng.uniform(0.1, 1, (3, 4))
    c.append(case(g, "ce_probabilities_3x4", "CrossEntropy", lambda t: -(t[1] * torch.log_softmax(t[0], 1)).sum(1).mean(),
                  [(N((3, 4)) * 2, True), (g.f32(p / p.sum(1, keepdims=True)), False)]))
    c.append(case(g, "ce_large_logits_2x3", "CrossEntropy", lambda t: ce(t[0], t[1].long()),
                  [(g.f32([[100.0, -50.0, 20.0], [-80.0, -90.0, -85.0]]), True), (g.f32([2, 1]), False)],
                  note="logits far beyond exp's float32 range: needs the max-subtracted log-sum-exp"))
    return c


def main():
    torch.manual_seed(0)
    g = Gen(SEED)
    doc = {
        "generator": "tools/make_torch_reference.py",
        "torch": torch.__version__.split("+")[0],
        "loss": "L = sum(output * r); grads are dL/dinput, computed in float64 from the float32 inputs",
        "cases": op_cases(g),
        "losses": loss_cases(g),
    }
    text = json.dumps(doc, separators=(",", ":"))
    # One case per line keeps diffs of regenerated files readable.
    text = text.replace('},{"name"', '},\n{"name"').replace('"cases":[', '"cases":[\n').replace('"losses":[', '"losses":[\n')
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(text + "\n")
    print(f"wrote {len(doc['cases'])} op cases and {len(doc['losses'])} loss cases to {os.path.normpath(OUT)} "
          f"({len(text) // 1024} KB)")


if __name__ == "__main__":
    main()
