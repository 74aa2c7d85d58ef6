"""The axis-wise builtins: softmax family, logsumexp/logmeanexp, standardize, sparsemax and the
gated units (glu, swiglu, geglu, reglu).

Row kernels live in :mod:`fastact.kernels.rows` (imported on first use, so listing compiles
nothing); the gated units fuse the elementwise builtins' scalar code into row kernels. References are
NumPy in long double where the platform has it (x86: 64-bit mantissa), so they stay oracles
for the float64 kernels too.
"""

from __future__ import annotations

import functools

import numpy as np

from ..spec import AxisSpec, Param, Properties
from . import gaussian, hyperbolic, logistic, piecewise

LD = np.longdouble


def _elementwise(name: str):
    """The builtin elementwise spec ``name`` a gated unit is built on (the sibling catalog
    modules, not the registry: the catalog sits below it)."""
    for module in (piecewise, logistic, hyperbolic, gaussian):
        for spec in module.SPECS:
            if spec.name == name:
                return spec
    raise LookupError(f"no builtin elementwise activation {name!r}")


_ROWS = None


def _rows():
    """The row-kernel module, imported on first use (it compiles nothing until called, but
    importing it imports Numba, which ``import fastact`` must not)."""
    global _ROWS
    if _ROWS is None:
        from ..kernels import rows

        _ROWS = rows
    return _ROWS


def _one(x):
    return x.dtype.type(1)


# ---- kernels (2-D, axis last) ------------------------------------------------------------------


def _softmax(sign):
    def forward(x, out):
        _rows().softmax(x, out, x.dtype.type(sign))

    def backward(x, g, out):
        _rows().softmax_backward(x, g, out, x.dtype.type(sign))

    return forward, backward


def _log_softmax(x, out):
    _rows().log_softmax(x, out, _one(x))


def _log_softmax_backward(x, g, out):
    _rows().log_softmax_backward(x, g, out, _one(x))


def _logsumexp(mean):
    def forward(x, out):
        _rows().logsumexp(x, out, mean, _one(x))

    def backward(x, g, out):
        _rows().logsumexp_backward(x, g, out, _one(x))

    return forward, backward


def _standardize(x, out, eps):
    _rows().standardize(x, out, float(eps))


def _standardize_backward(x, g, out, eps):
    _rows().standardize_backward(x, g, out, float(eps))


def _sparsemax(x, out):
    _rows().sparsemax(x, out, _one(x))


def _sparsemax_backward(x, g, out):
    _rows().sparsemax_backward(x, g, out, _one(x))


def _gated(name, on_gate):
    """Gated unit ``f(a) * b`` (``on_gate``: ``a * f(b)``, GLU) on the halves a | b of the axis,
    with ``f`` the elementwise builtin ``name`` (fused row kernels from its scalar code)."""

    def kernels():
        return _rows().gated(_elementwise(name), on_gate)

    def forward(x, out):
        kernels()[0](x, out)

    def backward(x, g, out):
        kernels()[1](x, g, out)

    return forward, backward


# ---- references (NumPy, long double) ------------------------------------------------------------


def _ld(x):
    return np.asarray(x, dtype=np.float64).astype(LD)


def np_softmax(x, axis=-1, sign=1.0):
    v = sign * _ld(x)
    with np.errstate(all="ignore"):
        m = np.max(v, axis=axis, keepdims=True)
        e = np.exp(v - m)
        y = e / e.sum(axis=axis, keepdims=True)
        top = v == np.inf
        limit = top / top.sum(axis=axis, keepdims=True)
        y = np.where(m == np.inf, limit, y)
    return y.astype(np.float64)


def _np_lse(v, axis):
    """(m, log of the sum of e^(v - m)) with log1p of the sum without one e^0 term."""
    with np.errstate(all="ignore"):
        m = np.max(v, axis=axis, keepdims=True)
        e = np.exp(v - m)
        at_max = v == m
        count = at_max.sum(axis=axis, keepdims=True)
        rest = np.where(at_max, 0, e).sum(axis=axis, keepdims=True) + (count - 1)
        return m, np.log1p(rest), rest


