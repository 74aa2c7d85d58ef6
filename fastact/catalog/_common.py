"""Scalar helpers shared by the builtin activations, and their NumPy (float64) twins.

Scalar helpers are written in the Numba subset and marked :func:`~fastact.spec.jitable`;
they are dtype-generic (constants through ``fm.like``), so float32-native kernels stay in
float32 and the others evaluate them in float64. Branch conditions are written so that NaN falls into an
arithmetic branch and propagates.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .. import fmath as fm
from .._jit import jitable


@jitable
def sigmoid(x):
    """Logistic from e = exp(-|x|): 1/(1+e) for x >= 0, e/(1+e) below; no overflow, keeps
    subnormal results for very negative x, one exp and no branch. Dtype-generic."""
    one = fm.like(x, 1.0)
    e = fm.exp(-abs(x))
    r = one / (one + e)
    return r if x >= 0.0 else e * r


E_MINUS_64 = 1.603810890548638e-28  # e^-64, a normal number in both dtypes


@jitable
def x_sigmoid(x, z):
    """x * sigmoid(z) without a subnormal intermediate (z <= x scale, e.g. z = x or 1.702 x).

    For z < -64, sigmoid(z) = e^z / (1 + e^z) is subnormal (float32 below -87) and would lose
    bits before the product; e^(z + 64) is normal and ``z + 64`` is exact there (same binade),
    so the product is formed at scale e^64 and scaled back once at the end (E_MINUS_64).
    """
    one = fm.like(x, 1.0)
    tail = z < -64.0
    zs = z + fm.like(x, 64.0) if tail else z
    e = fm.exp(-abs(zs))
    r = one / (one + e)
    s = r if zs >= 0.0 else e * r
    s = e if tail else s  # e^64 sigmoid(z) = e^(z+64) / (1 + e^z) = e^(z+64) to within e^-64
    y = x * s
    return y * fm.like(x, E_MINUS_64) if tail else y


@jitable
def affine_dw(x, a, b):
    """a x + b as zh + zl (Dekker's product, Knuth's two-sum): f(a x + b) amplifies the
    rounding of a x + b by |z f'(z) / f(z)| (|z| in sigmoid's and softplus's lower tails,
    2|z| in sech^2): 100-900 ULP at non-default a, beta before. zl = 0 where the split
    would overflow or |zh| >= 1000 (every such f is saturated there)."""
    ph, pl = fm.two_product(a, x)
    zh = ph + b
    bb = zh - ph
    zl = (ph - (zh - bb)) + (b - bb) + pl
    # |zh| >= 1000: every f built on this is saturated, and zl (an absolute error of up to
    # ulp(zh)) is no longer small enough for the first-order corrections (sign flips)
    small = (abs(ph) < fm.like(x, 1e30)) & (abs(zh) < fm.like(x, 1e3))
    return zh, (zl if small else fm.like(x, 0.0))


@jitable
def sigmoid_pair(zh, tail_shift):
    """(sigmoid(zh), sigmoid(-zh), tail) from one exp. Where ``tail`` (zh < -64), the first is
    e^(zh + tail_shift), i.e. sigmoid(zh) at scale e^tail_shift (exact argument: Sterbenz
    for zh >= -2 tail_shift), and the second is 1; tail_shift = 0 turns the scaling off."""
    one = fm.like(zh, 1.0)
    tail = (zh < -64.0) & (tail_shift > 0.0)
    e = fm.exp(zh + tail_shift if tail else -abs(zh))
    r = one / (one + e)
    s = r if zh >= 0.0 else e * r
    sm = e * r if zh >= 0.0 else r
    return (e if tail else s), (one if tail else sm), tail


@jitable
def tail_shift(x):
    """The scale e^shift for tails of products with a subnormal factor: 64 in float32 (e^-64
    to e^-151 normal, beyond every float32 product is 0), 512 in float64."""
    f32 = fm.like(x, 1e-300) == 0.0  # constant-folded per dtype
    return fm.like(x, 64.0) if f32 else fm.like(x, 512.0)


@jitable
def tail_scale(x):
    """e^-tail_shift(x) in x's dtype."""
    f32 = fm.like(x, 1e-300) == 0.0
    return fm.like(x, 1.603810890548638e-28) if f32 else fm.like(x, 4.377491037053051e-223)


@jitable
def sigmoid_prime(x):
    """sigma(x) * sigma(-x): the derivative without the 1 - sigma cancellation."""
    return sigmoid(x) * sigmoid(-x)


