"""The zoo's activations: scalar Numba-compilable code plus NumPy float64 references.

Every scalar function is written branch-free where it can (conditional expressions compile to
selects), handles NaN (it falls into an arithmetic branch and propagates) and the limits at
±infinity, and avoids overflow in intermediate results.
"""

from __future__ import annotations

import math

import numpy as np

from fastact.plugin import (
    ActivationSpec,
    Param,
    Properties,
    erf,
    exp,
    expm1,
    jitable,
    like,
    log1p,
    sigmoid,
    sin,
    softplus,
)

INF = math.inf
_TWO_OVER_SQRT_PI = 1.1283791670955126


# ---- shared scalar helpers ------------------------------------------------------------------


def _np_sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _np_softplus(x):
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


_np_erf = np.vectorize(math.erf, otypes=[np.float64])


def _f64(x):
    return np.asarray(x, dtype=np.float64)


# ---- snake ----------------------------------------------------------------------------------


# sin is fastact.plugin's (vectorizable): exact argument reduction below its TRIG_LIMIT (2^52
# in float64), bounded beyond. Above |a x| = 2^53 the term sin^2(a x)/a is below half an ULP
# of x, so snake(x) = x there whatever sin returns.


@jitable
def snake(x, a):
    u = a * x
    s = sin(u)
    y = x + s * s / a
    # |a x| > 2^53 (or a x overflowing the dtype): sin^2(a x)/a is below half an ULP of x
    return x if abs(u) > like(x, 9007199254740992.0) else y


# The derivatives keep math.sin on a float64 argument (a scalar libm call, exact for every x):
# sin(2 a x) matters at every |x|, and fmath_ext's sin is exact only below its TRIG_LIMIT.


@jitable
def snake_d(x, a):
    return 1.0 + math.sin(2.0 * float(a) * float(x))


@jitable
def snake_da(x, a):
    s = math.sin(a * x)
    return x * math.sin(2.0 * a * x) / a - s * s / (a * a)


def np_snake(x, a):
    x = _f64(x)
    with np.errstate(all="ignore"):
        # where a x overflows, sin(a x) is NaN but snake(x) = x (the term is < ULP/2 of x)
        return np.where(np.isinf(a * x), x, x + np.sin(a * x) ** 2 / a)


def np_snake_d(x, a):
    return 1.0 + np.sin(2.0 * a * _f64(x))


SNAKE = ActivationSpec(
    name="snake",
    summary="x + sin^2(a x)/a: monotone with a periodic wiggle, for periodic signals (Liu Ziyin et al. 2020)",
    formula="x + sin(a x)^2 / a",
    derivative_formula="1 + sin(2 a x)",
    forward=snake,
    derivative=snake_d,
    reference=np_snake,
    reference_derivative=np_snake_d,
    params=(Param("a", 1.0, "frequency", lower=0.0, lower_open=True, learnable=True),),
    param_derivatives={"a": snake_da},
    properties=Properties("(-inf, inf)", monotonic=True, smooth=True, zero_centered=True, saturating=False),
    float32_native=True,
    max_ulp={"float32": 2, "float64": 4},
    near_zero_eps=1,
    notes="The derivative at ±inf is NaN: sin(2 a x) has no limit.",
)


# ---- rational (safe Padé activation unit, degrees 5/4) --------------------------------------
# P(x) = a0 + a1 x + ... + a5 x^5,  Q(x) = 1 + |b1||x| + |b2||x|^2 + |b3||x|^3 + |b4||x|^4.
# For |x| > 1 both are evaluated divided by x^4 (in t = 1/x), so nothing overflows before the
# quotient does. Defaults: a least-squares fit of leaky_relu(x, 0.01) on [-3, 3] (max error 0.03).

RATIONAL_DEFAULTS = (
    0.0298039,
    0.618381,
    2.32228,
    3.04913,
    1.48334,
    0.250552,
    1.14148,
    4.38908,
    0.870278,
    0.346538,
)


