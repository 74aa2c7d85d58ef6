"""fastact on Dask arrays: lazy graphs whose tasks call the same kernels, chunk by chunk.

Elementwise activations (forward, grad, backward) become one ``dask.array.elemwise`` layer:
same chunks, NumPy broadcasting of parameters across chunks, nothing computed until asked.
The tasks name the activation (``dist:name``), not the compiled ufunc, so graphs pickle to
``dask.distributed`` workers, where the kernel is compiled once per process or loaded from
the on-disk cache. Activations registered at run time exist only in the process that
registered them: on a distributed cluster register them through an entry point instead.

Axis-wise activations run per block when the axis is a single chunk. Along a chunked axis
the softmax family (softmax, softmin, log_softmax, logsumexp, logmeanexp) is computed in two
passes: per-block logsumexp, combined by logsumexp across the blocks, then
``exp(x - lse)`` block by block (``x - lse`` formed in float64). Other axis-wise activations
ask for a rechunk in one line.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ._arrays import check_param, validate_params
from .errors import DTypeError, ParameterError, ShapeMismatchError

TWO_PASS = {"softmax": 1.0, "softmin": -1.0, "log_softmax": 1.0, "logsumexp": 1.0, "logmeanexp": 1.0}


def is_dask_array(x: Any) -> bool:
    return type(x).__module__.split(".")[0] == "dask" and hasattr(x, "chunks") and hasattr(x, "dask")


def _result_dtype(*dtypes) -> np.dtype:
    out = []
    for dt in dtypes:
        dt = np.dtype(dt)
        if dt.kind in "biu":
            dt = np.dtype(np.float64)
        elif dt.kind != "f":
            raise DTypeError(f"dtype {dt} is not supported; expected float32 or float64")
        out.append(dt)
    return np.result_type(*out)


def _host(act):
    """The activation a task runs: ``act`` itself (it pickles by name, compositions by what
    they are made of), on the CPU when it was bound to the CUDA target."""
    return act.on("cpu") if act.target == "cuda" else act


def _elementwise_block(*arrays, act, kind: str):
    act = _host(act)
    if kind == "forward":
        return act(*arrays)
    if kind == "grad":
        return act.grad(*arrays)
    return act.backward(*arrays)


def elementwise(act, op: str, x, g, values: tuple, out, rng):
    """The lazy ``op`` of elementwise ``act`` on Dask arrays (x and/or g)."""
    import dask.array as da

    spec = act.spec
    if out is not None:
        raise ParameterError(
            f"{spec.name}: out= is not supported for Dask arrays (they are lazy); use .store()"
        )
    if rng is not None:
        raise ParameterError(f"{spec.name}: rng= is not supported for Dask arrays")
    dtypes = [x.dtype] + ([g.dtype] if g is not None else [])
    result = _result_dtype(*dtypes)
    work = np.dtype(np.float32) if result == np.float16 else result
    checked = [check_param(p, v, work, spec.name) for p, v in zip(spec.params, values)]
    validate_params(spec, checked)
    args = [x, *([g] if g is not None else []), *checked]
    block = functools.partial(_elementwise_block, act=act, kind=op)
    return da.core.elemwise(block, *args, dtype=result, name=f"fastact-{spec.name}-{op}-" + _token(args))


def _token(args) -> str:
    from dask.base import tokenize

    return tokenize(*args)


# ---- axis-wise ---------------------------------------------------------------------------------


def _axis_block(*arrays, act, backward: bool, axis: int, keepdims: bool, params: tuple):
    act = _host(act)
    if backward:
        return act.backward(arrays[0], arrays[1], *params, axis=axis)
    return act(arrays[0], *params, axis=axis, keepdims=keepdims)


def axiswise(act, backward: bool, x, g, values: tuple, axis: int, out, keepdims: bool):
    """The lazy forward or backward of axis-wise ``act`` on a Dask array."""
    import dask.array as da

    spec = act.spec
    if out is not None:
        raise ParameterError(
            f"{spec.name}: out= is not supported for Dask arrays (they are lazy); use .store()"
        )
    if not -x.ndim <= axis < x.ndim:
        raise ParameterError(f"{spec.name}: axis {axis} is out of bounds for a {x.ndim}-D input")
    axis %= x.ndim
    n = x.shape[axis]
    if spec.output == "half" and n % 2:
        raise ShapeMismatchError(
            f"{spec.name} splits axis {axis} into two halves, but its length is {n} (odd)"
        )
    dtype = _result_dtype(x.dtype)
    if backward:
        dtype = np.promote_types(dtype, _result_dtype(g.dtype))  # as in memory: NumPy promotion
    kw = dict(act=act, axis=axis, keepdims=keepdims, params=tuple(values))
    if len(x.chunks[axis]) > 1:
        if spec.name not in TWO_PASS or act.qualified_name.split(":")[0] != "fastact":
            raise ShapeMismatchError(
                f"{spec.name} along axis {axis}, which Dask splits into {len(x.chunks[axis])} chunks: "
                f"rechunk it into one first, x.rechunk({{{axis}: -1}})"
            )
        return _two_pass(act.sibling("fastact:logsumexp"), spec.name, backward, x, g, axis, keepdims, dtype)
    if backward:
        if spec.output == "reduce" and g.ndim < x.ndim:
            g = da.expand_dims(g, axis)
        g = g.rechunk(tuple(c if i != axis else -1 for i, c in enumerate(x.chunks)))
        return da.map_blocks(_axis_block, x, g, dtype=dtype, chunks=x.chunks, backward=True, **kw)
    if spec.output == "same":
        return da.map_blocks(_axis_block, x, dtype=dtype, chunks=x.chunks, backward=False, **kw)
    if spec.output == "half":
        chunks = tuple(c if i != axis else (n // 2,) for i, c in enumerate(x.chunks))
        return da.map_blocks(_axis_block, x, dtype=dtype, chunks=chunks, backward=False, **kw)
    if keepdims:
        chunks = tuple(c if i != axis else (1,) for i, c in enumerate(x.chunks))
        return da.map_blocks(_axis_block, x, dtype=dtype, chunks=chunks, backward=False, **kw)
    return da.map_blocks(_axis_block, x, dtype=dtype, drop_axis=axis, backward=False, **kw)


def _lse_block(xb, lse, axis, sign):
    return _host(lse)(sign * xb, axis=axis, keepdims=True)


def _lse_blocks(lse, x, axis, sign):
    """log-sum-exp of sign * x along a chunked axis: per block, then across the blocks."""
    import dask.array as da

    def one_per_block(a):
        return tuple(c if i != axis else (1,) * len(c) for i, c in enumerate(a.chunks))

    partial = da.map_blocks(
        _lse_block, x, lse=lse, axis=axis, sign=sign, dtype=x.dtype, chunks=one_per_block(x)
    )
    partial = partial.rechunk({axis: -1})
    return da.map_blocks(
        _lse_block, partial, lse=lse, axis=axis, sign=1.0, dtype=x.dtype, chunks=one_per_block(partial)
    )


def _exp_shift(xb, lb, kb, sign, log):
    """One block of softmax (``log``: log_softmax) given the row's log-sum-exp ``lb`` and its
    count of +inf entries ``kb``. Rows whose lse is +inf take the limit the in-memory kernels
    give: the +inf entries share the mass equally (1/k; log: -log k), the others get 0 (-inf)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        d = sign * xb.astype(np.float64) - lb.astype(np.float64)
        y = d if log else np.exp(d)
        inf_row = np.isposinf(lb)
        if inf_row.any():
            hit = sign * xb == np.inf
            k = kb.astype(np.float64)
            limit = np.where(hit, -np.log(k), -np.inf) if log else np.where(hit, 1.0 / k, 0.0)
            y = np.where(inf_row, limit, y)
    return y.astype(xb.dtype)


