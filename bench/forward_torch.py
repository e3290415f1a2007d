"""PyTorch CPU baseline of bench/forward.ts: the family's plain forward (bench/_family_torch.py) on the same random
checkpoint and token rows as ours, logits included.

Usage: forward_torch.py FOLDER TOKENS_JSON OUT_DIR
TOKENS_JSON maps a shape ("8x128") to its rows. Prints one JSON line: {"tokens_per_s": {shape: rate}, "load_s",
"threads", "torch"}, and writes the log-softmax of the first shape's first row's last position to OUT_DIR/logprobs.f32.
"""
import json
import os
import sys
import time

import torch

from _family_torch import Model

folder, tokens_path, out_dir = sys.argv[1:4]
torch.set_num_threads(os.cpu_count() or 1)
start = time.perf_counter()
model = Model(folder)
load_s = time.perf_counter() - start
with open(tokens_path) as f:
    shapes = json.load(f)
rates = {}
for i, (shape, rows) in enumerate(shapes.items()):
    tokens = torch.tensor(rows, dtype=torch.int64)
    logits = model.forward(tokens)  # warm-up
    if i == 0:
        logits[0, -1].log_softmax(-1).numpy().astype("float32").tofile(os.path.join(out_dir, "logprobs.f32"))
    best = float("inf")
    for _ in range(2):
        t0 = time.perf_counter()
        model.forward(tokens)
        best = min(best, time.perf_counter() - t0)
    rates[shape] = tokens.numel() / best
print(json.dumps({"tokens_per_s": rates, "load_s": load_s, "threads": torch.get_num_threads(), "torch": torch.__version__}))