@jitable
def _pq(x, a0, a1, a2, a3, a4, a5, b1, b2, b3, b4):
    """(P, Q, P', Q', scale) with P, Q, P', Q' divided by scale = x^4 where |x| > 1."""
    c1, c2, c3, c4 = abs(b1), abs(b2), abs(b3), abs(b4)
    ax = abs(x)
    sg = 1.0 if x > 0.0 else (-1.0 if x < 0.0 else 0.0)
    big = ax > 1.0
    t = 1.0 / x if big else 0.0
    s = abs(t)
    p_small = a0 + x * (a1 + x * (a2 + x * (a3 + x * (a4 + x * a5))))
    q_small = 1.0 + ax * (c1 + ax * (c2 + ax * (c3 + ax * c4)))
    dp_small = a1 + x * (2.0 * a2 + x * (3.0 * a3 + x * (4.0 * a4 + x * 5.0 * a5)))
    dq_small = sg * (c1 + ax * (2.0 * c2 + ax * (3.0 * c3 + ax * 4.0 * c4)))
    p_big = a5 * x + (a4 + t * (a3 + t * (a2 + t * (a1 + t * a0))))
    q_big = c4 + s * (c3 + s * (c2 + s * (c1 + s)))
    dp_big = 5.0 * a5 + t * (4.0 * a4 + t * (3.0 * a3 + t * (2.0 * a2 + t * a1)))
    dq_big = sg * s * (4.0 * c4 + s * (3.0 * c3 + s * (2.0 * c2 + s * c1)))
    # selects, not an if statement: the loop vectorizes
    return (
        p_big if big else p_small,
        q_big if big else q_small,
        dp_big if big else dp_small,
        dq_big if big else dq_small,
        ax if big else 1.0,
    )


@jitable
def rational(x, a0, a1, a2, a3, a4, a5, b1, b2, b3, b4):
    p, q, dp, dq, scale = _pq(x, a0, a1, a2, a3, a4, a5, b1, b2, b3, b4)
    return p / q


@jitable
def rational_d(x, a0, a1, a2, a3, a4, a5, b1, b2, b3, b4):
    p, q, dp, dq, scale = _pq(x, a0, a1, a2, a3, a4, a5, b1, b2, b3, b4)
    # (P'Q - PQ') / Q^2 with the x^4 scaling: for |x| > 1, dq carries one extra factor 1/|x|
    # (dQ/dx / x^4 = sign(x) s (4|b4| + ...)), and p/q ~ x, so the product stays finite.
    d = dp / q - (p / q) * (dq / q)
    limit = a5 / abs(b4)  # the slope of the asymptote a5 x / |b4|
    return limit if abs(x) == INF else d


def _x_power_over_q(j):
    """d rational / d a_j = x^j / Q, written per j so each is a plain scalar function."""

    @jitable
    def da(x, a0, a1, a2, a3, a4, a5, b1, b2, b3, b4):
        p, q, dp, dq, scale = _pq(x, a0, a1, a2, a3, a4, a5, b1, b2, b3, b4)
        big = abs(x) > 1.0
        num = x ** (j - 4) if big else x**j
        return num / q

    da.__name__ = da.__qualname__ = f"rational_da{j}"
    return da


def _abs_power_over_q(k):
    """d rational / d b_k = -P/Q * sign(b_k) |x|^k / Q."""

    @jitable
    def db(x, a0, a1, a2, a3, a4, a5, b1, b2, b3, b4):
        p, q, dp, dq, scale = _pq(x, a0, a1, a2, a3, a4, a5, b1, b2, b3, b4)
        bk = (b1, b2, b3, b4)[k - 1]
        sb = 1.0 if bk > 0.0 else (-1.0 if bk < 0.0 else 0.0)
        ax = abs(x)
        big = ax > 1.0
        num = ax ** (k - 4) if big else ax**k
        return -(p / q) * sb * num / q

    db.__name__ = db.__qualname__ = f"rational_db{k}"
    return db


