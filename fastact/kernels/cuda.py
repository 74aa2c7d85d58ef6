"""CUDA kernels per (activation, op): ``numba.cuda.jit`` grid-stride loops over flat arrays.

The spec's scalar function becomes a device function; the kernel is generated from the same
template as the CPU loop (float32 evaluated in float64 and rounded once unless the spec is
float32-native, so results equal the CPU target's), with the parameters as scalar kernel
arguments, or as arrays of the output's size when the caller passes per-element parameters.
numba-cuda (the ``cuda`` extra) compiles one kernel per argument types on first launch and
keeps it for the process.

Arrays: NumPy inputs are copied to the device and the result copied back; any object with
``__cuda_array_interface__`` (Numba device arrays, CuPy, PyTorch CUDA tensors) is used in
place. In the CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``), which runs kernels in Python on
the host, such objects are viewed in place through their data pointer.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import math
import os
import threading
from collections.abc import Callable

import numpy as np

from .._arrays import broadcast_shape, check_out, check_param, coerce_input, validate_params
from .._jit import activate_jitables
from ..errors import (
    CompileError,
    DTypeError,
    ParameterError,
    ShapeMismatchError,
    TargetUnavailableError,
    compile_summary,
)
from ..spec import ActivationSpec

THREADS_PER_BLOCK = 256
SIMULATOR_HINT = (
    "set NUMBA_ENABLE_CUDASIM=1 before importing fastact to run the kernels in the CUDA simulator"
)

_lock = threading.RLock()
_built: dict[tuple[int, str, bool], tuple[ActivationSpec, Callable]] = {}
_device_fns: dict[Callable, Callable] = {}
_status: str | None = None


def simulator() -> bool:
    return os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")


def unavailable_reason() -> str | None:
    """Why the CUDA target cannot run here, in one line; ``None`` when it can."""
    global _status
    if _status is not None:
        return _status or None
    if importlib.util.find_spec("numba_cuda") is None:
        _status = "target 'cuda' needs numba-cuda: pip install 'fastact[cuda]'"
        return _status
    try:
        from numba import cuda

        ok = cuda.is_available()
    except Exception as exc:  # a broken driver install
        ok, detail = False, f" ({type(exc).__name__}: {exc})"
    else:
        detail = ""
    _status = "" if ok else f"no CUDA device or driver was found{detail}; {SIMULATOR_HINT}"
    return _status or None


def require() -> None:
    """Raise :class:`TargetUnavailableError` (one line) unless the CUDA target can run."""
    reason = unavailable_reason()
    if reason:
        raise TargetUnavailableError(reason)


def is_device_array(obj: object) -> bool:
    """True for objects exposing ``__cuda_array_interface__`` (and simulator device arrays)."""
    if hasattr(obj, "__cuda_array_interface__"):
        return True
    return simulator() and type(obj).__name__ == "FakeCUDAArray"


def as_device_array(obj: object):
    """A Numba device array over ``obj``'s memory (no copy)."""
    from numba import cuda

    if type(obj).__name__ == "FakeCUDAArray" or not hasattr(obj, "__cuda_array_interface__"):
        return obj
    if hasattr(cuda, "as_cuda_array"):
        return cuda.as_cuda_array(obj)
    # the simulator has no as_cuda_array: its "device" memory is host memory, viewed in place
    cai = obj.__cuda_array_interface__
    dtype = np.dtype(cai["typestr"])
    shape = tuple(cai["shape"])
    strides = cai.get("strides")
    span = int(np.prod(shape)) * dtype.itemsize if strides is None else (
        sum((n - 1) * abs(s) for n, s in zip(shape, strides)) + dtype.itemsize
    )  # fmt: skip
    buffer = (ctypes.c_char * max(span, 1)).from_address(cai["data"][0])
    return np.ndarray(shape, dtype, buffer=buffer, strides=strides)


#: ``math`` functions that raise in Python where compiled code returns NaN or infinity
_RAISING_MATH = ("sin", "cos", "tan", "exp", "expm1", "log", "log1p", "log2", "log10", "sqrt", "pow",
                 "asin", "acos", "sinh", "cosh", "atanh", "acosh", "fmod")  # fmt: skip


