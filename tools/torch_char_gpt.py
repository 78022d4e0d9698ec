"""The PyTorch peer of `backprop train --text FILE --model gpt:layers=4,heads=4,dim=128,context=64`: the same
character-level GPT (GPT-2's pre-LayerNorm blocks, nanoGPT's sizes and initialisation, exact GELU, learned positions,
biases on, an lm_head of its own — not tied to the token embedding, as in Backprop's Gpt), the same data, split,
recipe and steps (see torch_char_common.py). Prints the validation loss in nats per character and tokens per second.

    /usr/bin/python3 tools/torch_char_gpt.py --text /usr/share/games/fortunes --steps 2000 [--threads N] [--json]
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from torch_char_common import arguments, train


class Block(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(dim)
        self.c_attn = nn.Linear(dim, 3 * dim)     # q|k|v packed, head h owning columns h*d ... (h+1)*d - 1 of each
        self.attn_proj = nn.Linear(dim, dim)
        self.ln_2 = nn.LayerNorm(dim)
        self.c_fc = nn.Linear(dim, 4 * dim)
        self.c_proj = nn.Linear(4 * dim, dim)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(c, dim=2)
        q, k, v = (z.view(b, t, self.heads, c // self.heads).transpose(1, 2) for z in (q, k, v))
        if hasattr(F, "scaled_dot_product_attention"):   # torch >= 2.0: the fused kernel
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:                                             # nanoGPT's explicit path
            att = (q @ k.transpose(-2, -1)) / math.sqrt(k.shape[-1])
            att = att.masked_fill(torch.ones(t, t, dtype=torch.bool).triu(1), float("-inf"))
            y = F.softmax(att, dim=-1) @ v
        x = x + self.attn_proj(y.transpose(1, 2).reshape(b, t, c))
        return x + self.c_proj(F.gelu(self.c_fc(self.ln_2(x))))


class Gpt(nn.Module):
    def __init__(self, vocab, layers, heads, dim, context):
        super().__init__()
        self.wte = nn.Embedding(vocab, dim)
        self.wpe = nn.Embedding(context, dim)
        self.h = nn.ModuleList([Block(dim, heads) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(dim)
        self.lm_head = nn.Linear(dim, vocab, bias=False)
        residual = 0.02 / math.sqrt(2 * layers)
        for name, p in self.named_parameters():
            if name.endswith("bias"):
                nn.init.zeros_(p)
            elif "ln_" in name:
                continue
            else:
                nn.init.normal_(p, 0.0, residual if name.endswith(("attn_proj.weight", "c_proj.weight")) else 0.02)

    def forward(self, ids):
        t = ids.shape[1]
        x = self.wte(ids) + self.wpe(torch.arange(t))
        for block in self.h:
            x = block(x)
        return self.lm_head(self.ln_f(x))


def options(p):
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--dim", type=int, default=128)


if __name__ == "__main__":
    args = arguments("char GPT on text, Backprop's recipe, in PyTorch", options)
    train(args, lambda vocab: Gpt(vocab, args.layers, args.heads, args.dim, args.context),
          f"GPT(layers={args.layers}, heads={args.heads}, dim={args.dim}, context={args.context})")