_RATIONAL_PARAMS = ("a0", "a1", "a2", "a3", "a4", "a5", "b1", "b2", "b3", "b4")


def np_rational(x, *c):
    x = _f64(x)
    a, b = c[:6], [abs(v) for v in c[6:]]
    ax = np.abs(x)
    with np.errstate(all="ignore"):
        p = sum(a[j] * x**j for j in range(6))
        q = 1.0 + sum(b[k] * ax ** (k + 1) for k in range(4))
        # the same quotient divided through by x^4 (no overflow for huge |x|)
        pb = sum(a[j] * x ** (j - 4.0) for j in range(6))
        qb = ax**-4.0 + sum(b[k] * ax ** (k - 3.0) for k in range(4))
        y = np.where(ax > 1.0, pb / qb, p / q)
    return np.where(np.isinf(x), np.sign(x) * np.sign(a[5] / b[3]) * INF, y)


def np_rational_d(x, *c):
    x = _f64(x)
    a, b = c[:6], [abs(v) for v in c[6:]]
    ax, sg = np.abs(x), np.sign(x)
    with np.errstate(all="ignore"):
        pb = sum(a[j] * x ** (j - 4.0) for j in range(6))
        qb = ax**-4.0 + sum(b[k] * ax ** (k - 3.0) for k in range(4))
        dpb = sum(j * a[j] * x ** (j - 5.0) for j in range(1, 6))
        dqb = sg * sum((k + 1) * b[k] * ax ** (k - 4.0) for k in range(4))
        p = sum(a[j] * x**j for j in range(6))
        q = 1.0 + sum(b[k] * ax ** (k + 1) for k in range(4))
        dp = sum(j * a[j] * x ** (j - 1.0) for j in range(1, 6))
        dq = sg * sum((k + 1) * b[k] * ax**k for k in range(4))
        d = np.where(ax > 1.0, dpb / qb - (pb / qb) * (dqb / qb), dp / q - (p / q) * (dq / q))
    return np.where(np.isinf(x), a[5] / b[3], d)


RATIONAL = ActivationSpec(
    name="rational",
    summary="Learnable rational function P5(x)/Q4(|x|) (safe Padé activation unit, Molina et al. 2020)",
    formula="(a0 + a1 x + ... + a5 x^5) / (1 + |b1||x| + |b2||x|^2 + |b3||x|^3 + |b4||x|^4)",
    derivative_formula="(P'(x) Q(x) - P(x) Q'(x)) / Q(x)^2",
    forward=rational,
    derivative=rational_d,
    reference=np_rational,
    reference_derivative=np_rational_d,
    params=tuple(
        Param(n, v, f"{'numerator' if n[0] == 'a' else 'denominator'} coefficient", learnable=True)
        for n, v in zip(_RATIONAL_PARAMS, RATIONAL_DEFAULTS)
    ),
    param_derivatives={
        **{f"a{j}": _x_power_over_q(j) for j in range(6)},
        **{f"b{k}": _abs_power_over_q(k) for k in range(1, 5)},
    },
    properties=Properties(
        "(-inf, inf)", monotonic=False, smooth=False, zero_centered=False, saturating=False
    ),
    max_ulp={"float32": 1, "float64": 16},
    near_zero_eps=4,
    notes=(
        "Defaults fit leaky_relu(x, 0.01) on [-3, 3] to 0.03. The derivative jumps at 0 by 2|b1| P(0)/Q(0)^2 "
        "(|x| in Q). float64: up to 16 ULP where P(x) nearly cancels."
    ),
)


# ---- ELiSH ----------------------------------------------------------------------------------


# both branches are computed and one selected: a conditional expression whose arms call
# exp/expm1 would stay a branch, and a loop with a branch does not vectorize


@jitable
def elish(x):
    # one expm1 and one division: with m = e^-|x| - 1, sigmoid(x) = 1/(2 + m) for x >= 0 and
    # (1 + m)/(2 + m) below, where e^x - 1 = m
    one = like(x, 1.0)
    m = expm1(-abs(x))
    d = one / (like(x, 2.0) + m)
    pos = x * d
    neg = m * (one + m) * d
    return pos if x >= like(x, 0.0) else neg