def np_log_softmax(x, axis=-1):
    v = _ld(x)
    m, ls, _ = _np_lse(v, axis)
    with np.errstate(all="ignore"):
        y = (v - m) - ls
        top = v == np.inf
        k = top.sum(axis=axis, keepdims=True)
        limit = np.where(top, -np.log(np.maximum(k, 1).astype(LD)), -np.inf)
        y = np.where(m == np.inf, limit + np.where(np.isnan(v).any(axis=axis, keepdims=True), np.nan, 0), y)
    return y.astype(np.float64)


def np_logsumexp(x, axis=-1, keepdims=False, mean=False):
    v = _ld(x)
    n = v.shape[axis]
    if n == 0:
        shape = list(v.shape)
        shape[axis] = 1
        out = np.full(shape, -np.inf)
        return out if keepdims else np.squeeze(out, axis)
    m, ls, rest = _np_lse(v, axis)
    with np.errstate(all="ignore"):
        y = m + (np.log1p((rest - (n - 1)) / n) if mean else ls)
        nan = np.isnan(v).any(axis=axis, keepdims=True)
        y = np.where(np.isinf(m), np.where(nan, np.nan, m), y)
    y = y.astype(np.float64)
    return y if keepdims else np.squeeze(y, axis)


def np_standardize(x, axis=-1, eps=1e-5):
    v = _ld(x)
    with np.errstate(all="ignore"):
        mu = v.mean(axis=axis, keepdims=True)
        var = ((v - mu) ** 2).mean(axis=axis, keepdims=True)
        return ((v - mu) / np.sqrt(var + LD(eps))).astype(np.float64)


def np_sparsemax(x, axis=-1):
    """Sorted-cumsum sparsemax relative to the row maximum (x - max is exact on the support,
    so the threshold carries ulp(1), not ulp(max), like the kernel)."""
    v = np.moveaxis(np.asarray(x, dtype=np.float64), axis, -1)
    with np.errstate(all="ignore"):
        mx = np.max(np.where(np.isnan(v), -np.inf, v), axis=-1, keepdims=True)
        mx = np.where(np.isfinite(mx), mx, 0.0)
    v0, v = v, v - mx
    z = -np.sort(-v, axis=-1)
    k = np.arange(1, v.shape[-1] + 1)
    with np.errstate(all="ignore"):
        cum = np.cumsum(z, axis=-1)
        support = 1 + k * z > cum
        kz = np.where(support, k, 0).max(axis=-1, keepdims=True)
        tau = (np.take_along_axis(cum, np.maximum(kz, 1) - 1, axis=-1) - 1) / np.maximum(kz, 1)
        tau = np.where((kz == 0) | np.isnan(v).any(axis=-1, keepdims=True), np.nan, tau)
        y = np.maximum(v - tau, 0)
        y = np.where(np.isnan(tau), np.nan, y)
        top = v0 == np.inf
        y = np.where(top.any(axis=-1, keepdims=True) & ~np.isnan(v).any(axis=-1, keepdims=True),
                     top / top.sum(axis=-1, keepdims=True), y)  # fmt: skip
    return np.moveaxis(y, -1, axis)


def _np_elementwise(name, op="forward"):
    spec = _elementwise(name)
    return spec.reference if op == "forward" else spec.reference_derivative


def np_gated(x, axis=-1, name="silu", on_gate=False):
    x = np.asarray(x, dtype=np.float64)
    a, b = np.split(x, 2, axis=axis)
    f = _np_elementwise(name)
    return a * f(b) if on_gate else f(a) * b


# ---- backward references -------------------------------------------------------------------


def np_softmax_backward(x, g, axis=-1, sign=1.0):
    y = np_softmax(x, axis, sign)
    g = np.asarray(g, dtype=np.float64)
    return sign * y * (g - (g * y).sum(axis=axis, keepdims=True))


def np_log_softmax_backward(x, g, axis=-1):
    g = np.asarray(g, dtype=np.float64)
    return g - np_softmax(x, axis) * g.sum(axis=axis, keepdims=True)


def np_logsumexp_backward(x, g, axis=-1):
    g = np.asarray(g, dtype=np.float64)
    if g.ndim < np.ndim(x):
        g = np.expand_dims(g, axis)
    return g * np_softmax(x, axis)


def np_standardize_backward(x, g, axis=-1, eps=1e-5):
    v = np.asarray(x, dtype=np.float64)
    g = np.asarray(g, dtype=np.float64)
    mu = v.mean(axis=axis, keepdims=True)
    s = np.sqrt(((v - mu) ** 2).mean(axis=axis, keepdims=True) + eps)
    y = (v - mu) / s
    return (g - g.mean(axis=axis, keepdims=True) - y * (g * y).mean(axis=axis, keepdims=True)) / s


