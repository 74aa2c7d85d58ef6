"""The asv suite in bench/ stays runnable: each class set up and timed once on a few params,
and a NumPy combination without an expression is skipped in ``setup`` (asv's skip), never
failing inside a ``time_`` method."""

import importlib.util
from pathlib import Path

import pytest

PATH = Path(__file__).resolve().parents[1] / "bench" / "benchmarks" / "activations.py"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def suite():
    return _load("fastact_asv_suite")


@pytest.fixture(scope="module")
def full_suite():
    """The opt-in cross product (FASTACT_ASV_ALL=1): every builtin, grad timed too."""
    mp = pytest.MonkeyPatch()
    mp.setenv("FASTACT_ASV_ALL", "1")
    try:
        return _load("fastact_asv_suite_all")
    finally:
        mp.undo()


def test_tracking_set_is_small_and_the_full_set_opt_in(suite, full_suite):
    assert not hasattr(suite, "ElementwiseGrad") and suite.RatioToNumpy.params[2] == ["forward", "backward"]
    assert set(full_suite.NAMES) == set(full_suite.BUILTIN) and len(full_suite.NAMES) > 30
    assert full_suite.RatioToNumpy.params[2] == ["forward", "grad", "backward"]


def test_elementwise_benchmarks_run(suite, full_suite):
    for cls, method in ((suite.ElementwiseForward, "time_forward"), (full_suite.ElementwiseGrad, "time_grad"),
                        (suite.ElementwiseBackward, "time_backward")):  # fmt: skip
        for impl in ("fastact", "numpy"):
            b = cls()
            b.setup("gelu", "float32", 10_000, impl)
            getattr(b, method)()
    m = suite.ElementwiseMemory()
    m.size = 10_000
    allocated = {}
    for impl in ("fastact", "numpy"):
        m.setup("relu", "float32", impl)
        allocated[impl] = m.track_alloc_bytes_per_element()
    # the output alone (float32) for fastact; output plus scratch for the NumPy expression
    assert 4 <= allocated["fastact"] < 4.5 and allocated["numpy"] >= 8, allocated


def test_ratio_benchmarks(suite):
    cases = [
        (suite.RatioToCopy, ("relu", "float32"), "track_ratio_to_copy"),
        (suite.RatioToNumpy, ("sigmoid", "float32", "backward"), "track_ratio_to_numpy"),
    ]
    for cls, args, method in cases:
        b = cls()
        b.size = 10_000
        b.setup(*args)
        ratio = getattr(b, method)()
        assert isinstance(ratio, float) and 0 < ratio < 100, (cls, ratio)
    assert suite.RatioToNumpy.unit == "ratio"
    with pytest.raises(NotImplementedError):
        suite.RatioToNumpy().setup("mish", "float32", "grad")


def test_ratio_to_torch(suite):
    pytest.importorskip("torch")
    for args in (("silu", "float32", "backward"), ("softmax", "float32", "forward")):
        b = suite.RatioToTorch()
        b.size = 10_000
        b.setup(*args)
        ratio = b.track_ratio_to_torch()
        assert isinstance(ratio, float) and 0 < ratio < 1000, (args, ratio)
    for args in (("x*tanh.softplus", "float32", "forward"), ("mish", "float32", "backward")):
        with pytest.raises(NotImplementedError, match="no torch"):
            suite.RatioToTorch().setup(*args)


def test_missing_numpy_expression_skips_in_setup(suite, full_suite):
    # mish has a NumPy forward but no grad: grad/backward skip in setup; forward runs
    b = suite.ElementwiseForward()
    b.setup("mish", "float32", 1000, "numpy")
    b.time_forward()
    for cls in (full_suite.ElementwiseGrad, suite.ElementwiseBackward):
        with pytest.raises(NotImplementedError):
            cls().setup("mish", "float32", 1000, "numpy")
    with pytest.raises(NotImplementedError):
        suite.AxisBackward().setup("softmax", "float32", (10, 1000), "numpy")
    # no time_ method of the suite raises NotImplementedError itself
    for name, obj in [*vars(suite).items(), *vars(full_suite).items()]:
        if isinstance(obj, type) and not name.startswith("_"):
            for attr in vars(obj).values():
                if callable(attr) and attr.__name__.startswith(("time_", "peakmem_", "track_")):
                    assert "NotImplementedError" not in attr.__code__.co_names, (name, attr.__name__)


def test_axis_wise_and_small_array_benchmarks_run(suite):
    for name in ("softmax", "swiglu"):
        for cls, method in ((suite.AxisForward, "time_forward"), (suite.AxisBackward, "time_backward")):
            a = cls()
            a.setup(name, "float32", (100, 1000), "fastact")
            getattr(a, method)()
    a = suite.AxisForward()
    a.setup("softmax", "float32", (100, 1000), "numpy")
    a.time_forward()
    assert set(suite.AXIS_NAMES) >= {"softmax", "logsumexp", "swiglu"}
    assert set(suite.TRACKED) <= set(suite.BUILTIN) | {"x*tanh.softplus"}
    s = suite.SmallArrays()
    for name in ("gelu", "softmax"):
        for output in ("alloc", "out"):
            for impl in ("fastact", "numpy"):
                s.setup(name, 10, output, impl)
                s.time_call()
