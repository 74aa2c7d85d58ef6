"""fastact.jax (issue 20): pure_callback + custom_vjp over fastact's kernels, on the CPU."""

from __future__ import annotations

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
jax.config.update("jax_platforms", "cpu")

import jax.numpy as jnp  # noqa: E402

import fastact as fa  # noqa: E402
import fastact.jax as fj  # noqa: E402

X = np.array([-2.7, -1.7, -0.77, -0.23, 0.31, 0.83, 1.37, 2.41])
NAMES = ["gelu", "silu", "leaky_relu", "softplus", "elu", "tanh", "x*tanh.softplus"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_jit_grad_vmap_equal_fastact(name, dtype):
    act, fn = fa.get(name), fj.get(name)
    x = X.astype(dtype)
    assert np.array_equal(np.asarray(jax.jit(fn)(jnp.asarray(x))), act(x))
    grad = jax.jit(jax.grad(lambda v: (fn(v) * jnp.arange(1, 9, dtype=dtype)).sum()))(jnp.asarray(x))
    assert np.array_equal(np.asarray(grad), act.backward(x, np.arange(1, 9, dtype=dtype)))
    per_element = jax.vmap(jax.grad(fn))(jnp.asarray(x))  # vmap of grad: a batched backward
    assert np.array_equal(np.asarray(per_element), act.grad(x))
    rows = jax.vmap(fn)(jnp.asarray(x.reshape(2, 4)))
    assert np.array_equal(np.asarray(rows), act(x.reshape(2, 4)))


def test_parameters_and_keywords():
    x = jnp.asarray(X)
    assert np.array_equal(np.asarray(jax.jit(lambda v: fj.leaky_relu(v, 0.2))(x)), fa.leaky_relu(X, 0.2))
    assert np.array_equal(np.asarray(fj.softplus(x, beta=2.0)), fa.softplus(X, beta=2.0))
    w = jnp.asarray([0.1, 0.2])
    got = fj.prelu(x.reshape(4, 2), w)
    assert np.array_equal(np.asarray(got), fa.prelu(X.reshape(4, 2), np.asarray(w)))
    with pytest.raises(fa.ParameterError):
        fj.softplus(x, beta=-1.0)
    with pytest.raises(fa.DTypeError):
        fj.relu(jnp.arange(3))


def test_axis_wise():
    x = jnp.asarray(X.reshape(2, 4))
    soft = jax.jit(lambda v: fj.softmax(v, axis=-1))(x)
    assert np.array_equal(np.asarray(soft), fa.softmax(X.reshape(2, 4)))
    lse = jax.jit(lambda v: fj.logsumexp(v, axis=1))(x)
    assert np.array_equal(np.asarray(lse), fa.logsumexp(X.reshape(2, 4), axis=1))
    g = jax.grad(lambda v: fj.log_softmax(v, axis=0)[0].sum())(x)
    want = fa.log_softmax.backward(X.reshape(2, 4), np.array([[1.0] * 4, [0.0] * 4]), axis=0)
    assert np.array_equal(np.asarray(g), want)
    assert jax.vmap(lambda r: fj.swiglu(r, axis=-1))(x).shape == (2, 2)


def test_attribute_access():
    assert fj.gelu is fj.gelu and fj.gelu.act is fa.gelu
    with pytest.raises(AttributeError):
        fj.not_an_activation  # noqa: B018


def test_readme_example_runs():
    from tests.test_interop_numba import readme_section

    (code,) = readme_section("JAX", "Plugins")
    exec(compile(code, "README jax", "exec"), {})
