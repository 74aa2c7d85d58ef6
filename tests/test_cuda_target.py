"""The CUDA target: its kernels in the CUDA simulator (a subprocess, since the simulator must be
switched on before Numba is imported) and, in this process, the clean error without a GPU."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import fastact as fa
from fastact.kernels import cuda as fcuda

ROOT = Path(__file__).resolve().parents[1]
NO_GPU = fcuda.unavailable_reason() is not None


def test_kernels_in_the_cuda_simulator():
    pytest.importorskip("numba_cuda")
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(ROOT / "tests" / "cuda")],
        capture_output=True, text=True, env=env, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout


@pytest.mark.skipif(not NO_GPU, reason="this machine has a CUDA device")
def test_no_gpu_is_one_clear_error():
    with pytest.raises(fa.TargetUnavailableError, match="NUMBA_ENABLE_CUDASIM=1"):
        fa.get("relu", target="cuda")
    auto = fa.get("relu", target="auto")  # host arrays never need CUDA
    np.testing.assert_array_equal(auto(np.array([-1.0, 1.0])), [0.0, 1.0])
    from fastact.tools.cli import main

    result = CliRunner().invoke(main, ["bench", "relu", "--target", "cuda", "--size", "1e3"])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "no CUDA device or driver was found" in result.stderr


def test_import_never_needs_cuda():
    code = "import fastact, sys; fastact.names(); assert 'numba.cuda' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
