"""Writes the small PyTorch checkpoints the .pt reader is tested on, and what torch itself reads from them.

Run with a Python that has torch (Debian's python3-torch 1.13 wrote the committed files):

    python3 tests/io/torch_fixtures/make_fixtures.py

Each NAME.pt gets NAME.json: every tensor as torch.load(weights_only=True) gives it (dtype, shape, values in
C order as float64 or int). evil.pt is the exception: a pickle whose loading would call os.system, which the
reader must refuse without running it.
"""

import collections
import json
import os
from pathlib import Path

import torch

HERE = Path(__file__).parent
torch.manual_seed(0)


def rand(*shape, dtype=torch.float32):
    return (torch.rand(*shape) * 2 - 1).to(dtype)


def save(name, obj):
    path = HERE / f"{name}.pt"
    torch.save(obj, path)
    loaded = torch.load(path, weights_only=True)
    out = {}
    for key, t in loaded.items():
        out[key] = {
            "dtype": str(t.dtype).replace("torch.", ""),
            "shape": list(t.shape),
            "values": t.flatten().tolist(),
        }
    (HERE / f"{name}.json").write_text(json.dumps(out) + "\n")


base = rand(3, 4)
shared = rand(10)
tensors = collections.OrderedDict()
tensors["f32"] = rand(2, 3)
tensors["transposed"] = base.t()  # a non-contiguous view: stride (1, 4)
tensors["slice"] = shared[2:7]  # offset 2 into a 10-element storage
tensors["shares_storage"] = shared[5:]  # the same storage again
tensors["f16"] = rand(5, dtype=torch.float16)
tensors["bf16"] = rand(2, 2, dtype=torch.bfloat16)
tensors["f64"] = rand(3, dtype=torch.float64)
tensors["i64"] = torch.arange(-3, 3)
tensors["k"] = torch.tensor(20, dtype=torch.int32)  # a 0-d buffer, as dictionary_learning's TopK keeps k
tensors["empty"] = torch.zeros(0, 4)
tensors["param"] = torch.nn.Parameter(rand(2))
save("tensors", tensors)

d_in, d_sae = 4, 8
# dictionary_learning's AutoEncoder: encoder/decoder nn.Linear and the decoder-side bias "bias"
save("dl_standard", collections.OrderedDict([
    ("bias", rand(d_in)), ("encoder.weight", rand(d_sae, d_in)), ("encoder.bias", rand(d_sae)),
    ("decoder.weight", rand(d_in, d_sae)),
]))
# its GatedAutoEncoder
save("dl_gated", collections.OrderedDict([
    ("decoder_bias", rand(d_in)), ("r_mag", rand(d_sae)), ("gate_bias", rand(d_sae)), ("mag_bias", rand(d_sae)),
    ("encoder.weight", rand(d_sae, d_in)), ("decoder.weight", rand(d_in, d_sae)),
]))
# its AutoEncoderTopK, with the buffers k and threshold beside the weights
save("dl_topk", collections.OrderedDict([
    ("encoder.weight", rand(d_sae, d_in)), ("encoder.bias", rand(d_sae)), ("decoder.weight", rand(d_in, d_sae)),
    ("b_dec", rand(d_in)), ("k", torch.tensor(3, dtype=torch.int32)), ("threshold", torch.tensor(-1.0)),
]))
# qresearch's DeepSeek-R1 SAE: a bf16 state dict of encoder/decoder nn.Linear
save("deepseek_l3", {
    "encoder.weight": rand(d_sae, d_in, dtype=torch.bfloat16), "encoder.bias": rand(d_sae, dtype=torch.bfloat16),
    "decoder.weight": rand(d_in, d_sae, dtype=torch.bfloat16), "decoder.bias": rand(d_in, dtype=torch.bfloat16),
})
# Connor Kissane and Rob Krzyzanowski's hook_z SAEs: SAELens names, beside NAME_cfg.json
save("hook_z_L1", {"W_enc": rand(d_in, d_sae), "W_dec": rand(d_sae, d_in), "b_enc": rand(d_sae), "b_dec": rand(d_in)})


class Evil:
    def __reduce__(self):
        return (os.system, ("echo this must never run",))


torch.save({"W_enc": Evil()}, HERE / "evil.pt")
