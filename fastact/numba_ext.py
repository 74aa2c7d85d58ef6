"""fastact inside Numba code: activation objects are first-class values in ``@njit``,
``@vectorize`` and ``@cuda.jit`` device code.

::

    @numba.njit
    def layer(x, w):
        return fastact.gelu(x @ w)          # arrays: a fresh array of the same shape

    @numba.njit
    def loop(x, out):
        for i in range(x.size):
            out[i] = fastact.leaky_relu.backward(x[i], 1.0, 0.2)   # scalars, inlined

An activation (:class:`fastact.Activation`, a builtin, a plugin's or a composition such as
``fastact.get("x*tanh.softplus")``) reaches compiled code as a global (Numba freezes globals
when it compiles) or as an argument; either way :func:`typeof_activation` gives it a Numba type
that carries its spec, and calling it (``act(x, *params)``, ``act.grad``, ``act.backward``) is
typed here and compiled from the spec's own scalar function, so the loop inlines the same code
as fastact's kernels and gives the same bits: float32 input evaluated in float64 and rounded
once unless the spec is float32-native, integers and bools in float64, parameters cast to the
input's float type first.

Inside compiled code parameters are positional scalars (trailing ones take their defaults) and
are checked against their bounds (:class:`fastact.ParameterError`); a spec's ``check_params``
(constraints between parameters, e.g. ``min_val < max_val``) is not evaluated there, nor are
array parameters, broadcasting between ``x`` and ``grad_out``, ``out=``, keywords, float16 or
axis-wise activations: each of those is a clear ``TypingError`` (or error at run time).

Numba loads this module itself, through the ``numba_extensions`` entry point in fastact's
``pyproject.toml`` (it calls :func:`init` the first time it needs extensions: when the first
``@njit`` function is made), so ``import fastact`` still imports no Numba.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numba
import numpy as np
from numba import types
from numba.core import errors as numba_errors
from numba.core.imputils import lower_builtin, lower_constant
from numba.extending import NativeValue, models, overload_method, register_model, typeof_impl, unbox

from ._jit import activate_jitables, jitable
from .activation import Activation
from .axis import AxisActivation
from .errors import ParameterError, ShapeMismatchError
from .kernels import cuda as cuda_kernels
from .spec import ActivationSpec

__all__ = ["ActivationType", "init", "init_cuda", "typeof_activation"]

_lock = threading.RLock()
_scalar_fns: dict[Callable, Callable] = {}
_impls: dict[tuple, Callable] = {}
_ready = False
_cuda_ready = False


class ActivationType(types.Dummy):
    """The Numba type of one activation (one spec): calls on it compile from ``spec``.

    Two objects with the same spec (``fastact.gelu`` and ``fastact.get("gelu",
    target="parallel")``) have the same type; the key holds the spec's identity, so a
    re-registered activation gets a new type and a fresh compile.
    """

    def __init__(self, spec, qualified_name: str):
        self.spec = spec
        self.qualified_name = qualified_name
        super().__init__(f"fastact.Activation({qualified_name}, spec={id(spec):#x})")


register_model(ActivationType)(models.OpaqueModel)


def typeof_activation(val: Activation | AxisActivation, c=None) -> ActivationType:
    """The Numba type of an activation object (what Numba's ``typeof`` returns for one)."""
    return ActivationType(val.spec, val.qualified_name)


@lower_constant(ActivationType)
def _lower_constant(context, builder, ty, pyval):
    return context.get_dummy_value()  # the type carries everything; the value is nothing


@unbox(ActivationType)
def _unbox(typ, obj, c):
    return NativeValue(c.context.get_dummy_value())


# -- dtypes -------------------------------------------------------------------------------


def _work_type(ty, name: str):
    """The float type fastact computes ``ty`` (a scalar Numba type) in, as outside Numba."""
    if isinstance(ty, types.Float):
        if ty.bitwidth == 16:
            raise numba_errors.TypingError(
                f"fastact.{name}: float16 is not supported inside Numba code; cast to float32"
            )
        return ty
    if isinstance(ty, (types.Integer, types.Boolean)):
        return types.float64
    raise numba_errors.TypingError(
        f"fastact.{name}: inputs must be real numbers or arrays of them inside Numba code, not {ty}"
    )


def _operand(ty, name: str, what: str = "x"):
    """``(is_array, work float type)`` of an input type."""
    if isinstance(ty, types.Array):
        return True, _work_type(ty.dtype, name)
    if isinstance(ty, (types.Float, types.Integer, types.Boolean)):
        return False, _work_type(ty, name)
    raise numba_errors.TypingError(
        f"fastact.{name}: {what} must be a real scalar or a NumPy array inside Numba code, not {ty}"
    )


# -- the scalar code ------------------------------------------------------------------------


def scalar_function(fn: Callable) -> Callable:
    """``fn`` (a spec's scalar function) made callable from any Numba target: registered once
    with ``register_jitable`` (fastact's options: ``forceinline``, NumPy's error model), or
    used as it is when it already is a Numba dispatcher."""
    if hasattr(fn, "py_func"):
        return fn
    with _lock:
        if fn not in _scalar_fns:
            jitable(fn)  # registers at once: init() has activated the jitables
            _scalar_fns[fn] = fn
        return _scalar_fns[fn]


def _check_lines(spec: ActivationSpec, params: list[str]) -> list[str]:
    """Bounds checks for the parameters (NaN fails a bounded one, as outside Numba)."""
    lines = []
    for p, v in zip(spec.params, params):
        tests = []
        if p.lower is not None:
            tests.append(f"{v} {'>' if p.lower_open else '>='} {float(p.lower)!r}")
        if p.upper is not None:
            tests.append(f"{v} {'<' if p.upper_open else '<='} {float(p.upper)!r}")
        if tests:
            message = f"{spec.name}: parameter {p.name!r} is outside {p.interval()}"
            lines.append(f"    if not ({' and '.join(tests)}):")
            lines.append(f"        raise _ParameterError({message!r})")
    return lines


def build_impl(
    spec: ActivationSpec, op: str, x, g, params: tuple, name: str, target: str = "cpu"
) -> Callable:
    """The implementation of ``op`` (forward, grad, backward) for these argument types: a
    Python function ``impl(self, x, [g,] *params)`` that Numba compiles (cached per types).
    ``target="cuda"``: device code, scalars only, the scalar function as a device function."""
    key = (id(spec), op, x, g, params, target)
    with _lock:
        hit = _impls.get(key)
        if hit is not None and hit[0] is spec:
            return hit[1]
    if spec.kind != "elementwise":
        raise numba_errors.TypingError(
            f"fastact.{name} is axis-wise: inside Numba code only elementwise activations are supported"
        )
    fn = spec.forward if op == "forward" else spec.derivative
    if fn is None:
        raise numba_errors.TypingError(f"fastact.{name} has no derivative, so it has no {op} inside Numba")
    if len(params) > len(spec.params):
        raise numba_errors.TypingError(
            f"fastact.{name} takes {len(spec.params)} parameter(s) {spec.param_names}, got {len(params)}"
        )
    for i, pt in enumerate(params):
        if not isinstance(pt, (types.Float, types.Integer, types.Boolean, types.Omitted)):
            raise numba_errors.TypingError(
                f"fastact.{name}: parameter {spec.params[i].name!r} must be a scalar inside Numba code "
                f"(array parameters work outside it), not {pt}"
            )
    is_array, work = _operand(x, name)
    if target == "cuda" and (is_array or (g is not None and isinstance(g, types.Array))):
        raise numba_errors.TypingError(f"fastact.{name}: CUDA device code takes scalars (x[i]), not arrays")
    if g is not None:
        g_array, g_work = _operand(g, name, "grad_out")
        if g_array != is_array:
            raise numba_errors.TypingError(
                f"fastact.{name}.backward: x and grad_out must both be scalars or both arrays inside "
                f"Numba code (no broadcasting there), not {x} and {g}"
            )
        work = types.float64 if types.float64 in (work, g_work) else types.float32
    dtype = np.dtype(str(work))
    native = spec.float32_native
    nargs = len(params)
    pnames = [f"p{i}" for i in range(len(spec.params))]
    lines = [f"def impl(self, x{', g' if g is not None else ''}, *params):"]
    for i, (p, v) in enumerate(zip(spec.params, pnames)):
        source = f"params[{i}]" if i < nargs else repr(float(p.default))
        lines.append(f"    {v}_raw = {source}")
    lines += _check_lines(spec, [f"{v}_raw" for v in pnames])
    for v in pnames:
        lines.append(f"    {v} = _T({v}_raw)")  # cast to the input's float type, as fastact does

    def call(xv: str) -> str:
        wrap = (lambda a: a) if native else (lambda a: f"_W({a})")
        return f"_f({', '.join(wrap(a) for a in [xv, *pnames])})"

    if not is_array:
        lines.append("    xv = _T(x)")
        if g is None:
            lines.append(f"    return _T({call('xv')})")
        else:
            lines.append(f"    return _T(_T(g) * {call('xv')})")
    else:
        if g is not None:
            lines += [
                "    if x.shape != g.shape:",
                f"        raise _ShapeMismatchError({f'{spec.name}.backward: x and grad_out must have the same shape inside Numba code'!r})",  # noqa: E501
            ]
        # 1-D: plain indexing (the loop vectorizes); n-D: ``.flat`` (any layout, cheap to compile)
        at = "[i]" if x.ndim == 1 else ".flat[i]"
        lines.append("    out = np.empty(x.shape, _DT)")
        lines.append("    for i in range(x.size):")
        if g is None:
            lines.append(f"        out{at} = _T({call(f'_T(x{at})')})")
        else:
            lines.append(f"        out{at} = _T(_T(g{at}) * {call(f'_T(x{at})')})")
        lines.append("    return out")
    scalar = scalar_function(fn) if target == "cpu" else cuda_kernels.device_function(fn)
    namespace = {
        "inf": float("inf"), "nan": float("nan"), "np": np, "_T": getattr(numba, str(work)),
        "_W": numba.float64, "_DT": dtype, "_f": scalar, "_ParameterError": ParameterError,
        "_ShapeMismatchError": ShapeMismatchError,
    }  # fmt: skip
    exec(compile("\n".join(lines), f"<fastact numba {op} of {spec.name}>", "exec"), namespace)
    impl = namespace["impl"]
    with _lock:
        _impls[key] = (spec, impl)
    return impl


def _folded(params) -> tuple:
    """The parameter types of a ``*params`` call (Numba passes them as one tuple type)."""
    if len(params) == 1 and isinstance(params[0], types.BaseTuple):
        return tuple(params[0])
    return tuple(params)


def _typer(op: str, target: str = "cpu"):
    def typer(self, x, *params):
        if not isinstance(self, ActivationType):
            return None
        return build_impl(self.spec, op, x, None, _folded(params), self.spec.name, target)

    return typer


def _backward_typer(target: str = "cpu"):
    def typer(self, x, g, *params):
        if not isinstance(self, ActivationType):
            return None
        return build_impl(self.spec, "backward", x, g, _folded(params), self.spec.name, target)

    return typer


def _lower_call(context, builder, sig, args):
    """``act(x, *params)``: Numba types the call through the ``__call__`` method overloaded in
    :func:`init` and lowers a call on a non-function type through its type class, which lands
    here: hand it to that method's lowering (the implementation compiled while typing)."""
    call = context.get_function((ActivationType, "__call__"), sig)
    return call(builder, args)


def init() -> None:
    """Register fastact's types and overloads with Numba (called by Numba through the
    ``numba_extensions`` entry point; idempotent)."""
    global _ready
    with _lock:
        if _ready:
            return
        activate_jitables()
        typeof_impl.register(Activation)(typeof_activation)
        typeof_impl.register(AxisActivation)(typeof_activation)
        # forceinline: the scalar code inlines into the caller's loop, which then vectorizes
        options = {"jit_options": {"forceinline": True, "error_model": "numpy"}}
        overload_method(ActivationType, "__call__", **options)(_typer("forward"))
        overload_method(ActivationType, "grad", **options)(_typer("grad"))
        overload_method(ActivationType, "backward", **options)(_backward_typer())
        lower_builtin(ActivationType, types.VarArg(types.Any))(_lower_call)
        _ready = True


def init_cuda() -> None:
    """The same for numba-cuda's target, which keeps registries of its own (called by
    numba-cuda through its ``numba_cuda_extensions`` entry point): scalar calls in
    ``@cuda.jit`` device code, the scalar function compiled as a device function."""
    global _cuda_ready
    with _lock:
        if _cuda_ready:
            return
        from numba.cuda import extending as cuda_ext
        from numba.cuda.core import imputils as cuda_imputils

        activate_jitables()
        cuda_ext.typeof_impl.register(Activation)(typeof_activation)
        cuda_ext.typeof_impl.register(AxisActivation)(typeof_activation)
        cuda_ext.register_model(ActivationType)(cuda_ext.core_models.OpaqueModel)
        cuda_imputils.lower_constant(ActivationType)(_lower_constant)
        cuda_ext.unbox(ActivationType)(_unbox)
        options = {"target": "cuda", "jit_options": {"forceinline": True}}
        cuda_ext.overload_method(ActivationType, "__call__", **options)(_typer("forward", "cuda"))
        cuda_ext.overload_method(ActivationType, "grad", **options)(_typer("grad", "cuda"))
        cuda_ext.overload_method(ActivationType, "backward", **options)(_backward_typer("cuda"))
        cuda_imputils.lower_builtin(ActivationType, types.VarArg(types.Any))(_lower_call)
        _cuda_ready = True
