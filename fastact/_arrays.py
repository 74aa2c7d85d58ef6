"""The array rules every entry point shares: how inputs, parameters and ``out=`` are checked
and coerced (NumPy's ufunc semantics), when the compiled contiguous loops may be used, and
how a result is finished (rounded to the result dtype, copied into ``out``).

Used by the CPU callables (``activation``, ``axis``), Dask (``daskarray``) and the CUDA target
(``kernels.cuda``); it imports nothing of fastact's but the errors.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import DTypeError, ParameterError, ShapeMismatchError

F32 = np.dtype(np.float32)
F64 = np.dtype(np.float64)
MISS = object()  # the fast path's "not mine": the general path takes the call


def finish(result: np.ndarray, result_dtype, out) -> np.ndarray:
    """Round ``result`` to the result dtype (float16 inputs compute in float32) and copy it
    into ``out`` if given. Overflow in these casts is the value's own (inf), so, like the
    kernels, they raise no floating-point warnings."""
    with np.errstate(all="ignore"):
        if result.dtype != result_dtype:
            result = result.astype(result_dtype)
        if out is not None:
            np.copyto(out, result, casting="same_kind")
    return result


def validate_params(spec, checked) -> None:
    """Run ``spec.check_params`` (constraints between parameters, e.g. min <= max) on every
    combination of values that broadcasting will pair up, scalars and arrays alike; raise
    :class:`ParameterError` with the spec's message for the first combination it rejects."""
    check = getattr(spec, "check_params", None)
    if check is None or not checked:
        return
    if all(np.ndim(v) == 0 for v in checked):
        message = check(*(float(v) for v in checked))
    else:
        try:
            grid = np.broadcast_arrays(*(np.asarray(v) for v in checked))
        except ValueError:
            return  # the shape check reports it, naming every operand
        rows = np.unique(np.stack([np.asarray(a, dtype=np.float64).ravel() for a in grid], axis=1), axis=0)
        message = None
        for row in rows:
            message = check(*(float(v) for v in row))
            if message:
                break
    if message:
        raise ParameterError(f"{spec.name}: {message}")


def contiguous_case(operands, params, shape, dtype) -> str | None:
    """``"C"`` or ``"F"`` when the contiguous loop computes exactly what the ufunc would:
    every operand contiguous in that one layout (elementwise, memory order is all that
    matters), aligned and of the result's shape and dtype; scalar parameters. ``None``
    otherwise."""
    if len(shape) == 0 or any(np.ndim(p) for p in params):
        return None
    c = f = True
    for a in operands:
        flags = a.flags
        if a.dtype != dtype or a.shape != shape or not flags.aligned:
            return None
        c, f = c and flags.c_contiguous, f and flags.f_contiguous
    return "C" if c else "F" if f else None


class _InputView:
    """The memory of a read-only input, presented to NumPy as a writeable array.

    The contiguous loops are compiled for writeable arrays (Numba types read-only ones
    apart), and they only ever read their inputs: the generated loop body is
    ``out[i] = f(x[i])``. Giving a read-only input (``np.load(mmap_mode="r")``,
    ``np.frombuffer``) this view lets it take the vectorized loop instead of the ~3x slower
    ufunc, with no copy. It is used for loop inputs only, never for an output."""

    def __init__(self, a: np.ndarray):
        self._base = a  # keeps the memory alive as long as the view
        interface = dict(a.__array_interface__)
        interface["data"] = (interface["data"][0], False)
        self.__array_interface__ = interface


def loop_view(a: np.ndarray) -> np.ndarray:
    return a if a.flags.writeable else np.asarray(_InputView(a))


def writable_as_is(out, dtype, operands) -> bool:
    """Whether the kernels may write straight into ``out``: the compute dtype in native byte
    order, contiguous (C or F), aligned, and sharing no memory with any operand unless it *is* that
    operand element for element (elementwise in place is safe: each element is read before
    it is written, by the same thread). Anything else is computed into a temporary and
    copied, which is what NumPy guarantees for overlapping operands.

    Strided outputs must not reach Numba's ufunc either: its generated wrapper picks the
    contiguous inner loop when the *inputs* are contiguous and ignores the output's stride, so
    ``numba.vectorize(["float64(float64)"])(f)(np.ones(4), out=np.empty(8)[::2])`` writes the
    first four elements of the buffer, not every other one (and a negative-stride out writes
    before the buffer). fastact therefore hands that ufunc only fresh outputs.
    """
    f = out.flags
    contiguous = f.c_contiguous or f.f_contiguous
    if type(out) is not np.ndarray or out.dtype != dtype or not (contiguous and f.aligned):
        return False
    for a in operands:
        if isinstance(a, np.ndarray) and np.may_share_memory(out, a) and not same_elements(out, a):
            return False
    return True


