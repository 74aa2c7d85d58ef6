"""Accuracy measurement: errors in units in the last place (ULP) against a reference.

The ULP of a reference value r in a dtype with p mantissa bits is 2^(e - p) where
r = m 2^e, 0.5 <= |m| < 1 (SLEEF's ``countULP``), floored at the smallest subnormal, so
errors are fractional and measured against the unrounded float64 reference. NaN against
NaN and equal infinities count 0; NaN against a number, or a wrong infinity, count inf.
For float32 the float64 NumPy reference is a true higher-precision oracle; for float64 it
is the same precision, so the float64 figure measures agreement with the reference.
"""

from __future__ import annotations

import numpy as np

_MANT = {np.dtype(np.float32): 24, np.dtype(np.float64): 53}
_TINY = {np.dtype(np.float32): 2.0**-149, np.dtype(np.float64): 2.0**-1074}

#: Inputs every activation is checked on: signed zeros, infinities, NaN, extremes, subnormals,
#: the exp overflow and underflow limits of both dtypes, and the usual kinks.
SPECIAL = np.array(
    [
        0.0, -0.0, np.inf, -np.inf, np.nan,
        3.4028234663852886e38, -3.4028234663852886e38, 1.7976931348623157e308, -1.7976931348623157e308,
        1.1754943508222875e-38, -1.1754943508222875e-38, 2.2250738585072014e-308, -2.2250738585072014e-308,
        1e-45, -1e-45, 5e-324, -5e-324, 1e-8, -1e-8,
        1e4, -1e4, 88.0, -88.0, 88.8, -88.8, 103.5, -103.5, 709.0, -709.0, 710.0, -710.0, 745.0, -745.0,
        1.0, -1.0, 3.0, -3.0, 6.0, 0.5, -0.5, 0.25, 0.75, 2.0, 20.0, 40.0, -40.0, 1e20, -1e20,
    ]
)  # fmt: skip


#: The forward bound assumed for a spec that states none for a dtype (plugins, compositions).
DEFAULT_MAX_ULP = {"float32": 4.0, "float64": 8.0}


def ulp_of(ref: np.ndarray, dtype) -> np.ndarray:
    """The size of one ULP of ``dtype`` at each (float64) reference value."""
    dtype = np.dtype(dtype)
    _, exp = np.frexp(np.abs(ref))
    return np.maximum(np.ldexp(1.0, exp - _MANT[dtype]), _TINY[dtype])


def ulp_errors(got: np.ndarray, ref: np.ndarray, dtype) -> np.ndarray:
    """Per-element error of ``got`` (dtype) against ``ref`` (float64), in ULPs of dtype."""
    got = np.asarray(got, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    ref, got = np.broadcast_arrays(ref, got)
    with np.errstate(all="ignore"):
        # a float64 reference beyond the dtype's range rounds to inf in that dtype
        ref_r = ref.astype(dtype).astype(np.float64)
        err = np.abs(got - ref) / ulp_of(ref, dtype)
    both_nan = np.isnan(got) & np.isnan(ref)
    one_nan = np.isnan(got) ^ np.isnan(ref)
    inf_ref = np.isinf(ref_r)
    err = np.where(inf_ref, np.where(got == ref_r, 0.0, np.inf), err)
    err = np.where(~inf_ref & np.isinf(got), np.inf, err)
    err = np.where(one_nan, np.inf, err)
    return np.where(both_nan, 0.0, err)


def within(got, ref, dtype, max_ulp: float, atol: float = 0.0) -> np.ndarray:
    """Mask of elements within ``max_ulp`` ULPs of ``ref``, or within ``atol`` absolutely
    (the mixed bound used near zeros of a function or of its derivative)."""
    ok = ulp_errors(got, ref, dtype) <= max_ulp
    if atol > 0:
        with np.errstate(invalid="ignore"):
            ok |= np.abs(np.asarray(got, np.float64) - np.asarray(ref, np.float64)) <= atol
    return ok


def bounds(spec, dtype, op: str = "forward") -> tuple[float, float]:
    """(max ULP, absolute slack) that ``spec`` promises for ``op`` in ``dtype``.

    Forward: the spec's ``max_ulp`` plus ``near_zero_eps`` machine epsilons. Derivatives
    (grad, backward): twice that in ULPs plus 4 epsilons, since every smooth activation's
    derivative has zeros or vanishing tails where relative error is meaningless.
    """
    dtype = np.dtype(dtype)
    eps = float(np.finfo(dtype).eps)
    ulps = float(spec.max_ulp.get(dtype.name, DEFAULT_MAX_ULP[dtype.name]))
    if op == "forward":
        return ulps, spec.near_zero_eps * eps
    return 2 * ulps + (1 if op == "backward" else 0), (4 + 2 * spec.near_zero_eps) * eps


def samples(dtype, n: int, seed: int = 0) -> np.ndarray:
    """Inputs for accuracy checks: uniform on [-12, 12] and on the exp range of the dtype,
    log-uniform magnitudes over its whole finite range (both signs), random bit patterns,
    and :data:`SPECIAL`."""
    dtype = np.dtype(dtype)
    rng = np.random.default_rng(seed)
    k = n // 4
    top = 38 if dtype == np.float32 else 307
    edge = 110.0 if dtype == np.float32 else 750.0
    dense = np.concatenate([rng.uniform(-12, 12, k), rng.uniform(-edge, edge, k)])
    mags = 10.0 ** rng.uniform(-top, top, k) * rng.choice([-1.0, 1.0], k)
    uint = np.uint32 if dtype == np.float32 else np.uint64
    bits = rng.integers(0, np.iinfo(uint).max, n - 3 * k, dtype=uint, endpoint=True).view(dtype)
    with np.errstate(over="ignore"):
        out = np.concatenate(
            [dense.astype(dtype), mags.astype(dtype), bits[np.isfinite(bits)], SPECIAL.astype(dtype)]
        )
    return out