@jitable
def elish_d(x):
    zero = like(x, 0.0)
    s = sigmoid(x)
    sm = sigmoid(-x)
    xs = x * sm
    xs = zero if x == like(x, INF) else xs  # x e^-x -> 0
    pos = s + s * xs
    e = exp(x)
    neg = e * s + expm1(x) * s * sm
    return pos if x >= zero else neg


def np_elish(x):
    x = _f64(x)
    s = _np_sigmoid(x)
    with np.errstate(invalid="ignore"):
        return np.where(x >= 0, x * s, np.expm1(x) * s)


def np_elish_d(x):
    x = _f64(x)
    s, sm = _np_sigmoid(x), _np_sigmoid(-x)
    with np.errstate(all="ignore"):
        xs = np.where(x == INF, 0.0, x * sm)
        return np.where(x >= 0, s + s * xs, np.exp(x) * s + np.expm1(x) * s * sm)


ELISH = ActivationSpec(
    name="elish",
    summary="Exponential linear squashing: x sigmoid(x), (e^x - 1) sigmoid(x) below 0 (Basirat & Roth 2018)",
    formula="x sigmoid(x) if x >= 0 else (e^x - 1) sigmoid(x)",
    derivative_formula="s + x s (1 - s) if x >= 0 else e^x s + (e^x - 1) s (1 - s), s = sigmoid(x)",
    forward=elish,
    derivative=elish_d,
    reference=np_elish,
    reference_derivative=np_elish_d,
    properties=Properties(
        "(-0.0882, inf)", monotonic=False, smooth=True, zero_centered=False, saturating=False
    ),
    float32_native=True,
    max_ulp={"float32": 2, "float64": 4},
    near_zero_eps=2,
)


# ---- bent identity --------------------------------------------------------------------------


@jitable
def _hypot1(x):
    """sqrt(x^2 + 1) without overflow (|x| sqrt(1 + 1/x^2) above 1) and without libm's hypot
    (a scalar call: the loop would not vectorize)."""
    one = like(x, 1.0)
    a = abs(x)
    big = a > one
    t = one / a if big else a
    r = math.sqrt(one + t * t)
    return a * r if big else r


@jitable
def bent_identity(x):
    one, half = like(x, 1.0), like(x, 0.5)
    h = _hypot1(x)
    # (h - 1)/2 cancels for small |x|: use x^2 / (2 (h + 1)) there
    small = x * x / (like(x, 2.0) * (h + one))
    halfway = small if abs(x) < one else half * (h - one)
    y = halfway + x
    return x if abs(x) == like(x, INF) else y


@jitable
def bent_identity_d(x):
    one = like(x, 1.0)
    a = abs(x)
    big = a > one
    t = one / a if big else a
    r = math.sqrt(one + t * t)
    q = math.copysign(one, x) / r if big else x / r  # x / sqrt(x^2 + 1)
    return like(x, 0.5) * q + one


def np_bent_identity(x):
    x = _f64(x)
    h = np.hypot(x, 1.0)
    with np.errstate(all="ignore"):
        half = np.where(np.abs(x) < 1.0, x * x / (2.0 * (h + 1.0)), 0.5 * (h - 1.0))
        return np.where(np.isinf(x), x, half + x)


def np_bent_identity_d(x):
    x = _f64(x)
    with np.errstate(invalid="ignore"):
        r = np.where(np.isinf(x), np.sign(x), x / np.hypot(x, 1.0))
    return 0.5 * r + 1.0