def np_sparsemax_backward(x, g, axis=-1):
    y = np_sparsemax(x, axis)
    g = np.asarray(g, dtype=np.float64)
    s = y > 0
    mean = np.where(s, g, 0).sum(axis=axis, keepdims=True) / np.maximum(s.sum(axis=axis, keepdims=True), 1)
    return np.where(s, g - mean, 0.0)


def np_gated_backward(x, g, axis=-1, name="silu", on_gate=False):
    x = np.asarray(x, dtype=np.float64)
    g = np.asarray(g, dtype=np.float64)
    a, b = np.split(x, 2, axis=axis)
    f, df = _np_elementwise(name), _np_elementwise(name, "grad")
    with np.errstate(all="ignore"):  # the three-factor products in long double: no overflow
        if on_gate:
            db = (_ld(g) * _ld(a) * _ld(df(b))).astype(np.float64)
            return np.concatenate([g * f(b), db], axis=axis)
        da = (_ld(g) * _ld(b) * _ld(df(a))).astype(np.float64)
        return np.concatenate([da, g * f(a)], axis=axis)


# ---- the records --------------------------------------------------------------------------------

_REAL = Properties("(-inf, inf)", monotonic=True, smooth=True, zero_centered=False, saturating=False)
_PROB = Properties("(0, 1), rows sum to 1", monotonic=True, smooth=True, zero_centered=False, saturating=True)
_SOFTMAX_F, _SOFTMAX_B = _softmax(1.0)
_SOFTMIN_F, _SOFTMIN_B = _softmax(-1.0)
_LSE_F, _LSE_B = _logsumexp(False)
_LME_F, _LME_B = _logsumexp(True)
_SPECIALS = (
    "NaN anywhere in a row gives a NaN row; a row with +inf entries gets the limit (the +inf entries share "
    "the mass equally, so a row of +inf is uniform, where PyTorch gives NaN); a row of -inf is NaN (as "
    "PyTorch and JAX: e^(x - max) is e^(-inf + inf) = NaN, no limit exists)."
)
#: softmin(x) = softmax(-x): the mirror image (a row of -inf is uniform, a row of +inf NaN).
_SOFTMIN_SPECIALS = (
    "NaN anywhere in a row gives a NaN row; a row with -inf entries gets the limit (the -inf entries share "
    "the mass equally, so a row of -inf is uniform, where PyTorch gives NaN); a row of +inf is NaN (as "
    "PyTorch and JAX)."
)


def _gated_spec(name, act, on_gate, summary, formula, ulps):
    fwd, bwd = _gated(act, on_gate)
    return AxisSpec(
        name=name, summary=summary, formula=formula, forward=fwd, backward=bwd,
        reference=functools.partial(np_gated, name=act, on_gate=on_gate),
        reference_backward=functools.partial(np_gated_backward, name=act, on_gate=on_gate),
        output="half", max_ulp=ulps, near_zero_eps=4,
        properties=Properties("(-inf, inf)", monotonic=False, smooth=act != "relu", zero_centered=False,
                              saturating=False),
        notes=f"The axis (even length) splits into a | b; the result has half its length ({act} kernels).",
    )  # fmt: skip


