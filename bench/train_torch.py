"""PyTorch baseline for bench/train.ts, bench/cpu.ts and bench/device.ts: one SAELens-style training step
(bench/_sae_step.py) of each architecture named, best of `steps` after a warm-up step, on the CPU (all cores) or on
CUDA (synchronized before each clock read).

Usage: train_torch.py d_in d_sae tokens k steps [device [architectures]]
(architectures comma-separated; default standard,topk).
Prints one JSON line: {<architecture>: tokens_per_s, ..., "threads": n}.
"""
import json
import os
import sys
import time

import torch

from _sae_step import make_sae, sae_step

d_in, d_sae, tokens, k, steps = (int(a) for a in sys.argv[1:6])
device = torch.device(sys.argv[6] if len(sys.argv) > 6 else "cpu")
architectures = sys.argv[7].split(",") if len(sys.argv) > 7 else ["standard", "topk"]
torch.set_num_threads(os.cpu_count() or 1)
torch.manual_seed(0)
x = torch.randn(tokens, d_in, device=device)


def sync():
    if device.type == "cuda":
        torch.cuda.synchronize()


out = {"threads": torch.get_num_threads()}
for arch in architectures:
    params, opt = make_sae(d_in, d_sae, arch, device)
    sae_step(params, opt, arch, x, k)  # warm-up
    sync()
    best = float("inf")
    for _ in range(steps):
        start = time.perf_counter()
        sae_step(params, opt, arch, x, k)
        sync()
        best = min(best, time.perf_counter() - start)
    out[arch] = tokens / best
print(json.dumps(out))
