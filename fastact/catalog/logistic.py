"""Activations built on exp: sigmoid, softplus and their relatives, the ELU family, logit.

Stable forms throughout (../shared/reference/numerics.md §2): two-branch sigmoid,
sigma' = sigma(x) sigma(-x), softplus = max(x, 0) + log1p(e^-|x|), expm1 in the ELUs,
Maechler's two-branch log1mexp. Products x * g(x) return the mathematical limit -0.0 at
x = -inf instead of PyTorch's NaN.
"""

from __future__ import annotations

import math

import numpy as np

from .. import fmath as fm
from .._jit import jitable
from ..spec import ActivationSpec, Param, Properties
from ._common import (
    E_MINUS_64,
    affine_dw,
    np_affine_dw,
    np_sech2,
    np_sigmoid,
    np_sigmoid_prime,
    np_softplus,
    np_two_product,
    np_x_sigmoid,
    reference,
    sech2,
    sigmoid,
    sigmoid_pair,
    sigmoid_prime,
    softplus,
    tail_scale,
    tail_shift,
    x_sigmoid,
)

R = reference
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
LN2 = 0.6931471805599453
QUICK = 1.702
QUICK_LO = 4.263256414560601e-17  # 1.702 - QUICK: the decimal 1.702 is the definition


def sigmoid_f(x):
    return sigmoid(x)


def sigmoid_d(x):
    return sigmoid_prime(x)


def log_sigmoid(x):
    # -l, not 0 - l, for x >= 0: where e^-x underflows (float32 above 103.9) the result is
    # -0.0 (log_sigmoid < 0 everywhere), and 0.0 - 0.0 would be +0.0
    lg = fm.log1p(fm.exp(-abs(x)))
    return x - lg if x < 0.0 else -lg


def log_sigmoid_d(x):
    return sigmoid(-x)


def parametric_sigmoid(x, a, b):
    # sigmoid(zh + zl) = sigmoid(zh) (1 + sigmoid(-zh) zl), with z = a x + b double-word
    zh, zl = affine_dw(x, a, b)
    s, sm, _ = sigmoid_pair(zh, fm.like(x, 0.0))
    return s + s * (sm * zl)


def parametric_sigmoid_d(x, a, b):
    # a sigma'(z) = a s sm (1 + (sm - s) zl); the tail (zh < -64) at scale e^shift, since
    # sigma'(z) alone is subnormal there and a multiplies its rounding
    zh, zl = affine_dw(x, a, b)
    s, sm, tail = sigmoid_pair(zh, tail_shift(x))
    one = fm.like(x, 1.0)
    # the tail's s is scaled: there sigma'(z) = e^z and its correction is 1 + zl
    corr = one + zl if tail else one + (sm - s) * zl
    y = ((a * s) * sm) * corr
    return y * tail_scale(x) if tail else y


def parametric_sigmoid_da(x, a, b):
    return x * sigmoid_prime(a * x + b)


def parametric_sigmoid_db(x, a, b):
    return sigmoid_prime(a * x + b)


def softplus_f(x, beta, threshold):
    # softplus(zh + zl) = softplus(zh) + sigmoid(zh) zl with z = beta x double-word: in the
    # lower tail softplus(z) = e^z amplifies the rounding of beta x by |z| (463 ULP float64
    # at beta = 2.5, x = -204)
    zh, zl = affine_dw(x, beta, fm.like(x, 0.0))
    s, _, _ = sigmoid_pair(zh, fm.like(x, 0.0))
    sp = (zh if zh > 0.0 else fm.like(x, 0.0)) + fm.log1p(fm.exp(-abs(zh)))
    return x if zh > threshold else (sp + s * zl) / beta


def softplus_d(x, beta, threshold):
    zh, zl = affine_dw(x, beta, fm.like(x, 0.0))
    s, sm, _ = sigmoid_pair(zh, fm.like(x, 0.0))
    return fm.like(x, 1.0) if zh > threshold else s + s * (sm * zl)


@jitable
def _limits(x, y, at_minus_inf, at_plus_inf):
    """y with the limits at -inf and +inf put in (the formulas give inf * 0 = NaN there)."""
    y = at_minus_inf if x == -math.inf else y
    return at_plus_inf if x == math.inf else y


def silu(x):
    return _limits(x, x_sigmoid(x, x), fm.like(x, -0.0), x)