SPECS = [
    AxisSpec(
        name="softmax", summary="Normalized exponentials along an axis: a probability vector per slice.",
        formula="y_i = e^(x_i - max x) / sum_j e^(x_j - max x)", forward=_SOFTMAX_F, backward=_SOFTMAX_B,
        reference=np_softmax, reference_backward=np_softmax_backward, properties=_PROB,
        max_ulp={"float32": 3, "float64": 8}, notes=_SPECIALS,
    ),
    AxisSpec(
        name="log_softmax", summary="log(softmax(x)) computed directly: x - logsumexp(x), no log(0).",
        formula="y_i = x_i - max x - log1p(sum_(j != argmax) e^(x_j - max x))",
        forward=_log_softmax, backward=_log_softmax_backward, reference=np_log_softmax,
        reference_backward=np_log_softmax_backward, max_ulp={"float32": 2, "float64": 4}, near_zero_eps=4,
        properties=Properties(
            "(-inf, 0]", monotonic=True, smooth=True, zero_centered=False, saturating=False
        ),
        notes=_SPECIALS.replace(
            "share the mass equally, so a row of +inf is uniform, where PyTorch gives NaN",
            "get -log(count), the others -inf",
        ),
    ),
    AxisSpec(
        name="softmin", summary="softmax(-x): weights the smallest entries most.",
        formula="y_i = e^(-x_i + min x) / sum_j e^(-x_j + min x)", forward=_SOFTMIN_F, backward=_SOFTMIN_B,
        reference=functools.partial(np_softmax, sign=-1.0),
        reference_backward=functools.partial(np_softmax_backward, sign=-1.0), properties=_PROB,
        max_ulp={"float32": 3, "float64": 8}, notes=_SOFTMIN_SPECIALS,
    ),
    AxisSpec(
        name="logsumexp", summary="log(sum(e^x)) along an axis without overflow; keepdims=True keeps it.",
        formula="m + log1p(sum_(j != argmax) e^(x_j - m)), m = max x", forward=_LSE_F, backward=_LSE_B,
        reference=np_logsumexp, reference_backward=np_logsumexp_backward, output="reduce",
        max_ulp={"float32": 1, "float64": 2}, near_zero_eps=2, properties=_REAL,
        notes="logsumexp([0, -40]) = log1p(e^-40) to the last bit. +inf in a row gives +inf, a row of -inf "
        "gives -inf, NaN gives NaN; an empty axis gives -inf.",
    ),
    AxisSpec(
        name="logmeanexp", summary="log(mean(e^x)) along an axis: logsumexp - log n, exact for equal rows.",
        formula="m + log1p((sum_j e^(x_j - m) - n) / n)", forward=_LME_F, backward=_LME_B,
        reference=functools.partial(np_logsumexp, mean=True), reference_backward=np_logsumexp_backward,
        output="reduce", max_ulp={"float32": 1, "float64": 12}, near_zero_eps=4, properties=_REAL,
    ),
    AxisSpec(
        name="standardize", summary="(x - mean) / sqrt(var + eps) along an axis (layer norm without affine).",
        formula="y = (x - mean(x)) / sqrt(mean((x - mean(x))^2) + eps)", forward=_standardize,
        backward=_standardize_backward, reference=np_standardize, reference_backward=np_standardize_backward,
        params=(Param("eps", 1e-5, "added to the variance", lower=0.0),),
        max_ulp={"float32": 2, "float64": 16}, near_zero_eps=8,
        properties=Properties("(-inf, inf), mean 0", monotonic=False, smooth=True, zero_centered=True,
                              saturating=False),
        notes="Two-pass mean and variance in float64 (no cancellation from E[x^2] - E[x]^2).",
    ),
    AxisSpec(
        name="sparsemax", summary="Euclidean projection onto the simplex: a softmax with exact zeros.",
        formula="y = max(x - tau, 0), tau such that sum(y) = 1 (Martins & Astudillo 2016)",
        forward=_sparsemax, backward=_sparsemax_backward, reference=np_sparsemax,
        reference_backward=np_sparsemax_backward, max_ulp={"float32": 2, "float64": 4}, near_zero_eps=16,
        properties=Properties("[0, 1], rows sum to 1", monotonic=True, smooth=False, zero_centered=False,
                              saturating=True, sparse=True),
        notes="Michelot's projection (no sort; O(n) per step, a few steps from tau >= max - 1). "
        "The threshold is a difference of sums: float64 results near "
        "the threshold carry its absolute error (the bound is mixed: ULP or 16 eps absolute).",
    ),
    _gated_spec("glu", "sigmoid", True, "Gated linear unit a * sigmoid(b) (PyTorch's F.glu).",
                "a * sigmoid(b)", {"float32": 4, "float64": 4}),
    _gated_spec("swiglu", "silu", False, "silu(a) * b: the gated unit of LLaMA-style feed-forward layers.",
                "silu(a) * b", {"float32": 8, "float64": 6}),
    _gated_spec("geglu", "gelu", False, "gelu(a) * b (exact GELU): the gated unit of T5 v1.1 / Gemma.",
                "gelu(a) * b", {"float32": 2, "float64": 6}),
    _gated_spec("reglu", "relu", False, "relu(a) * b.", "relu(a) * b", {"float32": 1, "float64": 1}),
]  # fmt: skip
