"""mpmath oracles: each builtin elementwise activation and its derivative, exactly (256 bits)
at the exact float inputs and parameters.

A float64 NumPy reference has the precision of the float64 kernel it judges: where both
round the same ill-conditioned step (gelu_tanh's e^(2u), 1.702 x in quick_gelu) they agree
and both are wrong, and ``fastact verify`` would measure agreement, not error. These
formulas are the judge instead: written so that 256 bits are plenty (no cancellation of more
than ~150 bits: two-branch sigmoid, sigma(x) sigma(-x), b / (2 (h - x)) for squareplus's left
half, a Taylor series for tanhshrink at tiny x). Branch conditions that the kernels evaluate
in the input's dtype (softplus's threshold on beta * x, logit's clamp) are evaluated the
same way, so the oracle judges the function the kernel promises, not a different branch.

mpmath is the test extra's dependency; it is imported when an oracle is first used.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .accuracy import _MANT, _TINY, ulp_errors

PREC = 256

_MP = None


def _mp():
    global _MP
    if _MP is None:
        try:
            import mpmath
        except ImportError as exc:  # pragma: no cover - the test extra installs it
            raise ImportError("the mpmath oracle needs mpmath (pip install 'fastact[test]')") from exc
        _MP = mpmath
    return _MP


def _table() -> dict[str, tuple[Callable, Callable | None]]:
    """name -> (forward, derivative), each f(dtype, x, *params) on mpf values."""
    mp = _mp()
    one, half = mp.mpf(1), mp.mpf(0.5)
    k1702 = mp.mpf("1.702")
    k1 = mp.mpf("0.044715")
    selu_a = mp.mpf("1.6732632423543772848170429916717")
    selu_s = mp.mpf("1.0507009873554804934193349852946")

    def sig(z):
        return one / (one + mp.exp(-z)) if z >= 0 else mp.exp(z) / (one + mp.exp(z))

    def dsig(z):
        return sig(z) * sig(-z)

    def sech2(z):
        return mp.sech(z) ** 2

    def softplus(z):
        return z + mp.log1p(mp.exp(-z)) if z > 0 else mp.log1p(mp.exp(z))

    def ncdf(x):
        """Phi(x); mpmath's own overflows a float for |x| > 1e10 (Phi = phi / |x| there)."""
        if x < -1e6:
            return mp.npdf(x) / -x
        return one if x > 1e6 else mp.ncdf(x)

    def gt_u2(x):
        return 2 * mp.sqrt(2 / mp.pi) * (x + k1 * x**3)

    def tanhshrink(x):
        if abs(x) < mp.mpf(2) ** -20:
            return x**3 / 3 - 2 * x**5 / 15 + 17 * x**7 / 315
        return x - mp.tanh(x)

    def squareplus(x, b):
        h = mp.sqrt(x * x + b)
        return (x + h) / 2 if x >= 0 else b / (2 * (h - x))

    def squareplus_d(x, b):
        h = mp.sqrt(x * x + b)
        if h == 0:
            return half
        return (one + x / h) / 2 if x >= 0 else b / (2 * h * (h - x))

    def above(dt, beta, x, threshold):
        """softplus's branch as the kernel takes it: beta * x rounded in the dtype."""
        return float(dt.type(beta) * dt.type(x)) > threshold

    def logit_p(x, eps):
        """The clamp as the kernel (and torch.logit) takes it: to [eps, fl(1 - eps)]."""
        if eps > 0:
            x = min(max(x, mp.mpf(eps)), mp.mpf(1.0 - eps))
        return x

    def logit_d(x, eps):
        if eps > 0 and (x < eps or x > mp.mpf(1.0 - eps)):
            return mp.mpf(0)
        if x < 0 or x > 1:
            return mp.nan
        return mp.inf if x in (0, 1) else one / (x * (1 - x))

    def logit(x, eps):
        p = logit_p(x, eps)
        if p < 0 or p > 1:
            return mp.nan
        return -mp.inf if p == 0 else (mp.inf if p == 1 else mp.log(p / (1 - p)))

    return {
        "sigmoid": (lambda dt, x: sig(x), lambda dt, x: dsig(x)),
        "log_sigmoid": (lambda dt, x: -softplus(-x), lambda dt, x: sig(-x)),
        "parametric_sigmoid": (lambda dt, x, a, b: sig(a * x + b), lambda dt, x, a, b: a * dsig(a * x + b)),
        "softplus": (
            lambda dt, x, beta, t: x if above(dt, beta, x, t) else softplus(beta * x) / beta,
            lambda dt, x, beta, t: one if above(dt, beta, x, t) else sig(beta * x),
        ),
        "silu": (lambda dt, x: x * sig(x), lambda dt, x: sig(x) * (1 + x * sig(-x))),
        "quick_gelu": (
            lambda dt, x: x * sig(k1702 * x),
            lambda dt, x: sig(k1702 * x) + k1702 * x * dsig(k1702 * x),
        ),
        "mish": (
            lambda dt, x: x * mp.tanh(softplus(x)),
            lambda dt, x: mp.tanh(softplus(x)) + x * sig(x) * sech2(softplus(x)),
        ),
        "elu": (
            lambda dt, x, a: x if x > 0 else a * mp.expm1(x),
            lambda dt, x, a: one if x > 0 else a * mp.exp(x),
        ),
        "selu": (
            lambda dt, x: selu_s * x if x > 0 else selu_s * selu_a * mp.expm1(x),
            lambda dt, x: selu_s if x > 0 else selu_s * selu_a * mp.exp(x),
        ),
        "celu": (
            lambda dt, x, a: x if x > 0 else a * mp.expm1(x / a),
            lambda dt, x, a: one if x > 0 else mp.exp(x / a),
        ),
        "exponential": (lambda dt, x: mp.exp(x), lambda dt, x: mp.exp(x)),
        "logit": (
            lambda dt, x, eps: logit(x, eps),
            lambda dt, x, eps: logit_d(x, eps),
        ),
        "log1mexp": (
            lambda dt, x: (mp.log(-mp.expm1(-x)) if x < 1 else mp.log1p(-mp.exp(-x))) if x >= 0 else mp.nan,
            lambda dt, x: one / mp.expm1(x) if x >= 0 else mp.nan,
        ),
        "tanh": (lambda dt, x: mp.tanh(x), lambda dt, x: sech2(x)),
        "tanhshrink": (lambda dt, x: tanhshrink(x), lambda dt, x: mp.tanh(x) ** 2),
        "parametric_tanh": (lambda dt, x, a, b: mp.tanh(a * x + b), lambda dt, x, a, b: a * sech2(a * x + b)),
        "sigmoid_tanh": (lambda dt, x: sig(x) + mp.tanh(x), lambda dt, x: dsig(x) + sech2(x)),
        "softsign": (lambda dt, x: x / (1 + abs(x)), lambda dt, x: one / (1 + abs(x)) ** 2),
        "squareplus": (lambda dt, x, b: squareplus(x, b), lambda dt, x, b: squareplus_d(x, b)),
        "gelu": (lambda dt, x: x * ncdf(x), lambda dt, x: ncdf(x) + x * mp.npdf(x)),
        "gelu_tanh": (
            lambda dt, x: x * sig(gt_u2(x)),
            lambda dt, x: sig(gt_u2(x))
            + x * dsig(gt_u2(x)) * 2 * mp.sqrt(2 / mp.pi) * (1 + 3 * k1 * x * x),
        ),
        "hard_sigmoid": (lambda dt, x: min(max((x + 3) / 6, mp.mpf(0)), one), None),
        "hard_swish": (lambda dt, x: -mp.mpf(0) if x <= -3 else (x if x >= 3 else x * (x + 3) / 6), None),
    }


