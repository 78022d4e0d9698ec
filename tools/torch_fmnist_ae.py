#!/usr/bin/python3
"""PyTorch CPU peer of `backprop train --task reconstruct` on Fashion-MNIST: the same autoencoder or VAE, the same
data (the official 60,000 / 10,000 split, pixels / 255, not standardized), epochs, batch and optimizer. Initialisation
is PyTorch's own (the comparison is of training, not of identical starting weights).

Usage: /usr/bin/python3 tools/torch_fmnist_ae.py [--model convae|vae] [--epochs 5] [--batch 128] [--lr 1e-3]
                                               [--latent 2] [--hidden 400] [--channels 16] [--limit N] [--threads 2]

  convae: conv(16,3,s2,p1)-relu-conv(32,3,s2,p1)-relu-convT(16,3,s2,p1,op1)-relu-convT(1,3,s2,p1,op1)-sigmoid,
          loss MSE per pixel (nn.MSELoss), as `backprop train --dataset fashion-mnist --model convae`;
  vae:    PyTorch's examples/vae (784-hidden-relu, heads hidden→latent for mu and log-variance, latent-hidden-relu-
          hidden-784-sigmoid), loss BCE summed per image + KL, averaged over the batch, as `--model vae:latent=2`.
Prints each epoch's samples/s and test scores, then one JSON line with test_mse (of the reconstruction; the VAE decodes
mu), for the VAE test_loss, test_bce and test_kl per image (z sampled), and samples_per_s (the best epoch's).
Do not read timings taken on a loaded machine.
"""
import argparse, gzip, json, time
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--model", default="convae", choices=["convae", "vae"])
p.add_argument("--epochs", type=int, default=5)
p.add_argument("--batch", type=int, default=128)
p.add_argument("--lr", type=float, default=1e-3)
p.add_argument("--latent", type=int, default=2)
p.add_argument("--hidden", type=int, default=400)
p.add_argument("--channels", type=int, default=16)
p.add_argument("--limit", type=int, default=None, help="first N train and first N test images only")
p.add_argument("--threads", type=int, default=2)
p.add_argument("--seed", type=int, default=1)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(a.seed)
D = "/usr/share/datasets/fashion-mnist/"


def images(f):
    return torch.from_numpy(np.frombuffer(gzip.open(D + f).read(), np.uint8, offset=16).reshape(-1, 784).astype(np.float32) / 255)


Xtr, Xte = images("train-images-idx3-ubyte.gz"), images("t10k-images-idx3-ubyte.gz")
if a.limit:
    Xtr, Xte = Xtr[:a.limit], Xte[:a.limit]


class ConvAE(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, c, 3, stride=2, padding=1), nn.ReLU(), nn.Conv2d(c, 2 * c, 3, stride=2, padding=1), nn.ReLU(),
            nn.ConvTranspose2d(2 * c, c, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
            nn.ConvTranspose2d(c, 1, 3, stride=2, padding=1, output_padding=1), nn.Sigmoid())

    def forward(self, x):
        return self.net(x.view(-1, 1, 28, 28)).view(-1, 784)

    def loss(self, x):
        return F.mse_loss(self(x), x), None, None


class VAE(nn.Module):
    def __init__(self, hidden, latent):
        super().__init__()
        self.fc1, self.fc21, self.fc22 = nn.Linear(784, hidden), nn.Linear(hidden, latent), nn.Linear(hidden, latent)
        self.fc3, self.fc4 = nn.Linear(latent, hidden), nn.Linear(hidden, 784)

    def encode(self, x):
        h = F.relu(self.fc1(x))
        return self.fc21(h), self.fc22(h)

    def decode(self, z):
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z))))

    def forward(self, x):
        return self.decode(self.encode(x)[0])

    def loss(self, x):
        mu, logvar = self.encode(x)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        n = x.shape[0]
        bce = F.binary_cross_entropy(self.decode(z), x, reduction="sum") / n
        kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / n
        return bce + kl, bce, kl


model = ConvAE(a.channels) if a.model == "convae" else VAE(a.hidden, a.latent)
opt = torch.optim.Adam(model.parameters(), lr=a.lr)


def evaluate():
    model.eval()
    sse = loss = bce = kl = 0.0
    with torch.no_grad():
        for i in range(0, len(Xte), 500):
            x = Xte[i:i + 500]
            sse += ((model(x) - x) ** 2).sum().item()
            l, b, k = model.loss(x)
            loss += l.item() * len(x)
            if b is not None:
                bce += b.item() * len(x)
                kl += k.item() * len(x)
    model.train()
    n = len(Xte)
    r = {"test_mse": sse / (n * 784), "test_loss": loss / n}
    if a.model == "vae":
        r.update(test_bce=bce / n, test_kl=kl / n)
    return r


rates, t0, scores = [], time.perf_counter(), {}
for ep in range(a.epochs):
    t = time.perf_counter()
    perm = torch.randperm(len(Xtr))
    total, steps = 0.0, 0
    for i in range(0, len(Xtr), a.batch):
        x = Xtr[perm[i:i + a.batch]]
        opt.zero_grad()
        l = model.loss(x)[0]
        l.backward()
        opt.step()
        total += l.item()
        steps += 1
    dt = time.perf_counter() - t
    rates.append(len(Xtr) / dt)
    scores = evaluate()
    print(f"epoch {ep + 1}/{a.epochs}  loss {total / steps:.4f}  " + "  ".join(f"{k} {v:.4f}" for k, v in scores.items()) +
          f"  {len(Xtr) / dt:,.0f} samples/s", flush=True)
print(json.dumps({"framework": "pytorch " + torch.__version__.split("+")[0], "threads": a.threads, "model": a.model, "epochs": a.epochs,
                  "batch": a.batch, "train_rows": len(Xtr), **{k: round(v, 6) for k, v in scores.items()},
                  "samples_per_s": round(max(rates)), "wall_s": round(time.perf_counter() - t0, 1)}))