@jitable
def exp_one_plus_tail(xs, w):
    """e^(xs - 64) * w formed at scale e^64 (xs = x + 64, exact for x < -64; w = 1 + x or
    similar): the derivative tails of silu, mish and quick_gelu are e^x (1 + x) to within
    e^x, and e^x alone is subnormal (float32 below -87) and would lose bits before the
    product with 1 + x, which is as large as |x|. One rounding into the subnormals."""
    return fm.exp(xs) * w * fm.like(w, E_MINUS_64)


def silu_d(x):
    one = fm.like(x, 1.0)
    y = sigmoid(x) * (one + x * sigmoid(-x))
    tail = x < -64.0  # sigma(x) = e^x, x sigma(-x) = x to within e^x
    y = exp_one_plus_tail(x + fm.like(x, 64.0), one + x) if tail else y
    return _limits(x, y, fm.like(x, -0.0), one)


@jitable
def _quick_z(x):
    """z = 1.702 x as zh + zl (zl = 0 where sigma saturates: |x| >= 1000).

    1.702 itself is carried as hi + lo in the input's dtype, since its rounding alone would
    cost |z| ULP in e^z (float32 1.3e-8 relative; float64 2.5e-17, 37 ULP at x = -101.6).
    """
    c_hi = fm.like(x, QUICK)
    c_lo = fm.like(x, (QUICK - c_hi) + QUICK_LO)
    zh, zl = fm.two_product(c_hi, x)
    zl = zl + c_lo * x
    # beyond |x| = 1000 the correction is moot (sigma(z) is 0 or 1 to the last bit) and zl,
    # the absolute rounding error of zh, is no longer small: 1 + sigma(-zh) zl turned the
    # sign of x sigma(z) = -0.0 at x = -1.3e28 float32
    return zh, (zl if abs(x) < fm.like(x, 1e3) else fm.like(x, 0.0))


def quick_gelu(x):
    # z = 1.702 x carried as zh + zl: e^z would amplify its rounding by |z| (31 ULP at x = -20)
    zh, zl = _quick_z(x)
    y = x_sigmoid(x, zh) * (fm.like(x, 1.0) + sigmoid(-zh) * zl)
    return _limits(x, y, fm.like(x, -0.0), x)


def quick_gelu_d(x):
    zh, zl = _quick_z(x)
    s = sigmoid(zh) * (fm.like(x, 1.0) + sigmoid(-zh) * zl)
    one = fm.like(x, 1.0)
    y = s * (one + zh * sigmoid(-zh))
    tail = zh < -64.0  # f' = e^z (1 + z) to within e^z, formed at scale e^64 like silu'
    y = exp_one_plus_tail(zh + fm.like(x, 64.0), (one + zh) * (one + zl)) if tail else y
    # saturated: 1.702 x may overflow float32 (inf * 0 above); the limits are 1 and -0
    big = abs(x) > fm.like(x, 1e20)
    y = (fm.like(x, 1.0) if x > 0.0 else fm.like(x, -0.0)) if big else y
    return _limits(x, y, fm.like(x, -0.0), fm.like(x, 1.0))


def mish(x):
    # below -64, tanh(softplus(x)) = e^x to within e^2x: form x e^x at scale e^64 (no subnormals)
    tail = x < -64.0
    y = x * fm.tanh(softplus(x))
    y = x * fm.exp(x + fm.like(x, 64.0)) * fm.like(x, E_MINUS_64) if tail else y
    return _limits(x, y, fm.like(x, -0.0), x)


def mish_d(x):
    sp = softplus(x)
    y = fm.tanh(sp) + x * sigmoid(x) * sech2(sp)
    one = fm.like(x, 1.0)
    tail = x < -64.0  # tanh(sp) = sp = sigma(x) = e^x, sech^2 = 1 to within e^x: e^x (1 + x)
    y = exp_one_plus_tail(x + fm.like(x, 64.0), one + x) if tail else y
    return _limits(x, y, fm.like(x, -0.0), one)


def elu(x, alpha):
    return x if x > 0.0 else alpha * fm.expm1(x)


def elu_d(x, alpha):
    return fm.like(x, 1.0) if x > 0.0 else alpha * fm.exp(x)


def elu_dalpha(x, alpha):
    return fm.like(x, 0.0) if x > 0.0 else fm.expm1(x)


def selu(x):
    scale = fm.like(x, SELU_SCALE)
    return scale * x if x > 0.0 else fm.like(x, SELU_SCALE * SELU_ALPHA) * fm.expm1(x)


