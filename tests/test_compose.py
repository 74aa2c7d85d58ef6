"""Composition (one fused kernel with the chain rule) and learnable-parameter gradients."""

import numpy as np
import pytest
from click.testing import CliRunner

import fastact as fa
from fastact.testing.accuracy import within

X = np.random.default_rng(0).uniform(-8, 8, 2000)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("expr, builtin", [("x*tanh.softplus", "mish"), ("x*sigmoid", "silu"),
                                           ("log_sigmoid", "log_sigmoid")])  # fmt: skip
def test_compositions_equal_the_hand_written_builtins(expr, builtin, dtype):
    comp, ref = fa.get(expr), fa.get(builtin)
    x = X.astype(dtype)
    for op in ("__call__", "grad"):
        got, want = getattr(comp, op)(x), getattr(ref, op)(x)
        assert got.dtype == dtype
        assert within(got, want.astype(np.float64), np.dtype(dtype), 8, 8 * np.finfo(dtype).eps).all(), (
            expr,
            op,
        )


@pytest.mark.parametrize("expr", ["tanh.softplus", "sigmoid.leaky_relu", "x*tanh.softplus", "elu.tanh.gelu"])
def test_composed_derivative_matches_finite_differences(expr):
    act = fa.get(expr)
    x = np.random.default_rng(1).uniform(-4, 4, 300)
    h = 1e-6 * np.maximum(1, np.abs(x))
    f = act.spec.reference
    fd = (f(x + h, *act.spec.defaults) - f(x - h, *act.spec.defaults)) / (2 * h)
    np.testing.assert_allclose(act.grad(x), fd, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(act(x), f(x, *act.spec.defaults), rtol=1e-12, atol=1e-15)
    g = np.random.default_rng(2).standard_normal(x.shape)
    np.testing.assert_allclose(act.backward(x, g), g * act.grad(x), rtol=1e-15)


def test_compose_api_parameters_registration_and_errors(registered):
    c = fa.compose("sigmoid", "leaky_relu")
    assert c.spec.param_names == ("leaky_relu_negative_slope",)
    x = np.array([-2.0, 3.0])
    np.testing.assert_allclose(c(x, leaky_relu_negative_slope=0.5), 1 / (1 + np.exp(-np.array([-1.0, 3.0]))))
    act = registered(fa.compose("tanh", "softplus", times_x=True, name="my_mish").spec)
    assert fa.get("my_mish") is act and act.qualified_name == "runtime:my_mish"
    np.testing.assert_allclose(act(x), fa.mish(x), rtol=1e-15)
    with pytest.raises(fa.ParameterError, match="axis-wise"):
        fa.compose("tanh", "softmax")
    with pytest.raises(fa.UnknownActivationError):
        fa.get("tanh.sofplus")
    assert fa.get("x*tanh.softplus", target="parallel")(x).shape == (2,)


def test_cli_evaluates_a_composition():
    from fastact.tools.cli import main

    result = CliRunner().invoke(main, ["eval", "x*tanh.softplus", "1", "--grad", "--json"])
    assert result.exit_code == 0, result.output
    import json

    data = json.loads(result.stdout)
    assert data["y"] == [float(fa.mish(np.array([1.0]))[0])]


LEARNABLE = [n for n in fa.names("elementwise") if fa.get(n).spec.param_derivatives]


@pytest.mark.parametrize("name", LEARNABLE)
def test_param_grad_matches_finite_differences(name):
    act = fa.get(name)
    spec = act.spec
    rng = np.random.default_rng(3)
    x = rng.uniform(-4, 4, (6, 3, 5))
    if name == "logit":
        x = rng.uniform(0.05, 0.95, x.shape)
    g = rng.standard_normal(x.shape)
    grads = act.param_grad(x, g)
    assert set(grads) == set(spec.param_derivatives)
    for i, p in enumerate(spec.params):
        if p.name not in grads:
            continue
        step = 1e-6 * max(1.0, abs(p.default))
        up, down = list(spec.defaults), list(spec.defaults)
        up[i] += step
        down[i] -= step
        fd = (np.sum(g * spec.reference(x, *up)) - np.sum(g * spec.reference(x, *down))) / (2 * step)
        assert grads[p.name].shape == () and grads[p.name] == pytest.approx(fd, rel=1e-6, abs=1e-8), p.name


def test_param_grad_reduces_over_broadcast_dimensions():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((4, 3, 5, 5)).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    w = np.array([0.1, 0.2, 0.3], np.float32)[:, None, None]  # per channel
    grads = fa.prelu.param_grad(x, g, w)
    assert grads["weight"].shape == (3, 1, 1) and grads["weight"].dtype == np.float32
    expected = np.where(x < 0, x, 0).astype(np.float64) * g
    np.testing.assert_allclose(grads["weight"].ravel(), expected.sum(axis=(0, 2, 3)), rtol=1e-6)


@pytest.mark.parametrize("expr", ["sigmoid.leaky_relu", "x*tanh.prelu", "parametric_tanh.elu"])
def test_composition_parameter_derivatives_by_the_chain_rule(expr):
    act = fa.get(expr)
    spec = act.spec
    rng = np.random.default_rng(5)
    x, g = rng.uniform(-3, 3, (5, 4)), rng.standard_normal((5, 4))
    grads = act.param_grad(x, g)
    assert grads and set(grads) <= set(spec.param_names)
    for i, p in enumerate(spec.params):
        if p.name not in grads:
            continue
        up, down = list(spec.defaults), list(spec.defaults)
        up[i] += 1e-6
        down[i] -= 1e-6
        fd = (np.sum(g * spec.reference(x, *up)) - np.sum(g * spec.reference(x, *down))) / 2e-6
        assert grads[p.name] == pytest.approx(fd, rel=1e-6, abs=1e-9), p.name
