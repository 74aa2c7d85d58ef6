"""Activations built on tanh and on algebraic saturation: tanh, tanhshrink, softsign, squareplus.

tanh' uses sech^2 = 4 e^-2|x| / (1 + e^-2|x|)^2 (no 1 - t^2 cancellation); tanhshrink uses its
Taylor series for |x| < 0.5, where x - tanh(x) cancels; softsign returns its limits +-1 at
+-inf, and squareplus uses an overflow-free sqrt(x^2 + b) (libm hypot does not vectorize)
"""

from __future__ import annotations

import math

import numpy as np

from .. import fmath as fm
from .._jit import jitable
from ..spec import ActivationSpec, Param, Properties
from ._common import (
    affine_dw,
    np_affine_dw,
    np_sech2,
    np_sigmoid,
    np_sigmoid_prime,
    reference,
    sech2,
    sigmoid,
    sigmoid_prime,
    tail_scale,
    tail_shift,
)

R = reference

# x - tanh(x) = sum_k C[k] x^(2k+3): -tanh's Taylor coefficients from x^3 on (|x| < pi/2).
_TANHSHRINK_C = (
    0.3333333333333333, -0.13333333333333333, 0.05396825396825397, -0.021869488536155203,
    0.008863235529902197, -0.003592128036572481, 0.0014558343870513183, -0.000590027440945586,
    0.00023912911424355248, -9.691537956929451e-05, 3.927832388331683e-05,
    -1.5918905069328964e-05, 6.451689215655431e-06, -2.6147711512907546e-06,
    1.0597268320104654e-06, -4.294911078273806e-07, 1.7406618963571648e-07,
    -7.054636946400968e-08,
)  # fmt: skip


@jitable
def _tanhshrink_series(x):
    z = x * x
    acc = 0.0
    for i in range(len(_TANHSHRINK_C) - 1, -1, -1):
        acc = acc * z + _TANHSHRINK_C[i]
    return acc * z * x


def tanh(x):
    return fm.tanh(x)


def tanh_d(x):
    return sech2(x)


@jitable
def _tanhshrink_reduced(x):
    """x - tanh(x) for |x| < 2 without cancellation: the series at y = x/4, then the doubling
    formula twice. With s = y - tanh(y) and t = tanh(y) = y - s,
    2y - tanh(2y) = 2 (s + y t^2) / (1 + t^2), every term of one sign; the two doublings are
    merged over one division. (x - tanh(x) itself cancels by up to 10x for x in [0.5, 2]:
    16.6 ULP float64 at 0.555.)"""
    y = x * 0.25
    s = _tanhshrink_series(y)
    t = y - s
    d1 = 1.0 + t * t
    n1 = 2.0 * (s + y * t * t)  # s2 = 2y - tanh(2y) = n1 / d1
    y2 = 2.0 * y
    p = y2 * d1 - n1  # tanh(2y) * d1
    return 2.0 * (n1 * d1 + y2 * p * p) / (d1 * d1 + p * p)


def tanhshrink(x):
    reduced = _tanhshrink_reduced(x)
    direct = x - fm.tanh(x)
    return reduced if abs(x) < 2.0 else direct


def tanhshrink_d(x):
    t = fm.tanh(x)
    return t * t


def parametric_tanh(x, a, b):
    # tanh(zh + zl) = t + (1 - t^2) zl with z = a x + b double-word (1 - t^2 cancels only
    # where the correction is below the last bit anyway)
    zh, zl = affine_dw(x, a, b)
    t = fm.tanh(zh)
    return t + (fm.like(x, 1.0) - t * t) * zl


def parametric_tanh_d(x, a, b):
    # a sech^2(z) = a 4e / (1 + e)^2 (e = e^-2|z|) times (1 - 2 tanh(zh) zl); sech^2 amplifies
    # the rounding of a x + b by 2|z| (867 ULP float64 at a = 81.8), and where e is subnormal
    # the product with a is formed at scale e^shift (2|zh| - shift exact: Sterbenz)
    zh, zl = affine_dw(x, a, b)
    one = fm.like(x, 1.0)
    shift = tail_shift(x)
    m2 = fm.like(x, -2.0) * abs(zh)
    tail = m2 < -shift
    e = fm.exp(m2 + shift if tail else m2)
    d = one if tail else one + e  # the tail's e is scaled: there 1 + e^-2|z| = 1, tanh = +-1
    t = one if tail else (one - e) / d
    t = -t if zh < 0.0 else t
    y = (a * (fm.like(x, 4.0) * e)) / (d * d) * (one - fm.like(x, 2.0) * t * zl)
    return y * tail_scale(x) if tail else y