def selu_d(x):
    return fm.like(x, SELU_SCALE) if x > 0.0 else fm.like(x, SELU_SCALE * SELU_ALPHA) * fm.exp(x)


def celu(x, alpha):
    q = x / alpha
    # |q| < 1e-20: alpha expm1(q) = x (1 + q/2) = x to the last bit; q itself may be
    # subnormal there (float32 x = -2e-38, alpha = 70: 23 ULP through alpha * expm1(q))
    y = x if abs(q) < fm.like(x, 1e-20) else alpha * fm.expm1(q)
    return x if x > 0.0 else y


def celu_d(x, alpha):
    # e^(x/alpha) amplifies the rounding of q = x/alpha by |q| (107 ULP float32 at
    # x = -25.79, alpha = 0.3): the remainder r = x/alpha - q is recovered exactly enough
    # from Dekker's q*alpha (x - ph is exact by Sterbenz) and e^(q + r) = e^q (1 + r)
    q = x / alpha
    ph, pl = fm.two_product(q, alpha)
    r = ((x - ph) - pl) / alpha
    r = fm.like(x, 0.0) if r != r else r  # infinite q (x = -inf, or alpha tiny): no correction
    e = fm.exp(q)
    return fm.like(x, 1.0) if x > 0.0 else e + e * r


def exponential(x):
    return fm.exp(x)


def logit(x, eps):
    clamp = eps > 0.0
    p = eps if clamp & (x < eps) else x
    p = 1.0 - eps if clamp & (x > 1.0 - eps) else p
    upper = fm.log1p((2.0 * p - 1.0) / (1.0 - p))
    lower = fm.log(p) - fm.log1p(-p)
    return upper if p >= 0.25 else lower


def logit_d(x, eps):
    y = 1.0 / (x * (1.0 - x))
    y = math.nan if (x < 0.0) | (x > 1.0) else y
    return 0.0 if (eps > 0.0) & ((x < eps) | (x > 1.0 - eps)) else y


def log1mexp(x):
    near = fm.log(-fm.expm1(-x))
    far = fm.log1p(-fm.exp(-x))
    return near if x < LN2 else far


def log1mexp_d(x):
    # above 1, e^-x / (1 - e^-x): 1 / expm1(x) overflows to 0 beyond 709.8, where the
    # result (down to 2^-1074 at 744.4) is still representable
    e = fm.exp(-x)
    y = 1.0 / fm.expm1(x) if x <= 1.0 else e / (1.0 - e)
    return math.nan if x < 0.0 else y


# ---- references ------------------------------------------------------------------------


def _minf(x, value, fallback):
    """NumPy twin of the ``x == -inf -> value`` guards above."""
    return np.where(x == -np.inf, value, fallback)


def _np_logit(x, eps):
    p = np.where(eps > 0, np.clip(x, eps, 1.0 - eps), x)
    p = np.where(np.isnan(x), x, p)
    return np.where(p >= 0.25, np.log1p((2.0 * p - 1.0) / (1.0 - p)), np.log(p) - np.log1p(-p))


def _np_logit_d(x, eps):
    inside = np.where((x < 0) | (x > 1), np.nan, 1.0 / (x * (1.0 - x)))
    return np.where((eps > 0) & ((x < eps) | (x > 1.0 - eps)), 0.0, inside)


def _np_log1mexp(x):
    return np.where(x < LN2, np.log(-np.expm1(-x)), np.log1p(-np.exp(-x)))


def _np_mish(x):
    """x tanh(softplus(x)); below -64 x e^x formed at scale e^64, like the kernel."""
    tail = x * np.exp(np.where(x < -64.0, x + 64.0, -np.inf)) * E_MINUS_64
    return _minf(x, -0.0, np.where(x < -64.0, tail, x * np.tanh(np_softplus(x))))


def _np_mish_d(x):
    sp = np_softplus(x)
    d = _np_tail(x, np.tanh(sp) + x * np_sigmoid(x) * np_sech2(sp))
    return np.where(x == np.inf, 1.0, _minf(x, -0.0, d))


def _np_tail(x, d, w=None):
    """The derivative tails below -64, e^x (1 + x) at scale e^64, like the kernels."""
    w = 1.0 + x if w is None else w
    with np.errstate(all="ignore"):
        return np.where(x < -64.0, np.exp(np.where(x < -64.0, x + 64.0, 0.0)) * w * E_MINUS_64, d)


