#!/usr/bin/python3
# PyTorch CPU training of the reference CNN on Fashion-MNIST, the peer of `backprop bench`'s cnn_train_samples_per_s.
# Usage: torch_fmnist_cnn.py [epochs] [batch] [max_batches_per_epoch]
#   conv(32,3,pad 1)-relu-maxpool(2)-conv(64,3,pad 1)-relu-maxpool(2)-flatten-dense(128)-relu-dropout(0.3)-dense(10)
#   Adam lr 1e-3, cross-entropy, 2 threads. Prints samples/s per epoch, test accuracy, and a final JSON line.
#   max_batches_per_epoch (default: all) cuts epochs short for a quick timing; accuracy is then not meaningful.
import gzip, json, sys, time
import numpy as np, torch, torch.nn as nn
torch.set_num_threads(2); torch.manual_seed(0)
D = "/usr/share/datasets/fashion-mnist/"
def images(f): return np.frombuffer(gzip.open(D+f).read(), np.uint8, offset=16).reshape(-1, 1, 28, 28).astype(np.float32) / 255
def labels(f): return np.frombuffer(gzip.open(D+f).read(), np.uint8, offset=8).astype(np.int64)
Xtr, ytr, Xte, yte = map(torch.from_numpy, (images("train-images-idx3-ubyte.gz"), labels("train-labels-idx1-ubyte.gz"),
                                            images("t10k-images-idx3-ubyte.gz"), labels("t10k-labels-idx1-ubyte.gz")))
epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
bs = int(sys.argv[2]) if len(sys.argv) > 2 else 64
max_batches = int(sys.argv[3]) if len(sys.argv) > 3 else None
model = nn.Sequential(
    nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.3), nn.Linear(128, 10))
opt = torch.optim.Adam(model.parameters(), lr=1e-3); lossf = nn.CrossEntropyLoss()

def accuracy():
    model.eval()
    with torch.no_grad():
        correct = sum((model(Xte[i:i+1000]).argmax(1) == yte[i:i+1000]).sum().item() for i in range(0, 10000, 1000))
    model.train()
    return correct / 10000

rates, acc, t_start = [], 0.0, time.perf_counter()
for ep in range(epochs):
    t = time.perf_counter(); perm = torch.randperm(60000); seen = 0
    for b, i in enumerate(range(0, 60000, bs)):
        if max_batches is not None and b >= max_batches: break
        idx = perm[i:i+bs]; opt.zero_grad(); loss = lossf(model(Xtr[idx]), ytr[idx]); loss.backward(); opt.step()
        seen += len(idx)
    dt = time.perf_counter() - t
    acc = accuracy()
    rates.append(seen / dt)
    print(f"epoch {ep+1}: {seen/dt:,.0f} samples/s  {dt:.2f}s  ({dt/seen*bs*1e3:.1f} ms/batch)  test acc {acc:.4f}", flush=True)
print(json.dumps({"framework": "pytorch " + torch.__version__.split("+")[0], "threads": 2, "batch": bs, "epochs": epochs,
                  "cnn_train_samples_per_s": round(max(rates)), "test_accuracy": acc,
                  "wall_s": round(time.perf_counter() - t_start, 1)}))
