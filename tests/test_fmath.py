"""fastact.fmath against mpmath, on special values, from Python, and in vectorized loops."""

import math
import re

import mpmath as mp
import numba
import numpy as np
import pytest

from fastact import fmath as fm
from fastact._jit import activate_jitables
from fastact.testing.accuracy import ulp_errors

activate_jitables()
mp.mp.dps = 40

MP = {
    "exp": mp.exp,
    "expm1": mp.expm1,
    "log": mp.log,
    "log1p": mp.log1p,
    "tanh": mp.tanh,
    "erfc": mp.erfc,
    "ndtr": mp.ncdf,
    "npdf": mp.npdf,
    "x_ndtr": lambda v: v * mp.ncdf(v),
}


def _vectorized(name):
    f = getattr(fm, name)

    @numba.njit(error_model="numpy")
    def loop(x, out):
        for i in range(x.size):
            out[i] = f(x[i])

    return loop


LOOPS = {name: _vectorized(name) for name in MP}


def _points(name, dtype, n=1500, seed=0):
    rng = np.random.default_rng(seed)
    big = 88.0 if dtype == np.float32 else 709.0
    ranges = {
        "exp": [(-big - 16, big), (-1, 1)],
        "expm1": [(-40, big), (-1e-3, 1e-3), (-1, 1)],
        "log": [(1e-30, 10), (0.5, 2)],
        "log1p": [(-0.999, 10), (-1e-4, 1e-4), (1, 1e6)],
        "tanh": [(-20, 20), (-1e-3, 1e-3), (-1, 1)],
        "erfc": [(-6, 27 if dtype == np.float64 else 10), (-1, 1)],
        "ndtr": [(-38 if dtype == np.float64 else -14, 8), (-2, 2)],
        "npdf": [(-38 if dtype == np.float64 else -14, 38 if dtype == np.float64 else 14)],
        "x_ndtr": [(-38 if dtype == np.float64 else -14, 8), (-2, 2)],
    }[name]
    x = np.concatenate([rng.uniform(lo, hi, n // len(ranges)) for lo, hi in ranges])
    if name == "log":
        tiny = 1e-40 if dtype == np.float32 else 1e-310
        x = np.concatenate([x, 10.0 ** rng.uniform(-37, 37, 200), [tiny, 2 * tiny]])
    return x.astype(dtype)


@pytest.mark.parametrize("name", sorted(MP))
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_accuracy_against_mpmath(name, dtype):
    x = _points(name, dtype)
    got = np.empty_like(x)
    LOOPS[name](x, got)
    ref = np.array([float(MP[name](mp.mpf(float(v)))) for v in x])
    errors = ulp_errors(got, ref, dtype)
    bound = fm.MAX_ULP[name][0 if dtype == np.float32 else 1]
    worst = int(np.argmax(errors))
    assert errors.max() <= bound, f"{name} {dtype.__name__}: {errors.max()} ULP at x={x[worst]!r}"


INF, NAN = math.inf, math.nan
SPECIALS = {
    "exp": [(0.0, 1.0), (-0.0, 1.0), (INF, INF), (-INF, 0.0), (1000.0, INF), (-1000.0, 0.0)],
    "expm1": [(0.0, 0.0), (-0.0, -0.0), (INF, INF), (-INF, -1.0), (1000.0, INF), (-1000.0, -1.0)],
    "log": [(0.0, -INF), (-0.0, -INF), (1.0, 0.0), (INF, INF), (-1.0, NAN), (-INF, NAN)],
    "log1p": [(0.0, 0.0), (-0.0, -0.0), (-1.0, -INF), (-2.0, NAN), (INF, INF)],
    "tanh": [(0.0, 0.0), (-0.0, -0.0), (INF, 1.0), (-INF, -1.0), (50.0, 1.0)],
    "erfc": [(0.0, 1.0), (INF, 0.0), (-INF, 2.0), (100.0, 0.0)],
    "ndtr": [(0.0, 0.5), (INF, 1.0), (-INF, 0.0), (-100.0, 0.0)],
    "npdf": [(INF, 0.0), (-INF, 0.0), (0.0, 0.3989422804014327)],
    "x_ndtr": [(0.0, 0.0), (INF, INF), (-100.0, -0.0), (10.0, 10.0)],
}


@pytest.mark.parametrize("name", sorted(SPECIALS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_special_values(name, dtype):
    cases = SPECIALS[name] + [(NAN, NAN)]
    x = np.array([c[0] for c in cases], dtype=dtype)
    want = np.array([c[1] for c in cases], dtype=dtype)
    got = np.empty_like(x)
    LOOPS[name](x, got)
    np.testing.assert_array_equal(got, want, err_msg=f"{name} {dtype.__name__} at {x}")
    assert (np.signbit(got) == np.signbit(want))[want == 0].all(), f"{name}: wrong sign of zero"


def test_exp_keeps_subnormal_results():
    x = np.array([-103.0, -745.0, -740.0], dtype=np.float64)
    got = np.empty_like(x)
    LOOPS["exp"](x, got)
    assert got[1] == 5e-324 and got[2] > 0 and abs(got[2] / np.exp(-740.0) - 1) < 1e-14
    x32 = np.array([-95.0, -103.0], dtype=np.float32)
    got32 = np.empty_like(x32)
    LOOPS["exp"](x32, got32)
    np.testing.assert_array_equal(got32, np.exp(x32.astype(np.float64)).astype(np.float32))


@pytest.mark.parametrize("name", sorted(MP))
def test_python_fallbacks_agree_with_the_math_module(name):
    for v in (-3.0, -0.5, 0.0, 0.25, 2.0):
        if (name == "log" and v <= 0) or (name == "log1p" and v <= -1):
            continue
        assert getattr(fm, name)(v) == pytest.approx(float(MP[name](v)), rel=1e-14, abs=1e-300)
    assert fm.exp(1000.0) == math.inf and fm.log(0.0) == -math.inf and math.isnan(fm.log1p(-2.0))
    assert fm.like(np.float32(1.0), 0.5) == 0.5


def _simd_flags():
    try:
        with open("/proc/cpuinfo") as f:
            return f.read()
    except OSError:
        return ""


@pytest.mark.skipif(" avx2" not in _simd_flags(), reason="no AVX2 on this CPU")
@pytest.mark.parametrize("name", ["exp", "log1p", "tanh", "ndtr"])
def test_loops_vectorize(name):
    """The point of fmath: a loop over it compiles to SIMD code, not scalar libm calls."""
    x = np.ones(64, np.float32)
    out = np.empty_like(x)
    LOOPS[name](x, out)
    asm = "\n".join(LOOPS[name].inspect_asm().values())
    assert re.search(r"%[yz]mm\d+", asm), f"{name}: no ymm/zmm registers in the loop"
    assert not re.search(r"call\s+\S*(exp|log|tanh|erf)", asm), f"{name}: calls a libm function"
