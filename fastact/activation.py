"""``Activation``: a registered spec bound to a target, callable like a NumPy ufunc.

``act(x, *params, out=None)`` evaluates the forward pass, ``act.grad`` the derivative and
``act.backward(x, grad_out)`` the fused vector-Jacobian product ``grad_out * f'(x)``.
Inputs follow NumPy: float32 and float64 are computed as they are; integers and bools in
float64; float16 in float32 and returned as float16. Parameters broadcast like extra ufunc
inputs and are cast to the input's float type, so a float32 input gives a float32 result.
Objects that implement ``__array_ufunc__`` (Dask, xarray) go straight to the ufunc.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import composition, daskarray
from ._arrays import (
    F32,
    F64,
    MISS,
    apart,
    broadcast_shape,
    check_out,
    check_param,
    coerce_input,
    contiguous_case,
    finish,
    is_duck_array,
    is_masked,
    loop_view,
    plain,
    validate_params,
    writable_as_is,
)
from ._threads import default_threads, run_chunked
from .errors import CompileError, ParameterError, TargetUnavailableError, compile_summary
from .kernels import cpu, cuda
from .registry import REGISTRY, Entry
from .spec import ActivationSpec

TARGETS = ("cpu", "parallel", "cuda", "auto")

#: Below this many elements the parallel target runs on one thread. Measured on 2 cores
#: (thread dispatch costs ~70 us): two threads win from ~3e4 elements for gelu, ~3e5 for
#: sigmoid and ~1e6 for the memory-bound relu; 2^20 is where none of them is slower.
PARALLEL_MIN_SIZE = 1 << 20


_classes: dict[str, type] = {}  # spec kind -> the Bound subclass that calls it
_bound: dict[tuple[str, str, int | None], Any] = {}


def bind(entry: Entry, target: str = "cpu", threads: int | None = None) -> Bound:
    """The activation of ``entry`` bound to ``target``, one object per (name, target, threads)
    while the registry keeps the same spec (what :func:`fastact.get` returns)."""
    key = (entry.qualified_name, target, threads)
    act = _bound.get(key)
    if act is None or act.spec is not entry.spec:
        act = _bound[key] = _classes[entry.spec.kind](entry, target, threads)
    return act


def _restore(qualified_name: str, target: str, threads: int | None) -> Bound:
    return bind(REGISTRY.entry(qualified_name), target, threads)


def _restore_composition(names, times_x, name, target, threads) -> Bound:
    spec = composition.compose(*names, times_x=times_x, name=name)
    return bind(Entry(spec, "compose"), target, threads)


class Bound:
    """What every activation bound to a target shares: the registry entry, the target and
    thread count (validated), the descriptive properties, ``repr`` and pickling by name."""

    def __init_subclass__(cls, kind: str | None = None, **kwargs):
        super().__init_subclass__(**kwargs)
        if kind is not None:
            _classes[kind] = cls

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
        """Pickled by name (compositions by what they are made of), rebuilt from the registry
        of the receiving process: that is how Dask tasks reach distributed workers. In the
        same process unpickling gives the very object :func:`fastact.get` gives."""
        threads = self.threads if self.target == "parallel" else None
        if self._entry.source == "compose":
            return (_restore_composition, (*composition.origin(self.spec), self.target, threads))
        return (_restore, (self.qualified_name, self.target, threads))

    def on(self, target: str) -> Bound:
        """This activation bound to another target (same spec, compositions included)."""
        return type(self)(self._entry, target)

    def sibling(self, name: str) -> Bound:
        """Another registered activation of the same kind, on the CPU (how Dask's two-pass
        softmax family reaches logsumexp without importing the package root)."""
        return type(self)(REGISTRY.entry(name), "cpu")

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


class Activation(Bound, kind="elementwise"):
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
            if result is not MISS:
                return result
        return self._apply("forward", x, None, params, kw, out, rng)

    def grad(self, x: Any, *params: Any, out: Any = None, rng: Any = None, **kw: Any):
        """f'(x; params), elementwise."""
        if rng is None and not kw:
            result = self._fast("grad", x, None, params, out)
            if result is not MISS:
                return result
        return self._apply("grad", x, None, params, kw, out, rng)

    def backward(self, x: Any, grad_out: Any, *params: Any, out: Any = None, rng: Any = None, **kw: Any):
        """grad_out * f'(x; params) in one pass: the vector-Jacobian product of training."""
        if rng is None and not kw:
            result = self._fast("backward", x, grad_out, params, out)
            if result is not MISS:
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
        ``MISS`` and takes :meth:`_apply`, which computes the same bits more generally."""
        fast = self._fast_ops.get(op)
        if fast is None:
            fast = self._fast_ops[op] = self._prepare_fast(op)
        if fast is False:
            return MISS
        loop32, loop64, p32, p64 = fast
        tx = type(x)
        if tx is np.ndarray:
            dt = x.dtype
            if dt is F64:
                loop, p = loop64, p64
            elif dt is F32:
                loop, p = loop32, p32
            else:
                return MISS
            if params:
                p = self._fast_params(params, dt)
                if p is None:
                    return MISS
            shape = x.shape
            if not x.flags.carray or not shape:  # carray: C-contiguous, aligned, writeable
                return MISS
            if self.threads > 1 and x.size >= PARALLEL_MIN_SIZE:
                return MISS
            if g is not None and not plain(g, dt, shape):
                return MISS
            if out is None:
                o = np.empty(shape, dt)
            else:
                if not plain(out, dt, shape):
                    return MISS
                if out is not x and not apart(out, x):
                    return MISS
                if g is not None and out is not g and not apart(out, g):
                    return MISS
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
            dt = F32 if tx is np.float32 else F64
            loop, p = (loop32, p32) if dt is F32 else (loop64, p64)
            if params:
                p = self._fast_params(params, dt)
                if p is None:
                    return MISS
            o = np.empty(1, dt)
            if g is None:
                loop(np.array((x,), dt), o, *p)
            else:
                loop(np.array((x,), dt), np.array((g,), dt), o, *p)
            return o[0]
        return MISS

    def _prepare_fast(self, op):
        """``(float32 loop, float64 loop, float32 defaults, float64 defaults)`` (the loops'
        native entry points: no per-call overload resolution), or ``False`` when this
        activation never takes the fast path (a CUDA target, or no kernel for ``op``)."""
        if self.target == "cuda" or (op != "forward" and self.spec.derivative is None):
            return False
        _, loop = self._kernels(op)
        spec = self.spec
        defaults = [p.default for p in spec.params]
        if spec.check_params is not None and spec.check_params(*defaults):
            return False  # defaults that fail their own check: let the general path say so
        entry = cpu.entry_points(loop)
        return (entry["float32"], entry["float64"],
                tuple(np.float32(v) for v in defaults), tuple(np.float64(v) for v in defaults))  # fmt: skip

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
        arr, work, _ = coerce_input(x, spec.name)
        garr, _, _ = coerce_input(grad_out, spec.name, what="grad_out")
        checked = [check_param(p, v, work, spec.name) for p, v in zip(spec.params, values)]
        shape = broadcast_shape([arr, garr, *checked], spec.name)
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
            return cuda.apply(spec, self.qualified_name, op, x, g, values, out, stream, keep_on_device)
        if stream is not None or keep_on_device:
            raise ParameterError(f"{spec.name}: stream= and keep_on_device= apply to the cuda target only")
        kernel, loop = self._kernels(op)
        if is_masked(x) or is_masked(g) or is_masked(out):
            return self._apply_masked(op, x, g, values, out, rng)
        if is_duck_array(x) or is_duck_array(g):
            if daskarray.is_dask_array(x) or daskarray.is_dask_array(g):
                return daskarray.elementwise(self, op, x, g, values, out, rng)
            # xarray and other __array_ufunc__ implementers dispatch on the raw ufunc.
            args = (x, *(() if g is None else (g,)), *values)
            return kernel(*args) if out is None else kernel(*args, out=out)

        arr, work_dtype, result_dtype = coerce_input(x, spec.name)
        checked = [check_param(p, v, work_dtype, spec.name) for p, v in zip(spec.params, values)]
        validate_params(spec, checked)
        operands = [arr]
        if g is not None:
            garr, gdtype, gresult = coerce_input(g, spec.name, what="grad_out")
            operands.append(garr)
            work_dtype = np.promote_types(work_dtype, gdtype)
            result_dtype = np.promote_types(result_dtype, gresult)
            if arr.dtype != work_dtype or garr.dtype != work_dtype:
                operands = [o.astype(work_dtype, copy=False) for o in operands]
                checked = [
                    v.astype(work_dtype, copy=False) if np.ndim(v) else work_dtype.type(v) for v in checked
                ]
        if rng is not None:
            if spec.randomize is None:
                raise ParameterError(
                    f"{spec.name} is deterministic; rng= applies only to stochastic activations"
                )
            shape = broadcast_shape([*operands, *checked], spec.name)
            checked = [
                np.asarray(v, dtype=work_dtype)
                for v in spec.randomize(np.random.default_rng(rng), shape, checked)
            ]
        shape = broadcast_shape([*operands, *checked], spec.name)
        direct = None  # the caller's out=, when the kernels may write into it as it is
        if out is not None:
            check_out(out, shape, work_dtype, spec.name)
            # float16 results are rounded to float16 before they are cast into a wider out,
            # as NumPy's float16 loops do
            if result_dtype == work_dtype and writable_as_is(out, work_dtype, [*operands, *checked]):
                direct = out
        order = contiguous_case(operands, checked, shape, work_dtype)
        if direct is not None and order and not direct.flags[f"{order}_CONTIGUOUS"]:
            order = None  # e.g. F-ordered inputs and a C-ordered out: the ufunc, then a copy
        if order:
            # the common case: one contiguous layout and dtype, scalar parameters -> the
            # vectorized loop (an njit loop raises no NumPy floating-point warnings)
            target = np.empty(shape, dtype=work_dtype, order=order) if direct is None else direct
            flats = [loop_view(o).ravel(order="K") for o in operands] + [target.ravel(order="K")]
            if self.threads > 1 and target.size >= PARALLEL_MIN_SIZE:
                run_chunked(loop, flats, checked, self.threads)
            else:
                loop(*flats, *checked)
            result = target
        else:
            # Kernels are branch-free: both sides of a select are computed, so the FP flags they
            # raise (overflow in the unused side, 'invalid' from compares with NaN) say nothing
            # about the result. Like PyTorch, fastact emits no floating-point warnings.
            # The ufunc always gets a fresh output: Numba's ufunc wrapper chooses its contiguous
            # inner loop from the *inputs'* strides alone, so a strided out= would be written as
            # if it were contiguous (see writable_as_is).
            with np.errstate(all="ignore"):
                result = np.asarray(kernel(*operands, *checked))
        if result is not direct:
            result = finish(result, result_dtype, out)
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


_param_kernels: dict[tuple[int, str], tuple[ActivationSpec, Any]] = {}


def _param_kernel(spec: ActivationSpec, name: str):
    """A float64 ufunc g * d f / d ``name`` (x, g, *params), compiled once per spec (under
    the kernel lock, so concurrent first calls compile it once)."""
    hit = _param_kernels.get((id(spec), name))
    if hit is not None and hit[0] is spec:
        return hit[1]
    import numba

    with cpu.LOCK:
        hit = _param_kernels.get((id(spec), name))
        if hit is not None and hit[0] is spec:
            return hit[1]
        ps = ", ".join(f"p{i}" for i in range(len(spec.params)))
        sig = f"float64({', '.join(['float64'] * (2 + len(spec.params)))})"
        try:
            namespace = {"_d": cpu.jit(spec.param_derivatives[name])}
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
    return any(o is not None and cuda.is_device_array(o) for o in objs)