BENT_IDENTITY = ActivationSpec(
    name="bent_identity",
    summary="x + (sqrt(x^2 + 1) - 1)/2: smooth, unbounded, slope between 1/2 and 3/2",
    formula="x + (sqrt(x^2 + 1) - 1) / 2",
    derivative_formula="1 + x / (2 sqrt(x^2 + 1))",
    forward=bent_identity,
    derivative=bent_identity_d,
    reference=np_bent_identity,
    reference_derivative=np_bent_identity_d,
    properties=Properties("(-inf, inf)", monotonic=True, smooth=True, zero_centered=True, saturating=False),
    float32_native=True,
    max_ulp={"float32": 2, "float64": 4},
    near_zero_eps=1,
)


# ---- ISRU / ISRLU ---------------------------------------------------------------------------


@jitable
def isru(x, alpha):
    one = like(x, 1.0)
    ra = math.sqrt(alpha)
    u = ra * x
    # x / sqrt(1 + u^2); above |u| = 1 as sign(x) / (sqrt(alpha) sqrt(1 + 1/u^2)): no overflow
    t = one / u
    small = x / math.sqrt(one + u * u)
    big = math.copysign(one, x) / (ra * math.sqrt(one + t * t))
    y = big if abs(u) > one else small
    return x if x != x else y


@jitable
def isru_d(x, alpha):
    one = like(x, 1.0)
    u = math.sqrt(alpha) * x
    d = one + u * u
    return one / math.sqrt(d) / d  # (1 + u^2)^(-3/2); u^2 overflowing gives 0, the limit


@jitable
def isru_dalpha(x, alpha):
    y = isru(x, alpha)
    return -0.5 * y * y * y


# isru first, then a select: ``x if x >= 0 else isru(x, alpha)`` stays a branch (no SIMD)


@jitable
def isrlu(x, alpha):
    y = isru(x, alpha)
    return x if x >= like(x, 0.0) else y


@jitable
def isrlu_d(x, alpha):
    d = isru_d(x, alpha)
    return like(x, 1.0) if x >= like(x, 0.0) else d


@jitable
def isrlu_dalpha(x, alpha):
    d = isru_dalpha(x, alpha)
    return 0.0 if x >= 0.0 else d


def np_isru(x, alpha):
    x = _f64(x)
    u = np.sqrt(alpha) * x
    with np.errstate(invalid="ignore"):
        return np.where(np.isinf(u), np.sign(x) / np.sqrt(alpha), x / np.hypot(1.0, u))


def np_isru_d(x, alpha):
    return 1.0 / np.hypot(1.0, np.sqrt(alpha) * _f64(x)) ** 3


def np_isrlu(x, alpha):
    x = _f64(x)
    return np.where(x >= 0, x, np_isru(x, alpha))


def np_isrlu_d(x, alpha):
    x = _f64(x)
    return np.where(x >= 0, 1.0, np_isru_d(x, alpha))


_ALPHA = Param("alpha", 1.0, "saturation: |isru| < 1/sqrt(alpha)", lower=0.0, lower_open=True, learnable=True)

ISRU = ActivationSpec(
    name="isru",
    summary="Inverse square root unit x/sqrt(1 + alpha x^2): a cheap tanh-like curve (Carlile et al. 2017)",
    formula="x / sqrt(1 + alpha x^2)",
    derivative_formula="(1 / sqrt(1 + alpha x^2))^3",
    forward=isru,
    derivative=isru_d,
    reference=np_isru,
    reference_derivative=np_isru_d,
    params=(_ALPHA,),
    param_derivatives={"alpha": isru_dalpha},
    properties=Properties(
        "(-1/sqrt(alpha), 1/sqrt(alpha))", monotonic=True, smooth=True, zero_centered=True, saturating=True
    ),
    float32_native=True,
    max_ulp={"float32": 4, "float64": 4},
)

ISRLU = ActivationSpec(
    name="isrlu",
    summary="Inverse square root linear unit: x above 0, x/sqrt(1 + alpha x^2) below (Carlile et al. 2017)",
    formula="x if x >= 0 else x / sqrt(1 + alpha x^2)",
    derivative_formula="1 if x >= 0 else (1 / sqrt(1 + alpha x^2))^3",
    forward=isrlu,
    derivative=isrlu_d,
    reference=np_isrlu,
    reference_derivative=np_isrlu_d,
    params=(_ALPHA,),
    param_derivatives={"alpha": isrlu_dalpha},
    properties=Properties(
        "(-1/sqrt(alpha), inf)", monotonic=True, smooth=True, zero_centered=False, saturating=False
    ),
    float32_native=True,
    max_ulp={"float32": 4, "float64": 4},
)


