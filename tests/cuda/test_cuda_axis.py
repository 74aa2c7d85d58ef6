"""Axis-wise CUDA row kernels (one block per row, shared-memory reductions) in the simulator."""

import numpy as np
import pytest

import fastact as fa
from fastact.kernels.cuda_rows import SUPPORTED
from fastact.testing.accuracy import bounds, within


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name", SUPPORTED)
def test_forward_and_backward_match_the_references(name, dtype):
    gpu = fa.get(name, target="cuda")
    spec, dt = gpu.spec, np.dtype(dtype)
    rng = np.random.default_rng(0)
    # few rows: the simulator runs every thread as a Python thread and every barrier costs ms;
    # rows longer than the (simulated) block, so threads stride along them
    base = rng.standard_normal((2, 40)).astype(dt)
    cases = [(base, -1), (base.T, 0)] if dt == np.float32 else [(base, -1)]
    for x, axis in cases:
        got = gpu(x, axis=axis)
        ref = spec.reference(x.astype(np.float64), axis, *[float(dt.type(v)) for v in spec.defaults])
        ulps, atol = bounds(spec, dt, "forward")
        assert got.dtype == dt and got.shape == ref.shape
        assert within(got, ref, dt, ulps + 2, atol).all(), np.abs(got - ref).max()
        g = rng.standard_normal(got.shape).astype(dt)
        back = gpu.backward(x, g, axis=axis)
        ref_b = spec.reference_backward(x.astype(np.float64), g.astype(np.float64), axis)
        tol = 1e-5 if dt == np.float32 else 1e-12
        np.testing.assert_allclose(back, ref_b, rtol=tol, atol=tol)


def test_special_rows_on_the_gpu():
    inf, nan = np.inf, np.nan
    rows = np.array([[1.0, 1, 1, 1], [-inf, 0, 1, -inf], [-inf] * 4, [inf, 0, inf, -inf], [nan, 0, 1, 2],
                     [0.0, -40, -40, -45]])  # fmt: skip
    for name in ("softmax", "log_softmax", "logsumexp"):
        got, cpu = fa.get(name, target="cuda")(rows), fa.get(name)(rows)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(cpu))
        np.testing.assert_allclose(got, cpu, rtol=1e-15, atol=0)
    assert fa.get("logsumexp", target="cuda")(np.array([0.0, -40.0])) == np.log1p(np.exp(-40.0))


def test_unsupported_axis_wise_names_say_so():
    with pytest.raises(fa.TargetUnavailableError, match="sparsemax has no CUDA kernel yet"):
        fa.get("sparsemax", target="cuda")