def parametric_tanh_da(x, a, b):
    return x * sech2(a * x + b)


def parametric_tanh_db(x, a, b):
    return sech2(a * x + b)


def sigmoid_tanh(x):
    return sigmoid(x) + fm.tanh(x)


def sigmoid_tanh_d(x):
    return sigmoid_prime(x) + sech2(x)


def softsign(x):
    one = fm.like(x, 1.0)
    ax = abs(x)
    y = x / (one + ax)
    return math.copysign(one, x) if ax == math.inf else y


def softsign_d(x):
    one = fm.like(x, 1.0)
    r = one / (one + abs(x))
    return r * r


@jitable
def _hypot_b(x, b):
    """sqrt(x^2 + b) without overflow: |x| itself once b no longer matters (libm's hypot
    would be a scalar call and stop the loop from vectorizing)."""
    ax = abs(x)
    return math.sqrt(x * x + b) if ax < 1e150 else ax


def squareplus(x, b):
    h = _hypot_b(x, b)
    right = 0.5 * x + 0.5 * h  # not 0.5 * (x + h): that overflows near the largest float
    left = 0.5 * b / (h - x)  # (x + h) / 2 without the cancellation
    return right if x >= 0.0 else left


def squareplus_d(x, b):
    h = _hypot_b(x, b)
    # (0.5 b / h) / (h - x), not 0.5 b / (h (h - x)): h (h - x) overflows for x < -1.3e154
    # where the result (down to b / (4 x^2)) is still representable
    y = 0.5 * (1.0 + x / h) if x >= 0.0 else (0.5 * b / h) / (h - x)
    y = 0.5 if h == 0.0 else y
    return 1.0 if x == math.inf else y


# ---- references ------------------------------------------------------------------------


def _np_tanhshrink(x):
    z = x * x
    acc = np.zeros_like(x)
    for c in reversed(_TANHSHRINK_C):
        acc = acc * z + c
    return np.where(np.abs(x) < 0.5, acc * z * x, x - np.tanh(x))


def _np_tanhshrink_reduced(x):
    """The kernel's reduction (series at x/4, two doublings) for |x| < 2, in NumPy."""
    y = x * 0.25
    s = _np_tanhshrink(y)
    t = y - s
    d1 = 1.0 + t * t
    n1 = 2.0 * (s + y * t * t)
    p = 2.0 * y * d1 - n1
    with np.errstate(all="ignore"):
        red = 2.0 * (n1 * d1 + 2.0 * y * p * p) / (d1 * d1 + p * p)
    return np.where(np.abs(x) < 2.0, red, x - np.tanh(x))


def _np_ptanh(x, a, b):
    """tanh(a x + b) with a x + b double-word, like the kernel."""
    zh, zl = np_affine_dw(x, a, b)
    t = np.tanh(zh)
    return t + (1.0 - t * t) * zl


def _np_ptanh_d(x, a, b):
    zh, zl = np_affine_dw(x, a, b)
    with np.errstate(all="ignore"):
        return a * np_sech2(zh) * (1.0 - 2.0 * np.tanh(zh) * zl)


def _np_softsign(x):
    return np.where(np.isinf(x), np.sign(x), x / (1.0 + np.abs(x)))


def _np_squareplus(x, b):
    h = np.hypot(x, np.sqrt(b))
    return np.where(x >= 0, 0.5 * x + 0.5 * h, 0.5 * b / (h - x))


def _np_squareplus_d(x, b):
    h = np.hypot(x, np.sqrt(b))
    d = np.where(x >= 0, 0.5 * (1.0 + x / h), (0.5 * b / h) / (h - x))
    return np.where(x == np.inf, 1.0, np.where(h == 0, 0.5, d))


