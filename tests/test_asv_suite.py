"""The asv suite in bench/ stays runnable: each class set up and timed once on a few params."""

import importlib.util
from pathlib import Path

import pytest

PATH = Path(__file__).resolve().parents[1] / "bench" / "benchmarks" / "activations.py"


@pytest.fixture(scope="module")
def suite():
    spec = importlib.util.spec_from_file_location("fastact_asv_suite", PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_elementwise_and_axis_wise_benchmarks_run(suite):
    b = suite.Elementwise()
    for impl in ("fastact", "numpy"):
        b.setup("gelu", "float32", 10_000, impl)
        b.time_forward(), b.time_grad(), b.time_backward(), b.peakmem_forward()
    a = suite.AxisWise()
    for name in ("softmax", "swiglu"):
        a.setup(name, "float32", (100, 1000), "fastact")
        a.time_forward(), a.time_backward()
    a.setup("softmax", "float32", (100, 1000), "numpy")
    a.time_forward()
    with pytest.raises(NotImplementedError):
        a.time_backward()
    assert set(suite.AXIS_NAMES) >= {"softmax", "logsumexp", "swiglu"}
    s = suite.SmallArrays()
    for name in ("gelu", "softmax"):
        for output in ("alloc", "out"):
            for impl in ("fastact", "numpy"):
                s.setup(name, 10, output, impl)
                s.time_call()
