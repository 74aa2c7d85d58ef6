"""The parallel target: same results as the cpu target, threads honoured, small arrays inline."""

import numpy as np
import pytest
from click.testing import CliRunner

import fastact as fa
from fastact import activation
from fastact.tools.cli import main


@pytest.fixture
def small_threshold(monkeypatch):
    monkeypatch.setattr(activation, "PARALLEL_MIN_SIZE", 1000)


@pytest.mark.parametrize("name", ["relu", "sigmoid", "gelu", "softplus", "leaky_relu"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_parallel_equals_cpu_bitwise(name, dtype, small_threshold):
    x = (np.random.default_rng(0).standard_normal(10_007) * 4).astype(dtype)  # not a multiple of 64
    g = np.ones_like(x)
    par = fa.get(name, target="parallel", threads=3)
    cpu = fa.get(name)
    np.testing.assert_array_equal(par(x), cpu(x))
    np.testing.assert_array_equal(par.grad(x), cpu.grad(x))
    np.testing.assert_array_equal(par.backward(x, g), cpu.backward(x, g))
    out = np.empty_like(x)
    assert par(x, out=out) is out
    np.testing.assert_array_equal(out, cpu(x))


def test_parallel_handles_the_general_cases(small_threshold):
    par = fa.get("leaky_relu", target="parallel", threads=2)
    x = np.random.default_rng(1).standard_normal((50, 40)).astype(np.float32)
    slopes = np.linspace(0, 1, 40)
    np.testing.assert_array_equal(par(x, slopes), fa.leaky_relu(x, slopes))  # array parameter
    np.testing.assert_array_equal(par(x.T), fa.leaky_relu(x.T))  # non-contiguous
    assert par(np.float32(-1.0)) == fa.leaky_relu(np.float32(-1.0))


def test_threads_default_follows_numba_num_threads(monkeypatch):
    monkeypatch.setenv("NUMBA_NUM_THREADS", "3")
    assert activation.default_threads() == 3
    monkeypatch.setenv("NUMBA_NUM_THREADS", "junk")
    assert activation.default_threads() >= 1
    assert fa.get("relu", target="parallel", threads=4).threads == 4
    assert fa.get("relu").threads == 1
    with pytest.raises(fa.ParameterError, match="threads"):
        fa.get("relu", target="parallel", threads=0)


def test_bench_parallel_target():
    args = ["bench", "sigmoid", "--target", "parallel", "--size", "2000", "--repeat", "1"]
    args += ["--baseline", "numpy"]
    result = CliRunner().invoke(main, [*args, "--json"])
    assert result.exit_code == 0, result.output
    import json

    doc = json.loads(result.stdout)
    assert doc["config"]["target"] == "parallel" and doc["machine"]["threads"] >= 1