@contextlib.contextmanager
def _simulated_math():
    """In the simulator the scalar code runs as Python, where ``math.sin(inf)`` raises instead of
    returning NaN as compiled code does: map those ``math`` functions onto NumPy's for the
    launch. Does nothing on a real GPU."""
    if not simulator():
        yield
        return
    saved = {name: getattr(math, name) for name in _RAISING_MATH}

    def numpy_version(name):
        ufunc = {"pow": np.power, "asin": np.arcsin, "acos": np.arccos, "atanh": np.arctanh,
                 "acosh": np.arccosh}.get(name) or getattr(np, name)  # fmt: skip

        def call(*args):
            with np.errstate(all="ignore"):
                return float(ufunc(*(float(a) for a in args)))

        return call

    with _lock:
        try:
            for name in _RAISING_MATH:
                setattr(math, name, numpy_version(name))
            yield
        finally:
            for name, fn in saved.items():
                setattr(math, name, fn)


OPS = ("forward", "grad", "backward")
#: the kernel source; every field is made here (op from OPS, p0..pk, x, g, out, n): no spec or
#: plugin text is interpolated (the label only names the compiled code object)
_TEMPLATE = """\
def {op}({args}):
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    for i in range(start, n, stride):
        out[i] = {body}
"""


def device_function(fn: Callable) -> Callable:
    """The spec's scalar function compiled as a CUDA device function (once)."""
    from numba import cuda

    with _lock:
        activate_jitables()
        if fn not in _device_fns:
            _device_fns[fn] = cuda.jit(device=True)(getattr(fn, "py_func", fn))
        return _device_fns[fn]


def kernel(spec: ActivationSpec, op: str, array_params: bool = False, label: str | None = None):
    """The ``cuda.jit`` kernel ``k(x, [g,] out, n, *params)`` for ``op`` of ``spec``.

    ``x``, ``g`` and ``out`` are flat device arrays of one dtype; ``params`` are scalars, or
    flat arrays of ``n`` elements when ``array_params``.
    """
    if op not in OPS:  # op is written into the kernel's source: only these names
        raise ValueError(f"op must be one of {OPS}, not {op!r}")
    key = (id(spec), op, bool(array_params))
    with _lock:
        hit = _built.get(key)
        if hit is not None and hit[0] is spec:
            return hit[1]
        built = _build(spec, op, array_params, label or spec.name)
        _built[key] = (spec, built)
        return built


def _build(spec: ActivationSpec, op: str, array_params: bool, label: str):
    from numba import cuda

    fn = spec.forward if op == "forward" else spec.derivative
    if fn is None:
        raise CompileError(f"{label}: the spec has no derivative, so it has no {op} kernel")
    params = [f"p{i}" for i in range(len(spec.params))]
    args = ", ".join(["x", *(["g"] if op == "backward" else []), "out", "n", *params])
    wrap = (lambda a: a) if spec.float32_native else (lambda a: f"numba.float64({a})")
    values = ["x[i]", *(f"{p}[i]" if array_params else p for p in params)]
    call = f"_f({', '.join(wrap(a) for a in values)})"
    body = f"g[i] * {call}" if op == "backward" else call
    source = _TEMPLATE.format(op=op, args=args, body=body)
    import numba

    namespace = {"numba": numba, "cuda": cuda}
    try:
        namespace["_f"] = device_function(fn)
        exec(compile(source, f"<fastact cuda kernel {label!r} {op}>", "exec"), namespace)
        return cuda.jit(namespace[op])
    except Exception as exc:
        raise CompileError(f"{label}: the {op} CUDA kernel does not compile: {compile_summary(exc)}") from exc