# ---- soft exponential -----------------------------------------------------------------------


@jitable
def soft_exponential(x, alpha):
    pos = expm1(alpha * x) / alpha + alpha
    neg = -log1p(-alpha * (x + alpha)) / alpha
    y = pos if alpha > 0.0 else x
    return neg if alpha < 0.0 else y


@jitable
def soft_exponential_d(x, alpha):
    pos = exp(alpha * x)
    neg = 1.0 / (1.0 - alpha * (alpha + x))
    one = 1.0 if x == x else x  # NaN propagates at alpha = 0 too
    y = pos if alpha > 0.0 else one
    return neg if alpha < 0.0 else y


def np_soft_exponential(x, alpha):
    x = _f64(x)
    with np.errstate(all="ignore"):
        if alpha > 0:
            return np.expm1(alpha * x) / alpha + alpha
        if alpha < 0:
            return -np.log1p(-alpha * (x + alpha)) / alpha
        return x.copy()


def np_soft_exponential_d(x, alpha):
    x = _f64(x)
    with np.errstate(all="ignore"):
        if alpha > 0:
            return np.exp(alpha * x)
        if alpha < 0:
            return 1.0 / (1.0 - alpha * (alpha + x))
        return np.where(np.isnan(x), np.nan, 1.0)


SOFT_EXPONENTIAL = ActivationSpec(
    name="soft_exponential",
    summary="Interpolates log (alpha < 0), identity (0) and exp (alpha > 0) (Godfrey & Gashler 2015)",
    formula=(
        "-log(1 - alpha (x + alpha)) / alpha if alpha < 0; x if alpha = 0; "
        "(e^(alpha x) - 1) / alpha + alpha if alpha > 0"
    ),
    derivative_formula="1 / (1 - alpha (alpha + x)) if alpha < 0; 1 if alpha = 0; e^(alpha x) if alpha > 0",
    forward=soft_exponential,
    derivative=soft_exponential_d,
    reference=np_soft_exponential,
    reference_derivative=np_soft_exponential_d,
    params=(Param("alpha", 0.0, "log (< 0), identity (0) or exp (> 0); no parameter derivative yet"),),
    properties=Properties(
        "depends on alpha", monotonic=True, smooth=True, zero_centered=False, saturating=False
    ),
    max_ulp={"float32": 1, "float64": 4},
    near_zero_eps=2,
    notes=(
        "For alpha < 0 the domain is x > 1/alpha - alpha (NaN below). No parameter derivative yet: "
        "its closed forms cancel catastrophically near alpha = 0."
    ),
)


# ---- serf -----------------------------------------------------------------------------------


@jitable
def serf(x):
    y = x * erf(softplus(x))
    return like(x, -0.0) if x == like(x, -INF) else y


@jitable
def serf_d(x):
    sp = softplus(x)
    t = x * (exp(-sp * sp) * like(x, _TWO_OVER_SQRT_PI) * sigmoid(x))  # no x * c overflow
    t = like(x, 0.0) if abs(x) == like(x, INF) else t
    return erf(sp) + t


def np_serf(x):
    x = _f64(x)
    with np.errstate(invalid="ignore"):
        return np.where(x == -INF, -0.0, x * _np_erf(_np_softplus(x)))


def np_serf_d(x):
    x = _f64(x)
    sp = _np_softplus(x)
    with np.errstate(all="ignore"):
        t = np.where(np.isinf(x), 0.0, x * (np.exp(-sp * sp) * _TWO_OVER_SQRT_PI * _np_sigmoid(x)))
    return _np_erf(sp) + t