_CACHE: dict[str, tuple[Callable, Callable | None]] = {}


def has_oracle(name: str, op: str = "forward") -> bool:
    """Whether ``name`` has an mpmath oracle for ``op`` ("forward" or "grad")."""
    if not _CACHE:
        with _mp().workprec(PREC):  # the decimal constants (1.702, 0.044715, SELU's) at 256 bits
            _CACHE.update(_table())
    pair = _CACHE.get(name)
    return pair is not None and (pair[0] if op == "forward" else pair[1]) is not None


def exact(name: str, op: str, dtype, x: float, params=()):
    """The exact value (an mpf, or NaN) of activation ``name``'s ``op`` at the float ``x``."""
    if not has_oracle(name, op):
        raise KeyError(f"no mpmath oracle for {name} {op}")
    mp = _mp()
    fn = _CACHE[name][0 if op == "forward" else 1]
    with mp.workprec(PREC):
        try:
            return fn(np.dtype(dtype), mp.mpf(float(x)), *[float(p) for p in params])
        except ZeroDivisionError:  # a pole (log1mexp'(0), logit'(0)): the float reference's inf judges
            return mp.inf


def ulp_errors_exact(name: str, op: str, dtype, x, got, fallback_ref, params=()) -> np.ndarray:
    """Errors of ``got`` in ULPs of ``dtype`` against the mpmath oracle, fractional (the exact
    value is never rounded first); a zero of the wrong sign (the exact value's) counts inf.
    Non-finite inputs, and exact values beyond the dtype's range, are judged against
    ``fallback_ref`` (the float64 reference) by :func:`fastact.testing.accuracy.ulp_errors`."""
    mp = _mp()
    dt = np.dtype(dtype)
    x = np.asarray(x)
    got = np.asarray(got, dtype=np.float64)
    out = np.asarray(ulp_errors(got, fallback_ref, dt), dtype=np.float64).copy()
    big = float(np.finfo(dt).max)
    with mp.workprec(PREC):
        for i in range(x.size):
            xi = float(x.flat[i])
            if not math.isfinite(xi):
                continue
            e = exact(name, op, dt, xi, params)
            if mp.isnan(e):
                out.flat[i] = 0.0 if math.isnan(got.flat[i]) else math.inf
                continue
            if abs(e) > big:
                continue  # overflow: the float reference's infinity is right
            g = got.flat[i]
            if not math.isfinite(g):
                out.flat[i] = math.inf
                continue
            if e == 0:
                continue  # an exact zero has no sign in mpmath: the float reference's counts
            _, ex = mp.frexp(e)
            ulp = max(mp.ldexp(1, int(ex) - _MANT[dt]), mp.mpf(_TINY[dt]))
            err = float(abs(mp.mpf(g) - e) / ulp)
            if g == 0 and math.copysign(1.0, g) != (1.0 if e > 0 else -1.0):
                err = math.inf  # the wrong sign of zero (log_sigmoid(107.9) is -0.0 in float32)
            out.flat[i] = err
    return out
