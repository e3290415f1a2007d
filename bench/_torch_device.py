"""Which device the PyTorch baseline of bench/device.ts runs on: CUDA where torch sees a GPU, else the CPU.
Prints one JSON line: {"torch": version, "device": "cuda" or "cpu", "name": the GPU's, "tf32": whether matmuls may
use TF32 (off: the baseline computes in fp32, as the WGSL kernels do)}."""
import json

import torch

cuda = torch.cuda.is_available()
print(
    json.dumps(
        {
            "torch": torch.__version__,
            "device": "cuda" if cuda else "cpu",
            "name": torch.cuda.get_device_name(0) if cuda else None,
            "tf32": torch.backends.cuda.matmul.allow_tf32,
        }
    )
)
