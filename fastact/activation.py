"""``Activation``: a registered spec bound to a target, callable like a NumPy ufunc.

``act(x, *params, out=None)`` evaluates the forward pass, ``act.grad`` the derivative and
``act.backward(x, grad_out)`` the fused vector-Jacobian product ``grad_out * f'(x)``.
Inputs follow NumPy: float32 and float64 are computed as they are; integers and bools in
float64; float16 in float32 and returned as float16. Parameters broadcast like extra ufunc
inputs and are cast to the input's float type, so a float32 input gives a float32 result.
Objects that implement ``__array_ufunc__`` (Dask, xarray) go straight to the ufunc.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from .errors import DTypeError, ParameterError, ShapeMismatchError, TargetUnavailableError
from .registry import Entry
from .spec import ActivationSpec

TARGETS = ("cpu", "parallel", "cuda", "auto")

#: Below this many elements the parallel target runs on one thread. Measured on 2 cores
#: (thread dispatch costs ~70 us): two threads win from ~3e4 elements for gelu, ~3e5 for
#: sigmoid and ~1e6 for the memory-bound relu; 2^20 is where none of them is slower.
PARALLEL_MIN_SIZE = 1 << 20

_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)
_MISS = object()  # the fast path's "not mine": the general path takes the call

_pool_lock = threading.Lock()
_pool_executor: ThreadPoolExecutor | None = None
_in_pool = threading.local()  # set in fastact's pool threads: nested calls there run inline


def default_threads() -> int:
    """``NUMBA_NUM_THREADS`` if set, else the number of cores."""
    env = os.environ.get("NUMBA_NUM_THREADS", "").strip()
    return int(env) if env.isdigit() and int(env) > 0 else (os.cpu_count() or 1)


def _mark_pool_thread() -> None:
    _in_pool.active = True


def _pool() -> ThreadPoolExecutor:
    """The one process-wide pool behind the ``parallel`` target, created on first use with
    as many workers as :func:`default_threads` (at least 2): however many thread counts are
    asked for, no more threads than that ever exist. A call asking for more chunks than
    workers queues the rest."""
    global _pool_executor
    with _pool_lock:
        if _pool_executor is None:
            _pool_executor = ThreadPoolExecutor(
                max(2, default_threads()), thread_name_prefix="fastact", initializer=_mark_pool_thread
            )
        return _pool_executor


class Bound:
    """What every activation bound to a target shares: the registry entry, the target and
    thread count (validated), the descriptive properties, ``repr`` and pickling by name."""

    def __init__(self, entry: Entry, target: str = "cpu", threads: int | None = None):
        if target not in TARGETS:
            raise TargetUnavailableError(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}")
        if target == "cuda":
            self._require_cuda(entry)
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
            raise ParameterError(f"threads must be a positive integer, not {threads!r}")
        self._entry = entry
        self.target = target
        self.threads = (threads or default_threads()) if target == "parallel" else 1

    @staticmethod
    def _require_cuda(entry: Entry) -> None:
        from .kernels import cuda

        cuda.require()

    @property
    def spec(self):
        return self._entry.spec

    @property
    def name(self) -> str:
        return self._entry.spec.name

    @property
    def qualified_name(self) -> str:
        return self._entry.qualified_name

    @property
    def reference(self):
        """The float64 NumPy reference implementation of the forward pass."""
        return self.spec.reference

    def __repr__(self) -> str:
        threads = f" threads={self.threads}" if self.target == "parallel" else ""
        return f"<fastact.{type(self).__name__} {self.qualified_name} target={self.target}{threads}>"

    def __reduce__(self):
        threads = self.threads if self.target == "parallel" else None
        if self._entry.source == "compose":
            from .composition import origin

            return (_composed, (*origin(self.spec), self.target, threads))
        from . import get

        return (get, (self.qualified_name, self.target, threads))

    def on(self, target: str) -> Bound:
        """This activation bound to another target (same spec, compositions included)."""
        return type(self)(self._entry, target)

    def bind(self, params: tuple = (), kw: dict | None = None) -> tuple:
        """Resolve positional and keyword parameters against the spec, filling defaults."""
        spec = self.spec
        kw = dict(kw or {})
        if len(params) > len(spec.params):
            raise ParameterError(
                f"{spec.name} takes {len(spec.params)} parameter(s) {spec.param_names}, "
                f"got {len(params)} positional"
            )
        values = list(params)
        for p in spec.params[len(params) :]:
            values.append(kw.pop(p.name, p.default))
        for name in kw:
            if name in spec.param_names:
                raise ParameterError(f"{spec.name}: parameter {name!r} given twice")
        if kw:
            valid = ", ".join(spec.param_names) or "none"
            raise ParameterError(
                f"{spec.name}: unknown parameter(s) {', '.join(map(repr, kw))}; valid: {valid}"
            )
        return tuple(values)


def _composed(names, times_x, name, target, threads):
    """Rebuild a pickled composition (see :meth:`Bound.__reduce__`)."""
    from .composition import compose

    return Activation(Entry(compose(*names, times_x=times_x, name=name), "compose"), target, threads)


class Activation(Bound):
    """An activation bound to a target; see the module docstring for the call semantics.

    ``target="parallel"`` splits contiguous arrays of at least :data:`PARALLEL_MIN_SIZE`
    elements into one chunk per thread (``threads``, default :func:`default_threads`) and runs
    the GIL-free kernel loop on each; results are bitwise those of the ``cpu`` target.
    """

    def __init__(self, entry: Entry, target: str = "cpu", threads: int | None = None):
        super().__init__(entry, target, threads)
        self._compiled: dict[str, tuple] = {}
        self._fast_ops: dict[str, Any] = {}

    @property
    def spec(self) -> ActivationSpec:
        return self._entry.spec

    @property
    def __doc__(self) -> str:  # type: ignore[override]
        s = self.spec
        params = ", ".join(f"{p.name}={p.default!r}" for p in s.params)
        return f"{s.name}(x{', ' + params if params else ''}): {s.summary}\n\n{s.formula}"

    def ufunc(self, op: str = "forward") -> np.ufunc:
        """The compiled ``numpy.ufunc`` for ``op`` (forward, grad or backward): float32 and
        float64 loops, NumPy's own dispatch (``__array_ufunc__``, ``.reduce``-free use in
        other libraries), no fastact checks.

        Pass it only fresh or contiguous outputs: a Numba-generated ufunc picks its
        contiguous inner loop from the inputs' strides alone, so with contiguous inputs a
        strided ``out=`` is written as if it were contiguous (``ufunc(x, out=buf[::2])``).
        Calling the activation itself (``fastact.gelu(x, out=buf[::2])``) is always right.
        """
        return self._kernels(op)[0].ufunc

    def _kernels(self, op: str):
        found = self._compiled.get(op)
        if found is None:
            from .kernels import cpu

            found = self._compiled[op] = cpu.kernels(self.spec, op, label=self.qualified_name)
        return found

    # -- evaluation ----------------------------------------------------------------------

    def __call__(self, x: Any, *params: Any, out: Any = None, rng: Any = None, **kw: Any):
        """f(x; params), elementwise.

        On the ``cuda`` target (and ``auto`` with device arrays) two more keywords apply:
        ``stream`` (a Numba CUDA stream to launch and copy on) and ``keep_on_device`` (return
        a device array for host input instead of copying the result back).
        """
        if rng is None and not kw:
            result = self._fast("forward", x, None, params, out)
            if result is not _MISS:
                return result
        return self._apply("forward", x, None, params, kw, out, rng)

    def grad(self, x: Any, *params: Any, out: Any = None, rng: Any = None, **kw: Any):
        """f'(x; params), elementwise."""
        if rng is None and not kw:
            result = self._fast("grad", x, None, params, out)
            if result is not _MISS:
                return result
        return self._apply("grad", x, None, params, kw, out, rng)

    def backward(self, x: Any, grad_out: Any, *params: Any, out: Any = None, rng: Any = None, **kw: Any):
        """grad_out * f'(x; params) in one pass: the vector-Jacobian product of training."""
        if rng is None and not kw:
            result = self._fast("backward", x, grad_out, params, out)
            if result is not _MISS:
                return result
        return self._apply("backward", x, grad_out, params, kw, out, rng)

    # -- the fast path -----------------------------------------------------------------------

    def _fast(self, op, x, g, params, out):
        """The common call decided with a few cheap checks: a C-contiguous, aligned, writeable
        float32/float64 ``ndarray`` (or a Python float, a NumPy float32/float64 scalar), the
        same for ``grad_out``, parameters left at their defaults or given positionally as
        Python/NumPy scalars, no ``out`` or a matching one that shares no memory with the
        inputs unless it *is* ``x`` or ``grad_out``, a host target, under the parallel
        threshold. It calls the compiled contiguous loop directly; anything else returns
        ``_MISS`` and takes :meth:`_apply`, which computes the same bits more generally."""
        fast = self._fast_ops.get(op)
        if fast is None:
            fast = self._fast_ops[op] = self._prepare_fast(op)
        if fast is False:
            return _MISS
        loop, p32, p64 = fast
        tx = type(x)
        if tx is np.ndarray:
            dt = x.dtype
            if dt is _F64:
                p = p64
            elif dt is _F32:
                p = p32
            else:
                return _MISS
            if params:
                p = self._fast_params(params, dt)
                if p is None:
                    return _MISS
            f = x.flags
            shape = x.shape
            if not (f.c_contiguous and f.aligned and f.writeable) or not shape:
                return _MISS
            if self.threads > 1 and x.size >= PARALLEL_MIN_SIZE:
                return _MISS
            if g is not None:
                if type(g) is not np.ndarray or g.dtype is not dt or g.shape != shape:
                    return _MISS
                f = g.flags
                if not (f.c_contiguous and f.aligned and f.writeable):
                    return _MISS
            if out is None:
                o = np.empty(shape, dt)
            else:
                if type(out) is not np.ndarray or out.dtype is not dt or out.shape != shape:
                    return _MISS
                f = out.flags
                if not (f.c_contiguous and f.aligned and f.writeable):
                    return _MISS
                if out is not x and np.may_share_memory(out, x):
                    return _MISS
                if g is not None and out is not g and np.may_share_memory(out, g):
                    return _MISS
                o = out
            if len(shape) == 1:
                if g is None:
                    loop(x, o, *p)
                else:
                    loop(x, g, o, *p)
            elif g is None:
                loop(x.reshape(-1), o.reshape(-1), *p)
            else:
                loop(x.reshape(-1), g.reshape(-1), o.reshape(-1), *p)
            return o
        if out is None and (tx is float or tx is np.float64 or tx is np.float32) and (
            g is None or type(g) is tx
        ):
            # a scalar: one-element arrays through the same loop (so the same bits) -> a scalar
            dt = _F32 if tx is np.float32 else _F64
            p = p32 if dt is _F32 else p64
            if params:
                p = self._fast_params(params, dt)
                if p is None:
                    return _MISS
            o = np.empty(1, dt)
            if g is None:
                loop(np.array((x,), dt), o, *p)
            else:
                loop(np.array((x,), dt), np.array((g,), dt), o, *p)
            return o[0]
        return _MISS

    def _prepare_fast(self, op):
        """``(loop, float32 defaults, float64 defaults)``, or ``False`` when this activation
        never takes the fast path (a CUDA target, or no kernel for ``op``)."""
        if self.target == "cuda" or (op != "forward" and self.spec.derivative is None):
            return False
        _, loop = self._kernels(op)
        spec = self.spec
        defaults = [p.default for p in spec.params]
        if spec.check_params is not None and spec.check_params(*defaults):
            return False  # defaults that fail their own check: let the general path say so
        return loop, tuple(np.float32(v) for v in defaults), tuple(np.float64(v) for v in defaults)

    def _fast_params(self, params, dt):
        """Positional scalar parameters (the rest at their defaults) checked against their
        bounds and each other, in ``dt``; ``None`` for anything else (arrays, bools, too many)."""
        spec = self.spec
        if len(params) > len(spec.params):
            return None
        values = []
        for v in params:
            tv = type(v)
            if tv is not float and tv is not int and tv is not np.float64 and tv is not np.float32:
                return None
            values.append(v)
        for p in spec.params[len(params) :]:
            values.append(p.default)
        for p, v in zip(spec.params, values):
            if (p.lower is not None or p.upper is not None) and not p.accepts(v):
                return None  # the general path raises the precise ParameterError
        if spec.check_params is not None and spec.check_params(*(float(v) for v in values)):
            return None
        return tuple(dt.type(v) for v in values)

    def param_grad(self, x: Any, grad_out: Any, *params: Any, **kw: Any) -> dict[str, np.ndarray]:
        """d loss / d parameter for every learnable parameter, given d loss / d output.

        ``sum(grad_out * df/dp)`` reduced to the parameter's own shape: a scalar parameter
        gets a scalar, a per-channel one (``w[:, None, None]`` for an (N, C, H, W) batch) gets
        one value per channel, as autograd would. Parameters without a derivative in the spec
        are left out. Computed in float64, returned in the input's float type.
        """
        spec = self.spec
        values = self.bind(params, kw)
        arr, work, _ = _coerce_input(x, spec.name)
        garr, _, _ = _coerce_input(grad_out, spec.name, what="grad_out")
        checked = [_check_param(p, v, work, spec.name) for p, v in zip(spec.params, values)]
        shape = _broadcast_shape([arr, garr, *checked], spec.name)
        wide = [np.asarray(v, dtype=np.float64) for v in checked]
        result = {}
        for p, value in zip(spec.params, checked):
            if p.name not in spec.param_derivatives:
                continue
            kernel = _param_kernel(spec, p.name)
            with np.errstate(all="ignore"):
                full = kernel(arr.astype(np.float64), garr.astype(np.float64), *wide)
            result[p.name] = _unbroadcast(np.broadcast_to(full, shape), np.shape(value)).astype(work)
        return result

    def _apply(self, op, x, g, params, kw, out, rng):
        spec = self.spec
        stream = kw.pop("stream", None) if kw else None
        keep_on_device = bool(kw.pop("keep_on_device", False)) if kw else False
        values = self.bind(params, kw)
        if self.target in ("cuda", "auto") and (self.target == "cuda" or _on_device(x, g, out)):
            if rng is not None:
                raise ParameterError(f"{spec.name}: rng= is not supported on the cuda target")
            from .kernels import cuda

            return cuda.apply(spec, self.qualified_name, op, x, g, values, out, stream, keep_on_device)
        if stream is not None or keep_on_device:
            raise ParameterError(f"{spec.name}: stream= and keep_on_device= apply to the cuda target only")
        kernel, loop = self._kernels(op)
        if _is_masked(x) or _is_masked(g) or _is_masked(out):
            return self._apply_masked(op, x, g, values, out, rng)
        if _is_duck_array(x) or _is_duck_array(g):
            from . import daskarray

            if daskarray.is_dask_array(x) or daskarray.is_dask_array(g):
                return daskarray.elementwise(self, op, x, g, values, out, rng)
            # xarray and other __array_ufunc__ implementers dispatch on the raw ufunc.
            args = (x, *(() if g is None else (g,)), *values)
            return kernel(*args) if out is None else kernel(*args, out=out)

        arr, work_dtype, result_dtype = _coerce_input(x, spec.name)
        checked = [_check_param(p, v, work_dtype, spec.name) for p, v in zip(spec.params, values)]
        validate_params(spec, checked)
        operands = [arr]
        if g is not None:
            garr, gdtype, gresult = _coerce_input(g, spec.name, what="grad_out")
            operands.append(garr)
            work_dtype = np.promote_types(work_dtype, gdtype)
            result_dtype = np.promote_types(result_dtype, gresult)
            if arr.dtype != work_dtype or garr.dtype != work_dtype:
                operands = [o.astype(work_dtype) for o in operands]
                checked = [v.astype(work_dtype) if np.ndim(v) else work_dtype.type(v) for v in checked]
        if rng is not None:
            if spec.randomize is None:
                raise ParameterError(
                    f"{spec.name} is deterministic; rng= applies only to stochastic activations"
                )
            shape = _broadcast_shape([*operands, *checked], spec.name)
            checked = [
                np.asarray(v, dtype=work_dtype)
                for v in spec.randomize(np.random.default_rng(rng), shape, checked)
            ]
        shape = _broadcast_shape([*operands, *checked], spec.name)
        direct = None  # the caller's out=, when the kernels may write into it as it is
        if out is not None:
            _check_out(out, shape, work_dtype, spec.name)
            # float16 results are rounded to float16 before they are cast into a wider out,
            # as NumPy's float16 loops do
            if result_dtype == work_dtype and _writable_as_is(out, work_dtype, [*operands, *checked]):
                direct = out
        order = _contiguous_case(operands, checked, shape, work_dtype)
        if direct is not None and order and not direct.flags[f"{order}_CONTIGUOUS"]:
            order = None  # e.g. F-ordered inputs and a C-ordered out: the ufunc, then a copy
        if order:
            # the common case: one contiguous layout and dtype, scalar parameters -> the
            # vectorized loop (an njit loop raises no NumPy floating-point warnings)
            target = np.empty(shape, dtype=work_dtype, order=order) if direct is None else direct
            flats = [_loop_view(o).ravel(order="K") for o in operands] + [target.ravel(order="K")]
            if self.threads > 1 and target.size >= PARALLEL_MIN_SIZE:
                _run_chunked(loop, flats, checked, self.threads)
            else:
                loop(*flats, *checked)
            result = target
        else:
            # Kernels are branch-free: both sides of a select are computed, so the FP flags they
            # raise (overflow in the unused side, 'invalid' from compares with NaN) say nothing
            # about the result. Like PyTorch, fastact emits no floating-point warnings.
            # The ufunc always gets a fresh output: Numba's ufunc wrapper chooses its contiguous
            # inner loop from the *inputs'* strides alone, so a strided out= would be written as
            # if it were contiguous (see _writable_as_is).
            with np.errstate(all="ignore"):
                result = np.asarray(kernel(*operands, *checked))
        if result is not direct:
            result = _finish(result, result_dtype, out)
        if out is not None:
            return out
        return result[()] if result.ndim == 0 else result

    def _apply_masked(self, op, x, g, values, out, rng):
        """MaskedArray in, MaskedArray out, as NumPy's ufuncs do: the activation of the data,
        masked where any input is masked (values under the mask are not meaningful)."""
        mask = np.ma.getmask(x)
        if g is not None:
            mask = np.ma.mask_or(mask, np.ma.getmask(g), shrink=True)
        data_out = None if out is None else np.ma.getdata(out)
        if data_out is not None and not isinstance(data_out, np.ndarray):
            data_out = out
        result = self._apply(
            op, np.ma.getdata(x), None if g is None else np.ma.getdata(g), values, {}, data_out, rng
        )
        shape = np.shape(result)
        full = np.broadcast_to(mask, shape) if mask is not np.ma.nomask else np.ma.nomask
        if isinstance(out, np.ma.MaskedArray):
            out.mask = np.ma.nomask if full is np.ma.nomask else np.array(full)
            return out
        if out is not None:
            return out
        return np.ma.MaskedArray(result, mask=np.ma.nomask if full is np.ma.nomask else np.array(full))


