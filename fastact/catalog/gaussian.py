"""GELU, exact (erfc form) and tanh-approximated (sigmoid form).

Exact GELU is x Phi(x) with Phi = fastact.fmath.ndtr, i.e. 0.5 x erfc(-x / sqrt 2): the
1 + erf form cancels for x < 0, and ndtr keeps the exponent -x^2/2 exact in the tail. The tanh form
0.5 x (1 + tanh u) is evaluated as x sigmoid(2u), which keeps the negative tail. Both return
-0.0 below x = -40 (every float64 result there underflows) so -inf gives the limit, not NaN.
"""

from __future__ import annotations

import numpy as np

from .. import fmath as fm
from .._jit import jitable
from ..spec import ActivationSpec, Properties
from ._common import (
    E_MINUS_64,
    np_ndtr,
    np_npdf,
    np_sigmoid,
    np_two_product,
    np_x_sigmoid,
    reference,
    sigmoid,
    subnormal_tail_note,
    x_sigmoid,
)

R = reference
K0 = 0.7978845608028654  # sqrt(2 / pi)
K0_LO = -4.98465440455546e-17  # sqrt(2 / pi) - K0
K1 = 0.044715
K1_LO = 2.1960211427085595e-18  # 0.044715 - K1 (the decimal constant is the definition)
TAIL = 40.0


def gelu(x):
    y = fm.x_ndtr(x)
    return fm.like(x, -0.0) if x < -TAIL else y


def gelu_d(x):
    y = fm.ndtr(x) + x * fm.npdf(x)
    # f' < 0 below x = -0.75: where it underflows (float64 below -38.5) 0 + (-x) 0 is +0.0
    y = fm.like(x, -0.0) if (x < -TAIL) | ((y == 0.0) & (x < -1.0)) else y
    return fm.like(x, 1.0) if x > TAIL else y


@jitable
def _two_u(x):
    """2u = 2 sqrt(2/pi) (x + 0.044715 x^3) as uh + ul (double-word: Dekker products,
    Knuth's two-sum, both constants carried as hi + lo). In the negative tail
    sigmoid(2u) ~ e^(2u) amplifies the rounding of 2u by |2u| (up to 745): ~300 ULP at
    x = -20 from a plain float64 evaluation. ul = 0 where x^3 would overflow (|x| >= 1e30:
    saturated there)."""
    x2h, x2l = fm.two_product(x, x)
    x3h, x3l = fm.two_product(x2h, x)
    x3l = x3l + x2l * x
    ch, cl = fm.two_product(K1, x3h)
    cl = cl + (K1 * x3l + K1_LO * x3h)
    sh = x + ch  # two-sum
    bb = sh - x
    sl = (x - (sh - bb)) + (ch - bb) + cl
    uh, ul = fm.two_product(2.0 * K0, sh)
    ul = ul + (2.0 * K0 * sl + 2.0 * K0_LO * sh)
    return uh, (ul if abs(x) < 1e30 else 0.0)


def gelu_tanh(x):
    uh, ul = _two_u(x)
    # x sigmoid(uh + ul) = x sigmoid(uh) (1 + sigmoid(-uh) ul); x_sigmoid keeps the tail
    # (sigmoid(uh) subnormal below x = -21.6) at scale e^64
    y = x_sigmoid(x, uh) * (1.0 + sigmoid(-uh) * ul)
    return -0.0 if x < -TAIL else y


def gelu_tanh_d(x):
    uh, ul = _two_u(x)
    du = 2.0 * K0 * (1.0 + 3.0 * K1 * x * x)  # d(2u)/dx, well conditioned
    sp, sm = sigmoid(uh), sigmoid(-uh)
    s = sp * (1.0 + sm * ul)  # sigmoid(2u)
    ds = sp * sm * (1.0 + (sm - sp) * ul)  # sigmoid'(2u)
    y = s + x * ds * du
    # tail: sigmoid = sigmoid' = e^(2u) to within e^(2u); formed at scale e^64, since
    # e^(2u) alone is subnormal below x = -21.6 and x du multiplies it by up to 10^4
    tail = uh < -64.0
    y = fm.exp(uh + 64.0 if tail else 0.0) * (1.0 + ul) * (1.0 + x * du) * E_MINUS_64 if tail else y
    y = -0.0 if x < -TAIL else y
    return 1.0 if x > TAIL else y


