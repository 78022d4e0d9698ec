#!/usr/bin/python3
"""Regenerates the PyTorch weight files that `backprop import-torch` / `export-torch` are tested against.

How to run (from the repository root; needs Debian's python3-torch, `apt-get install python3-torch`, and a build of
the CLI, `dotnet build src/Backprop.Cli`):

    /usr/bin/python3 tools/make_torch_weights_reference.py [--backprop "dotnet path/to/Backprop.Cli.dll"]

What it writes, under tests/Backprop.Tests/Golden/:

    torch_weights/mlp.safetensors   nn.Sequential(Linear(4,16), Tanh, Linear(16,8), ReLU, Linear(8,3)), saved in F64
                                    with values float32 cannot hold (the import rounds them)
    torch_weights/cnn.safetensors   a module with named blocks `features` (Conv2d(1,4,3,padding=1), ReLU,
                                    MaxPool2d(2), Conv2d(4,6,3), ReLU) and `classifier` (Flatten, Linear(24,5)),
                                    saved in F16 (the import converts exactly); sorted by name, `classifier.1` comes
                                    before `features.0`, so the import must place the blocks by shape
    torch_weights/bn.safetensors    a module with named layers conv1, bn1 (BatchNorm2d), fc1, bn2 (BatchNorm1d), fc2,
                                    in evaluation mode after 5 training passes (non-trivial running statistics and
                                    num_batches_tracked = 5, I64 as PyTorch stores it), saved in F32
    torch_weights/dtypes.safetensors  one small tensor of each dtype safetensors names (F64, F32, F16, BF16, I64,
                                    I32, I16, I8, U8, BOOL), to check the reader decodes PyTorch's bytes
    torch_weights/*_export.safetensors  what `backprop export-torch` writes for each imported model
    torch_weights.json              per model: the file, the Backprop spec and example shape that mirror it, the
                                    inputs x [N, F] (rows, as Backprop's datasets give them) and PyTorch's outputs y,
                                    computed in float64 from the stored weights; the PyTorch nn.Sequential the export's
                                    names belong to, and whether PyTorch's load_state_dict(strict=True) took the
                                    export and gave the same outputs (max |difference|); per dtype tensor, its values

The Python `safetensors` package is not in Debian, so the files are written and read by hand: an 8-byte little-endian
header length, a JSON header ({name: {dtype, shape, data_offsets}, "__metadata__": {"format": "pt"}}) padded with
spaces to 8 bytes, then the raw little-endian data, as `safetensors.torch.save_file` writes them.

The export check runs the Backprop CLI (import-torch, then export-torch) on the files just written, then loads each
export into the equivalent nn.Sequential. Output is deterministic: the same script gives the same files byte for
byte. PyTorch is never a dependency of the library or its tests: the tests read only the committed files.
"""

import argparse
import json
import os
import shlex
import struct
import subprocess
import tempfile

import numpy as np
import torch
from torch import nn

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
GOLDEN = os.path.join(ROOT, "tests", "Backprop.Tests", "Golden")
FILES = os.path.join(GOLDEN, "torch_weights")
DEFAULT_CLI = "dotnet " + os.path.join(ROOT, "src", "Backprop.Cli", "bin", "Debug", "net10.0", "Backprop.Cli.dll")
SEED = 20260412

DTYPES = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64",
    torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL",
}
NUMPY = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32, "I16": np.int16,
         "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}


def num(v):
    # 9 significant digits round-trip float32 exactly; references (float64) keep 9 digits, far below any tolerance.
    return float("%.9g" % v)


def tensor_json(a):
    a = np.asarray(a, dtype=np.float64)
    return {"shape": list(a.shape), "data": [num(v) for v in a.reshape(-1)]}


def raw_bytes(t):
    t = t.detach().contiguous().cpu()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    return t.numpy().astype(np.dtype(NUMPY[DTYPES[t.dtype]]).newbyteorder("<")).tobytes()


