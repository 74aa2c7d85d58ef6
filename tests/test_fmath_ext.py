"""fastact.fmath_ext against mpmath, on special values, from Python, and in vectorized loops."""

import math
import re

import mpmath as mp
import numba
import numpy as np
import pytest

from fastact import fmath_ext as fx
from fastact._jit import activate_jitables
from fastact.testing.accuracy import ulp_errors

activate_jitables()
mp.mp.dps = 40

MP = {
    "sin": mp.sin,
    "cos": mp.cos,
    "erf": mp.erf,
    "atan": mp.atan,
    "exp2": lambda v: mp.power(2, v),
    "log2": lambda v: mp.log(v, 2),
    "sigmoid": lambda v: 1 / (1 + mp.exp(-v)),
    "softplus": lambda v: mp.log1p(mp.exp(v)),
}


def _vectorized(name):
    f = getattr(fx, name)

    @numba.njit(error_model="numpy")
    def loop(x, out):
        for i in range(x.size):
            out[i] = f(x[i])

    return loop


@numba.njit(error_model="numpy")
def _sincos_loop(x, s, c):
    for i in range(x.size):
        s[i], c[i] = fx.sincos(x[i])


LOOPS = {name: _vectorized(name) for name in MP}


def _points(name, dtype, n=1200, seed=0):
    rng = np.random.default_rng(seed)
    f32 = dtype == np.float32
    lim = fx.TRIG_LIMIT[0 if f32 else 1]
    trig = [(-7, 7), (-1e-3, 1e-3), (-200, 200)]
    ranges = {
        "sin": trig, "cos": trig, "erf": [(-6, 6), (-1, 1), (-1e-3, 1e-3)],
        "atan": [(-3, 3), (-1e-3, 1e-3), (-1e4, 1e4)],
        "exp2": [(-160 if f32 else -1090, 128 if f32 else 1024), (-1, 1)],
        "log2": [(1e-30, 10), (0.5, 2)],
        "sigmoid": [(-110 if f32 else -750, 40), (-1, 1)],
        "softplus": [(-110 if f32 else -750, 40), (-1, 1)],
    }[name]  # fmt: skip
    x = np.concatenate([rng.uniform(lo, hi, n // len(ranges)) for lo, hi in ranges])
    if name in ("sin", "cos"):  # magnitudes up to the limit, and the hardest multiples of pi/2
        mags = 10.0 ** rng.uniform(0, math.log10(lim) - 0.01, 300) * rng.choice([-1, 1], 300)
        near = np.round(rng.uniform(-1e6, 1e6, 50)) * (math.pi / 2)
        x = np.concatenate([x, mags, near, [6381956970095103 * 2.0**797 % lim]])
    if name == "log2":
        tiny = 1e-40 if f32 else 1e-310
        x = np.concatenate([x, 10.0 ** rng.uniform(-37, 37, 200), [tiny, 2 * tiny, 1.0, 2.0, 0.5, 1024.0]])
    if name == "atan":
        x = np.concatenate([x, 10.0 ** rng.uniform(-30, 30, 200), [0.41421356, 0.4142136, 1.0, 2.414]])
    return x.astype(dtype)


def _reference(name, x):
    return np.array([float(MP[name](mp.mpf(float(v)))) for v in x])


@pytest.mark.parametrize("name", sorted(MP))
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_accuracy_against_mpmath(name, dtype):
    x = _points(name, dtype)
    got = np.empty_like(x)
    LOOPS[name](x, got)
    errors = ulp_errors(got, _reference(name, x), dtype)
    bound = fx.MAX_ULP[name][0 if dtype == np.float32 else 1]
    worst = int(np.argmax(errors))
    assert errors.max() <= bound, f"{name} {dtype.__name__}: {errors.max()} ULP at x={x[worst]!r}"


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_sincos_is_sin_and_cos(dtype):
    x = _points("sin", dtype)
    s, c, s1, c1 = (np.empty_like(x) for _ in range(4))
    _sincos_loop(x, s, c)
    LOOPS["sin"](x, s1)
    LOOPS["cos"](x, c1)
    np.testing.assert_array_equal(s, s1)
    np.testing.assert_array_equal(c, c1)
    assert fx.sincos(0.5) == (math.sin(0.5), math.cos(0.5))


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_trig_beyond_the_limit_is_bounded_not_accurate(dtype):
    """The documented behaviour above TRIG_LIMIT: numbers in [-1, 1]; NaN at ±inf and NaN."""
    big = np.array([3e38, -3e38, 1e30, 2.0**60, 1e20], dtype)
    if dtype == np.float64:
        big = np.concatenate([big, [1e300, -1.7e308]])
    for name in ("sin", "cos"):
        got = np.empty_like(big)
        LOOPS[name](big, got)
        assert np.all(np.abs(got) <= 1.0), (name, got)
        special = np.array([np.inf, -np.inf, np.nan], dtype)
        LOOPS[name](special, got[:3])
        assert np.isnan(got[:3]).all()


INF, NAN = math.inf, math.nan
SPECIALS = {
    "sin": [(0.0, 0.0), (-0.0, -0.0)],
    "cos": [(0.0, 1.0), (-0.0, 1.0)],
    "erf": [(0.0, 0.0), (-0.0, -0.0), (INF, 1.0), (-INF, -1.0), (10.0, 1.0)],
    "atan": [(0.0, 0.0), (-0.0, -0.0), (INF, math.pi / 2), (-INF, -math.pi / 2)],
    "exp2": [(0.0, 1.0), (-0.0, 1.0), (10.0, 1024.0), (-3.0, 0.125), (INF, INF), (-INF, 0.0), (5000.0, INF),
             (-5000.0, 0.0)],
    "log2": [(1.0, 0.0), (8.0, 3.0), (0.25, -2.0), (0.0, -INF), (-0.0, -INF), (INF, INF), (-1.0, NAN)],
    "sigmoid": [(0.0, 0.5), (INF, 1.0), (-INF, 0.0), (-1000.0, 0.0)],
    "softplus": [(INF, INF), (-INF, 0.0), (1000.0, 1000.0)],
}  # fmt: skip


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


def test_exp2_keeps_subnormal_results():
    x = np.array([-1074.0, -1073.5, -1040.25])
    got = np.empty_like(x)
    LOOPS["exp2"](x, got)
    np.testing.assert_array_equal(got, [5e-324, np.float64(2.0) ** -1073.5, 2.0**-1040.25])


@pytest.mark.parametrize("name", sorted(MP))
def test_python_fallbacks_agree_with_mpmath_and_keep_the_type(name):
    for v in (-3.0, -0.5, 0.25, 2.0):
        if name == "log2" and v <= 0:
            continue
        assert getattr(fx, name)(v) == pytest.approx(float(MP[name](v)), rel=1e-14, abs=1e-300)
    assert type(getattr(fx, name)(np.float32(0.5))) is np.float32


def _simd_flags():
    try:
        with open("/proc/cpuinfo") as f:
            return f.read()
    except OSError:
        return ""


@pytest.mark.skipif(" avx2" not in _simd_flags(), reason="no AVX2 on this CPU")
@pytest.mark.parametrize("name", sorted(MP))
def test_loops_vectorize_without_libm_calls(name):
    """The point of fmath_ext: a loop over it compiles to SIMD code, not scalar libm calls."""
    for dtype in (np.float32, np.float64):
        x = np.ones(64, dtype)
        LOOPS[name](x, np.empty_like(x))
    asm = "\n".join(LOOPS[name].inspect_asm().values())
    assert re.search(r"%[yz]mm\d+", asm), f"{name}: no ymm/zmm registers in the loop"
    assert not re.search(r"call\s+\S*(sin|cos|exp|log|atan|erf|pow|ldexp)", asm), f"{name}: calls libm"
