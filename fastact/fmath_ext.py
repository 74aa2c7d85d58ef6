"""More vectorizable elementary functions for kernels and plugins: sin, cos, sincos, erf, atan,
exp2, log2, sigmoid, softplus.

The same contract as :mod:`fastact.fmath`, and built on its public functions (``exp``,
``log``, ``log1p``, ``erfc``, ``two_product``): branch-free float32 and float64
implementations chosen by the argument's type when Numba compiles the caller (``@overload``,
registered lazily through ``fastact._jit.register_overload``: importing this module does not
import Numba), plain-Python fallbacks that keep a NumPy scalar's type, NaN propagating, no
fast-math flag. A loop over any of them compiles to SIMD code with no libm call (tested).

Stated maximum errors, in ULP of the result against mpmath, per (float32, float64), are in
:data:`MAX_ULP`; tests/test_fmath_ext.py measures them.

**sin, cos, sincos: the argument range.** The argument is reduced by n pi/2 (Cody-Waite).
float64: pi/2 is carried as three doubles and n pi/2 formed exactly (Dekker's product, a
two-sum chain), then one correction step, so the reduction is exact to ~1e-30 for every
|x| < :data:`TRIG_LIMIT` ``[1]`` = 2^52 (4.5e15); the bound of :data:`MAX_ULP` holds there.
float32: the reduction runs in float64 with pi/2 in three parts (two of 26 bits), exact for
|x| < ``TRIG_LIMIT[0]`` = 2^26 (6.7e7), and the polynomial in float32. Beyond the limit (a
Payne-Hanek reduction would be needed, which is neither branch-free nor cheap) the result is
**not** sin(x): it is a number in [-1, 1] and no more; ±inf and NaN give NaN. Use
``math.sin`` for such arguments, or keep them out (``snake``'s term sin²(a x)/a is below half
an ULP of x there, so it is unaffected).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from . import fmath
from ._jit import register_overload

#: Maximum error in ULP (float32, float64) against mpmath, held by tests/test_fmath_ext.py
#: (sin/cos/sincos for |x| below TRIG_LIMIT).
MAX_ULP = {
    "sin": (2, 2),
    "cos": (2, 2),
    "sincos": (2, 2),
    "erf": (3, 3),
    "atan": (3, 2),
    "exp2": (1, 1),
    "log2": (2, 2),
    "sigmoid": (3, 3),
    "softplus": (2, 3),
}

#: |x| below which sin/cos/sincos hold MAX_ULP, per (float32, float64); see the docstring.
TRIG_LIMIT = (2.0**26, 2.0**52)

__all__ = ["sin", "cos", "sincos", "erf", "atan", "exp2", "log2", "sigmoid", "softplus"]

JIT_OPTIONS = fmath.JIT_OPTIONS

# pi/2 as P1 + P2 + P3 (float64, each the rounding of what the previous leave): float64's
# reduction, exact through Dekker's product
_P1, _P2, _P3 = 1.5707963267948966, 6.123233995736766e-17, -1.4973849048591698e-33
# pi/2 as C1 + C2 + C3 with C1, C2 of 26 significant bits (n C1, n C2 exact for |n| < 2^27):
# float32's reduction, in float64
_C1 = float.fromhex("0x1.921fb5p+0")
_C2 = float.fromhex("0x1.110b46p-26")
_C3 = 1.5707963267948966 - _C1 - _C2 + 6.123233995736766e-17
_TWO_OVER_PI = 0.6366197723675814
#: atan(u) = u + u z Q(z), z = u^2 <= tan(pi/8)^2: Chebyshev fits (mpmath), highest first;
#: relative error 5.4e-18 (degree 10) and 2.7e-9 (degree 4)
_ATAN_Q64 = (
    -0.01917688711906226, 0.03923165829558719, -0.0508544973794026, 0.0585814891280221,
    -0.06664511447381948, 0.07692183190826087, -0.09090904578123903, 0.11111111015256361,
    -0.14285714284666542, 0.1999999999999552, -0.3333333333333333,
)  # fmt: skip
_ATAN_Q32 = (-0.06451928208121749, 0.10743731490791084, -0.1426395559798464, 0.19999540483648964,
             -0.3333333176116852)  # fmt: skip


def _taylor(kind: str, terms: int) -> tuple[float, ...]:
    """Taylor coefficients, highest first, in z = r^2: sin(r) = r + r z S(z), cos(r) = 1 - z/2
    + z^2 C(z), erf(x) = x E(z) (E with the 2/sqrt(pi) factor)."""
    if kind == "sin":
        c = [(-1) ** (k + 1) / math.factorial(2 * k + 3) for k in range(terms)]
    elif kind == "cos":
        c = [(-1) ** k / math.factorial(2 * k + 4) for k in range(terms)]
    else:
        c = [2 / math.sqrt(math.pi) * (-1) ** k / (math.factorial(k) * (2 * k + 1)) for k in range(terms)]
    return tuple(reversed(c))


# ---- plain-Python fallbacks (also the functions Numba sees and overloads) --------------------


def _typed(fn):
    @functools.wraps(fn)
    def wrapper(x):
        y = fn(float(x))
        return type(x)(y) if isinstance(x, np.floating) else y

    return wrapper


@_typed
def sin(x):
    """Sine (exact argument reduction below TRIG_LIMIT; see the module docstring)."""
    return math.nan if math.isinf(x) else math.sin(x)


@_typed
def cos(x):
    """Cosine (exact argument reduction below TRIG_LIMIT; see the module docstring)."""
    return math.nan if math.isinf(x) else math.cos(x)


def sincos(x):
    """``(sin(x), cos(x))`` from one argument reduction."""
    return sin(x), cos(x)


@_typed
def erf(x):
    """Error function."""
    return math.erf(x)


@_typed
def atan(x):
    """Arc tangent, in [-pi/2, pi/2]."""
    return math.atan(x)


@_typed
def exp2(x):
    """2**x, exact at integers (subnormal results kept, overflow to inf)."""
    try:
        return math.ldexp(1.0, int(x)) if x == int(x) and abs(x) < 2000 else 2.0**x
    except (OverflowError, ValueError):
        return math.inf if x > 0 else (0.0 if x < 0 else math.nan)


@_typed
def log2(x):
    """Base-2 logarithm, exact at powers of two; -inf at 0, NaN below."""
    if x != x or x < 0:
        return math.nan
    return -math.inf if x == 0 else math.log2(x)


@_typed
def sigmoid(x):
    """The logistic function 1 / (1 + e^-x), without overflow."""
    e = math.exp(-abs(x))
    return 1.0 / (1.0 + e) if x >= 0 else e / (1.0 + e)


@_typed
def softplus(x):
    """log(1 + e^x), finite for every finite x."""
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


# ---- Numba implementations --------------------------------------------------------------------


def _horner(name: str, F, coeffs):
    """A jitted, unrolled Horner evaluation of ``coeffs`` (highest first) in the type ``F``."""
    import numba

    namespace = {f"c{i}": F(c) for i, c in enumerate(coeffs)}
    lines = ["p = c0"] + [f"p = p * z + c{i}" for i in range(1, len(coeffs))] + ["return p"]
    source = f"def {name}(z):\n" + "".join(f"    {line}\n" for line in lines)
    exec(compile(source, f"<fastact.fmath_ext {name}>", "exec"), namespace)
    return numba.njit(**JIT_OPTIONS)(namespace[name])


def _make(bits: int):
    """The implementations for one dtype."""
    import numba

    helper = numba.njit(**JIT_OPTIONS)
    F, Int = (np.float32, np.int32) if bits == 32 else (np.float64, np.int64)
    f64 = numba.float64
    casts = fmath._bitcasts()
    f2i, i2f = casts["f32" if bits == 32 else "f64"]
    floor = casts["floor"]
    zero, half, one = F(0.0), F(0.5), F(1.0)
    inf, nan = F(math.inf), F(math.nan)
    ln2, log2e, sqrt2 = F(math.log(2.0)), F(1.4426950408889634), F(math.sqrt(2.0))
    pi2_hi, pi4_hi = F(math.pi / 2), F(math.pi / 4)
    pi2_lo, pi4_lo = F(math.pi / 2 - float(pi2_hi)), F(math.pi / 4 - float(pi4_hi))
    if bits == 64:
        pi2_lo, pi4_lo = F(6.123233995736766e-17), F(3.061616997868383e-17)
    tan_pi8 = F(0.41421356237309503)
    if bits == 32:
        bias, shift, exp_mask, one_bits = Int(127), Int(23), Int(0xFF), Int(0x3F800000)
        mant_mask = Int(0x7FFFFF)
        tiny_normal, sub_scale, sub_k, exp2_clamp = F(1.1754943508222875e-38), F(2.0**24), Int(24), F(200.0)
        sin_n, cos_n, erf_n, atan_q, erf_thr = 5, 5, 10, _ATAN_Q32, F(0.75)
    else:
        bias, shift, exp_mask, one_bits = Int(1023), Int(52), Int(0x7FF), Int(0x3FF0000000000000)
        mant_mask = Int(0xFFFFFFFFFFFFF)
        tiny_normal, sub_scale, sub_k, exp2_clamp = F(2.2250738585072014e-308), F(2.0**54), Int(54), F(1100.0)
        sin_n, cos_n, erf_n, atan_q, erf_thr = 10, 10, 16, _ATAN_Q64, F(0.75)
    one_i = Int(1)
    sin_poly = _horner(f"sin_poly{bits}", F, _taylor("sin", sin_n))
    cos_poly = _horner(f"cos_poly{bits}", F, _taylor("cos", cos_n))
    erf_poly = _horner(f"erf_poly{bits}", F, _taylor("erf", erf_n))
    atan_poly = _horner(f"atan_poly{bits}", F, atan_q)
    limit = F(TRIG_LIMIT[0] if bits == 32 else TRIG_LIMIT[1])
    two_over_pi = f64(_TWO_OVER_PI)
    P1, P2, P3, C1, C2, C3 = (f64(v) for v in (_P1, _P2, _P3, _C1, _C2, _C3))

    @helper
    def reduce64(x):
        """(r_hi, r_lo, q): x = q pi/2 + r_hi + r_lo, |r| <= pi/4 (plus rounding), q in 0..3,
        all float64, for float64 x below TRIG_LIMIT."""
        n = floor(x * two_over_pi + 0.5)
        ph, pl = fmath.two_product(n, P1)
        s = x - ph  # exact (Sterbenz)
        a2, b2 = fmath.two_product(n, P2)
        t = s - pl  # two-sum: t + e1 = s - pl exactly
        bb = t - s
        e1 = (s - (t - bb)) + (-pl - bb)
        t2 = t - a2
        bb = t2 - t
        e2 = (t - (t2 - bb)) + (-a2 - bb)
        lo = (e1 + e2) - b2 - n * P3
        r = t2 + lo
        rl = (t2 - r) + lo
        # n can be one off (x 2/pi rounded near a half): one correction step
        up, down = r > 0.7853981633974483, r < -0.7853981633974483
        r2 = r - P1 if up else (r + P1 if down else r)  # exact (Sterbenz)
        rl = rl - P2 if up else (rl + P2 if down else rl)
        n = n + 1.0 if up else (n - 1.0 if down else n)
        r = r2 + rl
        rl = (r2 - r) + rl
        q = n - 4.0 * floor(n * 0.25)  # n mod 4, exact
        return r, rl, q

    @helper
    def reduce32(x):
        """The same for float32 x (in float64, three-part pi/2, exact below 2^26)."""
        xd = f64(x)
        n = floor(xd * two_over_pi + 0.5)
        r = ((xd - n * C1) - n * C2) - n * C3
        q = n - 4.0 * floor(n * 0.25)
        return r, f64(0.0), q

    reduce = reduce32 if bits == 32 else reduce64

    @helper
    def sincos_impl(x):
        r, rl, q = reduce(x)
        big = abs(x) >= limit  # beyond the limit: a bounded number, not sin(x)
        r = (min(max(r, -1.6), 1.6) if r == r else 0.0) if big else r
        rl = 0.0 if big else rl
        rf, rlf = F(r), F(rl)
        z = rf * rf
        s = rf + (rf * z * sin_poly(z) + rlf * (one - half * z))
        c = one - half * z
        c = c + (((one - c) - half * z) + (z * z * cos_poly(z) - rlf * rf))
        swap = (q == 1.0) | (q == 3.0)
        sn = c if swap else s
        cs = s if swap else c
        sn = -sn if q >= 2.0 else sn
        cs = -cs if (q == 1.0) | (q == 2.0) else cs
        finite = (x == x) & (abs(x) != inf)
        sn = sn if finite else nan
        cs = cs if finite else nan
        sn = x if x == zero else sn  # sin(-0.0) = -0.0 (the reduction's sums give +0.0)
        sn = min(max(sn, -one), one) if big else sn
        cs = min(max(cs, -one), one) if big else cs
        return sn, cs

    def sin_impl(x):
        return sincos_impl(x)[0]

    def cos_impl(x):
        return sincos_impl(x)[1]

    def sincos_public(x):
        return sincos_impl(x)

    def erf_impl(x):
        a = abs(x)
        z = x * x
        small = x * erf_poly(z)
        big = one - fmath.erfc(a)
        y = small if a < erf_thr else math.copysign(big, x)
        return x if x != x else y

    def atan_impl(x):
        a = abs(x)
        inv = a > one
        t = one / a if inv else a
        mid = t > tan_pi8
        u = (t - one) / (t + one) if mid else t
        z = u * u
        p = u + u * z * atan_poly(z)
        y = pi4_hi + (p + pi4_lo) if mid else p
        y = pi2_hi - (y - pi2_lo) if inv else y
        y = math.copysign(y, x)
        return x if x != x else y

    def exp2_impl(x):
        xc = x if x > -exp2_clamp else -exp2_clamp
        xc = xc if xc < exp2_clamp else exp2_clamp
        n = floor(xc + half)
        r = xc - n  # exact, |r| <= 1/2
        p = fmath.exp(r * ln2)
        k = Int(n)
        k1 = k >> one_i
        # two steps: 2^k itself may not be a normal number; one rounding, in the second
        y = p * i2f((k1 + bias) << shift) * i2f((k - k1 + bias) << shift)
        return x if x != x else y

    def log2_impl(x):
        sub = x < tiny_normal
        xs = x * sub_scale if sub else x
        b = f2i(xs)
        k = ((b >> shift) & exp_mask) - bias
        m = i2f((b & mant_mask) | one_bits)  # [1, 2)
        hi = m > sqrt2
        m = m * half if hi else m
        k = k + one_i if hi else k
        k = k - sub_k if sub else k
        y = F(k) + fmath.log(m) * log2e
        y = -inf if x == zero else y
        y = inf if x == inf else y
        y = nan if x < zero else y
        return x if x != x else y

    def sigmoid_impl(x):
        e = fmath.exp(-abs(x))
        r = one / (one + e)
        y = r if x >= zero else e * r
        return x if x != x else y

    def softplus_impl(x):
        y = (x if x > zero else zero) + fmath.log1p(fmath.exp(-abs(x)))
        return x if x != x else y

    return {
        "sin": sin_impl, "cos": cos_impl, "sincos": sincos_public, "erf": erf_impl, "atan": atan_impl,
        "exp2": exp2_impl, "log2": log2_impl, "sigmoid": sigmoid_impl, "softplus": softplus_impl,
    }  # fmt: skip


def _install() -> None:
    """Register the Numba implementations (called once, when the first kernel compiles)."""
    from numba import types
    from numba.extending import overload

    impls = {types.float32: _make(32), types.float64: _make(64)}

    def chooser(name):
        def typer(x):
            found = impls.get(x)
            return found[name] if found else None

        return typer

    for name in __all__:
        overload(globals()[name], jit_options=JIT_OPTIONS)(chooser(name))


register_overload(_install)