def launch_config(n: int) -> tuple[int, int]:
    """(blocks, threads per block): one full wave of resident blocks, grid-stride beyond it.

    256 threads per block; at most 2048 / 256 = 8 resident blocks per multiprocessor on
    current GPUs, so ``8 * SMs`` blocks fill the device once and each thread loops over the
    rest. The simulator runs every thread as a Python thread: one small block there.
    """
    if simulator():
        return 1, min(32, max(n, 1))
    from numba import cuda

    sms = getattr(cuda.get_current_device(), "MULTIPROCESSOR_COUNT", 1)
    blocks = min(-(-n // THREADS_PER_BLOCK), 8 * sms)
    return max(blocks, 1), THREADS_PER_BLOCK


# ---- calling a kernel -------------------------------------------------------------------------


def _device_operand(obj, name: str, what: str):
    """A flat-able device array for a CUDA-resident operand, after dtype/layout checks."""
    arr = as_device_array(obj)
    dtype = np.dtype(arr.dtype)
    if dtype not in (np.float32, np.float64):
        raise DTypeError(
            f"{name}: {what} on the device has dtype {dtype}; the cuda target takes float32 or float64"
        )
    contiguous = arr.flags.c_contiguous if isinstance(arr, np.ndarray) else arr.is_c_contiguous()
    if not contiguous:
        raise ParameterError(f"{name}: {what} on the device must be C-contiguous")
    return arr


def apply(spec: ActivationSpec, label: str, op: str, x, g, values, out, stream, keep_on_device: bool):
    """Run ``op`` on the device; see :meth:`fastact.Activation.__call__` for the semantics."""
    from numba import cuda

    require()
    name = spec.name
    operands = []  # (array, on the device?)
    result_dtype = None
    for obj, what in ((x, "input"), (g, "grad_out")):
        if obj is None:
            continue
        if is_device_array(obj):
            arr = _device_operand(obj, name, what)
            operands.append((arr, True))
            res = np.dtype(arr.dtype)
        else:
            arr, _, res = coerce_input(obj, name, what)
            operands.append((arr, False))
        result_dtype = res if result_dtype is None else np.promote_types(result_dtype, res)
    on_device = any(dev for _, dev in operands)
    work_dtype = np.result_type(*(np.dtype(a.dtype) for a, _ in operands))
    device_dtypes = {np.dtype(a.dtype) for a, dev in operands if dev}
    if device_dtypes and device_dtypes != {work_dtype}:
        raise DTypeError(f"{name}: operands have dtypes {sorted(map(str, device_dtypes | {work_dtype}))}; "
                         "device arrays are not cast, pass one dtype")  # fmt: skip
    checked = [check_param(p, v, work_dtype, name) for p, v in zip(spec.params, values)]
    validate_params(spec, checked)
    shape = tuple(broadcast_shape([a for a, _ in operands] + checked, name))
    n = int(np.prod(shape, dtype=np.int64))
    for a, dev in operands:
        if dev and tuple(a.shape) != shape:
            raise ShapeMismatchError(
                f"{name}: a device operand of shape {tuple(a.shape)} would need broadcasting to {shape}; "
                "the cuda target broadcasts host arrays only"
            )

    def upload(a):
        host = np.ascontiguousarray(np.broadcast_to(np.asarray(a, dtype=work_dtype), shape)).reshape(n)
        return cuda.to_device(host, stream=stream or 0)

    flat = [a.reshape(n) if dev else upload(a) for a, dev in operands]
    array_params = any(np.ndim(v) for v in checked)
    params = [upload(v) for v in checked] if array_params else [work_dtype.type(v) for v in checked]

    host_out = None
    if out is not None and is_device_array(out):
        dev_out = _device_operand(out, name, "out=")
        if tuple(dev_out.shape) != shape:
            raise ShapeMismatchError(
                f"{name}: out= has shape {tuple(dev_out.shape)} but the result has shape {shape}"
            )
        if np.dtype(dev_out.dtype) != work_dtype:
            raise DTypeError(
                f"{name}: out= on the device has dtype {dev_out.dtype}; the result is {work_dtype}"
            )
        target = dev_out.reshape(n)
    else:
        if out is not None:
            check_out(out, shape, work_dtype, name)
            host_out = out
        target = cuda.device_array(n, dtype=work_dtype, stream=stream or 0)

    if n:
        k = kernel(spec, op, array_params, label)
        blocks, threads = launch_config(n)
        launch = k[blocks, threads] if stream is None else k[blocks, threads, stream]
        with _simulated_math():
            launch(*flat, target, n, *params)

    if out is not None and host_out is None:
        return out  # written in place on the device
    if host_out is None and (on_device or keep_on_device):
        return target.reshape(shape)
    result = target.copy_to_host(stream=stream or 0)
    if stream is not None:
        stream.synchronize()
    result = result.reshape(shape)
    if host_out is not None:
        host_out[...] = result
        return host_out
    return result.astype(result_dtype) if result_dtype != work_dtype else result
