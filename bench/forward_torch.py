"""PyTorch CPU baseline for bench/forward.ts: a nanoGPT-style GPT-2 forward (random weights) with logits.

Usage: forward_torch.py N_LAYER N_HEAD D_MODEL N_CTX VOCAB BATCH POS
Prints one JSON line: {"tokens_per_s": r, "threads": n}.
"""
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

n_layer, n_head, d, n_ctx, vocab, batch, pos = (int(a) for a in sys.argv[1:8])
torch.set_num_threads(os.cpu_count() or 1)
torch.manual_seed(0)


def p(*shape):
    return torch.randn(*shape) * 0.02


wte, wpe = p(vocab, d), p(n_ctx, d)
blocks = [dict(ln1=(torch.ones(d), torch.zeros(d)), attn=(p(d, 3 * d), p(3 * d)), proj=(p(d, d), p(d)),
               ln2=(torch.ones(d), torch.zeros(d)), fc=(p(d, 4 * d), p(4 * d)), out=(p(4 * d, d), p(d)))
          for _ in range(n_layer)]
lnf = (torch.ones(d), torch.zeros(d))
mask = torch.ones(pos, pos).tril() == 0


@torch.no_grad()
def forward(tokens):
    B, T = tokens.shape
    x = wte[tokens] + wpe[:T]
    for b in blocks:
        h = F.layer_norm(x, (d,), *b["ln1"], 1e-5)
        q, k, v = (h @ b["attn"][0] + b["attn"][1]).split(d, dim=2)
        q, k, v = (t.view(B, T, n_head, d // n_head).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(d // n_head)
        y = att.masked_fill(mask, float("-inf")).softmax(-1) @ v
        x = x + y.transpose(1, 2).reshape(B, T, d) @ b["proj"][0] + b["proj"][1]
        h = F.layer_norm(x, (d,), *b["ln2"], 1e-5)
        h = F.gelu(h @ b["fc"][0] + b["fc"][1], approximate="tanh")
        x = x + h @ b["out"][0] + b["out"][1]
    return F.layer_norm(x, (d,), *lnf, 1e-5) @ wte.T


tokens = torch.randint(0, vocab, (batch, pos))
forward(tokens)  # warm-up
best = float("inf")
for _ in range(3):
    start = time.perf_counter()
    forward(tokens)
    best = min(best, time.perf_counter() - start)
print(json.dumps({"tokens_per_s": batch * pos / best, "threads": torch.get_num_threads()}))
