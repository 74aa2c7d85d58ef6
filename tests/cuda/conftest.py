"""CUDA kernel tests: they need NUMBA_ENABLE_CUDASIM=1 (the simulator, set before Numba is
imported) or FASTACT_CUDA_TESTS=1 on a machine with a GPU. tests/test_cuda_target.py runs
this directory in a subprocess with the simulator; a plain `pytest` skips collecting it."""

import os

if os.environ.get("NUMBA_ENABLE_CUDASIM", "0") in ("", "0") and not os.environ.get("FASTACT_CUDA_TESTS"):
    collect_ignore_glob = ["test_*.py"]
