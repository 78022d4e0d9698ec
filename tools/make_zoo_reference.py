#!/usr/bin/python3
"""Regenerates the PyTorch reference values that Backprop's sequence layers are tested against: Embedding, LayerNorm,
RMSNorm, RNN (tanh, relu), LSTM, GRU, MultiheadAttention, Conv1d, ConvTranspose2d and Upsample (nearest, bilinear).

How to run (from the repository root; needs Debian's python3-torch, `apt-get install python3-torch`):

    /usr/bin/python3 tools/make_zoo_reference.py

What it writes: tests/Backprop.Tests/Golden/torch_zoo.json, {"torch": version, "cases": [...]}, one entry per case:

    name, layer        e.g. "lstm_2layer_bi", "LSTM"
    args               the layer's constructor arguments (Backprop's names)
    params             {PyTorch parameter name: {shape, data}}: the float32 values the layer was given
    inputs             {"x": ..., and "h0"/"c0" for recurrent cases that pass initial states}
    r                  R, L = sum(output * R) (+ sum(h_n * r_h) + sum(c_n * r_c) for the cases with states)
    output             the layer's output, computed by PyTorch in float64
    grads              dL/d(input or parameter) by name ("x", "h0", "c0", parameter names)
    state              recurrent cases with states: h_n, c_n (LSTM), r_h, r_c

Parameters start from PyTorch's own initialisation with a fixed seed, rounded to float32 (affine norms get random
weights so their gradients matter); inputs are float32 from a seeded numpy generator. Every reference is computed in
float64 from those exact float32 values. RMSNorm (PyTorch 2.4+) is computed by its formula when this torch lacks
nn.RMSNorm: x / sqrt(mean(x^2) + eps) * weight. The output is deterministic.

PyTorch is never a dependency of the library or its tests: the tests read only the committed JSON.
"""

import json
import os

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "Backprop.Tests", "Golden", "torch_zoo.json")
SEED = 20261202


def num(v):
    return float("%.9g" % v)


def tensor(a):
    a = np.asarray(a, dtype=np.float64)
    return {"shape": list(a.shape), "data": [num(v) for v in a.reshape(-1)]}


def f32(a):
    return np.asarray(a, dtype=np.float32)


def t64(a, grad=False):
    return torch.tensor(np.asarray(a, dtype=np.float32).astype(np.float64), requires_grad=grad)


def prepare(module, rng, randomize=()):
    """Rounds every parameter to float32 (randomizing those named), then switches the module to float64."""
    params = {}
    with torch.no_grad():
        for name, p in module.named_parameters():
            v = f32(rng.uniform(0.5, 1.5, tuple(p.shape)) if name in randomize else p.detach().numpy())
            p.copy_(torch.tensor(v))
            params[name] = tensor(v)
    module.double()
    return params


def grads_of(module, named_inputs):
    g = {name: tensor(t.grad.numpy()) for name, t in named_inputs.items() if t.requires_grad}
    for name, p in module.named_parameters():
        g[name] = tensor(p.grad.numpy())
    return g


def finish(name, layer, args, params, inputs, out, rng, module, extra=None):
    r = f32(rng.standard_normal(tuple(out.shape)))
    loss = (out * t64(r)).sum()
    state = None
    if extra:
        state = {}
        for key, value in extra.items():
            rk = f32(rng.standard_normal(tuple(value.shape)))
            loss = loss + (value * t64(rk)).sum()
            state[key] = tensor(value.detach().numpy())
            state["r_" + key[0]] = tensor(rk)
    loss.backward()
    case = {
        "name": name, "layer": layer, "args": args, "params": params,
        "inputs": {k: tensor(v.detach().numpy()) for k, v in inputs.items()},
        "r": tensor(r), "output": tensor(out.detach().numpy()), "grads": grads_of(module, inputs),
    }
    if state is not None:
        case["state"] = state
    return case