def _np_psig(x, a, b):
    """sigmoid(a x + b) with a x + b double-word, like the kernel."""
    zh, zl = np_affine_dw(x, a, b)
    with np.errstate(all="ignore"):
        return np_sigmoid(zh) * (1.0 + np_sigmoid(-zh) * zl)


def _np_psig_d(x, a, b):
    zh, zl = np_affine_dw(x, a, b)
    s, sm = np_sigmoid(zh), np_sigmoid(-zh)
    with np.errstate(all="ignore"):
        return a * s * sm * (1.0 + (sm - s) * zl)


def _np_softplus_beta(x, b, t):
    zh, zl = np_affine_dw(x, b, 0.0)
    with np.errstate(all="ignore"):
        return np.where(zh > t, x, (np_softplus(zh) + np_sigmoid(zh) * zl) / b)


def _np_softplus_beta_d(x, b, t):
    zh, zl = np_affine_dw(x, b, 0.0)
    with np.errstate(all="ignore"):
        return np.where(zh > t, 1.0, np_sigmoid(zh) * (1.0 + np_sigmoid(-zh) * zl))


def _np_log_sigmoid(x):
    lg = np.log1p(np.exp(-np.abs(x)))
    return np.where(x < 0, x - lg, -lg)


def _np_quick_sigmoid(x):
    """sigma(1.702 x) with the rounding of 1.702 x compensated (the kernel does the same)."""
    zh, zl = np_two_product(np.full_like(x, QUICK), x)
    zl = zl + QUICK_LO * x
    with np.errstate(invalid="ignore"):
        corr = np.where(np.abs(x) < 1e3, np_sigmoid(-zh) * zl, 0.0)
    return np_sigmoid(zh) * (1.0 + corr), zh, corr


def _np_quick(x):
    _, zh, corr = _np_quick_sigmoid(x)
    return _minf(x, -0.0, np_x_sigmoid(x, zh) * (1.0 + corr))


def _np_quick_d(x):
    s, zh, _ = _np_quick_sigmoid(x)
    zl = np.where(np.abs(x) < 1e3, np_two_product(np.full_like(x, QUICK), x)[1] + QUICK_LO * x, 0.0)
    d = _np_tail(zh, s * (1.0 + zh * np_sigmoid(-zh)), (1.0 + zh) * (1.0 + zl))
    d = np.where(np.abs(x) > 1e20, np.where(x > 0, 1.0, -0.0), d)
    return np.where(x == np.inf, 1.0, _minf(x, -0.0, d))


def _np_silu_d(x):
    d = _np_tail(x, np_sigmoid(x) * (1.0 + x * np_sigmoid(-x)))
    return np.where(x == np.inf, 1.0, _minf(x, -0.0, d))


_SMOOTH_SAT = Properties("(0, 1)", monotonic=True, smooth=True, zero_centered=False, saturating=True)

