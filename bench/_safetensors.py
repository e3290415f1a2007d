"""Reads .safetensors files into torch tensors (Debian's python3 has no safetensors package): one file, or a
Hugging Face folder's model.safetensors / sharded model.safetensors.index.json; BF16 widened to float32."""
import json
import os
import struct

import numpy as np
import torch

_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64, "I32": np.int32, "BF16": np.uint16}


def read_safetensors(path, float32=False):
    """Every tensor of the file, by name (float tensors as float32 when `float32`)."""
    data = np.memmap(path, dtype=np.uint8, mode="r")
    (size,) = struct.unpack("<Q", bytes(data[:8]))
    header = json.loads(bytes(data[8 : 8 + size]))
    header.pop("__metadata__", None)
    out = {}
    for name, entry in header.items():
        start, end = (8 + size + o for o in entry["data_offsets"])
        dtype = np.dtype(_DTYPES[entry["dtype"]])
        values = np.frombuffer(data, dtype=dtype, count=(end - start) // dtype.itemsize, offset=start)
        if entry["dtype"] == "BF16":
            t = torch.from_numpy(values.astype(np.int32) << 16).view(torch.float32)
        else:
            t = torch.from_numpy(values.copy())
            if float32 and t.is_floating_point():
                t = t.float()
        out[name] = t.reshape(entry["shape"])
    return out


def read_checkpoint(folder):
    """The float32 tensors of a model folder: model.safetensors or the shards its index lists."""
    index = os.path.join(folder, "model.safetensors.index.json")
    if not os.path.exists(index):
        return read_safetensors(os.path.join(folder, "model.safetensors"), float32=True)
    with open(index) as f:
        files = sorted(set(json.load(f)["weight_map"].values()))
    out = {}
    for name in files:
        out.update(read_safetensors(os.path.join(folder, name), float32=True))
    return out
