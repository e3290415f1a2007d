"""PyTorch CPU baseline of a whole `sae train` run for bench/cpu.ts: the GPT-2 forward to the hook
(bench/_gpt2_torch.py) over the same token rows, a mixing buffer like sae's activation store (fill with forwards of
store_rows rows, shuffle, serve half, keep half) and the training step of bench/_sae_step.py per batch.

Usage: train_run_torch.py model_dir tokens.safetensors hook_layer d_sae training_tokens batch_tokens store_rows
       n_batches_in_buffer
Prints one JSON line: {"tokens_per_s": from the end of the first step to the end of the last, "steps", "threads"}.
"""
import json
import os
import sys
import time

import torch

from _gpt2_torch import Gpt2
from _safetensors import read_safetensors
from _sae_step import make_sae, sae_step

model_dir, tokens_path = sys.argv[1:3]
layer, d_sae, training_tokens, batch, store_rows, n_buffer = (int(a) for a in sys.argv[3:9])
torch.set_num_threads(os.cpu_count() or 1)
torch.manual_seed(0)
model = Gpt2(model_dir)
rows = read_safetensors(tokens_path)["tokens"].long()
ctx = rows.shape[1]
capacity = max(n_buffer * store_rows * ctx, store_rows * ctx)
buffer = torch.empty(capacity, model.d)
count, servable, next_row = 0, 0, 0
params, opt = make_sae(model.d, d_sae)


def next_batch():
    global count, servable, next_row
    if servable < batch:
        while count + store_rows * ctx <= capacity:
            idx = torch.arange(next_row, next_row + store_rows) % rows.shape[0]
            next_row += store_rows
            buffer[count : count + store_rows * ctx] = model.forward(rows[idx], stop_at_layer=layer).reshape(-1, model.d)
            count += store_rows * ctx
        buffer[:count] = buffer[torch.randperm(count)]
        servable = count // 2
    out = buffer[:batch].clone()
    buffer[: count - batch] = buffer[batch:count].clone()
    count -= batch
    servable -= batch
    return out


steps = training_tokens // batch
sae_step(params, opt, "standard", next_batch(), 0)
start = time.perf_counter()
for _ in range(steps - 1):
    sae_step(params, opt, "standard", next_batch(), 0)
seconds = time.perf_counter() - start
print(json.dumps({"tokens_per_s": (steps - 1) * batch / seconds, "steps": steps, "threads": torch.get_num_threads()}))