def _np_gelu(x):
    return np.where(x < -TAIL, -0.0, x * np_ndtr(x))


def _np_gelu_d(x):
    d = np_ndtr(x) + x * np_npdf(x)
    d = np.where((d == 0) & (x < -1.0), -0.0, d)
    return np.where(x < -TAIL, -0.0, np.where(x > TAIL, 1.0, d))


def _np_two_u(x):
    """NumPy twin of :func:`_two_u` (2u as uh + ul)."""
    with np.errstate(all="ignore"):
        x2h, x2l = np_two_product(x, x)
        x3h, x3l = np_two_product(x2h, x)
        x3l = x3l + x2l * x
        ch, cl = np_two_product(np.full_like(x, K1), x3h)
        cl = cl + (K1 * x3l + K1_LO * x3h)
        sh = x + ch
        bb = sh - x
        sl = (x - (sh - bb)) + (ch - bb) + cl
        uh, ul = np_two_product(np.full_like(x, 2.0 * K0), sh)
        ul = ul + (2.0 * K0 * sl + 2.0 * K0_LO * sh)
        return uh, np.where(np.abs(x) < 1e30, ul, 0.0)


def _np_gelu_tanh(x):
    uh, ul = _np_two_u(x)
    with np.errstate(all="ignore"):
        y = np_x_sigmoid(x, uh) * (1.0 + np_sigmoid(-uh) * ul)
    return np.where(x < -TAIL, -0.0, y)


def _np_gelu_tanh_d(x):
    uh, ul = _np_two_u(x)
    with np.errstate(all="ignore"):
        du = 2.0 * K0 * (1.0 + 3.0 * K1 * x * x)
        sp, sm = np_sigmoid(uh), np_sigmoid(-uh)
        d = sp * (1.0 + sm * ul) + x * (sp * sm * (1.0 + (sm - sp) * ul)) * du
        tail = np.exp(np.where(uh < -64, uh + 64.0, 0.0)) * (1.0 + ul) * (1.0 + x * du) * E_MINUS_64
        d = np.where(uh < -64, tail, d)
    return np.where(x < -TAIL, -0.0, np.where(x > TAIL, 1.0, d))


SPECS = [
    ActivationSpec(
        name="gelu",
        summary="Gaussian error linear unit x Phi(x), exact (PyTorch's default, approximate='none').",
        formula="f(x) = x Phi(x) = 0.5 x erfc(-x / sqrt(2))",
        derivative_formula="f'(x) = Phi(x) + x phi(x)",
        forward=gelu,
        derivative=gelu_d,
        reference=R(_np_gelu),
        reference_derivative=R(_np_gelu_d),
        properties=Properties(
            "[-0.17004, inf)", monotonic=False, smooth=True, zero_centered=False, saturating=False
        ),
        notes=subnormal_tail_note(5, -37, "Phi(x)", 40),
        max_ulp={"float32": 1, "float64": 64},
    ),
    ActivationSpec(
        name="gelu_tanh",
        summary="GELU's tanh approximation (PyTorch approximate='tanh', JAX's default, 'gelu_new').",
        formula="f(x) = 0.5 x (1 + tanh(u)) = x sigmoid(2u),  u = sqrt(2/pi) (x + 0.044715 x^3)",
        derivative_formula="f'(x) = sigmoid(2u) + x sigmoid'(2u) 2 u'(x)",
        forward=gelu_tanh,
        derivative=gelu_tanh_d,
        reference=R(_np_gelu_tanh),
        reference_derivative=R(_np_gelu_tanh_d),
        properties=Properties(
            "[-0.17004, inf)", monotonic=False, smooth=True, zero_centered=False, saturating=False
        ),
        aliases=("gelu_new", "gelu_approximate"),
        notes=(
            "float64: 2u = 2 sqrt(2/pi) (x + 0.044715 x^3) is evaluated in double-word arithmetic, since "
            "in the negative tail sigmoid(2u) ~ e^(2u) amplifies its rounding by |2u| (~300 ULP at -20 "
            "before); the tail of the derivative is formed at scale e^64. "
            "float32 results are rounded from float64 and stay within 1 ULP everywhere."
        ),
        max_ulp={"float32": 1, "float64": 4},
    ),
]