def _finish(result: np.ndarray, result_dtype, out) -> np.ndarray:
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


_param_kernels: dict[tuple[int, str], tuple[ActivationSpec, Any]] = {}


def _param_kernel(spec: ActivationSpec, name: str):
    """A float64 ufunc g * d f / d ``name`` (x, g, *params), compiled once per spec (under
    the kernel lock, so concurrent first calls compile it once)."""
    hit = _param_kernels.get((id(spec), name))
    if hit is not None and hit[0] is spec:
        return hit[1]
    import numba

    from .errors import CompileError, compile_summary
    from .kernels.cpu import _lock, jit

    with _lock:
        hit = _param_kernels.get((id(spec), name))
        if hit is not None and hit[0] is spec:
            return hit[1]
        ps = ", ".join(f"p{i}" for i in range(len(spec.params)))
        sig = f"float64({', '.join(['float64'] * (2 + len(spec.params)))})"
        try:
            namespace = {"_d": jit(spec.param_derivatives[name])}
            exec(f"def dp(x, g, {ps}):\n    return g * _d(x, {ps})\n", namespace)
            kernel = numba.vectorize([sig])(namespace["dp"])
        except Exception as exc:
            raise CompileError(
                f"{spec.name}: the derivative with respect to {name!r} does not compile with Numba: "
                f"{compile_summary(exc)}"
            ) from exc
        _param_kernels[(id(spec), name)] = (spec, kernel)
        return kernel