@jitable
def softplus(x):
    """log(1 + e^x) as max(x, 0) + log1p(e^-|x|): finite for every finite x."""
    return (x if x > 0.0 else fm.like(x, 0.0)) + fm.log1p(fm.exp(-abs(x)))


@jitable
def sech2(x):
    """1 - tanh(x)^2 as 4 e^-2|x| / (1 + e^-2|x|)^2: no cancellation, no overflow."""
    e = fm.exp(fm.like(x, -2.0) * abs(x))
    d = fm.like(x, 1.0) + e
    return fm.like(x, 4.0) * e / (d * d)


def np_affine_dw(x, a, b):
    """NumPy twin of :func:`affine_dw` (float64)."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        ph, pl = np_two_product(np.broadcast_to(np.float64(a), x.shape), x)
        zh = ph + b
        bb = zh - ph
        zl = (ph - (zh - bb)) + (b - bb) + pl
        return zh, np.where((np.abs(ph) < 1e30) & (np.abs(zh) < 1e3), zl, 0.0)


def subnormal_tail_note(ulps: int, limit: int, what: str, loss: int) -> str:
    """The float64 accuracy note of a product whose factor underflows into the subnormals."""
    return (
        f"float64: {ulps} ULP against mpmath for x >= {limit}; below, {what} is subnormal and the "
        f"product loses up to ~{loss} ULP."
    )


# ---- NumPy references (float64) --------------------------------------------------------


def reference(fn):
    """Decorate a NumPy reference: float64 arrays in, float64 out, no FP warnings."""

    @functools.wraps(fn)
    def wrapper(x, *params):
        x = np.asarray(x, dtype=np.float64)
        params = tuple(np.asarray(p, dtype=np.float64) for p in params)
        with np.errstate(all="ignore"):
            return np.asarray(fn(x, *params), dtype=np.float64)

    return wrapper


_erfc_vec = np.vectorize(math.erfc, otypes=[np.float64])


def np_erfc(x):
    """erfc in float64 through the C library (NumPy has no erf)."""
    return _erfc_vec(x)


def np_two_product(a, b):
    """a*b as hi + lo exactly (Dekker/Veltkamp, no FMA), elementwise in float64."""
    split = 134217729.0
    hi = a * b
    ca, cb = split * a, split * b
    ah, bh = ca - (ca - a), cb - (cb - b)
    al, bl = a - ah, b - bh
    lo = ((ah * bh - hi) + ah * bl + al * bh) + al * bl
    return hi, lo


_SQRT1_2_HI = 0.7071067811865476
_SQRT1_2_LO = -4.833646656726457e-17  # 1/sqrt(2) - _SQRT1_2_HI
_TWO_OVER_SQRT_PI = 1.1283791670955126


def np_ndtr(x):
    """Phi(x) = erfc(-x/sqrt 2)/2 with the argument's rounding error compensated.

    erfc(z) amplifies a relative error of z by 2 z^2 (20 ULP at x = -6.6), so the exact
    z = z_hi + dz is carried and erfc(z_hi + dz) = erfc(z_hi) - 2/sqrt(pi) e^(-z_hi^2) dz.
    """
    x = np.clip(x, -40.0, 40.0)  # Phi is 0 or 1 to the last bit beyond; keeps the split finite
    with np.errstate(over="ignore", invalid="ignore"):
        z, err = np_two_product(-x, _SQRT1_2_HI)
        dz = err - x * _SQRT1_2_LO
        e = np.exp(-(z * z))
        corr = np.where(np.isfinite(x), _TWO_OVER_SQRT_PI * e * dz, 0.0)
        return 0.5 * (np_erfc(z) - corr)


def np_npdf(x):
    """exp(-x^2/2)/sqrt(2 pi) with x^2 exact (its rounding would cost |x|^2/2 ULP)."""
    with np.errstate(over="ignore", invalid="ignore"):
        hi, lo = np_two_product(x, x)
        return 0.3989422804014327 * np.exp(-0.5 * hi) * (1.0 - 0.5 * lo)


def np_sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def np_x_sigmoid(x, z):
    """NumPy twin of :func:`x_sigmoid`: x * sigmoid(z) with no subnormal intermediate."""
    tail = z < -64.0
    scaled = x * np.exp(np.where(tail, z + 64.0, -np.inf)) * E_MINUS_64
    return np.where(tail, scaled, x * np_sigmoid(z))


def np_sigmoid_prime(x):
    return np_sigmoid(x) * np_sigmoid(-x)


def np_softplus(x):
    return np.where(x > 0, x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def np_sech2(x):
    e = np.exp(-2.0 * np.abs(x))
    return 4.0 * e / (1.0 + e) ** 2
