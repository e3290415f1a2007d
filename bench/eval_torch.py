"""PyTorch baseline of `sae eval` for bench/cpu.ts (CPU) and bench/device.ts (CUDA): SAELens's run_evals on the same token rows, per batch a
forward to the hook for L0 and explained variance (each row's opening BOS left out), then full forwards for CE
loss alone, with the SAE spliced in and zero-ablated, and KL(orig || spliced), KL(orig || zero) per position.

Usage: eval_torch.py model_dir sae_dir tokens.safetensors batches batch_size hook_layer [device]
Prints one JSON line: the metrics, "seconds" (the eval, after loading; on CUDA, after a synchronize) and "threads".
"""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

from _gpt2_torch import Gpt2
from _safetensors import read_safetensors

model_dir, sae_dir, tokens_path = sys.argv[1:4]
batches, batch_size, layer = (int(a) for a in sys.argv[4:7])
device = torch.device(sys.argv[7] if len(sys.argv) > 7 else "cpu")
torch.set_num_threads(os.cpu_count() or 1)
model = Gpt2(model_dir, device)
sae = read_safetensors(os.path.join(sae_dir, "sae_weights.safetensors"))
W_enc, b_enc, W_dec, b_dec = (sae[n].to(device) for n in ("W_enc", "b_enc", "W_dec", "b_dec"))
rows = read_safetensors(tokens_path)["tokens"].long().to(device)


def encode(x):
    return torch.relu((x - b_dec) @ W_enc + b_enc)


def ce(logits, tokens):
    return F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1)).item()


def kl(log_p, logits):
    return (log_p.exp() * (log_p - logits.log_softmax(-1))).sum(-1).mean().item()


start = time.perf_counter()
sums = {"ce_orig": 0.0, "ce_sae": 0.0, "ce_zero": 0.0, "kl_sae": 0.0, "kl_zero": 0.0}
l0, err, n = 0.0, 0.0, 0
s1 = torch.zeros(W_enc.shape[0], dtype=torch.float64, device=device)
s2 = torch.zeros(W_enc.shape[0], dtype=torch.float64, device=device)
with torch.inference_mode():
    for b in range(batches):
        tokens = rows[b * batch_size : (b + 1) * batch_size]
        x = model.forward(tokens, stop_at_layer=layer)[:, 1:].reshape(-1, W_enc.shape[0])
        f = encode(x)
        l0 += (f > 0).sum().item()
        err += ((f @ W_dec + b_dec - x) ** 2).sum().item()
        s1 += x.sum(0).double()
        s2 += (x.double() ** 2).sum(0)
        n += x.shape[0]
        orig = model.forward(tokens)
        spliced = model.forward(tokens, hook_layer=layer, hook=lambda r: encode(r) @ W_dec + b_dec)
        zero = model.forward(tokens, hook_layer=layer, hook=torch.zeros_like)
        log_p = orig.log_softmax(-1)
        for name, value in (("ce_orig", ce(orig, tokens)), ("ce_sae", ce(spliced, tokens)),
                            ("ce_zero", ce(zero, tokens)), ("kl_sae", kl(log_p, spliced)),
                            ("kl_zero", kl(log_p, zero))):
            sums[name] += value / batches
if device.type == "cuda":
    torch.cuda.synchronize()
seconds = time.perf_counter() - start
variance = (s2 - s1**2 / n).sum().item()
print(json.dumps({**sums, "l0": l0 / n, "explained_variance": 1 - err / variance, "seconds": seconds,
                  "threads": torch.get_num_threads()}))