def _unbroadcast(full: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``full`` down to ``shape`` (the reverse of broadcasting a parameter)."""
    extra = full.ndim - len(shape)
    out = full.sum(axis=tuple(range(extra))) if extra > 0 else full
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and out.shape[i] != 1)
    if axes:
        out = out.sum(axis=axes, keepdims=True)
    return np.asarray(out).reshape(shape)


def _on_device(*objs: Any) -> bool:
    """Whether any operand is a CUDA array (``__cuda_array_interface__``)."""
    from .kernels.cuda import is_device_array  # imports no Numba

    return any(o is not None and is_device_array(o) for o in objs)


def _run_chunked(loop, arrays, params, threads: int, align: int = 64) -> None:
    """Run ``loop`` over ``threads`` chunks of the arrays' first axis (``align``-element
    aligned): the calling thread takes the first chunk itself, the pool the others (the loop
    releases the GIL). Elementwise loops get flat arrays, axis-wise ones rows.

    Called from one of the pool's own threads (a parallel activation inside a task that runs
    on the pool) the whole range runs inline: waiting there on work queued behind the caller
    would deadlock. The chunks must not overlap in memory (callers guarantee it)."""
    n = arrays[-1].shape[0]
    if threads <= 1 or getattr(_in_pool, "active", False):
        loop(*arrays, *params)
        return
    step = -(-n // threads)
    step = -(-step // align) * align
    bounds = [(start, min(start + step, n)) for start in range(0, n, step)]
    pool = _pool()
    futures = [pool.submit(loop, *(a[lo:hi] for a in arrays), *params) for lo, hi in bounds[1:]]
    lo, hi = bounds[0]
    try:
        loop(*(a[lo:hi] for a in arrays), *params)
    finally:
        for future in futures:
            future.result()


def _contiguous_case(operands, params, shape, dtype) -> str | None:
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


def _loop_view(a: np.ndarray) -> np.ndarray:
    return a if a.flags.writeable else np.asarray(_InputView(a))


def _writable_as_is(out, dtype, operands) -> bool:
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
        if isinstance(a, np.ndarray) and np.may_share_memory(out, a) and not _same_elements(out, a):
            return False
    return True


def _same_elements(a: np.ndarray, b: np.ndarray) -> bool:
    return (
        a.shape == b.shape
        and a.strides == b.strides
        and a.dtype == b.dtype
        and a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
    )


def _is_masked(x: Any) -> bool:
    return isinstance(x, np.ma.MaskedArray)


def _is_duck_array(x: Any) -> bool:
    if x is None or isinstance(x, (np.ndarray, np.generic)):
        return False
    return getattr(type(x), "__array_ufunc__", None) is not None


def _coerce_input(x: Any, name: str, what: str = "input"):
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


def _check_param(param, value, dtype, name):
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


def _broadcast_shape(operands, name):
    shapes = {np.shape(o) for o in operands} - {()}
    if len(shapes) <= 1:  # the common case: one shape and scalar parameters
        return shapes.pop() if shapes else ()
    try:
        return np.broadcast_shapes(*(np.shape(o) for o in operands))
    except ValueError:
        shapes = ", ".join(str(np.shape(o)) for o in operands)
        raise ShapeMismatchError(f"{name}: operands do not broadcast together: {shapes}") from None


def _check_out(out, shape, dtype, name):
    if not isinstance(out, np.ndarray):
        raise DTypeError(f"{name}: out= must be a NumPy array, not {type(out).__name__}")
    if out.shape != shape:
        raise ShapeMismatchError(f"{name}: out= has shape {out.shape} but the result has shape {shape}")
    if not np.can_cast(dtype, out.dtype, casting="same_kind") or out.dtype.kind != "f":
        raise DTypeError(f"{name}: out= has dtype {out.dtype}; the result is {dtype}")
    if not out.flags.writeable:
        raise ParameterError(f"{name}: out= is read-only")