def same_elements(a: np.ndarray, b: np.ndarray) -> bool:
    return (
        a.shape == b.shape
        and a.strides == b.strides
        and a.dtype == b.dtype
        and a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
    )


def is_masked(x: Any) -> bool:
    return isinstance(x, np.ma.MaskedArray)


def is_duck_array(x: Any) -> bool:
    if x is None or isinstance(x, (np.ndarray, np.generic)):
        return False
    return getattr(type(x), "__array_ufunc__", None) is not None


def coerce_input(x: Any, name: str, what: str = "input"):
    """Return (array, dtype to compute in, dtype to return) following NumPy's ufunc rules."""
    try:
        arr = np.asarray(x)
    except Exception as exc:
        raise DTypeError(
            f"{name}: cannot convert {what} of type {type(x).__name__} to an array: {exc}"
        ) from None
    kind = arr.dtype.kind
    if kind in "biuf" and not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))  # NumPy computes in native order too
    if kind == "f":
        if arr.dtype == np.float16:
            return arr.astype(np.float32), np.dtype(np.float32), np.dtype(np.float16)
        if arr.dtype.itemsize > 8:
            raise DTypeError(f"{name}: {what} dtype {arr.dtype} is not supported; cast to float64")
        return arr, arr.dtype, arr.dtype
    if kind in "biu":
        arr = arr.astype(np.float64)
        return arr, arr.dtype, arr.dtype
    if kind == "c":
        raise DTypeError(f"{name}: complex {what} is not supported (activations are real functions)")
    raise DTypeError(f"{name}: {what} dtype {arr.dtype} is not numeric; expected float32 or float64")


def check_param(param, value, dtype, name):
    try:
        arr = np.asarray(value)
    except Exception:
        arr = np.asarray(None)
    if arr.dtype.kind not in "biuf":
        raise ParameterError(f"{name}: parameter {param.name!r} must be real numbers, not {value!r}")
    bounded = param.lower is not None or param.upper is not None
    if bounded:
        ok = np.ones(arr.shape, dtype=bool)
        with np.errstate(invalid="ignore"):
            if param.lower is not None:
                ok &= arr > param.lower if param.lower_open else arr >= param.lower
            if param.upper is not None:
                ok &= arr < param.upper if param.upper_open else arr <= param.upper
        if not ok.all():
            bad = (arr[~ok].flat[0] if arr.ndim else arr).item()
            raise ParameterError(f"{name}: parameter {param.name!r} = {bad!r} is outside {param.interval()}")
    if arr.ndim == 0:
        return dtype.type(arr)
    return arr.astype(dtype, copy=False)


def broadcast_shape(operands, name):
    shapes = {np.shape(o) for o in operands} - {()}
    if len(shapes) <= 1:  # the common case: one shape and scalar parameters
        return shapes.pop() if shapes else ()
    try:
        return np.broadcast_shapes(*(np.shape(o) for o in operands))
    except ValueError:
        shapes = ", ".join(str(np.shape(o)) for o in operands)
        raise ShapeMismatchError(f"{name}: operands do not broadcast together: {shapes}") from None


def check_out(out, shape, dtype, name):
    if not isinstance(out, np.ndarray):
        raise DTypeError(f"{name}: out= must be a NumPy array, not {type(out).__name__}")
    if out.shape != shape:
        raise ShapeMismatchError(f"{name}: out= has shape {out.shape} but the result has shape {shape}")
    if not np.can_cast(dtype, out.dtype, casting="same_kind") or out.dtype.kind != "f":
        raise DTypeError(f"{name}: out= has dtype {out.dtype}; the result is {dtype}")
    if not out.flags.writeable:
        raise ParameterError(f"{name}: out= is read-only")


def apart(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two arrays certainly share no memory: cheaply when both own their memory (two
    distinct allocations), else by NumPy's bounds check."""
    if a.base is None and b.base is None and a is not b and a.flags.owndata and b.flags.owndata:
        return True
    return not np.may_share_memory(a, b)


def plain(a: Any, dtype: np.dtype, shape: tuple) -> bool:
    """Whether ``a`` is what the compiled loops take as is: exactly an ``ndarray`` of
    ``dtype`` (the identical dtype object) and ``shape``, C-contiguous, aligned, writeable."""
    if type(a) is not np.ndarray or a.dtype is not dtype or a.shape != shape:
        return False
    return a.flags.carray  # C-contiguous, aligned and writeable, in one flag
