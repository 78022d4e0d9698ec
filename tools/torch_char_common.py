"""What tools/torch_char_gpt.py and tools/torch_char_lstm.py share: Backprop's text pipeline and training recipe
written in PyTorch, so that `backprop train --text` and the PyTorch script train the same model on the same data.

- Text: TextCorpus.Read — a file, or a folder's files (recursively, `.dat` and `.u8` skipped) joined in ordinal path
  order, read as UTF-8 (invalid bytes -> U+FFFD), CRLF -> LF.
- Tokens: the char tokenizer — the sorted distinct UTF-16 code units of the whole text.
- Split: by position, the first floor(0.9 * n) tokens train, the rest validate (TextDataset).
- Batches: B windows of T tokens at uniform random starts in the training part; targets shifted by one.
- Recipe: AdamW lr 1e-3, betas (0.9, 0.99), eps 1e-8, weight decay 0.1 on tensors of rank >= 2 only, gradient norm
  clipped at 1, linear warm-up over min(100, steps/10) steps from lr/warmup, then a cosine to lr/10 (TextTrainer).
- Loss: mean cross-entropy in nats per character over 96 evenly spread windows of each part (TextTrainer.Loss).
- Speed: tokens per second of the training steps alone (evaluation not timed), B * T * steps / seconds.
Only the sampler's generator differs (torch's instead of Backprop's Rng), which changes which windows are drawn, not
their distribution.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def read_text(path):
    if os.path.isdir(path):
        files = []
        for root, _, names in os.walk(path, followlinks=True):
            files += [os.path.join(root, n) for n in names if not n.endswith(".dat") and not n.endswith(".u8")]
        files.sort()
    elif os.path.isfile(path):
        files = [path]
    else:
        sys.exit(f"no text at '{path}'" + (": install it with 'apt-get install -y fortunes'" if "fortunes" in path else ""))
    parts = []
    for f in files:
        with open(f, "rb") as fh:
            parts.append(fh.read().decode("utf-8-sig", errors="replace").replace("\r\n", "\n"))
    return "".join(parts)


def tokenize(text):
    """Char-level ids over UTF-16 code units (as .NET strings hold them), and the vocabulary size."""
    units = np.frombuffer(text.encode("utf-16-le", "surrogatepass"), dtype=np.uint16)
    vocab = np.unique(units)
    return torch.from_numpy(np.searchsorted(vocab, units).astype(np.int64)), len(vocab)


def arguments(description, extra):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--text", default="/usr/share/games/fortunes")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--batch", type=int, default=12)
    p.add_argument("--context", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--clip-grad-norm", type=float, default=1.0)
    p.add_argument("--eval-every", type=int, default=250)
    p.add_argument("--eval-windows", type=int, default=96)
    p.add_argument("--val-split", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--json", action="store_true", help="end with one JSON object on stdout")
    extra(p)
    return p.parse_args()


def rate(step, lr, steps):
    warmup = min(100, steps // 10)
    if step < warmup:
        return lr * (1 / warmup + (1 - 1 / warmup) * step / warmup)
    length = max(1, steps - warmup)
    t = min(step - warmup, length)
    return lr / 10 + (lr - lr / 10) * (1 + math.cos(math.pi * t / length)) / 2


@torch.no_grad()
def evaluate(model, part, context, windows):
    model.eval()
    n_windows = len(part) - context
    n = max(1, min(windows, n_windows))
    starts = [i * n_windows // n for i in range(n)]
    total = 0.0
    for i in range(0, n, 16):
        s = torch.tensor(starts[i:i + 16])
        x = torch.stack([part[j:j + context] for j in s])
        y = torch.stack([part[j + 1:j + 1 + context] for j in s])
        logits = model(x)
        total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1)).item() * len(s)
    model.train()
    return total / n


def train(args, build, name):
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    text = read_text(args.text)
    tokens, vocab = tokenize(text)
    cut = int(len(tokens) * round(1 - args.val_split, 6))
    train_part, val_part = tokens[:cut], tokens[cut:]
    model = build(vocab)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
                                  lr=args.lr, betas=(0.9, 0.99), eps=1e-8)
    log = sys.stderr if args.json else sys.stdout
    params = sum(p.numel() for p in model.parameters())
    print(f"data    {args.text}: {len(text):,} characters, {vocab} symbols; train {len(train_part):,} / validation {len(val_part):,} tokens", file=log)
    print(f"model   {name}, {params:,} parameters; torch {torch.__version__}, {torch.get_num_threads()} thread(s)", file=log)
    T, B = args.context, args.batch
    stepping = 0.0
    loss_sum, loss_count = 0.0, 0
    wall = time.perf_counter()
    model.train()
    for step in range(args.steps):
        t0 = time.perf_counter()
        for g in optimizer.param_groups:
            g["lr"] = rate(step, args.lr, args.steps)
        starts = torch.randint(len(train_part) - T, (B,))
        x = torch.stack([train_part[s:s + T] for s in starts])
        y = torch.stack([train_part[s + 1:s + 1 + T] for s in starts])
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, vocab), y.reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if args.clip_grad_norm > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip_grad_norm)
        optimizer.step()
        loss_sum += loss.item()
        loss_count += 1
        stepping += time.perf_counter() - t0
        done = step + 1
        if args.eval_every > 0 and done % args.eval_every == 0 and done < args.steps:
            val = evaluate(model, val_part, T, args.eval_windows)
            print(f"step {done:6}/{args.steps}  loss {loss_sum / loss_count:.4f}  val_loss {val:.4f} nats/char  "
                  f"{done * B * T / stepping:.0f} tokens/s", file=log)
            loss_sum, loss_count = 0.0, 0
    train_loss = evaluate(model, train_part, T, args.eval_windows)
    val_loss = evaluate(model, val_part, T, args.eval_windows)
    tokens_per_s = args.steps * B * T / stepping
    print(f"result  val_loss {val_loss:.4f} nats/char (perplexity {math.exp(val_loss):.4f}), train_loss {train_loss:.4f}, "
          f"{args.steps} steps, {tokens_per_s:.0f} tokens/s", file=log)
    if args.json:
        print(json.dumps({"val_loss": val_loss, "val_perplexity": math.exp(val_loss), "train_loss": train_loss, "steps": args.steps,
                          "tokens_per_s": tokens_per_s, "train_seconds": time.perf_counter() - wall, "vocab": vocab,
                          "parameters": params, "threads": torch.get_num_threads(), "torch": torch.__version__}))
