"""Reads a .safetensors file into torch tensors (Debian's python3 has no safetensors package)."""
import json
import struct

import numpy as np
import torch

_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64, "I32": np.int32}


def read_safetensors(path):
    """Every tensor of the file, by name."""
    with open(path, "rb") as f:
        data = f.read()
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + size])
    header.pop("__metadata__", None)
    out = {}
    for name, entry in header.items():
        start, end = (8 + size + o for o in entry["data_offsets"])
        dtype = np.dtype(_DTYPES[entry["dtype"]])
        values = np.frombuffer(data, dtype=dtype, count=(end - start) // dtype.itemsize, offset=start)
        out[name] = torch.from_numpy(values.copy()).reshape(entry["shape"])
    return out