def embedding(rng):
    torch.manual_seed(1)
    m = torch.nn.Embedding(7, 4)
    params = prepare(m, rng)
    ids = np.array([[2, 5, 5], [0, 6, 2]])
    out = m(torch.tensor(ids))
    case = finish("embedding", "Embedding", {"num": 7, "dim": 4}, params, {}, out, rng, m)
    case["inputs"]["ids"] = tensor(ids)
    return case


def layer_norm(rng, name, shape, normalized, affine, eps=1e-5):
    torch.manual_seed(2)
    m = torch.nn.LayerNorm(normalized, eps=eps, elementwise_affine=affine)
    params = prepare(m, rng, randomize=("weight", "bias"))
    x = t64(rng.standard_normal(shape) * 2 + 0.5, grad=True)
    return finish(name, "LayerNorm", {"shape": list(normalized), "eps": eps, "affine": affine}, params, {"x": x}, m(x), rng, m)


class RmsNormByFormula(torch.nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = torch.nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x / torch.sqrt((x * x).mean(-1, keepdim=True) + self.eps) * self.weight


def rms_norm(rng, name, shape, eps):
    m = RmsNormByFormula(shape[-1], float(np.finfo(np.float32).eps) if eps is None else eps)
    params = prepare(m, rng, randomize=("weight",))
    x = t64(rng.standard_normal(shape) * 1.5, grad=True)
    return finish(name, "RMSNorm", {"dim": shape[-1], "eps": eps}, params, {"x": x}, m(x), rng, m)


def recurrent(rng, name, kind, batch, seq, inp, hidden, layers, bidirectional, with_state, **kw):
    torch.manual_seed(3)
    cls = {"RNN": torch.nn.RNN, "LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU}[kind]
    m = cls(inp, hidden, num_layers=layers, bidirectional=bidirectional, batch_first=True, **kw)
    params = prepare(m, rng)
    x = t64(rng.standard_normal((batch, seq, inp)), grad=True)
    inputs = {"x": x}
    dirs = 2 if bidirectional else 1
    args = {"input": inp, "hidden": hidden, "layers": layers, "bidirectional": bidirectional}
    args.update(kw)
    if with_state:
        h0 = t64(rng.standard_normal((layers * dirs, batch, hidden)) * 0.5, grad=True)
        inputs["h0"] = h0
        if kind == "LSTM":
            c0 = t64(rng.standard_normal((layers * dirs, batch, hidden)) * 0.5, grad=True)
            inputs["c0"] = c0
            out, (hn, cn) = m(x, (h0, c0))
            return finish(name, kind, args, params, inputs, out, rng, m, {"h_n": hn, "c_n": cn})
        out, hn = m(x, h0)
        return finish(name, kind, args, params, inputs, out, rng, m, {"h_n": hn})
    out = m(x)[0]
    return finish(name, kind, args, params, inputs, out, rng, m)


def attention(rng, name, batch, seq, dim, heads, causal):
    torch.manual_seed(4)
    m = torch.nn.MultiheadAttention(dim, heads, batch_first=True)
    params = prepare(m, rng)
    with torch.no_grad():   # PyTorch starts the biases at 0; random ones test their gradients
        for p in (m.in_proj_bias, m.out_proj.bias):
            p.copy_(t64(rng.standard_normal(tuple(p.shape)) * 0.1))
    params = {n: tensor(f32(p.detach().numpy())) for n, p in m.named_parameters()}
    x = t64(rng.standard_normal((batch, seq, dim)), grad=True)
    mask = torch.triu(torch.full((seq, seq), float("-inf"), dtype=torch.float64), 1) if causal else None
    out = m(x, x, x, attn_mask=mask, need_weights=False)[0]
    return finish(name, "MultiHeadAttention", {"dim": dim, "heads": heads, "causal": causal}, params, {"x": x}, out, rng, m)


def conv1d(rng, name, batch, cin, cout, length, k, stride, padding):
    torch.manual_seed(5)
    m = torch.nn.Conv1d(cin, cout, k, stride=stride, padding=padding)
    params = prepare(m, rng)
    x = t64(rng.standard_normal((batch, cin, length)), grad=True)
    args = {"in": cin, "out": cout, "kernel": k, "stride": stride, "padding": padding}
    return finish(name, "Conv1d", args, params, {"x": x}, m(x), rng, m)


def conv_transpose2d(rng, name, batch, cin, cout, size, k, stride, padding, output_padding, bias=True):
    torch.manual_seed(6)
    m = torch.nn.ConvTranspose2d(cin, cout, k, stride=stride, padding=padding, output_padding=output_padding, bias=bias)
    params = prepare(m, rng)
    x = t64(rng.standard_normal((batch, cin) + size), grad=True)
    args = {"in": cin, "out": cout, "kernel": k, "stride": stride, "padding": padding, "output_padding": output_padding, "bias": bias}
    return finish(name, "ConvTranspose2d", args, params, {"x": x}, m(x), rng, m)


def upsample(rng, name, shape, scale, mode):
    m = torch.nn.Upsample(scale_factor=scale, mode=mode, **({"align_corners": False} if mode == "bilinear" else {}))
    x = t64(rng.standard_normal(shape), grad=True)
    return finish(name, "Upsample", {"scale": scale, "mode": mode}, {}, {"x": x}, m(x), rng, m)


def main():
    rng = np.random.default_rng(SEED)
    cases = [
        embedding(rng),
        layer_norm(rng, "layernorm_last", (2, 3, 6), (6,), True),
        layer_norm(rng, "layernorm_two_axes", (2, 3, 4), (3, 4), True, eps=1e-3),
        layer_norm(rng, "layernorm_no_affine", (4, 5), (5,), False),
        rms_norm(rng, "rmsnorm_default_eps", (2, 3, 6), None),
        rms_norm(rng, "rmsnorm_eps", (4, 5), 1e-2),
        recurrent(rng, "rnn_tanh_2layer_bi", "RNN", 2, 4, 3, 4, 2, True, False),
        recurrent(rng, "rnn_relu_state", "RNN", 2, 3, 3, 4, 1, False, True, nonlinearity="relu"),
        recurrent(rng, "lstm_1layer", "LSTM", 3, 5, 4, 3, 1, False, False),
        recurrent(rng, "lstm_2layer_bi_state", "LSTM", 2, 4, 3, 3, 2, True, True),
        recurrent(rng, "gru_1layer", "GRU", 3, 5, 4, 3, 1, False, False),
        recurrent(rng, "gru_2layer_bi_state", "GRU", 2, 4, 3, 3, 2, True, True),
        attention(rng, "mha", 2, 5, 8, 2, False),
        attention(rng, "mha_causal", 2, 5, 8, 4, True),
        conv1d(rng, "conv1d_stride2_pad1", 2, 3, 4, 9, 3, 2, 1),
        conv_transpose2d(rng, "convtranspose_stride2_pad1_outpad1", 2, 3, 4, (4, 5), 3, 2, 1, 1),
        conv_transpose2d(rng, "convtranspose_k4_stride3_no_bias", 1, 2, 3, (3, 2), 4, 3, 0, 2, bias=False),
        conv_transpose2d(rng, "convtranspose_stride1_pad2", 2, 2, 2, (5, 5), 5, 1, 2, 0),
        upsample(rng, "upsample_nearest_2", (2, 3, 3, 4), 2, "nearest"),
        upsample(rng, "upsample_nearest_3", (1, 2, 2, 3), 3, "nearest"),
        upsample(rng, "upsample_bilinear_2", (2, 2, 4, 3), 2, "bilinear"),
        upsample(rng, "upsample_bilinear_3", (1, 2, 3, 5), 3, "bilinear"),
    ]
    with open(OUT, "w") as f:
        json.dump({"generator": "tools/make_zoo_reference.py", "torch": torch.__version__, "cases": cases}, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