SERF = ActivationSpec(
    name="serf",
    summary="x erf(softplus(x)): smooth, non-monotonic, like mish (Nag & Bhattacharyya 2021)",
    formula="x erf(log(1 + e^x))",
    derivative_formula="erf(sp) + x (2/sqrt(pi)) e^(-sp^2) sigmoid(x), sp = softplus(x)",
    forward=serf,
    derivative=serf_d,
    reference=np_serf,
    reference_derivative=np_serf_d,
    properties=Properties("(-0.3, inf)", monotonic=False, smooth=True, zero_centered=False, saturating=False),
    float32_native=True,
    max_ulp={"float32": 2, "float64": 4},
    near_zero_eps=2,
)


# ---- SReLU ----------------------------------------------------------------------------------


@jitable
def srelu(x, t_left, a_left, t_right, a_right):
    y = t_right + a_right * (x - t_right) if x >= t_right else x
    return t_left + a_left * (x - t_left) if x <= t_left else y


@jitable
def srelu_d(x, t_left, a_left, t_right, a_right):
    d = a_right if x >= t_right else 1.0
    d = a_left if x <= t_left else d
    return d if x == x else x


@jitable
def srelu_dtl(x, t_left, a_left, t_right, a_right):
    d = 1.0 - a_left if x <= t_left else 0.0
    return d if x == x else x


@jitable
def srelu_dal(x, t_left, a_left, t_right, a_right):
    d = x - t_left if x <= t_left else 0.0
    return d if x == x else x


@jitable
def srelu_dtr(x, t_left, a_left, t_right, a_right):
    d = 1.0 - a_right if x >= t_right else 0.0
    return d if x == x else x


@jitable
def srelu_dar(x, t_left, a_left, t_right, a_right):
    d = x - t_right if x >= t_right else 0.0
    return d if x == x else x


def np_srelu(x, t_left, a_left, t_right, a_right):
    x = _f64(x)
    with np.errstate(invalid="ignore"):
        y = np.where(x >= t_right, t_right + a_right * (x - t_right), x)
        return np.where(x <= t_left, t_left + a_left * (x - t_left), y)


def np_srelu_d(x, t_left, a_left, t_right, a_right):
    x = _f64(x)
    d = np.where(x >= t_right, a_right, 1.0)
    d = np.where(x <= t_left, a_left, d)
    return np.where(np.isnan(x), np.nan, d)


SRELU = ActivationSpec(
    name="srelu",
    summary="S-shaped ReLU: three linear pieces with learnable thresholds and slopes (Jin et al. 2016)",
    formula="t_l + a_l (x - t_l) if x <= t_l; x if t_l < x < t_r; t_r + a_r (x - t_r) if x >= t_r",
    derivative_formula="a_l if x <= t_l; 1 between; a_r if x >= t_r",
    forward=srelu,
    derivative=srelu_d,
    reference=np_srelu,
    reference_derivative=np_srelu_d,
    params=(
        Param("t_left", 0.0, "left threshold", learnable=True),
        Param("a_left", 0.2, "slope below t_left", learnable=True),
        Param("t_right", 3.0, "right threshold", learnable=True),
        Param("a_right", 1.0, "slope above t_right", learnable=True),
    ),
    param_derivatives={"t_left": srelu_dtl, "a_left": srelu_dal, "t_right": srelu_dtr, "a_right": srelu_dar},
    check_params=lambda tl, al, tr, ar: (
        None if tl <= tr else f"t_left ({tl:g}) must not exceed t_right ({tr:g})"
    ),
    properties=Properties("(-inf, inf)", monotonic=True, smooth=False, zero_centered=False, saturating=False),
    max_ulp={"float32": 0.5, "float64": 1},
    near_zero_eps=1,
    notes="Defaults (t_left 0, a_left 0.2, t_right 3, a_right 1) follow Keras-contrib's initialisation.",
)


SPECS = (SNAKE, RATIONAL, ELISH, BENT_IDENTITY, ISRU, ISRLU, SOFT_EXPONENTIAL, SERF, SRELU)
