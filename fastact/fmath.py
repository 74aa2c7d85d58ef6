"""Vectorizable elementary functions for kernels: exp, expm1, log, log1p, tanh, erfc, ndtr, npdf.

Numba from PyPI has no SVML: ``math.exp`` inside a kernel is a scalar libm call and the
loop does not vectorize. These are branch-free (range reduction, a polynomial or Chebyshev
series, ``2**n`` written into the exponent bits through a bitcast intrinsic, selects for the
special cases), so LLVM emits AVX2/AVX-512 code for a whole ufunc loop.

Each function has a float32 and a float64 implementation, chosen by the argument's type when
Numba compiles the caller (``@overload``, registered lazily: importing this module does not
import Numba). Called from plain Python they fall back to the ``math`` module. ``like(x, v)``
gives the constant ``v`` in the type of ``x``; kernels that compute natively in float32 write
their constants with it, since a bare ``0.5`` is a float64 and would promote the expression.

Stated maximum errors, in ULP of the result against mpmath, per (float32, float64), are in
:data:`MAX_ULP`; the test suite measures them on random and special inputs.

Special values follow C99: NaN propagates, exp(-inf) = 0, exp(inf) = inf, results underflow
gradually (subnormals are kept), ±0 keep their sign where C does (expm1, log1p, tanh).
No fast-math flag is used, not even ``contract``: NaN and infinity checks stay real, results
are the same with or without FMA hardware, and Dekker's exact product (which an FMA
contraction would silently break) keeps the exponent of erfc's tails exact.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ._jit import register_overload

#: Maximum error in ULP (float32, float64) against mpmath, held by tests/test_fmath.py.
MAX_ULP = {
    "exp": (1, 1),
    "expm1": (2, 2),
    "log": (1, 1),
    "log1p": (2, 1),
    "tanh": (2, 3),
    "erfc": (4, 4),
    "ndtr": (5, 4),
    "npdf": (3, 3),
    "x_ndtr": (6, 4),
}

#: Numba options for every scalar function a kernel calls (see _make for why forceinline).
JIT_OPTIONS = {"forceinline": True, "error_model": "numpy"}

__all__ = [
    "exp", "expm1", "log", "log1p", "tanh", "erfc", "ndtr", "npdf", "x_ndtr", "x_ndtr_scaled", "like",
    "two_product",
]  # fmt: skip

#: x_ndtr_scaled(x) is x Phi(x) 2^X_NDTR_SHIFT below X_NDTR_TAIL (and x Phi(x) above).
X_NDTR_SHIFT = 600
X_NDTR_TAIL = -8.0

#: Chebyshev coefficients (in u = 2t - 1, t = 2 / (2 + z)) of log(erfc(z) / t) + z^2, z >= 0,
#: fitted with mpmath at 50 digits on 64 nodes; terms past 30 are below 1e-18.
_ERFC_CHEB64 = (
    -0.6513268598908547, 0.6419697923564902, 0.019476473204185836, -0.009561514786808632,
    -0.0009465953444820369, 0.00036683949785276145, 4.252332480690777e-05, -2.0278578112534242e-05,
    -1.6242900046470256e-06, 1.3036558355805232e-06, 1.5626441722066142e-08, -8.523809591492654e-08,
    6.5290544390988515e-09, 5.059343495551469e-09, -9.91364156493033e-10, -2.273651222931836e-10,
    9.646791102015527e-11, 2.3940380830391146e-12, -6.886027526497553e-12, 8.944879273090725e-13,
    3.130921399342958e-13, -1.1270822361367252e-13, 3.810905255189232e-16, 7.106097613609237e-15,
    -1.5230282014571043e-15, -9.457494571291233e-17, 1.210237189224279e-16, -2.816663087747177e-17,
    5.003005559445902e-20, 2.3281042579529253e-18,
)  # fmt: skip


# ---- plain-Python fallbacks (also the functions Numba sees and overloads) --------------------
# They keep the type of a NumPy scalar argument (float32 stays float32), so code run by the
# CUDA simulator, which calls them from Python, computes in the kernel's dtype.


def _typed(fn):
    @functools.wraps(fn)
    def wrapper(x):
        y = fn(float(x))
        return type(x)(y) if isinstance(x, np.floating) else y

    return wrapper


def like(x, value):
    """``value`` as a constant of the same floating type as ``x``."""
    return type(x)(value) if isinstance(x, np.floating) else float(value)


def two_product(a, b):
    """``(hi, lo)`` with hi = fl(a*b) and hi + lo = a*b exactly (Dekker; no FMA needed)."""
    from fractions import Fraction

    hi = a * b
    if not (math.isfinite(hi) and math.isfinite(a) and math.isfinite(b)):
        return hi, like(hi, 0.0)
    return hi, like(hi, float(Fraction(float(a)) * Fraction(float(b)) - Fraction(float(hi))))


@_typed
def exp(x):
    """e**x."""
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


@_typed
def expm1(x):
    """e**x - 1, accurate near 0."""
    try:
        return math.expm1(x)
    except OverflowError:
        return math.inf


@_typed
def log(x):
    """Natural logarithm; -inf at 0, NaN below."""
    if x != x or x < 0:
        return math.nan
    return -math.inf if x == 0 else math.log(x)


@_typed
def log1p(x):
    """log(1 + x), accurate near 0; -inf at -1, NaN below."""
    if x != x or x < -1:
        return math.nan
    return -math.inf if x == -1 else math.log1p(x)


@_typed
def tanh(x):
    """Hyperbolic tangent."""
    return math.tanh(x)


@_typed
def erfc(x):
    """Complementary error function 1 - erf(x), accurate in both tails."""
    return math.erfc(x)


@_typed
def ndtr(x):
    """Standard normal CDF Phi(x) = erfc(-x / sqrt 2) / 2, accurate in the lower tail."""
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


@_typed
def x_ndtr(x):
    """x * Phi(x) (the GELU), with no subnormal intermediate in the lower tail."""
    return x * ndtr(x) if x == x else x


def x_ndtr_scaled(x):
    """x Phi(x) times 2^600 for x < -8 (unscaled above), as a float64: for a product with a
    large factor (geglu's gelu(a) * b), whose result may be normal where x Phi(x) alone is
    subnormal (below x = -37.5) and would have lost its bits. Multiply by 2^-600 last."""
    y = x * ndtr(x) if x == x else x
    return float(y) * 2.0**X_NDTR_SHIFT if x < X_NDTR_TAIL else float(y)


@_typed
def npdf(x):
    """Standard normal density exp(-x^2 / 2) / sqrt(2 pi)."""
    return math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


# ---- Numba implementations --------------------------------------------------------------------


def _bitcasts():
    """Intrinsics reinterpreting float bits as same-width ints and back.

    Numba widens integer arithmetic to 64 bits, so the int -> float casts accept any integer
    and truncate (or sign-extend) it to the float's width first.
    """
    from llvmlite import ir
    from numba import types
    from numba.extending import intrinsic

    def to_int(src, dst, llty):
        @intrinsic
        def cast(typingctx, v):
            if v != src:
                return None

            def codegen(context, builder, signature, args):
                return builder.bitcast(args[0], llty)

            return dst(src), codegen

        return cast

    def to_float(dst, llint, llfloat):
        @intrinsic
        def cast(typingctx, v):
            if not isinstance(v, types.Integer):
                return None

            def codegen(context, builder, signature, args):
                value = args[0]
                if v.bitwidth > llint.width:
                    value = builder.trunc(value, llint)
                elif v.bitwidth < llint.width:
                    value = builder.sext(value, llint)
                return builder.bitcast(value, llfloat)

            return dst(v), codegen

        return cast

    @intrinsic
    def floor(typingctx, v):
        # llvm.floor, which is what np.floor lowers to on the CPU; numba-cuda implements no
        # np.floor, and math.floor returns an int64
        if v not in (types.float32, types.float64):
            return None

        def codegen(context, builder, signature, args):
            return builder.call(builder.module.declare_intrinsic("llvm.floor", [args[0].type]), args)

        return v(v), codegen

    i32, i64 = ir.IntType(32), ir.IntType(64)
    return {
        "floor": floor,
        "f32": (to_int(types.float32, types.int32, i32), to_float(types.float32, i32, ir.FloatType())),
        "f64": (to_int(types.float64, types.int64, i64), to_float(types.float64, i64, ir.DoubleType())),
    }


class _Consts:
    """The constants of one dtype, as NumPy scalars so Numba types them as that dtype."""

    def __init__(self, F, Int, bits):
        import numpy as np

        self.F, self.Int = F, Int
        c = lambda v: F(v)  # noqa: E731
        self.zero, self.half, self.one, self.two = c(0.0), c(0.5), c(1.0), c(2.0)
        self.inf, self.nan = c(math.inf), c(math.nan)
        self.log2e = c(1.4426950408889634)
        self.sqrt2 = c(1.4142135623730951)
        self.sqrt1_2 = c(0.7071067811865476)
        self.inv_sqrt_2pi = c(0.3989422804014327)
        if bits == 32:
            self.ln2_hi, self.ln2_lo = c(0.693359375), c(-2.12194440e-4)
            self.exp_lo, self.exp_hi, self.exp_over = c(-104.0), c(88.8), c(88.72283935546875)
            self.expm1_lo = c(-18.0)
            self.tanh_clamp = c(10.0)
            self.erfc_clamp = c(11.0)
            self.ndtr_clamp = c(15.0)
            self.split = c(4097.0)
            self.tiny_normal, self.sub_scale, self.sub_k = c(1.1754943508222875e-38), c(2.0**24), Int(24)
            self.bias, self.shift = Int(127), Int(23)
            self.min_normal_exp, self.sub_bias, self.exp_zero = Int(-126), Int(149), c(-103.98)
            self.exp_mask, self.mant_mask, self.one_bits = Int(0xFF), Int(0x7FFFFF), Int(0x3F800000)
            exp_degree, expm1_degree, log_terms, cheb = 7, 8, 5, _ERFC_CHEB64[:14]
        else:
            self.ln2_hi, self.ln2_lo = c(6.93147180369123816490e-01), c(1.90821492927058770002e-10)
            self.exp_lo, self.exp_hi, self.exp_over = c(-745.2), c(709.8), c(709.782712893384)
            self.expm1_lo = c(-40.0)
            self.tanh_clamp = c(20.0)
            self.erfc_clamp = c(28.0)
            self.ndtr_clamp = c(40.0)
            self.split = c(134217729.0)
            self.tiny_normal, self.sub_scale, self.sub_k = c(2.2250738585072014e-308), c(2.0**54), Int(54)
            self.bias, self.shift = Int(1023), Int(52)
            self.min_normal_exp, self.sub_bias, self.exp_zero = Int(-1022), Int(1074), c(-745.14)
            self.exp_mask, self.mant_mask = Int(0x7FF), Int(0xFFFFFFFFFFFFF)
            self.one_bits = Int(0x3FF0000000000000)
            exp_degree, expm1_degree, log_terms, cheb = 13, 13, 11, _ERFC_CHEB64
        # Taylor coefficients, highest degree first, for Horner's rule; exp(r) is evaluated as
        # 1 + (r + r^2 Q(r)) so the rounding of Horner's sum lands in the small part
        self.exp_p = tuple(c(1.0 / math.factorial(k)) for k in range(exp_degree, 1, -1))
        # expm1(r) = r + r^2 * (1/2 + r/6 + ...)
        self.expm1_q = tuple(c(1.0 / math.factorial(k)) for k in range(expm1_degree, 1, -1))
        # log(1+f) = f - s (f - R), R = sum 2 z^k / (2k + 1), z = s^2, s = f / (2 + f)
        self.log_r = tuple(c(2.0 / (2 * k + 1)) for k in range(log_terms, 0, -1))
        self.cheb = tuple(c(v) for v in reversed(cheb))  # Clenshaw runs from the highest term
        self.one_i = Int(1)
        self.np = np


def _factories():
    """Build the float32 and float64 implementation of every function (needs Numba)."""
    import numpy as np
    from numba import types

    casts = _bitcasts()
    impls = {}
    for key, F, Int, bits in (("f32", np.float32, np.int32, 32), ("f64", np.float64, np.int64, 64)):
        K = _Consts(F, Int, bits)
        f2i, i2f = casts[key]
        impls[key] = _make(K, f2i, i2f, casts["floor"])
    kinds = {types.float32: "f32", types.float64: "f64"}

    def chooser(name):
        # numba wants the typing function's signature to match the implementation's
        if name == "like":

            def typer_like(x, value):
                key = kinds.get(x)
                return impls[key][name] if key else None

            return typer_like

        if name == "two_product":

            def typer_product(a, b):
                key = kinds.get(a) if a == b else None
                return impls[key][name] if key else None

            return typer_product

        if name == "x_ndtr_scaled":  # float64 only: 2^600 does not fit a float32

            def typer_scaled(x):
                return impls["f64"][name] if x == types.float64 else None

            return typer_scaled

        def typer(x):
            key = kinds.get(x)
            return impls[key][name] if key else None

        return typer

    return chooser


def _unrolled(name, F, coeffs, kind="horner"):
    """A jitted, fully unrolled Horner (or Clenshaw) evaluation of ``coeffs`` (highest first).

    Indexing a tuple constant with a loop variable copies the tuple on every access in
    Numba's lowering; straight-line code with one typed constant per coefficient does not.
    """
    import numba

    namespace = {f"c{i}": F(c) for i, c in enumerate(coeffs)}
    namespace.update(zero=F(0.0), two=F(2.0))
    n = len(coeffs)
    if kind == "horner":
        lines = ["p = c0"] + [f"p = p * r + c{i}" for i in range(1, n)] + ["return p"]
    else:  # Clenshaw for a Chebyshev series; coeffs run from T_{n-1} down to T_0
        lines = ["u2 = two * r", "b1 = zero", "b2 = zero"]
        for i in range(n - 1):
            lines += [f"b0 = u2 * b1 - b2 + c{i}", "b2 = b1", "b1 = b0"]
        lines += [f"return r * b1 - b2 + c{n - 1}"]
    source = f"def {name}(r):\n" + "".join(f"    {line}\n" for line in lines)
    exec(compile(source, f"<fastact.fmath {name}>", "exec"), namespace)
    return numba.njit(forceinline=True, error_model="numpy")(namespace[name])


def _make(K, f2i, i2f, floor):
    """The implementations for one dtype (closures over that dtype's constants ``K``)."""
    import numba
    import numpy as np

    # what the implementations call must be jitted, and inlined (LLVM alwaysinline) so that
    # the caller's loop vectorizes: LLVM's cost model leaves a second call site of a
    # function this size un-inlined, and one call in a loop stops vectorization.
    helper = numba.njit(forceinline=True, error_model="numpy")
    F, Int = K.F, K.Int
    zero, half, one, two, inf, nan = K.zero, K.half, K.one, K.two, K.inf, K.nan
    exp_poly = _unrolled("exp_poly", F, K.exp_p)
    expm1_poly = _unrolled("expm1_poly", F, K.expm1_q)
    log_poly = _unrolled("log_poly", F, K.log_r)
    erfc_cheb = _unrolled("erfc_cheb", np.float64, K.cheb, kind="clenshaw")
    log2e, ln2_hi, ln2_lo = K.log2e, K.ln2_hi, K.ln2_lo
    bias, shift, one_i = K.bias, K.shift, K.one_i
    min_normal_exp, sub_bias, exp_zero, zero_i = K.min_normal_exp, K.sub_bias, K.exp_zero, Int(0)
    exp_lo, exp_hi, exp_over, expm1_lo = K.exp_lo, K.exp_hi, K.exp_over, K.expm1_lo
    exp_mask, mant_mask, one_bits = K.exp_mask, K.mant_mask, K.one_bits
    tiny_normal, sub_scale, sub_k, sqrt2 = K.tiny_normal, K.sub_scale, K.sub_k, K.sqrt2
    split, sqrt1_2, inv_sqrt_2pi = K.split, K.sqrt1_2, K.inv_sqrt_2pi
    tanh_clamp, erfc_clamp, ndtr_clamp = K.tanh_clamp, K.erfc_clamp, K.ndtr_clamp

    def like_impl(x, value):
        return F(value)

    @helper
    def exp_reduce(xc):
        """(n, p) with e^xc = 2^n * p, |log p| <= ln2/2 (xc already clamped)."""
        n = floor(xc * log2e + half)  # llvm.floor (math.floor returns an int64 in Numba)
        r = (xc - n * ln2_hi) - n * ln2_lo
        return n, one + (r + r * r * exp_poly(r))

    @helper
    def scale2(p, k):
        """p * 2^k with one rounding: two steps while 2^k may exceed the largest float, one
        step into the subnormals (2^k written as a subnormal's bits)."""
        k1 = k >> one_i
        y = p * i2f((k1 + bias) << shift) * i2f((k - k1 + bias) << shift)
        e = k + sub_bias
        sub = p * i2f(one_i << (e if e > zero_i else zero_i))
        return sub if k < min_normal_exp else y

    @helper
    def exp_impl(x):
        xc = x if x > exp_lo else exp_lo
        xc = xc if xc < exp_hi else exp_hi
        n, p = exp_reduce(xc)
        y = scale2(p, Int(n))
        y = zero if x < exp_zero else y
        y = inf if x > exp_over else y
        return x if x != x else y

    @helper
    def exp_scaled(x, extra):
        """e^x * 2^extra (extra a small int >= 0) with one rounding: the scaling happens in
        the exponent bits, so e^x may be far below the smallest normal number."""
        shift_f = F(extra) * ln2_hi
        lo_c = exp_lo - shift_f
        xc = x if x > lo_c else lo_c
        xc = xc if xc < exp_hi else exp_hi
        n, p = exp_reduce(xc)
        y = scale2(p, Int(n) + extra)
        y = zero if x < exp_zero - shift_f else y
        y = inf if x > exp_over else y
        return x if x != x else y

    @helper
    def expm1_impl(x):
        xc = x if x > expm1_lo else expm1_lo
        xc = xc if xc < exp_hi else exp_hi
        n = floor(xc * log2e + half)  # llvm.floor (math.floor returns an int64 in Numba)
        r = (xc - n * ln2_hi) - n * ln2_lo
        em = r + r * r * expm1_poly(r)
        s = i2f((Int(n) - one_i + bias) << shift)  # 2^(n-1): 2^n itself overflows at n = 1024
        y = two * (s * em + (s - half))
        y = em if n == zero else y  # |x| < ln2/2: em itself (keeps subnormal results)
        y = inf if x > exp_over else y
        y = x if x == zero else y  # keeps the sign of zero
        return x if x != x else y

    @helper
    def log_parts(u):
        """log of a positive normal u, as k*ln2_hi + rest."""
        bits = f2i(u)
        k = ((bits >> shift) & exp_mask) - bias
        m = i2f((bits & mant_mask) | one_bits)
        big = m > sqrt2
        m = m * half if big else m
        k = k + one_i if big else k
        f = m - one
        s = f / (two + f)
        z = s * s
        R = log_poly(z) * z
        kf = F(k)
        return kf * ln2_hi, (f - s * (f - R)) + kf * ln2_lo

    def log_impl(x):
        sub = x < tiny_normal
        xs = x * sub_scale if sub else x
        hi, lo = log_parts(xs)
        y = hi + lo
        y = y - F(sub_k) * ln2_hi - F(sub_k) * ln2_lo if sub else y
        y = -inf if x == zero else y
        y = inf if x == inf else y
        y = nan if x < zero else y
        return x if x != x else y

    def log1p_impl(x):
        u = one + x
        c = (x - (u - one)) / u
        hi, lo = log_parts(u)
        y = hi + (lo + c)
        y = -inf if x == -one else y
        y = inf if x == inf else y
        y = nan if x < -one else y
        y = x if x == zero else y
        return x if x != x else y

    def tanh_impl(x):
        a = abs(x)
        a = a if a < tanh_clamp else tanh_clamp
        em = expm1_impl(two * a)
        y = math.copysign(em / (em + two), x)
        return x if x != x else y

    @helper
    def square(a):
        """a*a as hi + lo exactly (Dekker's product, no FMA needed)."""
        hi = a * a
        c = split * a
        ah = c - (c - a)
        al = a - ah
        lo = ((ah * ah - hi) + two * ah * al) + al * al
        return hi, lo

    @helper
    def erfc_pos_scaled(a, hi, lo, extra):
        """erfc(a) * 2^extra for 0 <= a (clamped), the exponent (a^2 or x^2/2) given as hi + lo."""
        t = two / (two + a)
        # float32 evaluates the series in float64: in float32, Clenshaw's cancellation near
        # t = 1 cost ~4 ULP; 14 terms are still enough for float32's precision
        h = F(erfc_cheb(numba.float64(two * t - one)))
        e = h - hi  # TwoSum: e + err = h - hi exactly
        bb = e - h
        err = (h - (e - bb)) + (-hi - bb)
        # the last products in float64 (a no-op for float64): one rounding instead of three
        f64 = numba.float64
        return f64(t) * f64(exp_scaled(e, extra)) * (1.0 + f64(err - lo))

    @helper
    def erfc_pos(a, hi, lo):
        return F(erfc_pos_scaled(a, hi, lo, zero_i))

    def erfc_impl(x):
        a = abs(x)
        a = a if a < erfc_clamp else erfc_clamp
        hi, lo = square(a)
        q = erfc_pos(a, hi, lo)
        y = q if x >= zero else two - q
        return x if x != x else y

    def ndtr_impl(x):
        a = abs(x)
        a = a if a < ndtr_clamp else ndtr_clamp
        hi, lo = square(a)
        q = half * erfc_pos(a * sqrt1_2, half * hi, half * lo)  # exponent x^2/2, kept exact
        y = q if x < zero else one - q
        return x if x != x else y

    def two_product_impl(a, b):
        hi = a * b
        ca = split * a
        ah = ca - (ca - a)
        al = a - ah
        cb = split * b
        bh = cb - (cb - b)
        bl = b - bh
        return hi, ((ah * bh - hi) + ah * bl + al * bh) + al * bl

    two_64 = Int(64)

    def x_ndtr_impl(x):
        a = abs(x)
        a = a if a < ndtr_clamp else ndtr_clamp
        hi, lo = square(a)
        tail = x < -8.0  # Phi(x) heads for the subnormals: form x Phi(x) at scale 2^64
        q = 0.5 * erfc_pos_scaled(a * sqrt1_2, half * hi, half * lo, two_64 if tail else zero_i)
        y = numba.float64(x) * (q if x < zero else 1.0 - q)  # float64 product, one rounding
        y = F(y * 5.421010862427522e-20 if tail else y)  # 2^-64
        return x if x != x else y

    shift_600 = Int(X_NDTR_SHIFT)

    def x_ndtr_scaled_impl(x):
        a = abs(x)
        a = a if a < ndtr_clamp else ndtr_clamp
        hi, lo = square(a)
        tail = x < X_NDTR_TAIL
        q = 0.5 * erfc_pos_scaled(a * sqrt1_2, half * hi, half * lo, shift_600 if tail else zero_i)
        y = numba.float64(x) * (q if x < zero else 1.0 - q)
        return numba.float64(x) if x != x else y

    def npdf_impl(x):
        a = abs(x)
        a = a if a < ndtr_clamp else ndtr_clamp
        hi, lo = square(a)
        y = inv_sqrt_2pi * exp_impl(-half * hi) * (one - half * lo)
        return x if x != x else y

    def exp_public(x):
        return exp_impl(x)

    def expm1_public(x):
        return expm1_impl(x)

    return {
        "like": like_impl, "exp": exp_public, "expm1": expm1_public, "log": log_impl, "log1p": log1p_impl,
        "tanh": tanh_impl, "erfc": erfc_impl, "ndtr": ndtr_impl, "npdf": npdf_impl, "x_ndtr": x_ndtr_impl,
        "x_ndtr_scaled": x_ndtr_scaled_impl, "two_product": two_product_impl,
    }  # fmt: skip


def _install() -> None:
    """Register the Numba implementations (called once, when the first kernel compiles)."""
    from numba.extending import overload

    choose = _factories()
    for name in __all__:
        overload(globals()[name], jit_options=JIT_OPTIONS)(choose(name))


register_overload(_install)