SPECS = [
    ActivationSpec(
        name="tanh",
        float32_native=True,
        summary="Hyperbolic tangent.",
        formula="f(x) = tanh(x)",
        derivative_formula="f'(x) = sech^2(x) = 1 - tanh^2(x)",
        forward=tanh,
        derivative=tanh_d,
        reference=R(np.tanh),
        reference_derivative=R(np_sech2),
        properties=Properties("(-1, 1)", monotonic=True, smooth=True, zero_centered=True, saturating=True),
        max_ulp={"float32": 3, "float64": 4},
    ),
    ActivationSpec(
        name="tanhshrink",
        summary="x - tanh(x); Taylor series near 0 where the difference cancels.",
        formula="f(x) = x - tanh(x)",
        derivative_formula="f'(x) = tanh^2(x)",
        forward=tanhshrink,
        derivative=tanhshrink_d,
        reference=R(_np_tanhshrink_reduced),
        reference_derivative=R(lambda x: np.tanh(x) ** 2),
        properties=Properties(
            "(-inf, inf)", monotonic=True, smooth=True, zero_centered=True, saturating=False
        ),
        aliases=("tanh_shrink",),
        notes="Below |x| = 2: the Taylor series at x/4 and two doublings "
        "2y - tanh(2y) = 2(s + y t^2)/(1 + t^2) (no cancellation; x - tanh(x) cost 16.6 ULP "
        "float64 at 0.555).",
        max_ulp={"float32": 1, "float64": 4},
    ),
    ActivationSpec(
        name="parametric_tanh",
        float32_native=True,
        summary="tanh(a x + b) with learnable slope and offset.",
        formula="f(x) = tanh(a * x + b)",
        derivative_formula="f'(x) = a sech^2(a x + b);  df/da = x sech^2(.), df/db = sech^2(.)",
        forward=parametric_tanh,
        derivative=parametric_tanh_d,
        param_derivatives={"a": parametric_tanh_da, "b": parametric_tanh_db},
        reference=R(_np_ptanh),
        reference_derivative=R(_np_ptanh_d),
        params=(Param("a", 1.0, "slope", learnable=True), Param("b", 0.0, "offset", learnable=True)),
        properties=Properties("(-1, 1)", monotonic=True, smooth=True, zero_centered=True, saturating=True),
        max_ulp={"float32": 3, "float64": 4},
    ),
    ActivationSpec(
        name="sigmoid_tanh",
        float32_native=True,
        summary="sigmoid(x) + tanh(x).",
        formula="f(x) = sigmoid(x) + tanh(x)",
        derivative_formula="f'(x) = sigmoid(x) sigmoid(-x) + sech^2(x)",
        forward=sigmoid_tanh,
        derivative=sigmoid_tanh_d,
        reference=R(lambda x: np_sigmoid(x) + np.tanh(x)),
        reference_derivative=R(lambda x: np_sigmoid_prime(x) + np_sech2(x)),
        properties=Properties("(-1, 2)", monotonic=True, smooth=True, zero_centered=False, saturating=True),
        near_zero_eps=2.0,
        max_ulp={"float32": 3, "float64": 4},
    ),
    ActivationSpec(
        name="softsign",
        float32_native=True,
        summary="x / (1 + |x|); returns its limits +-1 at +-inf (PyTorch gives NaN).",
        formula="f(x) = x / (1 + |x|)",
        derivative_formula="f'(x) = 1 / (1 + |x|)^2",
        forward=softsign,
        derivative=softsign_d,
        reference=R(_np_softsign),
        reference_derivative=R(lambda x: (1.0 / (1.0 + np.abs(x))) ** 2),
        properties=Properties("(-1, 1)", monotonic=True, smooth=True, zero_centered=True, saturating=True),
        aliases=("soft_sign",),
        max_ulp={"float32": 2, "float64": 2},
    ),
    ActivationSpec(
        name="squareplus",
        summary="(x + sqrt(x^2 + b)) / 2 (Barron 2021), an algebraic softplus.",
        formula="f(x) = (x + sqrt(x^2 + b)) / 2",
        derivative_formula="f'(x) = (1 + x / sqrt(x^2 + b)) / 2",
        forward=squareplus,
        derivative=squareplus_d,
        reference=R(_np_squareplus),
        reference_derivative=R(_np_squareplus_d),
        params=(Param("b", 4.0, "curvature near 0 (b >= 0; b = 0 is relu)", lower=0.0),),
        properties=Properties("(0, inf)", monotonic=True, smooth=True, zero_centered=False, saturating=False),
        max_ulp={"float32": 1, "float64": 4},
    ),
]
