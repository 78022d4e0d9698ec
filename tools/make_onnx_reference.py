#!/usr/bin/python3
"""Writes the PyTorch-exported ONNX models that tests/Backprop.Onnx.Tests import, with inputs and PyTorch's outputs.

Run from the repository root with Debian's python3-torch and python3-onnx:
    /usr/bin/python3 tools/make_onnx_reference.py
It writes tests/Backprop.Onnx.Tests/Data/{name}.onnx and {name}.json ({"input_shape", "input", "output"}, flat lists).
Each model is a torch.nn.Sequential exported by torch.onnx.export in evaluation mode, opset 17, with a dynamic batch,
so the files hold what PyTorch users hand to Backprop: Gemm with transB=1, Conv, pooling, Flatten, Reshape with a
constant shape, BatchNormalization with trained-looking running statistics (placed after an activation, since
torch.onnx folds a BatchNorm2d that directly follows a Conv into the Conv's weights). torch 1.13 writes AvgPool2d as
a Pad of zeros followed by AveragePool.
"""
import json
import os

import onnx
import torch
from torch import nn

OUT = os.path.join("tests", "Backprop.Onnx.Tests", "Data")


class Unflatten(nn.Module):
    """x.reshape(-1, *shape): torch.onnx writes a Reshape with a constant shape."""

    def __init__(self, *shape):
        super().__init__()
        self.shape = shape

    def forward(self, x):
        return x.reshape(-1, *self.shape)


def randomize_batchnorm(model, generator):
    # Fresh running statistics are 0 and 1, which would hide a swapped mean and variance: make them unequal.
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(m.num_features, generator=generator) * 0.5)
                m.running_var.copy_(torch.rand(m.num_features, generator=generator) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=generator) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=generator) * 0.1)


def models():
    yield "torch_mlp", nn.Sequential(
        nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 8), nn.Tanh(), nn.Linear(8, 3)), (4,)
    yield "torch_cnn", nn.Sequential(
        Unflatten(1, 12, 12),
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, stride=1), nn.Sigmoid(), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(6 * 2 * 2, 5)), (144,)
    yield "torch_batchnorm", nn.Sequential(
        nn.Conv2d(2, 3, 3), nn.LeakyReLU(0.1), nn.BatchNorm2d(3), nn.MaxPool2d(2, stride=1),
        nn.Flatten(), nn.Linear(3 * 4 * 4, 10), nn.BatchNorm1d(10, eps=1e-3, momentum=0.05), nn.ReLU(),
        nn.Linear(10, 4), nn.Softmax(dim=-1)), (2, 7, 7)


def main():
    os.makedirs(OUT, exist_ok=True)
    generator = torch.Generator().manual_seed(1234)
    torch.manual_seed(1234)
    for name, model, sample in models():
        randomize_batchnorm(model, generator)
        model.eval()
        x = torch.randn((5,) + sample, generator=generator)
        path = os.path.join(OUT, name + ".onnx")
        torch.onnx.export(model, x, path, opset_version=17, input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
        onnx.checker.check_model(onnx.load(path))
        with torch.no_grad():
            y = model(x)
        with open(os.path.join(OUT, name + ".json"), "w") as f:
            json.dump({"input_shape": list(x.shape), "input": x.flatten().tolist(),
                       "output_shape": list(y.shape), "output": y.flatten().tolist()}, f)
        print(f"wrote {path}: {[n.op_type for n in onnx.load(path).graph.node]}")


if __name__ == "__main__":
    main()
