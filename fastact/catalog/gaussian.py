"""GELU, exact (erfc form) and tanh-approximated (sigmoid form).

Exact GELU is x Phi(x) with Phi = fastact.fmath.ndtr, i.e. 0.5 x erfc(-x / sqrt 2): the
1 + erf form cancels for x < 0, and ndtr keeps the exponent -x^2/2 exact in the tail. The tanh form
0.5 x (1 + tanh u) is evaluated as x sigmoid(2u), which keeps the negative tail. Both return
-0.0 below x = -40 (every float64 result there underflows) so -inf gives the limit, not NaN.
"""

from __future__ import annotations

import numpy as np

from .. import fmath as fm
from ..spec import ActivationSpec, Properties
from ._common import (
    np_ndtr,
    np_npdf,
    np_sigmoid,
    np_sigmoid_prime,
    reference,
    sigmoid,
    sigmoid_prime,
    subnormal_tail_note,
)

R = reference
K0 = 0.7978845608028654  # sqrt(2 / pi)
K1 = 0.044715
TAIL = 40.0


def gelu(x):
    y = fm.x_ndtr(x)
    return fm.like(x, -0.0) if x < -TAIL else y


def gelu_d(x):
    y = fm.ndtr(x) + x * fm.npdf(x)
    y = fm.like(x, -0.0) if x < -TAIL else y
    return fm.like(x, 1.0) if x > TAIL else y


def gelu_tanh(x):
    u = K0 * (x + K1 * x * x * x)
    y = x * sigmoid(2.0 * u)
    return -0.0 if x < -TAIL else y


def gelu_tanh_d(x):
    u2 = 2.0 * K0 * (x + K1 * x * x * x)
    y = sigmoid(u2) + x * sigmoid_prime(u2) * 2.0 * K0 * (1.0 + 3.0 * K1 * x * x)
    y = -0.0 if x < -TAIL else y
    return 1.0 if x > TAIL else y


def _np_gelu(x):
    return np.where(x < -TAIL, -0.0, x * np_ndtr(x))


def _np_gelu_d(x):
    d = np_ndtr(x) + x * np_npdf(x)
    return np.where(x < -TAIL, -0.0, np.where(x > TAIL, 1.0, d))


def _np_gelu_tanh(x):
    u2 = 2.0 * K0 * (x + K1 * x**3)
    return np.where(x < -TAIL, -0.0, x * np_sigmoid(u2))


def _np_gelu_tanh_d(x):
    u2 = 2.0 * K0 * (x + K1 * x**3)
    d = np_sigmoid(u2) + x * np_sigmoid_prime(u2) * 2.0 * K0 * (1.0 + 3.0 * K1 * x * x)
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
            "float64: 4 ULP for x >= -5; in the negative tail sigmoid(2u) ~ e^(2u) amplifies the "
            "rounding of u by |2u| (<= 745 before the result underflows), up to ~2048 ULP. "
            "float32 results are rounded from float64 and stay within 1 ULP everywhere."
        ),
        max_ulp={"float32": 1, "float64": 2048},
    ),
]
