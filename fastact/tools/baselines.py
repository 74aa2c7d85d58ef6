"""Baselines for ``fastact bench`` and asv: what a careful user writes without fastact.

NumPy baselines are the straightforward float32 expression of each builtin, written with
``out=`` and a preallocated scratch array (in the style of NumPy's own benchmarks); the
spec's ``reference`` is the float64 oracle, not a baseline. PyTorch (``torch.nn.functional``
and the fused ``aten`` backward ops) and numexpr are used when installed. An activation with
no baseline expression gets none: the benchmark reports it missing rather than inventing one.

Each factory returns ``fn(x, g, out, tmp)`` for an op, or ``None`` when there is no baseline.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable

import numpy as np

Baseline = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], object]

SQRT1_2 = 1.0 / math.sqrt(2.0)
K0, K1 = math.sqrt(2.0 / math.pi), 0.044715
SELU_A, SELU_L = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def _sigmoid_into(x, out):
    np.negative(x, out=out)
    np.exp(out, out=out)
    out += 1
    np.reciprocal(out, out=out)
    return out


def _elu(alpha, scale=1.0, inner=1.0):
    def fn(x, g, out, tmp):
        np.minimum(x, 0, out=tmp)
        if inner != 1.0:
            tmp /= inner
        np.expm1(tmp, out=tmp)
        tmp *= alpha * scale
        np.multiply(x, scale, out=out)
        np.copyto(out, tmp, where=x <= 0)

    return fn


def _leaky(slope):
    def fn(x, g, out, tmp):
        np.multiply(x, slope, out=tmp)
        np.maximum(x, tmp, out=out)

    return fn


def _sigmoid(x, g, out, tmp):
    _sigmoid_into(x, out)


def _silu(x, g, out, tmp):
    np.negative(x, out=tmp)
    np.exp(tmp, out=tmp)
    tmp += 1
    np.divide(x, tmp, out=out)


def _quick_gelu(x, g, out, tmp):
    np.multiply(x, -1.702, out=tmp)
    np.exp(tmp, out=tmp)
    tmp += 1
    np.divide(x, tmp, out=out)


def _gelu(x, g, out, tmp):
    try:
        from scipy.special import erfc
    except ImportError:  # NumPy has no erf: no honest NumPy-only expression
        raise NotImplementedError("gelu needs scipy.special.erfc") from None
    np.multiply(x, -SQRT1_2, out=tmp)
    erfc(tmp, out=tmp)
    tmp *= x
    np.multiply(tmp, 0.5, out=out)


def _gelu_tanh(x, g, out, tmp):
    np.multiply(x, x, out=tmp)
    tmp *= x
    tmp *= K1
    tmp += x
    tmp *= K0
    np.tanh(tmp, out=tmp)
    tmp += 1
    tmp *= x
    np.multiply(tmp, 0.5, out=out)


def _mish(x, g, out, tmp):
    np.exp(x, out=tmp)
    np.log1p(tmp, out=tmp)
    np.tanh(tmp, out=tmp)
    np.multiply(x, tmp, out=out)


def _hard_sigmoid_into(x, out):
    np.multiply(x, 1.0 / 6.0, out=out)
    out += 0.5
    np.clip(out, 0, 1, out=out)
    return out


def _hard_swish(x, g, out, tmp):
    _hard_sigmoid_into(x, tmp)
    np.multiply(x, tmp, out=out)


def _softshrink(x, g, out, tmp):
    np.abs(x, out=tmp)
    tmp -= 0.5
    np.maximum(tmp, 0, out=tmp)
    np.copysign(tmp, x, out=out)


def _threshold(x, g, out, tmp):
    np.copyto(out, x)
    np.copyto(out, 0, where=x <= 0)


def _squareplus(x, g, out, tmp):
    np.multiply(x, x, out=tmp)
    tmp += 4
    np.sqrt(tmp, out=tmp)
    tmp += x
    np.multiply(tmp, 0.5, out=out)


def _sparse_plus(x, g, out, tmp):
    np.clip(x, -1, 1, out=tmp)
    tmp += 1
    np.multiply(tmp, tmp, out=tmp)
    np.multiply(tmp, 0.25, out=out)
    np.copyto(out, x, where=x >= 1)


def _sparse_sigmoid(x, g, out, tmp):
    np.add(x, 1, out=out)
    np.clip(out, 0, 2, out=out)
    out *= 0.5


def _relu_squared(x, g, out, tmp):
    np.maximum(x, 0, out=out)
    np.multiply(out, out, out=out)


def _logit(x, g, out, tmp):
    np.subtract(1, x, out=tmp)
    np.divide(x, tmp, out=tmp)
    np.log(tmp, out=out)


def _log1mexp(x, g, out, tmp):
    np.negative(x, out=tmp)
    np.expm1(tmp, out=tmp)
    np.negative(tmp, out=tmp)
    np.log(tmp, out=out)


def _log_sigmoid(x, g, out, tmp):
    np.negative(x, out=tmp)
    np.logaddexp(tmp, 0, out=out)
    np.negative(out, out=out)


def _softsign(x, g, out, tmp):
    np.abs(x, out=tmp)
    tmp += 1
    np.divide(x, tmp, out=out)


def _tanhshrink(x, g, out, tmp):
    np.tanh(x, out=tmp)
    np.subtract(x, tmp, out=out)


def _sigmoid_tanh(x, g, out, tmp):
    _sigmoid_into(x, tmp)
    np.tanh(x, out=out)
    out += tmp


NUMPY_FORWARD: dict[str, Baseline] = {
    "identity": lambda x, g, out, tmp: np.copyto(out, x),
    "relu": lambda x, g, out, tmp: np.maximum(x, 0, out=out),
    "relu6": lambda x, g, out, tmp: np.clip(x, 0, 6, out=out),
    "leaky_relu": _leaky(0.01),
    "prelu": _leaky(0.25),
    "rrelu": _leaky((1 / 8 + 1 / 3) / 2),
    "elu": _elu(1.0),
    "selu": _elu(SELU_A, SELU_L),
    "celu": _elu(1.0, inner=1.0),
    "gelu": _gelu,
    "gelu_tanh": _gelu_tanh,
    "quick_gelu": _quick_gelu,
    "silu": _silu,
    "mish": _mish,
    "softplus": lambda x, g, out, tmp: np.logaddexp(x, 0, out=out),
    "softsign": _softsign,
    "sigmoid": _sigmoid,
    "log_sigmoid": _log_sigmoid,
    "hard_sigmoid": lambda x, g, out, tmp: _hard_sigmoid_into(x, out),
    "hard_swish": _hard_swish,
    "hard_tanh": lambda x, g, out, tmp: np.clip(x, -1, 1, out=out),
    "tanh": lambda x, g, out, tmp: np.tanh(x, out=out),
    "tanhshrink": _tanhshrink,
    "softshrink": _softshrink,
    "hardshrink": lambda x, g, out, tmp: np.multiply(x, np.abs(x) > 0.5, out=out),
    "threshold": _threshold,
    "squareplus": _squareplus,
    "sparse_plus": _sparse_plus,
    "sparse_sigmoid": _sparse_sigmoid,
    "relu_squared": _relu_squared,
    "exponential": lambda x, g, out, tmp: np.exp(x, out=out),
    "logit": _logit,
    "log1mexp": _log1mexp,
    "parametric_sigmoid": _sigmoid,  # a = 1, b = 0
    "parametric_tanh": lambda x, g, out, tmp: np.tanh(x, out=out),
    "sigmoid_tanh": _sigmoid_tanh,
}


def _grad_sigmoid(x, g, out, tmp):
    _sigmoid_into(x, tmp)
    np.subtract(1, tmp, out=out)
    out *= tmp


def _grad_tanh(x, g, out, tmp):
    np.tanh(x, out=tmp)
    np.multiply(tmp, tmp, out=tmp)
    np.subtract(1, tmp, out=out)


def _grad_silu(x, g, out, tmp):
    _sigmoid_into(x, tmp)  # s (1 + x (1 - s))
    np.subtract(1, tmp, out=out)
    out *= x
    out += 1
    out *= tmp


def _grad_gelu(x, g, out, tmp):
    try:  # Phi(x) + x phi(x)
        from scipy.special import erfc
    except ImportError:
        raise NotImplementedError("gelu needs scipy.special.erfc") from None

    np.multiply(x, -SQRT1_2, out=tmp)
    erfc(tmp, out=tmp)
    tmp *= 0.5
    np.multiply(x, x, out=out)
    out *= -0.5
    np.exp(out, out=out)
    out *= x
    out *= 1.0 / math.sqrt(2.0 * math.pi)
    out += tmp


def _grad_relu(x, g, out, tmp):
    np.greater(x, 0, out=out)


def _grad_elu(x, g, out, tmp):
    np.exp(x, out=out)
    np.copyto(out, 1, where=x > 0)


NUMPY_GRAD: dict[str, Baseline] = {
    "relu": _grad_relu,
    "sigmoid": _grad_sigmoid,
    "tanh": _grad_tanh,
    "silu": _grad_silu,
    "gelu": _grad_gelu,
    "elu": _grad_elu,
    "softplus": _sigmoid,
}


# ---- axis-wise (rows of a 2-D array, axis last): the stable expressions, with out= -------------


def _np_softmax(x, g, out, tmp, sign=1.0):
    if sign < 0:
        np.negative(x, out=tmp)
        x = tmp
    m = x.max(axis=-1, keepdims=True)
    np.subtract(x, m, out=out)
    np.exp(out, out=out)
    out /= out.sum(axis=-1, keepdims=True)


def _np_log_softmax(x, g, out, tmp):
    m = x.max(axis=-1, keepdims=True)
    np.subtract(x, m, out=out)
    np.exp(out, out=tmp)
    out -= np.log(tmp.sum(axis=-1, keepdims=True))


def _np_logsumexp(x, g, out, tmp):
    m = x.max(axis=-1, keepdims=True)
    np.subtract(x, m, out=tmp)
    np.exp(tmp, out=tmp)
    return np.log(tmp.sum(axis=-1)) + m[:, 0]


def _np_standardize(x, g, out, tmp):
    mu = x.mean(axis=-1, keepdims=True)
    np.subtract(x, mu, out=out)
    np.multiply(out, out, out=tmp)
    out /= np.sqrt(tmp.mean(axis=-1, keepdims=True) + 1e-5)


NUMPY_AXIS: dict[str, Baseline] = {
    "softmax": _np_softmax,
    "softmin": lambda x, g, out, tmp: _np_softmax(x, g, out, tmp, -1.0),
    "log_softmax": _np_log_softmax,
    "logsumexp": _np_logsumexp,
    "standardize": _np_standardize,
}


def numpy_baseline(name: str, op: str) -> Baseline | None:
    """The NumPy expression of ``op`` for builtin ``name``; backward is grad then one multiply."""
    if name in NUMPY_AXIS:
        return NUMPY_AXIS[name] if op == "forward" else None
    if op == "forward":
        return NUMPY_FORWARD.get(name)
    grad = NUMPY_GRAD.get(name)
    if grad is None or op == "grad":
        return grad

    def backward(x, g, out, tmp):
        grad(x, g, out, tmp)
        out *= g

    return backward


# ---- PyTorch ---------------------------------------------------------------------------------
# Two policies, so that a comparison does the same work on both sides:
#   "out":   PyTorch's own kernels writing into a preallocated tensor (``aten.<op>.out``, the
#            ``*_backward.grad_input`` kernels autograd calls), beside fastact's ``out=``;
#   "alloc": ``torch.nn.functional`` (and the plain aten backward ops) allocating a fresh
#            result on every call, beside ``fastact.<name>(x)``.
# An activation PyTorch computes as a composite of several kernels (softsign, tanhshrink,
# softmin, ...) has no out= kernel: it is reported as missing under "out", not emulated.

POLICIES = ("out", "alloc")

SELU = {"alpha": SELU_A, "scale": SELU_L}

#: forward: name -> (aten op, positional scalars, keywords); the .out overload exists for each
_TORCH_OUT = {
    "relu": ("relu", (), {}),
    "relu6": ("hardtanh", (0.0, 6.0), {}),
    "leaky_relu": ("leaky_relu", (0.01,), {}),
    "rrelu": ("leaky_relu", ((1 / 8 + 1 / 3) / 2,), {}),  # eval mode: the mean slope
    "elu": ("elu", (), {}),
    "selu": ("elu", (SELU_A, SELU_L), {}),
    "celu": ("celu", (), {}),
    "gelu": ("gelu", (), {}),
    "gelu_tanh": ("gelu", (), {"approximate": "tanh"}),
    "silu": ("silu", (), {}),
    "mish": ("mish", (), {}),
    "softplus": ("softplus", (), {}),
    "sigmoid": ("sigmoid", (), {}),
    "hard_sigmoid": ("hardsigmoid", (), {}),
    "hard_swish": ("hardswish", (), {}),
    "hard_tanh": ("hardtanh", (), {}),
    "tanh": ("tanh", (), {}),
    "softshrink": ("softshrink", (), {}),
    "hardshrink": ("hardshrink", (), {}),
    "threshold": ("threshold", (0.0, 0.0), {}),
    "exponential": ("exp", (), {}),
    "logit": ("logit", (), {}),
    "parametric_sigmoid": ("sigmoid", (), {}),  # a = 1, b = 0
    "parametric_tanh": ("tanh", (), {}),
}

#: torch.nn.functional (allocating) forward: name -> (function, keywords)
_TORCH_ALLOC = {
    "relu": ("relu", {}),
    "relu6": ("relu6", {}),
    "leaky_relu": ("leaky_relu", {"negative_slope": 0.01}),
    "rrelu": ("rrelu", {"training": False}),
    "elu": ("elu", {}),
    "selu": ("selu", {}),
    "celu": ("celu", {}),
    "gelu": ("gelu", {}),
    "gelu_tanh": ("gelu", {"approximate": "tanh"}),
    "silu": ("silu", {}),
    "mish": ("mish", {}),
    "softplus": ("softplus", {}),
    "softsign": ("softsign", {}),
    "sigmoid": ("sigmoid", {}),
    "log_sigmoid": ("logsigmoid", {}),
    "hard_sigmoid": ("hardsigmoid", {}),
    "hard_swish": ("hardswish", {}),
    "hard_tanh": ("hardtanh", {}),
    "tanh": ("tanh", {}),
    "tanhshrink": ("tanhshrink", {}),
    "softshrink": ("softshrink", {}),
    "hardshrink": ("hardshrink", {}),
    "threshold": ("threshold", {"threshold": 0.0, "value": 0.0}),
    "exponential": ("exp", {}),
    "logit": ("logit", {}),
    "parametric_sigmoid": ("sigmoid", {}),
    "parametric_tanh": ("tanh", {}),
}

#: the fused backward kernels autograd calls: name -> (aten op, what it takes besides grad,
#: scalars after it, keywords). "x": the input; "y": the saved forward output; "buffer":
#: log_sigmoid's saved buffer. elu_backward takes its scalars *before* the tensor.
_TORCH_BACKWARD = {
    "relu": ("threshold_backward", "x", (0.0,), {}),
    "sigmoid": ("sigmoid_backward", "y", (), {}),
    "tanh": ("tanh_backward", "y", (), {}),
    "silu": ("silu_backward", "x", (), {}),
    "gelu": ("gelu_backward", "x", (), {}),
    "gelu_tanh": ("gelu_backward", "x", (), {"approximate": "tanh"}),
    "mish": ("mish_backward", "x", (), {}),  # no out= overload in PyTorch
    "hard_swish": ("hardswish_backward", "x", (), {}),
    "hard_sigmoid": ("hardsigmoid_backward", "x", (), {}),
    "softplus": ("softplus_backward", "x", (1.0, 20.0), {}),
    "leaky_relu": ("leaky_relu_backward", "x", (0.01, False), {}),
    "elu": ("elu_backward", "elu", (1.0, 1.0, 1.0, False), {}),
    "selu": ("elu_backward", "elu", (SELU_A, SELU_L, 1.0, False), {}),
    "celu": ("elu_backward", "elu", (1.0, 1.0, 1.0, False), {}),
    "log_sigmoid": ("log_sigmoid_backward", "buffer", (), {}),
    "logit": ("logit_backward", "x", (), {}),
    "relu6": ("hardtanh_backward", "x", (0.0, 6.0), {}),
    "hard_tanh": ("hardtanh_backward", "x", (-1.0, 1.0), {}),
    "softshrink": ("softshrink_backward", "x", (0.5,), {}),
    "hardshrink": ("hardshrink_backward", "x", (0.5,), {}),
    "threshold": ("threshold_backward", "x", (0.0,), {}),
    "rrelu": ("leaky_relu_backward", "x", ((1 / 8 + 1 / 3) / 2, False), {}),  # eval mode
}

#: axis-wise forward (rows, axis -1) through PyTorch's kernels; None: no single kernel
_TORCH_AXIS_OUT = {
    "softmax": lambda A, x, out: A._softmax.out(x, -1, False, out=out),
    "log_softmax": lambda A, x, out: A._log_softmax.out(x, -1, False, out=out),
    "logsumexp": lambda A, x, out: A.logsumexp.out(x, [-1], False, out=out),
    "glu": lambda A, x, out: A.glu.out(x, -1, out=out),
}
_TORCH_AXIS_BACKWARD = {
    "softmax": ("_softmax_backward_data", "grad_input"),
    "log_softmax": ("_log_softmax_backward_data", "out"),
}


def torch_module():
    """``torch`` if it can be imported, else None (it is never a dependency)."""
    try:
        return importlib.import_module("torch")
    except Exception:
        return None


def _overload(packet, policy: str):
    """The ``out``-writing overload of an aten op packet (None if it has none), or its default."""
    if policy == "alloc":
        return packet.default
    for name in ("out", "grad_input", "output"):
        if name in packet.overloads():
            return getattr(packet, name)
    return None


def torch_reason(name: str, op: str, policy: str = "out") -> str:
    """Why :func:`torch_baseline` has nothing for ``(name, op, policy)``, in a few words."""
    if torch_module() is None:
        return "torch not installed"
    if op == "grad":
        return "no torch kernel (torch has no elementwise derivative op)"
    if op == "forward":
        if policy == "out" and name in _TORCH_ALLOC:
            return "no torch out= kernel (torch composes it)"
        return "no torch kernel"
    if name in _TORCH_BACKWARD or name == "glu" or name in _TORCH_AXIS_BACKWARD:
        return "no torch out= kernel"
    if name in _TORCH_ALLOC or name in _TORCH_AXIS_OUT:
        return "no torch backward kernel (autograd composes it)"
    return "no torch kernel"


def torch_baseline(name: str, op: str, policy: str = "out") -> Baseline | None:
    """PyTorch's CPU kernel for ``op`` under ``policy`` (see :data:`POLICIES`), or None.

    The callable takes tensors ``(x, g, out, tmp)``; under ``"out"`` it writes ``out``.
    Backward kernels that take the forward output (sigmoid, tanh, softmax) get it computed
    once, as autograd would have saved it.
    """
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}, not {policy!r}")
    torch = torch_module()
    if torch is None or op == "grad":
        return None
    A, F = torch.ops.aten, torch.nn.functional
    if name in NUMPY_AXIS or name in _TORCH_AXIS_OUT or name in ("swiglu", "geglu", "reglu", "sparsemax"):
        return _torch_axis(torch, name, op, policy)
    if op == "forward":
        if policy == "alloc":
            if name not in _TORCH_ALLOC:
                return None
            fname, kw = _TORCH_ALLOC[name]
            fn = getattr(F, fname, None) or getattr(torch, fname)
            return lambda x, g, out, tmp: fn(x, **kw)
        if name == "log_sigmoid":  # its kernel writes the output and a buffer for backward
            return lambda x, g, out, tmp: A.log_sigmoid_forward.output(x, output=out, buffer=tmp)
        if name not in _TORCH_OUT:
            return None
        opname, args, kw = _TORCH_OUT[name]
        kernel = _overload(getattr(A, opname), "out")
        return lambda x, g, out, tmp: kernel(x, *args, **kw, out=out)
    entry = _TORCH_BACKWARD.get(name)
    if entry is None:
        return None
    opname, takes, args, kw = entry
    kernel = _overload(getattr(A, opname), policy)
    if kernel is None:
        return None
    outkw = {} if policy == "alloc" else {kernel._schema.arguments[-1].name: None}
    out_name = next(iter(outkw), None)
    saved: dict = {}

    def second(x):
        key = (x.data_ptr(), x.numel())
        if key not in saved:  # what autograd saved in the forward pass, computed once
            saved.clear()
            if takes == "y":
                saved[key] = getattr(torch, name)(x)
            elif takes == "buffer":
                saved[key] = A.log_sigmoid_forward.default(x)[1]
        return saved[key]

    def backward(x, g, out, tmp):
        extra = {out_name: out} if out_name else {}
        if takes == "x":
            return kernel(g, x, *args, **kw, **extra)
        if takes == "elu":  # elu_backward(grad, alpha, scale, input_scale, is_result, self)
            return kernel(g, *args, x, **extra)
        if takes == "buffer":
            return kernel(g, x, second(x), **extra)
        return kernel(g, second(x), **extra)

    return backward


def _torch_axis(torch, name: str, op: str, policy: str) -> Baseline | None:
    A, F = torch.ops.aten, torch.nn.functional
    if op == "forward":
        if policy == "out":
            fn = _TORCH_AXIS_OUT.get(name)
            return None if fn is None else (lambda x, g, out, tmp: fn(A, x, out))
        alloc = {
            "softmax": lambda x: F.softmax(x, -1),
            "softmin": lambda x: F.softmin(x, -1),
            "log_softmax": lambda x: F.log_softmax(x, -1),
            "logsumexp": lambda x: torch.logsumexp(x, -1),
            "standardize": lambda x: F.layer_norm(x, x.shape[-1:], eps=1e-5),
            "glu": lambda x: F.glu(x, -1),
            "swiglu": lambda x: F.silu(x[:, : x.shape[1] // 2]) * x[:, x.shape[1] // 2 :],
            "geglu": lambda x: F.gelu(x[:, : x.shape[1] // 2]) * x[:, x.shape[1] // 2 :],
            "reglu": lambda x: F.relu(x[:, : x.shape[1] // 2]) * x[:, x.shape[1] // 2 :],
        }.get(name)
        return None if alloc is None else (lambda x, g, out, tmp: alloc(x))
    if name == "glu":
        kernel = _overload(A.glu_backward, policy)
        if policy == "alloc":
            return lambda x, g, out, tmp: kernel(g, x, -1)
        return lambda x, g, out, tmp: kernel(g, x, -1, grad_input=out)
    if name not in _TORCH_AXIS_BACKWARD:
        return None
    opname, out_name = _TORCH_AXIS_BACKWARD[name]
    kernel = _overload(getattr(A, opname), policy)
    forward = {"softmax": A._softmax.default, "log_softmax": A._log_softmax.default}[name]
    saved: dict = {}

    def backward(x, g, out, tmp):
        key = (x.data_ptr(), x.numel())
        if key not in saved:
            saved.clear()
            saved[key] = forward(x, -1, False)
        extra = {} if policy == "alloc" else {out_name: out}
        return kernel(g, saved[key], -1, x.dtype, **extra)

    return backward


# ---- numexpr ---------------------------------------------------------------------------------

NUMEXPR_FORWARD = {
    "relu": "where(x > 0, x, 0)",
    "leaky_relu": "where(x > 0, x, 0.01 * x)",
    "elu": "where(x > 0, x, expm1(x))",
    "sigmoid": "1 / (1 + exp(-x))",
    "tanh": "tanh(x)",
    "silu": "x / (1 + exp(-x))",
    "gelu_tanh": "0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))",
    "mish": "x * tanh(log1p(exp(x)))",
    "softplus": "log1p(exp(x))",
    "softsign": "x / (1 + abs(x))",
    "exponential": "exp(x)",
    "squareplus": "0.5 * (x + sqrt(x * x + 4))",
    "tanhshrink": "x - tanh(x)",
}


def numexpr_baseline(name: str, op: str) -> Baseline | None:
    """numexpr's evaluation of the forward expression, or None."""
    try:
        import numexpr
    except ImportError:
        return None
    expr = NUMEXPR_FORWARD.get(name) if op == "forward" else None
    if expr is None:
        return None

    def fn(x, g, out, tmp):
        numexpr.evaluate(expr, local_dict={"x": x}, out=out, casting="same_kind")

    return fn
