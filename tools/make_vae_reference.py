#!/usr/bin/python3
"""Regenerates the PyTorch reference values for Backprop's VAE pieces (Backprop.Generative.VaeLoss): the KL term
-1/2 * sum(1 + logvar - mu^2 - exp(logvar)) per example averaged over the batch, the reparameterised sample
mu + exp(logvar / 2) * eps, the Bernoulli negative log-likelihood summed per example (F.binary_cross_entropy with
reduction="sum" divided by the batch), and their sum, the negative ELBO, as PyTorch's examples/vae computes it.

How to run (from the repository root; needs Debian's python3-torch):

    /usr/bin/python3 tools/make_vae_reference.py

What it writes: tests/Backprop.Tests/Golden/torch_vae.json, in the format of tools/make_torch_reference.py (name,
op, args, inputs, r, output, grads; L = sum(output * r), computed in float64 from float32 inputs).

PyTorch is never a dependency of the library or its tests: the tests read only the committed JSON.
"""

import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_torch_reference import Gen, case  # noqa: E402  (the shared case format)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "Backprop.Tests", "Golden", "torch_vae.json")
SEED = 20261203
F = torch.nn.functional


def kl(mu, logvar):
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / mu.shape[0]


def bce_sum(p, x):
    return F.binary_cross_entropy(p, x, reduction="sum") / p.shape[0]


def cases(g):
    N, U = g.normal, g.uniform
    c = [
        case(g, "kl_4x3", "kl", lambda t: kl(t[0], t[1]), [(N((4, 3)), True), (U((4, 3), -2, 1), True)]),
        case(g, "kl_1x2", "kl", lambda t: kl(t[0], t[1]), [(N((1, 2)), True), (U((1, 2), -1, 1), True)]),
        case(g, "reparameterize_3x2", "reparameterize", lambda t: t[0] + torch.exp(0.5 * t[1]) * t[2],
             [(N((3, 2)), True), (U((3, 2), -2, 1), True), (N((3, 2)), False)]),
        case(g, "bce_sum_4x5", "bce_sum", lambda t: bce_sum(t[0], t[1]), [(U((4, 5), 0.05, 0.95), True), (U((4, 5), 0, 1), False)]),
        # p = sigmoid(logits), as the decoder's last layer: the clamp at log 1e-44 never bites here.
        case(g, "bce_sum_of_sigmoid_3x6", "bce_sum_sigmoid", lambda t: bce_sum(torch.sigmoid(t[0]), t[1]),
             [(N((3, 6)), True), (U((3, 6), 0, 1), False)]),
    ]

    def elbo(t):
        mu, logvar, eps, logits, x = t
        z = mu + torch.exp(0.5 * logvar) * eps
        p = torch.sigmoid(z @ logits)   # a linear "decoder" [latent, F] stands in for the network
        return bce_sum(p, x) + kl(mu, logvar)
    c.append(case(g, "negative_elbo_3x2_to_5", "negative_elbo", elbo,
                  [(N((3, 2)), True), (U((3, 2), -1.5, 0.5), True), (N((3, 2)), False), (N((2, 5)), True), (U((3, 5), 0, 1), False)]))
    return c


def main():
    torch.manual_seed(0)
    g = Gen(SEED)
    doc = {
        "generator": "tools/make_vae_reference.py",
        "torch": torch.__version__.split("+")[0],
        "loss": "L = sum(output * r); grads are dL/dinput, computed in float64 from the float32 inputs",
        "cases": cases(g),
        "losses": [],
    }
    text = json.dumps(doc, separators=(",", ":"))
    text = text.replace('},{"name"', '},\n{"name"').replace('"cases":[', '"cases":[\n')
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(text + "\n")
    print(f"wrote {len(doc['cases'])} cases to {os.path.normpath(OUT)} ({len(text) // 1024} KB)")


if __name__ == "__main__":
    main()