SPECS = [
    ActivationSpec(
        name="sigmoid",
        float32_native=True,
        summary="The logistic function; two-branch form keeps subnormal outputs and never overflows.",
        formula="f(x) = 1 / (1 + e^-x)",
        derivative_formula="f'(x) = sigmoid(x) * sigmoid(-x)",
        forward=sigmoid_f,
        derivative=sigmoid_d,
        reference=R(np_sigmoid),
        reference_derivative=R(np_sigmoid_prime),
        properties=_SMOOTH_SAT,
        aliases=("logistic", "expit"),
        max_ulp={"float32": 3, "float64": 4},
    ),
    ActivationSpec(
        name="log_sigmoid",
        float32_native=True,
        summary="log(sigmoid(x)) = -softplus(-x), finite for every finite input.",
        formula="f(x) = min(x, 0) - log1p(e^-|x|)",
        derivative_formula="f'(x) = sigmoid(-x)",
        forward=log_sigmoid,
        derivative=log_sigmoid_d,
        reference=R(_np_log_sigmoid),
        reference_derivative=R(lambda x: np_sigmoid(-x)),
        properties=Properties("(-inf, 0)", monotonic=True, smooth=True, zero_centered=False, saturating=True),
        aliases=("logsigmoid", "log_expit"),
        max_ulp={"float32": 3, "float64": 4},
    ),
    ActivationSpec(
        name="parametric_sigmoid",
        float32_native=True,
        summary="sigmoid(a x + b) with learnable slope and offset.",
        formula="f(x) = sigmoid(a * x + b)",
        derivative_formula="f'(x) = a sigmoid'(a x + b);  df/da = x sigmoid'(.), df/db = sigmoid'(.)",
        forward=parametric_sigmoid,
        derivative=parametric_sigmoid_d,
        param_derivatives={"a": parametric_sigmoid_da, "b": parametric_sigmoid_db},
        reference=R(_np_psig),
        reference_derivative=R(_np_psig_d),
        params=(Param("a", 1.0, "slope", learnable=True), Param("b", 0.0, "offset", learnable=True)),
        properties=Properties("(0, 1)", monotonic=True, smooth=True, zero_centered=False, saturating=True),
        max_ulp={"float32": 3, "float64": 4},
    ),
    ActivationSpec(
        name="softplus",
        float32_native=True,
        summary=(
            "Smooth ReLU (1/beta) log(1 + e^(beta x)); reverts to x where beta*x > threshold "
            "(PyTorch semantics; threshold=inf gives the exact function)."
        ),
        formula="f(x) = x if beta*x > threshold else (max(beta x, 0) + log1p(e^-|beta x|)) / beta",
        derivative_formula="f'(x) = 1 if beta*x > threshold else sigmoid(beta x)",
        forward=softplus_f,
        derivative=softplus_d,
        reference=R(_np_softplus_beta),
        reference_derivative=R(_np_softplus_beta_d),
        params=(
            Param("beta", 1.0, "sharpness (0 < beta < inf)", lower=0.0, upper=math.inf,
                  lower_open=True, upper_open=True),  # fmt: skip
            Param("threshold", 20.0, "linear above beta*x > threshold (PyTorch default 20)"),
        ),
        properties=Properties("(0, inf)", monotonic=True, smooth=True, zero_centered=False, saturating=False),
        max_ulp={"float32": 3, "float64": 4},
    ),
    ActivationSpec(
        name="silu",
        float32_native=True,
        summary="Sigmoid-weighted linear unit x sigmoid(x), a.k.a. swish (beta = 1).",
        formula="f(x) = x * sigmoid(x)",
        derivative_formula="f'(x) = sigmoid(x) (1 + x sigmoid(-x))",
        forward=silu,
        derivative=silu_d,
        reference=R(lambda x: _minf(x, -0.0, np_x_sigmoid(x, x))),
        reference_derivative=R(_np_silu_d),
        properties=Properties(
            "[-0.27846, inf)", monotonic=False, smooth=True, zero_centered=False, saturating=False
        ),
        aliases=("swish",),
        max_ulp={"float32": 4, "float64": 4},
    ),
    ActivationSpec(
        name="quick_gelu",
        float32_native=True,
        summary="x sigmoid(1.702 x): the fast GELU approximation of CLIP / Hugging Face.",
        formula="f(x) = x * sigmoid(1.702 x)",
        derivative_formula="f'(x) = sigmoid(z) + z sigmoid'(z),  z = 1.702 x",
        forward=quick_gelu,
        derivative=quick_gelu_d,
        reference=R(_np_quick),
        reference_derivative=R(_np_quick_d),
        properties=Properties(
            "[-0.16361, inf)", monotonic=False, smooth=True, zero_centered=False, saturating=False
        ),
        max_ulp={"float32": 4, "float64": 4},
    ),
    ActivationSpec(
        name="mish",
        float32_native=True,
        summary="x tanh(softplus(x)) (Misra 2019); finite for every finite input.",
        formula="f(x) = x * tanh(softplus(x))",
        derivative_formula="f'(x) = tanh(sp) + x sigmoid(x) sech^2(sp),  sp = softplus(x)",
        forward=mish,
        derivative=mish_d,
        reference=R(_np_mish),
        reference_derivative=R(_np_mish_d),
        properties=Properties(
            "[-0.30884, inf)", monotonic=False, smooth=True, zero_centered=False, saturating=False
        ),
        max_ulp={"float32": 6, "float64": 8},
    ),
    ActivationSpec(
        name="elu",
        float32_native=True,
        summary="Exponential linear unit; expm1 keeps relative accuracy for tiny negative x.",
        formula="f(x) = x if x > 0 else alpha * expm1(x)",
        derivative_formula="f'(x) = 1 if x > 0 else alpha e^x  (alpha at 0, like PyTorch)",
        forward=elu,
        derivative=elu_d,
        param_derivatives={"alpha": elu_dalpha},
        reference=R(lambda x, a: np.where(x > 0, x, a * np.expm1(x))),
        reference_derivative=R(lambda x, a: np.where(x > 0, 1.0, a * np.exp(x))),
        params=(Param("alpha", 1.0, "value approached as x -> -inf is -alpha"),),
        properties=Properties(
            "(-alpha, inf)", monotonic=True, smooth=False, zero_centered=True, saturating=False
        ),
        max_ulp={"float32": 2, "float64": 2},
    ),
    ActivationSpec(
        name="selu",
        float32_native=True,
        summary="Scaled ELU with the self-normalising constants of Klambauer et al. 2017.",
        formula="f(x) = scale * (x if x > 0 else alpha * expm1(x)), alpha=1.67326..., scale=1.05070...",
        derivative_formula="f'(x) = scale if x > 0 else scale * alpha * e^x",
        forward=selu,
        derivative=selu_d,
        reference=R(lambda x: np.where(x > 0, SELU_SCALE * x, SELU_SCALE * SELU_ALPHA * np.expm1(x))),
        reference_derivative=R(lambda x: np.where(x > 0, SELU_SCALE, SELU_SCALE * SELU_ALPHA * np.exp(x))),
        properties=Properties(
            "(-1.7581, inf)", monotonic=True, smooth=False, zero_centered=True, saturating=False
        ),
        max_ulp={"float32": 2, "float64": 4},
    ),
    ActivationSpec(
        name="celu",
        float32_native=True,
        summary="Continuously differentiable ELU (Barron 2017).",
        formula="f(x) = x if x > 0 else alpha * expm1(x / alpha)",
        derivative_formula="f'(x) = 1 if x > 0 else e^(x / alpha)",
        forward=celu,
        derivative=celu_d,
        reference=R(lambda x, a: np.where(x > 0, x, a * np.expm1(x / a))),
        reference_derivative=R(lambda x, a: np.where(x > 0, 1.0, np.exp(x / a))),
        params=(Param("alpha", 1.0, "scale (alpha > 0)", lower=0.0, lower_open=True),),
        properties=Properties(
            "(-alpha, inf)", monotonic=True, smooth=True, zero_centered=True, saturating=False
        ),
        max_ulp={"float32": 3, "float64": 3},
    ),
    ActivationSpec(
        name="exponential",
        float32_native=True,
        summary="e^x (Keras 'exponential').",
        formula="f(x) = e^x",
        derivative_formula="f'(x) = e^x",
        forward=exponential,
        derivative=exponential,
        reference=R(np.exp),
        reference_derivative=R(np.exp),
        properties=Properties("(0, inf)", monotonic=True, smooth=True, zero_centered=False, saturating=False),
        max_ulp={"float32": 1, "float64": 2},
    ),
    ActivationSpec(
        name="logit",
        summary=(
            "Inverse sigmoid log(p / (1 - p)); eps > 0 clamps p to [eps, 1 - eps] like "
            "torch.logit(eps), eps = 0 (default) does not clamp (torch's eps=None)."
        ),
        formula="f(p) = log(p / (1 - p))",
        derivative_formula="f'(p) = 1 / (p (1 - p)); 0 outside [eps, 1 - eps] when eps > 0",
        forward=logit,
        derivative=logit_d,
        reference=R(_np_logit),
        reference_derivative=R(_np_logit_d),
        params=(Param("eps", 0.0, "clamp margin; 0 = no clamp", lower=0.0, upper=0.5, upper_open=True),),
        properties=Properties(
            "(-inf, inf) on [0, 1]", monotonic=True, smooth=True, zero_centered=True, saturating=False
        ),
        max_ulp={"float32": 1, "float64": 2},
    ),
    ActivationSpec(
        name="log1mexp",
        summary="log(1 - e^-x) for x >= 0 (JAX), Maechler's accurate two-branch form.",
        formula="f(x) = log(-expm1(-x)) if x < log 2 else log1p(-e^-x)",
        derivative_formula="f'(x) = 1 / expm1(x)",
        forward=log1mexp,
        derivative=log1mexp_d,
        reference=R(_np_log1mexp),
        reference_derivative=R(lambda x: np.where(
            x < 0, np.nan, np.where(x <= 1, 1.0 / np.expm1(x), np.exp(-x) / (1.0 - np.exp(-x))))),
        properties=Properties(
            "(-inf, 0] on [0, inf)", monotonic=True, smooth=True, zero_centered=False, saturating=True
        ),
        max_ulp={"float32": 1, "float64": 4},
    ),
]
