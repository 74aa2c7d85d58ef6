"""The zoo's own tests: fastact's checks on every spec, plus what they cannot see
(other parameter values, the defaults' intent, limits)."""

import numpy as np
import pytest
from fastact_zoo import activations as z
from fastact_zoo import specs

import fastact
from fastact.plugin import check_spec

SPECS = {s.name: s for s in specs()}


@pytest.fixture(autouse=True, scope="module")
def _forget_runtime_registrations():
    yield
    for name in SPECS:
        if name in fastact.REGISTRY and fastact.REGISTRY.entry(name).source == "runtime":
            fastact.REGISTRY.unregister(name)


def act(name):
    """The activation through fastact's public API: the installed plugin when it is installed,
    else a runtime registration of the same spec."""
    if f"fastact-zoo:{name}" in fastact.REGISTRY:
        return fastact.get(f"fastact-zoo:{name}")
    if name in fastact.REGISTRY and fastact.REGISTRY.entry(name).source == "runtime":
        return fastact.get(name)
    return fastact.register(SPECS[name])


@pytest.mark.parametrize("name", sorted(SPECS))
def test_passes_fastacts_checks(name):
    assert [str(p) for p in check_spec(SPECS[name], source="fastact-zoo", n=8000)] == []


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "name, params",
    [("soft_exponential", (0.5,)), ("soft_exponential", (-0.5,)), ("snake", (2.5,)), ("isru", (3.0,)),
     ("isrlu", (0.25,)), ("srelu", (-1.0, 0.1, 2.0, 0.5))],
)  # fmt: skip
def test_other_parameters_match_the_reference(name, params, dtype):
    a = act(name)
    x = np.random.default_rng(0).uniform(-4, 4, 2000).astype(dtype)
    p = [float(dtype(v)) for v in params]
    rtol = 1e-6 if dtype == np.float32 else 1e-13
    with np.errstate(invalid="ignore"):
        np.testing.assert_allclose(a(x, *params), a.spec.reference(x.astype(float), *p), rtol=rtol, atol=rtol)
        np.testing.assert_allclose(
            a.grad(x, *params), a.spec.reference_derivative(x.astype(float), *p), rtol=rtol, atol=rtol
        )


def test_soft_exponential_is_log_identity_and_exp():
    a = act("soft_exponential")
    x = np.array([0.5, 1.0, 2.0])
    np.testing.assert_allclose(a(x, 0.0), x)
    np.testing.assert_allclose(a(x, 1.0), np.exp(x), rtol=1e-15)  # (e^x - 1)/1 + 1
    np.testing.assert_allclose(a(x, -1.0), np.log(x), rtol=1e-15)  # -log(1 + (x - 1))/(-1)


def test_rational_defaults_fit_leaky_relu():
    x = np.linspace(-3, 3, 601)
    target = np.where(x > 0, x, 0.01 * x)
    assert np.abs(act("rational")(x) - target).max() < 0.031


def test_rational_is_finite_for_huge_inputs():
    a = act("rational")
    x = np.array([1e30, -1e30, 1e300, -1e300, np.inf, -np.inf])
    y = a(x)
    assert np.all(np.sign(y) == np.sign(x)) and np.isfinite(y[:4]).all()
    np.testing.assert_allclose(a.grad(x), z.RATIONAL_DEFAULTS[5] / z.RATIONAL_DEFAULTS[9], rtol=1e-12)


def test_limits():
    assert act("isru")(np.array([np.inf, -np.inf]), 4.0).tolist() == [0.5, -0.5]
    assert act("bent_identity")(np.array([np.inf, -np.inf])).tolist() == [np.inf, -np.inf]
    assert act("serf")(np.array([np.inf, -np.inf])).tolist() == [np.inf, 0.0]
    assert act("elish")(np.array([np.inf, -np.inf])).tolist() == [np.inf, 0.0]


def test_srelu_rejects_crossed_thresholds():
    with pytest.raises(fastact.ParameterError, match="t_left"):
        act("srelu")(np.ones(3), 2.0, 0.1, 1.0, 1.0)
