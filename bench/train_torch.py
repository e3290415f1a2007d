"""PyTorch CPU baseline for bench/train.ts and bench/cpu.ts: one SAELens-style training step (bench/_sae_step.py) of
a standard and a TopK SAE, best of `steps` after a warm-up step.

Usage: train_torch.py d_in d_sae tokens k steps
Prints one JSON line: {"standard": tokens_per_s, "topk": tokens_per_s, "threads": n}.
"""
import json
import os
import sys
import time

import torch

from _sae_step import make_sae, sae_step

d_in, d_sae, tokens, k, steps = (int(a) for a in sys.argv[1:6])
torch.set_num_threads(os.cpu_count() or 1)
torch.manual_seed(0)
x = torch.randn(tokens, d_in)

out = {"threads": torch.get_num_threads()}
for arch in ("standard", "topk"):
    params, opt = make_sae(d_in, d_sae)
    sae_step(params, opt, arch, x, k)  # warm-up
    best = float("inf")
    for _ in range(steps):
        start = time.perf_counter()
        sae_step(params, opt, arch, x, k)
        best = min(best, time.perf_counter() - start)
    out[arch] = tokens / best
print(json.dumps(out))