def _two_pass(lse_act, name, backward, x, g, axis, keepdims, dtype):
    import dask.array as da

    x = x.astype(dtype) if x.dtype != dtype else x
    sign = TWO_PASS[name]
    lse = _lse_blocks(lse_act, x, axis, sign)
    if name in ("logsumexp", "logmeanexp") and not backward:
        if name == "logmeanexp":
            lse = (lse.astype(np.float64) - np.log(x.shape[axis])).astype(dtype)
        return lse if keepdims else da.squeeze(lse, axis)
    k = (sign * x == np.inf).sum(axis=axis, keepdims=True)
    y = da.map_blocks(_exp_shift, x, lse, k, sign, False, dtype=dtype)
    if not backward:
        if name == "log_softmax":
            return da.map_blocks(_exp_shift, x, lse, k, sign, True, dtype=dtype)
        return y
    # the backward formulas in float64, as the in-memory row kernels form them, rounded once
    g64, y64 = g.astype(np.float64), y.astype(np.float64)
    if name in ("logsumexp", "logmeanexp"):
        gk = g64 if g.ndim == x.ndim else da.expand_dims(g64, axis)
        return (gk * y64).astype(dtype)
    if name == "log_softmax":
        return (g64 - y64 * g64.sum(axis=axis, keepdims=True)).astype(dtype)
    return (sign * y64 * (g64 - (g64 * y64).sum(axis=axis, keepdims=True))).astype(dtype)