def save_file(tensors, path):
    """safetensors.torch.save_file by hand: data packed in name order, header padded with spaces to 8 bytes."""
    header, chunks, offset = {}, [], 0
    for name in sorted(tensors):
        data = raw_bytes(tensors[name])
        header[name] = {"dtype": DTYPES[tensors[name].dtype], "shape": list(tensors[name].shape),
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for c in chunks:
            f.write(c)


def load_file(path):
    """safetensors.torch.load_file by hand."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    header.pop("__metadata__", None)
    out = {}
    for name, e in header.items():
        begin, end = e["data_offsets"]
        data = blob[8 + n + begin:8 + n + end]
        if e["dtype"] == "BF16":
            t = torch.from_numpy(np.frombuffer(data, dtype="<i2").copy()).view(torch.bfloat16)
        else:
            t = torch.from_numpy(np.frombuffer(data, dtype=np.dtype(NUMPY[e["dtype"]]).newbyteorder("<")).copy())
        out[name] = t.reshape(e["shape"])
    return out


class Cnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 6, 3), nn.ReLU())
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(24, 5))

    def forward(self, x):
        return self.classifier(self.features(x))


class BnNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(2, 3, 3)
        self.bn1 = nn.BatchNorm2d(3)
        self.fc1 = nn.Linear(48, 8)
        self.bn2 = nn.BatchNorm1d(8)
        self.fc2 = nn.Linear(8, 3)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x))).flatten(1)
        return self.fc2(torch.relu(self.bn2(self.fc1(x))))


def models(rng):
    torch.manual_seed(SEED)
    mlp = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 3)).double()
    with torch.no_grad():
        for p in mlp.parameters():   # nudge every weight off the float32 grid, so the F64 file needs rounding
            p.add_(torch.from_numpy(rng.uniform(-1e-9, 1e-9, tuple(p.shape))))
    cnn = Cnn().half()
    bn = BnNet()
    with torch.no_grad():
        for m in (bn.bn1, bn.bn2):
            m.weight.copy_(torch.from_numpy(rng.uniform(0.5, 1.5, m.num_features)))
            m.bias.copy_(torch.from_numpy(rng.uniform(-0.5, 0.5, m.num_features)))
        bn.train()
        for _ in range(5):   # running statistics away from (0, 1), num_batches_tracked = 5
            bn(torch.from_numpy((rng.standard_normal((16, 2, 6, 6)) * 2 + 0.7).astype(np.float32)))
    bn.eval()
    return [
        ("mlp", mlp, "dense(16)-tanh-dense(8)-relu-dense(3)", [4],
         "nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 3))",
         lambda: nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 3))),
        ("cnn", cnn, "conv(4,3,pad=1)-relu-maxpool(2)-conv(6,3)-relu-flatten-dense(5)", [1, 8, 8],
         "nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 6, 3), nn.ReLU(), nn.Flatten(), nn.Linear(24, 5))",
         lambda: nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 6, 3), nn.ReLU(), nn.Flatten(), nn.Linear(24, 5))),
        ("bn", bn, "conv(3,3)-batchnorm-relu-flatten-dense(8)-batchnorm-relu-dense(3)", [2, 6, 6],
         "nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(), nn.Linear(48, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))",
         lambda: nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(), nn.Linear(48, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))),
    ]


def dtype_tensors():
    return {
        "f64": torch.tensor([1.0 + 2.0 ** -40, -3.5, 1e-30], dtype=torch.float64),
        "f32": torch.tensor([[0.1, -2.0], [3.25, 1e-20]], dtype=torch.float32),
        "f16": torch.tensor([0.1, -65504.0, 6e-8, 1.0], dtype=torch.float16),
        "bf16": torch.tensor([0.1, -3.0e38, 1.5, -0.0], dtype=torch.bfloat16),
        "i64": torch.tensor([0, -7, 16777216, 123456], dtype=torch.int64),
        "i32": torch.tensor([2147483, -1], dtype=torch.int32),
        "i16": torch.tensor([-32768, 32767], dtype=torch.int16),
        "i8": torch.tensor([-128, 5], dtype=torch.int8),
        "u8": torch.tensor([0, 255, 17], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True], dtype=torch.bool),
    }


def run_cli(cli, *args):
    done = subprocess.run(shlex.split(cli) + list(args), capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"backprop {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--backprop", default=DEFAULT_CLI, help="how to run the Backprop CLI")
    cli = parser.parse_args().backprop
    rng = np.random.default_rng(SEED)
    os.makedirs(FILES, exist_ok=True)
    document = {"generator": "tools/make_torch_weights_reference.py", "torch": torch.__version__, "models": []}
    with tempfile.TemporaryDirectory() as temp:
        for name, model, spec, shape, sequential, build in models(rng):
            model.eval()
            file = f"torch_weights/{name}.safetensors"
            stored = DTYPES[model.state_dict()[next(iter(model.state_dict()))].dtype]
            save_file(model.state_dict(), os.path.join(GOLDEN, file))
            x = rng.standard_normal((5, int(np.prod(shape)))).astype(np.float32)
            with torch.no_grad():
                y = model.double()(torch.from_numpy(x.astype(np.float64)).reshape([5] + shape)).numpy()

            # Backprop's import, then its export, loaded back into the equivalent nn.Sequential.
            imported = os.path.join(temp, f"{name}.safetensors")
            export = f"torch_weights/{name}_export.safetensors"
            run_cli(cli, "import-torch", os.path.join(GOLDEN, file), "--model", spec,
                    "--input", "x".join(map(str, shape)), "--save", imported)
            run_cli(cli, "export-torch", "--model", imported, "--save", os.path.join(GOLDEN, export))
            mirror = build().double()
            mirror.load_state_dict(load_file(os.path.join(GOLDEN, export)), strict=True)
            mirror.eval()
            with torch.no_grad():
                mirrored = mirror(torch.from_numpy(x.astype(np.float64)).reshape([5] + shape)).numpy()
            diff = float(np.abs(mirrored - y).max())
            document["models"].append({
                "name": name, "file": file, "dtype": stored,
                "spec": spec, "input": shape, "x": tensor_json(x), "y": tensor_json(y),
                "export": {"file": export, "pytorch": sequential, "loaded_strict": True, "max_abs_diff": num(diff),
                           "matched": diff < 1e-5},
            })
    dtypes = dtype_tensors()
    save_file(dtypes, os.path.join(FILES, "dtypes.safetensors"))
    document["dtypes"] = {"file": "torch_weights/dtypes.safetensors",
                          "tensors": {k: {"dtype": DTYPES[t.dtype], "shape": list(t.shape),
                                          "values": [num(v) for v in t.double().reshape(-1).tolist()]}
                                      for k, t in dtypes.items()}}
    with open(os.path.join(GOLDEN, "torch_weights.json"), "w") as f:
        json.dump(document, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
