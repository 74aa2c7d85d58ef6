"""Axis-wise activations (softmax family, standardize, sparsemax, gated units): the callable.

``AxisSpec`` (in :mod:`fastact.spec`) lives in the same registry as elementwise specs
(``kind == "axis"``). Its
``forward(x, out, *params)`` and ``backward(x, g, out, *params)`` work on C-contiguous 2-D
arrays with the axis last, one row per slice; :class:`AxisActivation` moves any axis of any
ndim there and back, handles dtypes and ``out=``, and on the ``parallel`` target splits the
rows between threads (the row kernels release the GIL).

``output`` says what happens to the axis: ``"same"`` (softmax), ``"reduce"`` (logsumexp:
the axis goes, or stays as 1 with ``keepdims=True``) or ``"half"`` (gated units split it into
a value half and a gate half and return one half's length).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import daskarray
from ._arrays import F32, F64, MISS, apart, check_out, check_param, coerce_input, finish, plain, same_elements
from ._threads import run_chunked
from .activation import Bound
from .errors import DTypeError, ParameterError, ShapeMismatchError, TargetUnavailableError
from .kernels import cuda, cuda_rows
from .spec import AxisSpec

#: Rows are split between threads from this many elements on (as the elementwise threshold).
PARALLEL_MIN_SIZE = 1 << 18
#: In-place calls (``out=`` is the input or grad_out) compute this many elements of rows at a
#: time into a scratch buffer (at least one row), then copy them over their own rows.
IN_PLACE_BLOCK = 1 << 20


class AxisActivation(Bound, kind="axis"):
    """An axis-wise activation bound to a target: ``act(x, axis=-1, out=None, **params)`` and
    ``act.backward(x, grad_out, axis=-1)`` (the vector-Jacobian product)."""

    @staticmethod
    def _require_cuda(entry) -> None:
        if entry.source != "fastact" or entry.spec.name not in cuda_rows.SUPPORTED:
            raise TargetUnavailableError(
                f"{entry.spec.name} has no CUDA kernel yet (axis-wise CUDA kernels: "
                f"{', '.join(cuda_rows.SUPPORTED)}); use 'cpu' or 'parallel'"
            )
        cuda.require()

    def __init__(self, entry, target: str = "cpu", threads: int | None = None):
        super().__init__(entry, target, threads)
        self._fast_defaults: dict = {}

    @property
    def spec(self) -> AxisSpec:
        return self._entry.spec

    def grad(self, *args: Any, **kw: Any):
        raise ParameterError(
            f"{self.name} is axis-wise: its derivative is a Jacobian; use {self.name}.backward(x, grad_out)"
        )

    def __call__(self, x: Any, *params: Any, axis: int = -1, out: Any = None, keepdims: bool = False, **kw):
        """The activation of ``x`` along ``axis``."""
        if not params and not kw and not keepdims and type(x) is np.ndarray:
            result = self._fast(x, None, axis, out)
            if result is not MISS:
                return result
        return self._apply(False, x, None, params, kw, axis, out, keepdims)

    def backward(
        self,
        x: Any,
        grad_out: Any,
        *params: Any,
        axis: int = -1,
        out: Any = None,
        keepdims: bool = False,
        **kw: Any,
    ):
        """The vector-Jacobian product: d loss / d x given ``grad_out`` = d loss / d output."""
        if self.spec.backward is None:
            raise ParameterError(f"{self.name} has no backward pass")
        if not params and not kw and not keepdims and type(x) is np.ndarray:
            result = self._fast(x, grad_out, axis, out)
            if result is not MISS:
                return result
        return self._apply(True, x, grad_out, params, kw, axis, out, keepdims)

    def _fast(self, x, g, axis, out):
        """Small rows without the general path's work: a C-contiguous, aligned, writeable
        float32/float64 ``ndarray`` along its last axis, default parameters, ``grad_out`` and
        ``out`` (if given) C-contiguous of the exact shape and dtype and sharing no memory
        with the inputs, a host target under the parallel threshold. ``MISS`` otherwise."""
        if self.target == "cuda" or (axis != -1 and axis != x.ndim - 1) or isinstance(axis, bool):
            return MISS
        dt = x.dtype
        if dt is not F32 and dt is not F64:
            return MISS
        shape = x.shape
        if not x.flags.carray or not shape:  # carray: C-contiguous, aligned, writeable
            return MISS
        n = shape[-1]
        size = x.size
        if n == 0 or size == 0 or (self.threads > 1 and size >= PARALLEL_MIN_SIZE):
            return MISS
        rows = size // n
        spec = self.spec
        kind = spec.output
        if kind == "half" and n % 2:
            return MISS  # the general path raises the precise error
        params = self._fast_defaults.get(dt)
        if params is None:
            params = self._fast_defaults[dt] = tuple(dt.type(p.default) for p in spec.params)
        if kind == "same":
            yshape, y2 = shape, (rows, n)
        elif kind == "half":
            yshape, y2 = shape[:-1] + (n // 2,), (rows, n // 2)
        else:
            yshape, y2 = shape[:-1], (rows,)
        if g is None:
            oshape, o2 = yshape, y2
        else:
            if not plain(g, dt, yshape):
                return MISS
            oshape, o2 = shape, (rows, n)
        if out is None:
            o = np.empty(oshape, dt)
        else:
            if not plain(out, dt, oshape) or not apart(out, x):
                return MISS
            if g is not None and not apart(out, g):
                return MISS
            o = out
        if g is None:
            spec.forward(x.reshape(rows, n), o.reshape(o2), *params)
        else:
            spec.backward(x.reshape(rows, n), g.reshape(y2), o.reshape(o2), *params)
        return o

    # -- the work ---------------------------------------------------------------------------

    def _apply(self, backward, x, g, params, kw, axis, out, keepdims):
        spec = self.spec
        values = self.bind(params, kw)
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise ParameterError(f"{spec.name}: axis must be an integer, not {axis!r}")
        if isinstance(x, np.ma.MaskedArray) or isinstance(g, np.ma.MaskedArray):
            raise DTypeError(
                f"{spec.name} is axis-wise: masked arrays are not supported (a mask changes what a row "
                "is); fill them (x.filled(...)) or compress the rows first"
            )
        if daskarray.is_dask_array(x):
            import dask.array as da

            g = None if g is None else da.asarray(g)
            return daskarray.axiswise(self, backward, x, g, values, int(axis), out, keepdims)
        arr, work, result_dtype = coerce_input(x, spec.name)
        if arr.ndim == 0:
            raise ShapeMismatchError(f"{spec.name} is axis-wise: the input needs at least one dimension")
        if not -arr.ndim <= axis < arr.ndim:
            raise ParameterError(f"{spec.name}: axis {axis} is out of bounds for a {arr.ndim}-D input")
        axis = int(axis) % arr.ndim
        checked = []
        for p, v in zip(spec.params, values):
            value = check_param(p, v, work, spec.name)
            if np.ndim(value):
                raise ParameterError(f"{spec.name}: parameter {p.name!r} must be a scalar")
            checked.append(value)
        n = arr.shape[axis]
        if spec.output == "half" and n % 2:
            raise ShapeMismatchError(
                f"{spec.name} splits axis {axis} into two halves, but its length is {n} (odd)"
            )
        if backward:
            # grad_out takes part in the dtype as in the elementwise backward (NumPy promotion)
            garr, gwork, gresult = coerce_input(g, spec.name, what="grad_out")
            work = np.promote_types(work, gwork)
            result_dtype = np.promote_types(result_dtype, gresult)
            checked = [work.type(v) for v in checked]
        moved = np.moveaxis(arr, axis, -1)
        lead = moved.shape[:-1]
        rows = int(np.prod(lead, dtype=np.int64))
        x2 = np.ascontiguousarray(moved, dtype=work).reshape(rows, n)
        out_n = {"same": n, "reduce": None, "half": n // 2}[spec.output]
        if backward:
            if out_n is None and garr.ndim == arr.ndim and garr.shape[axis] == 1:
                garr = np.squeeze(garr, axis=axis)  # the keepdims form of a reduction's output
            expected = lead if out_n is None else self._result_shape(arr.shape, axis, out_n, False)
            if tuple(garr.shape) != tuple(expected):
                raise ShapeMismatchError(
                    f"{spec.name}.backward: grad_out has shape {np.shape(g)}; the forward output has shape "
                    f"{self._result_shape(arr.shape, axis, out_n, keepdims)}"
                )
            gm = garr if out_n is None else np.moveaxis(garr, axis, -1)
            g2 = np.ascontiguousarray(gm, dtype=work).reshape((rows,) if out_n is None else (rows, out_n))
            target_rows = (rows, n)
        else:
            target_rows = (rows,) if out_n is None else (rows, out_n)
        direct = None  # the caller's out=, viewed as rows, when the kernels can write into it
        aliased = False  # out= is an operand's own memory, row for row: computed a block at a time
        if out is not None:
            shape = arr.shape if backward else self._result_shape(arr.shape, axis, out_n, keepdims)
            check_out(out, shape, work, spec.name)
            if type(out) is np.ndarray and out.dtype == work == result_dtype and out.flags.aligned:
                if backward or out_n is not None:
                    om = np.moveaxis(out, axis, -1)
                else:
                    om = np.squeeze(out, axis) if keepdims else out
                if om.flags.c_contiguous:
                    rows_view = om.reshape(target_rows)
                    inputs = (x2, g2) if backward else (x2,)
                    shared = [a for a in inputs if np.may_share_memory(rows_view, a)]
                    if not shared:
                        direct = rows_view
                    elif all(same_elements(rows_view, a) for a in shared):
                        direct, aliased = rows_view, True
        kernel = spec.backward if backward else spec.forward
        operands = (x2, g2) if backward else (x2,)
        if aliased:
            # in place (softmax(x, out=x), backward(x, g, out=g)): a row kernel may read its
            # row after writing part of it, so each block of rows is computed into a small
            # scratch buffer and then copied over its own rows (bounded extra memory)
            self._run_in_place(kernel, operands, direct, checked, n)
            return out
        result2 = direct if direct is not None else np.empty(target_rows, dtype=work)
        if rows and (n or (out_n is None and not backward)):
            self._run(kernel, operands, result2, checked, rows * max(n, 1))
        if direct is not None:
            return out
        # back to the caller's layout
        if backward or out_n is not None:
            shaped = np.moveaxis(result2.reshape(lead + (result2.shape[-1],)), -1, axis)
        else:
            shaped = result2.reshape(lead)
            if keepdims:
                shaped = np.expand_dims(shaped, axis)
        shaped = finish(shaped, result_dtype, out)
        return shaped if out is None else out

    def _run_in_place(self, kernel, operands, result, params, n) -> None:
        """Compute ``result`` (which is one of the operands' memory) a block of rows at a time."""
        rows = result.shape[0]
        if not rows or not n:
            return
        block = max(1, IN_PLACE_BLOCK // max(n, 1))
        scratch = np.empty((min(block, rows),) + result.shape[1:], dtype=result.dtype)
        for lo in range(0, rows, block):
            hi = min(lo + block, rows)
            part = scratch[: hi - lo]
            self._run(kernel, [o[lo:hi] for o in operands], part, params, (hi - lo) * n)
            result[lo:hi] = part

    def _result_shape(self, shape, axis, out_n, keepdims):
        shape = list(shape)
        if out_n is None:
            if keepdims:
                shape[axis] = 1
            else:
                del shape[axis]
        else:
            shape[axis] = out_n
        return tuple(shape)

    def _run(self, kernel, operands, result, params, size):
        if self.target == "cuda":
            self._run_cuda(operands, result, params)
        elif self.threads > 1 and result.shape[0] > 1 and size >= PARALLEL_MIN_SIZE:
            run_chunked(kernel, [*operands, result], params, min(self.threads, result.shape[0]), align=1)
        else:
            kernel(*operands, result, *params)

    def _run_cuda(self, operands, result, params) -> None:
        """Copy the rows to the device, run the row-per-block kernel, copy the result back."""
        from numba import cuda

        backward = len(operands) == 2
        x2 = cuda.to_device(operands[0])
        g = operands[1] if backward else None
        if g is not None and g.ndim == 1:
            g = g.reshape(-1, 1)  # a reduction's grad_out: one value per row
        g2 = cuda.to_device(np.ascontiguousarray(g)) if g is not None else None
        shape2 = result.shape if result.ndim == 2 else (result.shape[0], 1)
        out2 = cuda.device_array(shape2, dtype=result.dtype)
        cuda_rows.run(self.spec.name, backward, x2, g2, out2, params)
        result[...] = out2.copy_to_host().reshape(result.shape)
