"""PyTorch baseline for bench/encode.ts, bench/cpu.ts and bench/device.ts: the same SAE encode math, timed the same
way, on the CPU (all cores) or on CUDA (synchronized before each clock read).

Usage: encode_torch.py d_in d_sae tokens k [device]
Prints one JSON line: {"standard": tokens_per_s, "topk": tokens_per_s, "threads": n, "device": name}.
"""
import json
import os
import sys
import time

import torch

d_in, d_sae, tokens, k = (int(a) for a in sys.argv[1:5])
device = torch.device(sys.argv[5] if len(sys.argv) > 5 else "cpu")
torch.set_num_threads(os.cpu_count() or 1)
torch.manual_seed(0)
x = torch.randn(tokens, d_in, device=device)
W_enc = torch.randn(d_in, d_sae, device=device) / d_in**0.5
b_enc = torch.randn(d_sae, device=device) * 0.1
b_dec = torch.randn(d_in, device=device) * 0.1


def sync():
    if device.type == "cuda":
        torch.cuda.synchronize()


def standard():
    return torch.relu((x - b_dec) @ W_enc + b_enc)


def topk():
    h = (x - b_dec) @ W_enc + b_enc
    values, indices = torch.topk(h, k, dim=-1, sorted=False)
    return torch.zeros_like(h).scatter_(-1, indices, values.relu())


def rate(fn):
    fn()  # warm-up
    sync()
    best = float("inf")
    for _ in range(3 if device.type == "cpu" else 20):
        start = time.perf_counter()
        fn()
        sync()
        best = min(best, time.perf_counter() - start)
    return tokens / best


with torch.no_grad():
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(json.dumps({"standard": rate(standard), "topk": rate(topk), "threads": torch.get_num_threads(), "device": name}))
