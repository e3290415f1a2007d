"""PyTorch CPU baseline for bench/encode.ts: the same SAE encode math, timed the same way.

Prints one JSON line: {"standard": tokens_per_s, "topk": tokens_per_s, "threads": n}.
"""
import json
import os
import sys
import time

import torch

d_in, d_sae, tokens, k = (int(a) for a in sys.argv[1:5])
torch.set_num_threads(os.cpu_count() or 1)
torch.manual_seed(0)
x = torch.randn(tokens, d_in)
W_enc = torch.randn(d_in, d_sae) / d_in**0.5
b_enc = torch.randn(d_sae) * 0.1
b_dec = torch.randn(d_in) * 0.1


def standard():
    return torch.relu((x - b_dec) @ W_enc + b_enc)


def topk():
    h = (x - b_dec) @ W_enc + b_enc
    values, indices = torch.topk(h, k, dim=-1, sorted=False)
    return torch.zeros_like(h).scatter_(-1, indices, values.relu())


def rate(fn):
    fn()  # warm-up
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return tokens / best


with torch.no_grad():
    print(json.dumps({"standard": rate(standard), "topk": rate(topk), "threads": torch.get_num_threads()}))
