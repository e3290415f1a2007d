"""What the PyTorch baseline runs on, for bench/_environment.ts: version, BLAS (as built and as loaded), threads and
one 2048^3 fp32 matmul's GFLOP/s. Prints one JSON object; without torch, {"error": why}.

The loaded BLAS is read from /proc/self/maps after a matmul: Debian's torch links the generic libblas.so.3, which the
alternatives system points at OpenBLAS (libopenblas0-pthread) or at the reference BLAS (libblas3), 50x slower.
"""
import ctypes
import json
import os
import re
import time

try:
    import torch
except ImportError as e:
    print(json.dumps({"error": f"no torch for {os.sys.executable}: {e}"}))
    raise SystemExit(0)

torch.set_num_threads(os.cpu_count() or 1)
a = torch.randn(2048, 2048)
b = torch.randn(2048, 2048)
a @ b  # loads the BLAS and warms its threads
best = float("inf")
for _ in range(3):
    start = time.perf_counter()
    a @ b
    best = min(best, time.perf_counter() - start)

libraries = sorted(
    {os.path.realpath(line.split()[-1]) for line in open("/proc/self/maps") if re.search(r"blas|mkl|lapack", line)}
)
blas_library = next((lib for lib in libraries if re.search(r"libopenblas|libmkl|libblis", lib)), None)
blas_library = blas_library or next((lib for lib in libraries if "libblas" in lib), None)
if blas_library is None:
    kind = "none loaded (a built-in kernel)"
elif "openblas" in blas_library:
    kind = "OpenBLAS"
elif "mkl" in blas_library:
    kind = "MKL"
elif "blis" in blas_library:
    kind = "BLIS"
elif re.search(r"/blas/libblas|libblas\.so", blas_library):
    kind = "reference"  # netlib's Fortran BLAS: Debian's libblas3
else:
    kind = "unknown"

blas_threads = None
if kind == "OpenBLAS":
    try:
        blas_threads = ctypes.CDLL(blas_library).openblas_get_num_threads()
    except (OSError, AttributeError):
        pass
config = torch.__config__.show()
built = re.search(r"BLAS_INFO=([^,\s]+)", config)
print(
    json.dumps(
        {
            "torch": torch.__version__,
            "blas_built": built.group(1) if built else "unknown",
            "blas_library": blas_library,
            "blas": kind,
            "blas_threads": blas_threads,
            "torch_threads": torch.get_num_threads(),
            "matmul_gflops": 2 * 2048**3 / best / 1e9,
        }
    )
)
