"""PyTorch CPU baseline for bench/train.ts: one SAELens-style training step (forward, MSE + sparsity
loss, backward, gradient clipping at 1.0, Adam) of a standard (L1 weighted by decoder norm) and a
TopK SAE, timed the same way.

Prints one JSON line: {"standard": tokens_per_s, "topk": tokens_per_s, "threads": n}.
"""
import json
import os
import sys
import time

import torch

d_in, d_sae, tokens, k, steps = (int(a) for a in sys.argv[1:6])
torch.set_num_threads(os.cpu_count() or 1)
torch.manual_seed(0)
x = torch.randn(tokens, d_in)


def make():
    W_dec = torch.randn(d_sae, d_in)
    W_dec = (W_dec / W_dec.norm(dim=1, keepdim=True) * 0.1).requires_grad_()
    W_enc = W_dec.detach().T.clone().requires_grad_()
    b_enc = torch.zeros(d_sae, requires_grad=True)
    b_dec = torch.zeros(d_in, requires_grad=True)
    params = [W_enc, b_enc, W_dec, b_dec]
    return params, torch.optim.Adam(params, lr=1e-4)


def step(params, opt, arch):
    W_enc, b_enc, W_dec, b_dec = params
    pre = (x - b_dec) @ W_enc + b_enc
    if arch == "standard":
        f = torch.relu(pre)
        loss = ((f @ W_dec + b_dec - x) ** 2).sum(-1).mean() + 5 * (f * W_dec.norm(dim=1)).sum(-1).mean()
    else:
        values, indices = torch.topk(pre, k, dim=-1, sorted=False)
        f = torch.zeros_like(pre).scatter_(-1, indices, values.relu())
        loss = ((f @ W_dec + b_dec - x) ** 2).sum(-1).mean()
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()


out = {"threads": torch.get_num_threads()}
for arch in ("standard", "topk"):
    params, opt = make()
    step(params, opt, arch)  # warm-up
    best = float("inf")
    for _ in range(steps):
        start = time.perf_counter()
        step(params, opt, arch)
        best = min(best, time.perf_counter() - start)
    out[arch] = tokens / best
print(json.dumps(out))
