#!/usr/bin/env python3
"""Reference values for Backprop's optimizers and one MLP training step, computed by PyTorch.

Run:  /usr/bin/python3 tools/make_optim_reference.py      (needs Debian's python3-torch)
Writes: tests/Backprop.Tests/Golden/torch_optim.json

The tests read only the committed JSON; PyTorch is never needed to build or test Backprop.
Backprop's Dense stores W as [in, out] (Y = X·W + b); torch.nn.Linear stores [out, in], so weights are transposed
on the way out.
"""
import json, os
import torch

torch.manual_seed(0)
OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "Backprop.Tests", "Golden", "torch_optim.json")


def rounded(t):
    return [float(v) for v in t.detach().reshape(-1)]


def optimizer_case(name, make, steps=5):
    g = torch.Generator().manual_seed(len(name))
    w0 = torch.randn(7, generator=g)
    grads = [torch.randn(7, generator=g) for _ in range(steps)]
    w = w0.clone().requires_grad_(True)
    opt = make([w])
    trajectory = []
    for grad in grads:
        opt.zero_grad()
        w.grad = grad.clone()
        opt.step()
        trajectory.append(rounded(w))
    return {"name": name, "initial": rounded(w0), "gradients": [rounded(x) for x in grads], "after_each_step": trajectory}


cases = [
    optimizer_case("sgd", lambda p: torch.optim.SGD(p, lr=0.1)),
    optimizer_case("sgd_momentum", lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)),
    optimizer_case("sgd_nesterov", lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True)),
    optimizer_case("sgd_weight_decay", lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.5, weight_decay=0.1)),
    optimizer_case("adam", lambda p: torch.optim.Adam(p, lr=0.01)),
    optimizer_case("adam_weight_decay", lambda p: torch.optim.Adam(p, lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05)),
    optimizer_case("adamw", lambda p: torch.optim.AdamW(p, lr=0.01)),
    optimizer_case("adamw_weight_decay", lambda p: torch.optim.AdamW(p, lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.3)),
]

# One training step of Dense(4→5) → Tanh → Dense(5→3) with cross-entropy on a batch of 6.
g = torch.Generator().manual_seed(42)
x = torch.randn(6, 4, generator=g)
y = torch.tensor([0, 2, 1, 1, 0, 2])
l1, l2 = torch.nn.Linear(4, 5), torch.nn.Linear(5, 3)
with torch.no_grad():
    for p in list(l1.parameters()) + list(l2.parameters()):
        p.copy_(torch.randn(p.shape, generator=g) * 0.5)
model = torch.nn.Sequential(l1, torch.nn.Tanh(), l2)
weights = {"0.weight": rounded(l1.weight.T), "0.bias": rounded(l1.bias), "2.weight": rounded(l2.weight.T), "2.bias": rounded(l2.bias)}
logits = model(x)
loss = torch.nn.functional.cross_entropy(logits, y)
loss.backward()
mlp = {
    "x": rounded(x), "y": [float(v) for v in y], "weights": weights,
    "logits": rounded(logits), "loss": float(loss),
    "gradients": {"0.weight": rounded(l1.weight.grad.T), "0.bias": rounded(l1.bias.grad),
                  "2.weight": rounded(l2.weight.grad.T), "2.bias": rounded(l2.bias.grad)},
}
opt = torch.optim.Adam(model.parameters(), lr=0.01)
opt.step()
mlp["after_adam_step"] = {"0.weight": rounded(l1.weight.T), "0.bias": rounded(l1.bias),
                          "2.weight": rounded(l2.weight.T), "2.bias": rounded(l2.bias)}

with open(OUT, "w") as f:
    json.dump({"generator": "tools/make_optim_reference.py", "torch": torch.__version__, "optimizers": cases, "mlp_step": mlp}, f, indent=1)
print(f"wrote {OUT}")
