"""Row kernels for the axis-wise activations: Numba loops over a C-contiguous (rows, n) array.

Every kernel takes the input with the reduction axis last and writes one output row per input
row; they release the GIL, so the ``parallel`` target splits the rows between threads.

Numerics (float32 and float64 alike):

- max subtraction, with ``x - m`` formed exactly as ``hi + lo`` (Knuth's two-sum) and
  ``e^(x - m) = e^hi (1 + lo)``: the rounding of ``x - m`` would otherwise cost up to
  ``|x - m|`` ULP in the small entries (65 ULP in float32 at a spread of 50);
- the terms are summed in float64; ``log(sum)`` is ``log1p`` of the sum without the leading
  ``e^0 = 1`` term, so ``logsumexp([0, -40]) = log1p(e^-40)`` to the last bit;
- the row maximum ignores NaN, which then propagates through the sum to the whole row;
- a row with +inf entries gets the limit (softmax: the +inf entries share the mass equally,
  so a row of +inf is uniform; logsumexp: +inf); a row of -inf gives NaN for
  softmax/log_softmax (as PyTorch) and -inf for logsumexp. softmin = softmax(-x) mirrors
  this: a row of -inf is uniform, a row of +inf NaN.

The sums run in a helper compiled with LLVM's ``reassoc`` flag only (summation order is
free, so it vectorizes; NaN and infinity semantics are unchanged); the two-sum and exp code
is compiled without any fast-math flag.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .. import fmath as fm
from .._jit import activate_jitables
from .cpu import LOCK, jit

activate_jitables()  # fmath's overloads must exist before these functions compile

OPTS = {"nogil": True, "error_model": "numpy", "cache": False}
INF = math.inf


@numba.njit(**OPTS)
def _max(x, sign):
    """max of sign * x over a row, ignoring NaN (8 independent chains: ~3x one chain)."""
    n = x.size
    m0 = m1 = m2 = m3 = m4 = m5 = m6 = m7 = sign * x[0]
    i = 0
    while i + 8 <= n:
        v = sign * x[i]
        m0 = v if v > m0 else m0
        v = sign * x[i + 1]
        m1 = v if v > m1 else m1
        v = sign * x[i + 2]
        m2 = v if v > m2 else m2
        v = sign * x[i + 3]
        m3 = v if v > m3 else m3
        v = sign * x[i + 4]
        m4 = v if v > m4 else m4
        v = sign * x[i + 5]
        m5 = v if v > m5 else m5
        v = sign * x[i + 6]
        m6 = v if v > m6 else m6
        v = sign * x[i + 7]
        m7 = v if v > m7 else m7
        i += 8
    while i < n:
        v = sign * x[i]
        m0 = v if v > m0 else m0
        i += 1
    a = m0 if m0 > m1 else m1
    b = m2 if m2 > m3 else m3
    c = m4 if m4 > m5 else m5
    d = m6 if m6 > m7 else m7
    a = a if a > b else b
    c = c if c > d else d
    m = a if a > c else c
    # a NaN in the first position seeds every chain: then the row is NaN anyway
    return m


@numba.njit(fastmath={"reassoc"}, **OPTS)
def _sum(t):
    """sum of a row in float64, in any order (vectorized)."""
    s = 0.0
    for i in range(t.size):
        s += numba.float64(t[i])
    return s


@numba.njit(fastmath={"reassoc"}, **OPTS)
def _dot(a, b):
    s = 0.0
    for i in range(a.size):
        s += numba.float64(a[i]) * numba.float64(b[i])
    return s


@numba.njit(inline="always", **OPTS)
def _exp_diff(v, m, lim):
    """e^(v - m) with v - m exact as hi + lo (two-sum) and e^(hi + lo) = e^hi (1 + lo); entries
    with v - m below ``lim`` (e^lim = 0) skip the error term, which for -inf would be NaN."""
    hi = v - m
    bb = hi - v
    lo = (v - (hi - bb)) + (-m - bb)
    lo = lo if hi > lim else fm.like(lo, 0.0)
    e = fm.exp(hi)
    return e + e * lo


@numba.njit(**OPTS)
def _exp_terms(x, m, sign, t):
    """t[i] = e^(sign x[i] - m), and 0 where sign x[i] == m (the leading e^0 terms, counted by
    :func:`_count_max`, stay out of the float sum)."""
    lim = fm.like(m, -1e4)  # e^-1e4 = 0 in both dtypes
    for i in range(x.size):
        v = sign * x[i]
        e = _exp_diff(v, m, lim)
        t[i] = fm.like(e, 0.0) if v == m else e


@numba.njit(**OPTS)
def _count_max(x, m, sign):
    c = 0
    for i in range(x.size):
        c += np.int32(1) if sign * x[i] == m else np.int32(0)
    return c


@numba.njit(**OPTS)
def _exp_into(x, m, sign, t):
    """t[i] = e^(sign x[i] - m) (softmax's pass: no drop)."""
    lim = fm.like(m, -1e4)
    for i in range(x.size):
        t[i] = _exp_diff(sign * x[i], m, lim)


@numba.njit(**OPTS)
def _nan_or(x, value):
    for i in range(x.size):
        if x[i] != x[i]:
            return math.nan
    return value


@numba.njit(**OPTS)
def _inf_row_softmax(x, sign, o, log):
    """Rows whose max is +inf: the limit puts the mass on the +inf entries equally."""
    k = 0
    for i in range(x.size):
        k += 1 if sign * x[i] == INF else 0
    bad = _nan_or(x, 0.0)
    for i in range(x.size):
        inside = sign * x[i] == INF
        if log:
            o[i] = -math.log(k) if inside else -INF
        else:
            o[i] = 1.0 / k if inside else 0.0
        o[i] += bad


@numba.njit(**OPTS)
def softmax(x, out, sign):
    """out = softmax(sign * x) per row (sign = -1: softmin)."""
    for r in range(x.shape[0]):
        xr, o = x[r], out[r]
        m = _max(xr, sign)
        if m == INF:
            _inf_row_softmax(xr, sign, o, False)
            continue
        _exp_into(xr, m, sign, o)
        inv = 1.0 / _sum(o)
        for i in range(o.size):
            o[i] = numba.float64(o[i]) * inv


#: Scratch for the exp terms of a log-sum-exp is this many elements, whatever the row length
#: (a 2^31-element row costs 32 KiB of scratch, not a second row).
SCRATCH = 4096


@numba.njit(**OPTS)
def _rest(xr, m, sign, t):
    """sum of e^(v - m) over the entries below the max, plus (count of max entries - 1), in
    float64: log1p of it is log(sum e^(v - m)). Computed in blocks of ``t`` (scratch)."""
    n = xr.size
    rest = 0.0
    count = 0
    step = max(t.size, 1)
    for lo in range(0, n, step):
        hi = min(lo + step, n)
        block = t[: hi - lo]
        _exp_terms(xr[lo:hi], m, sign, block)
        rest += _sum(block)
        count += _count_max(xr[lo:hi], m, sign)
    return rest + (count - 1)


@numba.njit(**OPTS)
def _lse_parts(xr, m, sign, t):
    """log(sum e^(v - m)) as log1p of the sum without one e^0 term (float64)."""
    return math.log1p(_rest(xr, m, sign, t))


@numba.njit(**OPTS)
def log_softmax(x, out, sign):
    for r in range(x.shape[0]):
        xr, o = x[r], out[r]
        m = _max(xr, sign)
        if m == INF:
            _inf_row_softmax(xr, sign, o, True)
            continue
        ls = _lse_parts(xr, m, sign, o[:SCRATCH])  # o is free scratch until the last loop
        for i in range(o.size):
            v = sign * xr[i]
            hi = v - m
            bb = hi - v
            lo = (v - (hi - bb)) + (-m - bb)
            lo = lo if lo == lo else 0.0
            o[i] = (numba.float64(hi) - ls) + numba.float64(lo)


@numba.njit(**OPTS)
def logsumexp(x, out, mean, one):
    """out[r] = log(sum e^x) of row r (log(mean e^x) when ``mean``); ``one`` is 1 in x's dtype."""
    n = x.shape[1]
    t = np.empty(min(n, SCRATCH), dtype=x.dtype)
    for r in range(x.shape[0]):
        xr = x[r]
        if n == 0:
            out[r] = -INF
            continue
        m = _max(xr, one)
        if m == INF or m == -INF:
            out[r] = _nan_or(xr, m)
            continue
        rest = _rest(xr, m, one, t)
        if mean:  # log(s / n) with s = 1 + rest: log1p((s - n) / n) near s = n (exact for equal rows)
            z = (rest - (n - 1)) / n
            out[r] = numba.float64(m) + (math.log1p(z) if abs(z) < 0.5 else math.log((1.0 + rest) / n))
        else:
            out[r] = numba.float64(m) + math.log1p(rest)


@numba.njit(**OPTS)
def softmax_backward(x, g, out, sign):
    """out = sign * y (g - <g, y>) with y = softmax(sign x): the vector-Jacobian product."""
    softmax(x, out, sign)
    for r in range(x.shape[0]):
        o, gr = out[r], g[r]
        dot = _dot(gr, o)
        for i in range(o.size):
            o[i] = sign * numba.float64(o[i]) * (numba.float64(gr[i]) - dot)


@numba.njit(**OPTS)
def log_softmax_backward(x, g, out, sign):
    """out = g - softmax(x) sum(g)."""
    softmax(x, out, sign)
    for r in range(x.shape[0]):
        o, gr = out[r], g[r]
        gs = _sum(gr)
        for i in range(o.size):
            o[i] = numba.float64(gr[i]) - numba.float64(o[i]) * gs


@numba.njit(**OPTS)
def logsumexp_backward(x, g, out, one):
    """out = g[r] softmax(x[r]) (g holds one value per row); also logmeanexp's."""
    softmax(x, out, one)
    for r in range(x.shape[0]):
        o = out[r]
        gr = numba.float64(g[r])
        for i in range(o.size):
            o[i] = numba.float64(o[i]) * gr


@numba.njit(fastmath={"reassoc"}, **OPTS)
def _sum_scaled(t, k):
    """sum of k t[i] in float64 (k a power of two), in any order."""
    s = 0.0
    for i in range(t.size):
        s += numba.float64(t[i]) * k
    return s


@numba.njit(**OPTS)
def _moments(xr, k):
    """(m, c, variance) of k x in float64 with k x - mean = (k x - m) - c: the corrected
    two-pass algorithm (Bjorck). k x - m is exact where k x is close to m (Sterbenz), so c
    absorbs the rounding of the mean and rows whose spread is tiny next to their mean keep
    their accuracy. k is 1, or 2^-600 where the unscaled sums overflow."""
    n = xr.size
    m = _sum_scaled(xr, k) / n
    c = 0.0
    for i in range(n):
        c += numba.float64(xr[i]) * k - m
    c /= n
    v = 0.0
    for i in range(n):
        d = (numba.float64(xr[i]) * k - m) - c
        v += d * d
    return m, c, v / n


#: Scale for rows whose mean or sum of squares overflows float64 (x = 1e200: x^2 = inf).
ROW_SCALE = 2.0**-600


@numba.njit(**OPTS)
def _standardize_stats(xr, eps):
    """(k, m, c, 1 / sqrt(var + eps)) for standardizing k x (see :func:`_moments`): k = 1,
    or 2^-600 where the mean or the variance overflows (the row [1e200, 0, -1e200, 1] gave
    all zeros), with eps scaled by k^2 too (floored at the smallest subnormal, so a constant
    row still gives 0 / sqrt(eps) = 0). A row holding inf or NaN stays NaN either way."""
    k = 1.0
    m, c, var = _moments(xr, k)
    if not (abs(m) < INF and var < INF):
        k = ROW_SCALE
        m, c, var = _moments(xr, k)
        e = eps * k * k
        eps = (e if e > 5e-324 else 5e-324) if eps > 0.0 else eps
    return k, m, c, 1.0 / math.sqrt(var + eps)


@numba.njit(**OPTS)
def standardize(x, out, eps):
    for r in range(x.shape[0]):
        xr, o = x[r], out[r]
        k, m, c, inv = _standardize_stats(xr, eps)
        for i in range(o.size):
            o[i] = ((numba.float64(xr[i]) * k - m) - c) * inv


@numba.njit(**OPTS)
def standardize_backward(x, g, out, eps):
    """(g - mean(g) - y mean(g y)) / sqrt(var + eps)."""
    n = x.shape[1]
    for r in range(x.shape[0]):
        xr, gr, o = x[r], g[r], out[r]
        k, m, c, inv = _standardize_stats(xr, eps)
        gm = _sum(gr) / n
        gy = 0.0
        for i in range(n):
            gy += numba.float64(gr[i]) * ((numba.float64(xr[i]) * k - m) - c) * inv
        gy /= n
        for i in range(n):
            y = ((numba.float64(xr[i]) * k - m) - c) * inv
            o[i] = (numba.float64(gr[i]) - gm - y * gy) * inv * k  # 1 / sigma = k / sigma(k x)


@numba.njit(**OPTS)
def _sparsemax_tau(xr, m):
    """The threshold tau - m (m the row maximum) with sum(max(x - tau, 0)) = 1 (Martins &
    Astudillo 2016), found by Michelot's projection: tau = (sum of the entries above tau - 1)
    / their count, repeated until the support stops shrinking (O(n) per step, a handful of
    steps; no sort). Everything is relative to the maximum: x - m is exact on the support
    (x > m - 1, Sterbenz for m >= 2), so the threshold's error is ~ulp(1), not ulp(m)
    (1170 eps at a row [1e4]*7 + [0]*5 when tau itself was formed)."""
    n = xr.size
    # tau >= max - 1 (the support holds the max), and Michelot's steps rise monotonically to
    # tau from any lower bound: starting there skips the steps that only discard the bulk
    tau = -1.0
    k_old = n + 1
    while True:
        s = 0.0
        k = 0
        for i in range(n):
            v = numba.float64(xr[i]) - m
            inside = v > tau
            s += v if inside else 0.0
            k += 1 if inside else 0
        if k == k_old or k == 0:
            return tau if k > 0 else math.nan
        k_old = k
        tau = (s - 1.0) / k


@numba.njit(**OPTS)
def sparsemax(x, out, one):
    for r in range(x.shape[0]):
        xr, o = x[r], out[r]
        m = _max(xr, one)
        if m == INF:
            _inf_row_softmax(xr, one, o, False)
            continue
        m64 = numba.float64(m)
        tau = _nan_or(xr, _sparsemax_tau(xr, m64))
        for i in range(o.size):
            d = (numba.float64(xr[i]) - m64) - tau
            o[i] = 0.0 if d <= 0.0 else d  # NaN stays NaN


@numba.njit(**OPTS)
def sparsemax_backward(x, g, out, one):
    """On the support S (y > 0): g - mean_S(g); 0 elsewhere."""
    sparsemax(x, out, one)
    for r in range(x.shape[0]):
        o, gr = out[r], g[r]
        k = 0
        s = 0.0
        for i in range(o.size):
            if o[i] > 0.0:
                k += 1
                s += numba.float64(gr[i])
        mean = s / k if k > 0 else 0.0
        for i in range(o.size):
            y = o[i]
            o[i] = (numba.float64(gr[i]) - mean) if y > 0.0 else (y - y)


# ---- gated units: f(a) * b (or a * f(b)) on the halves a | b of each row ---------------------

_gated_cache: dict = {}


def gated(spec, on_gate: bool):
    """``(forward, backward)`` row kernels of a gated unit built on elementwise ``spec``:
    forward(x, out) with out of half the row length, backward(x, g, out). The scalar function
    is evaluated like the elementwise kernels (float64 for float32 unless the spec is
    float32-native); the product with the other half is formed in the same precision and
    rounded once."""
    key = (id(spec), on_gate)
    with LOCK:  # concurrent first calls build the kernels once
        hit = _gated_cache.get(key)
        if hit is not None and hit[0] is spec:
            return hit[1]
        kernels = _gated(spec, on_gate)
        _gated_cache[key] = (spec, kernels)
        return kernels


E_MINUS_64 = 1.603810890548638e-28  # e^-64
E_MINUS_128 = 2.572209372642415e-56  # e^-128
BIG_HALF = 2.0**1016  # beyond this a half times a scaled gate (|v| <= 64) may overflow


@numba.njit(inline="always", **OPTS)
def _sigmoid_scaled(z, shift):
    """(s, tail): sigmoid(z) = s e^-shift where ``tail`` (z < -64), else s. For z < -64,
    sigmoid(z) = e^z to within e^z, and e^(z + shift) is normal where e^z alone is subnormal
    (z + shift is exact for -2 shift <= z <= -64: Sterbenz). shift is 64 or 128 in z's dtype."""
    tail = z < -64.0
    one = fm.like(z, 1.0)
    e = fm.exp(z + shift if tail else -abs(z))  # one exp: e^(z + shift) in the tail
    r = one / (one + e)
    s = r if z >= 0.0 else e * r
    return (e if tail else s), tail


@numba.njit(inline="always", **OPTS)
def _prod3(g, a, d):
    """g * a * d in an order that cannot overflow (or underflow) where the result does not:
    |d| <= ~1.13 for every gate derivative, so (a d) g for |g| >= 1, else (a g) d.
    (g a) d overflowed for glu's db at a = 1.7e308, g = -1.5: -inf for -6.4e307.)"""
    return (a * d) * g if abs(g) >= 1.0 else (a * g) * d


def _glu_forward(f64: bool):
    """a * sigmoid(b) without losing a subnormal sigmoid(b) before the product with a large a:
    float32 forms the product in float64 at scale e^128 (covers every b whose product can
    be nonzero in float32), float64 at scale e^64 (a |a| <= 1.8e308 times sigmoid(b) <= 1
    cannot overflow). 609 ULP float32 at [3000, -95.3] before, 2e9 float64 at [1e10, -740]."""
    shift = 64.0 if f64 else 128.0

    @numba.njit(**OPTS)
    def forward(x, out):
        h = x.shape[1] // 2
        for r in range(x.shape[0]):
            for i in range(h):
                a, b = x[r, i], x[r, h + i]
                s, tail = _sigmoid_scaled(b, fm.like(b, shift))
                if f64:
                    y = a * s
                    out[r, i] = y * E_MINUS_64 if tail else y
                else:
                    y = numba.float64(a) * numba.float64(s)  # exact
                    out[r, i] = y * E_MINUS_128 if tail else y

    return forward


def _swiglu_forward(f64: bool):
    """silu(a) * b = a sigmoid(a) b with the tail (a < -64) at scale e^64 (float64) or e^128
    (float32, product in float64), so a subnormal silu(a) times a large b keeps its bits
    (17 ULP float32 at [-95.3, 3000] before)."""
    shift = 64.0 if f64 else 128.0

    @numba.njit(**OPTS)
    def forward(x, out):
        h = x.shape[1] // 2
        for r in range(x.shape[0]):
            for i in range(h):
                a, b = x[r, i], x[r, h + i]
                s, tail = _sigmoid_scaled(a, fm.like(a, shift))
                if f64:
                    v = a * s
                    v = -0.0 if a == -INF else v  # silu(-inf) = -0.0, not -inf * 0
                    big = abs(b) >= BIG_HALF
                    t = (v * E_MINUS_64) * b if big else (v * b) * E_MINUS_64
                    out[r, i] = t if tail else v * b
                else:
                    v = numba.float64(a) * numba.float64(s)  # exact
                    v = -0.0 if a == -INF else v
                    y = v * numba.float64(b)
                    out[r, i] = y * E_MINUS_128 if tail else y

    return forward


TWO_MINUS_600 = 2.0**-fm.X_NDTR_SHIFT


def _geglu_forward(f64: bool):
    """gelu(a) * b in float64 (both dtypes, as gelu itself) with x Phi(x) at scale 2^600
    below a = -8 (:func:`fastact.fmath.x_ndtr_scaled`): gelu(a) is subnormal below -37.5 and
    lost up to all its bits before the product with a large b (1.7e9 ULP at [-38.2, 1e10]).
    Below a = -40, gelu(a) is -0.0 as in the elementwise kernel."""

    @numba.njit(**OPTS)
    def forward(x, out):
        h = x.shape[1] // 2
        for r in range(x.shape[0]):
            for i in range(h):
                a, b = numba.float64(x[r, i]), numba.float64(x[r, h + i])
                v = fm.x_ndtr_scaled(a)
                tail = a < fm.X_NDTR_TAIL
                big = abs(b) >= BIG_HALF
                t = (v * TWO_MINUS_600) * b if big else (v * b) * TWO_MINUS_600
                y = t if tail else v * b
                out[r, i] = -0.0 * b if a < -40.0 else y

    return forward


def _gated(spec, on_gate: bool):
    f, df = jit(spec.forward), jit(spec.derivative)
    wide = not spec.float32_native

    @numba.njit(**OPTS)
    def forward(x, out):
        h = x.shape[1] // 2
        for r in range(x.shape[0]):
            for i in range(h):
                a, b = x[r, i], x[r, h + i]
                if wide:
                    a, b = numba.float64(a), numba.float64(b)
                out[r, i] = a * f(b) if on_gate else f(a) * b

    @numba.njit(**OPTS)
    def backward(x, g, out):
        h = x.shape[1] // 2
        for r in range(x.shape[0]):
            for i in range(h):
                a, b, gi = x[r, i], x[r, h + i], g[r, i]
                if wide:
                    a, b, gi = numba.float64(a), numba.float64(b), numba.float64(gi)
                if on_gate:  # y = a f(b)
                    out[r, i] = gi * f(b)
                    out[r, h + i] = _prod3(gi, a, df(b))
                else:  # y = f(a) b
                    out[r, i] = _prod3(gi, b, df(a))
                    out[r, h + i] = gi * f(a)

    builtin = spec.forward.__module__ in ("fastact.catalog.logistic", "fastact.catalog.gaussian")
    scaled = {("sigmoid", True): _glu_forward, ("silu", False): _swiglu_forward,
              ("gelu", False): _geglu_forward}.get((spec.name, on_gate))  # fmt: skip
    if builtin and scaled is not None:
        k32, k64 = scaled(False), scaled(True)

        def forward(x, out):  # noqa: F811 - the tail-scaled kernels replace the generic one
            (k64 if x.dtype == np.float64 else k32)(x, out)

    return forward, backward
