"""fastact's activations as JAX functions (the ``jax`` extra), on the CPU.

::

    import fastact.jax as fj

    y = fj.gelu(x)                                   # every registered name
    jax.jit(fj.leaky_relu)(x, 0.2)                   # under jit, grad, vmap
    jax.grad(lambda x: fj.get("x*tanh.softplus")(x).sum())(x)

Each call is a ``jax.pure_callback`` into fastact's compiled kernels (the array crosses to
NumPy and back on the host, so on a GPU backend the data would be copied: this module is for
the CPU), wrapped in ``jax.custom_vjp`` whose backward pass is fastact's fused
``backward(x, grad_out)`` kernel. ``vmap`` works because the callbacks are elementwise
(``vmap_method="expand_dims"``; parameters broadcast against ``x``). Parameters are numbers
or arrays (broadcast NumPy-style); they are treated as constants for differentiation (their
cotangent is zero): use :mod:`fastact.torch` or ``param_grad`` to learn them. Axis-wise
activations take ``axis=`` (static) and use the fused row backward kernel.

float32 and float64 inputs are computed as they are (float64 needs ``jax_enable_x64``); other
dtypes raise :class:`fastact.DTypeError`. Importing this module imports jax; ``import
fastact`` does not.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import fastact

from .errors import DTypeError, ParameterError

__all__ = ["JaxActivation", "get"]


def _shape_of(act, x, axis_kw: dict) -> jax.ShapeDtypeStruct:
    if act.spec.kind == "axis" and act.spec.output != "same":
        out = jax.eval_shape(lambda a: jnp.zeros(np.shape(act(np.zeros(a.shape, a.dtype), **axis_kw))), x)
        return jax.ShapeDtypeStruct(out.shape, x.dtype)
    return jax.ShapeDtypeStruct(x.shape, x.dtype)


def _validate(spec, values: tuple) -> None:
    """Parameters known now (not traced) are checked here, so a bad one raises fastact's
    :class:`ParameterError` at the call instead of an error from inside the callback."""
    if any(isinstance(v, jax.core.Tracer) for v in values):
        return
    for p, v in zip(spec.params, values):
        arr = np.asarray(v, dtype=np.float64)
        if (p.lower is not None or p.upper is not None) and not all(p.accepts(float(a)) for a in arr.flat):
            raise ParameterError(f"{spec.name}: parameter {p.name!r} = {v!r} is outside {p.interval()}")
    check = getattr(spec, "check_params", None)
    if check is not None and all(np.ndim(v) == 0 for v in values):
        message = check(*(float(v) for v in values))
        if message:
            raise ParameterError(f"{spec.name}: {message}")


class JaxActivation:
    """One fastact activation for JAX arrays: ``act(x, *params, **params_by_name)`` (axis-wise:
    ``axis=``, ``keepdims=``); differentiable in ``x`` through fastact's backward kernel."""

    def __init__(self, act):
        self.act = act
        self.name = act.name
        self._fns: dict[tuple, Any] = {}

    def __repr__(self) -> str:
        return f"<fastact.jax {self.act.qualified_name}>"

    def __call__(self, x: Any, *params: Any, **kw: Any):
        act = self.act
        axis_kw = {k: kw.pop(k) for k in ("axis", "keepdims") if k in kw}
        if axis_kw and act.spec.kind != "axis":
            raise ParameterError(f"fastact.jax.{self.name} is elementwise: axis= and keepdims= do not apply")
        values = act.bind(params, kw)
        x = jnp.asarray(x)
        if x.dtype not in (jnp.float32, jnp.float64):
            raise DTypeError(
                f"fastact.jax.{self.name}: input has dtype {x.dtype}; only float32 and float64 are supported"
            )
        _validate(act.spec, values)
        values = tuple(jnp.asarray(v, x.dtype) for v in values)
        key = tuple(sorted(axis_kw.items()))
        fn = self._fns.get(key)
        if fn is None:
            fn = self._fns[key] = self._build(dict(axis_kw))
        return fn(x, *values)

    def _build(self, axis_kw: dict):
        act = self.act
        elementwise = act.spec.kind == "elementwise"
        # elementwise callbacks batch themselves (broadcasting); row kernels batch through the
        # axis only when it is counted from the end, so other axes are looped by vmap
        method = "expand_dims" if elementwise or axis_kw.get("axis", -1) < 0 else "sequential"

        def host_forward(x, *p):
            return np.asarray(act(np.asarray(x), *map(np.asarray, p), **axis_kw), dtype=x.dtype)

        def host_backward(x, g, *p):
            found = act.backward(np.asarray(x), np.asarray(g), *map(np.asarray, p), **axis_kw)
            return np.asarray(found, x.dtype)

        @jax.custom_vjp
        def f(x, *p):
            return jax.pure_callback(host_forward, _shape_of(act, x, axis_kw), x, *p, vmap_method=method)

        def f_fwd(x, *p):
            return f(x, *p), (x, p)

        def f_bwd(res, g):
            x, p = res
            shape = jax.ShapeDtypeStruct(x.shape, x.dtype)
            gx = jax.pure_callback(host_backward, shape, x, g.astype(x.dtype), *p, vmap_method=method)
            return (gx, *(jnp.zeros_like(v) for v in p))

        f.defvjp(f_fwd, f_bwd)
        return f


def get(name: str) -> JaxActivation:
    """The activation ``name`` (a name, an alias, ``dist:name`` or a composition such as
    ``"x*tanh.softplus"``) for JAX arrays."""
    return JaxActivation(fastact.get(name))


_cache: dict[str, JaxActivation] = {}


def __getattr__(name: str) -> JaxActivation:
    """``fastact.jax.gelu``: every registered activation by name."""
    if name.startswith("_"):
        raise AttributeError(f"module 'fastact.jax' has no attribute {name!r}")
    hit = _cache.get(name)
    if hit is not None and hit.act.spec is fastact.get(name).spec:
        return hit
    try:
        _cache[name] = get(name)
    except LookupError:
        raise AttributeError(f"module 'fastact.jax' has no attribute {name!r}") from None
    return _cache[name]
