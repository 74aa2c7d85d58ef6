"""Every builtin against its NumPy reference, in both dtypes, on random and special values."""

import warnings

import numpy as np
import pytest

import fastact as fa
from fastact.testing.accuracy import SPECIAL, bounds, samples, ulp_errors, within

from .conftest import BUILTINS

EXPECTED_NAMES = """identity relu relu6 leaky_relu prelu rrelu elu selu celu gelu gelu_tanh quick_gelu
silu mish softplus softsign sigmoid log_sigmoid hard_sigmoid hard_swish hard_tanh tanh tanhshrink
softshrink hardshrink threshold squareplus sparse_plus sparse_sigmoid relu_squared exponential logit
log1mexp parametric_sigmoid parametric_tanh sigmoid_tanh""".split()


def test_catalog_is_complete():
    assert set(EXPECTED_NAMES) <= set(fa.names())
    for alias, target in {"swish": "silu", "hard_silu": "hard_swish", "logistic": "sigmoid"}.items():
        assert fa.get(alias).name == target


def _inputs(dtype, n=20000):
    return samples(dtype, n, seed=7)


def _params(spec, dtype):
    """Defaults as the kernel sees them (rounded to dtype), as float64 for the reference."""
    return [float(dtype.type(v)) for v in spec.defaults]


def _report(name, op, x, got, ref, ok):
    bad = np.flatnonzero(~ok)[:5]
    rows = ", ".join(f"x={x.flat[i]!r}: got {got.flat[i]!r}, ref {ref.flat[i]!r}" for i in bad)
    return f"{name} {op}: {(~ok).sum()} elements out of bounds, e.g. {rows}"


@pytest.mark.parametrize("name", BUILTINS)
def test_forward_matches_reference(name, dtype):
    act = fa.get(name)
    x = _inputs(dtype)
    p = _params(act.spec, dtype)
    got = act(x)
    assert got.dtype == dtype and got.shape == x.shape
    ref = act.spec.reference(x.astype(np.float64), *p)
    ulps, atol = bounds(act.spec, dtype, "forward")
    ok = within(got, ref, dtype, ulps, atol)
    assert ok.all(), _report(name, "forward", x, got, ref, ok)


@pytest.mark.parametrize("name", BUILTINS)
def test_grad_and_backward_match_reference(name, dtype):
    act = fa.get(name)
    x = _inputs(dtype)
    p = _params(act.spec, dtype)
    ref = act.spec.reference_derivative(x.astype(np.float64), *p)
    got = act.grad(x)
    assert got.dtype == dtype
    ulps, atol = bounds(act.spec, dtype, "grad")
    ok = within(got, ref, dtype, ulps, atol)
    assert ok.all(), _report(name, "grad", x, got, ref, ok)

    g = np.random.default_rng(1).uniform(-2, 2, x.shape).astype(dtype)
    back = act.backward(x, g)
    assert back.dtype == dtype
    ulps, atol = bounds(act.spec, dtype, "backward")
    with np.errstate(all="ignore"):
        ref_b = g.astype(np.float64) * ref
    ok = within(back, ref_b, dtype, ulps, 2 * atol)
    # backward is g * f'(x) in the kernel's dtype: where f'(x) itself overflows the dtype
    # (exponential above 88.7 in float32) the product is infinite, as in PyTorch
    with np.errstate(over="ignore"):
        overflowed = np.isinf(ref.astype(dtype)) & np.isfinite(ref)
    ok |= overflowed & (np.isinf(back) | (g == 0))
    assert ok.all(), _report(name, "backward", x, back, ref_b, ok)


@pytest.mark.parametrize("name", BUILTINS)
def test_nan_propagates_and_specials_are_exact_where_infinite(name, dtype):
    act = fa.get(name)
    with np.errstate(over="ignore"):
        x = SPECIAL.astype(dtype)
    for op in ("forward", "grad"):
        got = act(x) if op == "forward" else act.grad(x)
        assert np.isnan(got[np.isnan(x)]).all(), f"{name} {op} drops NaN"
        fn = act.spec.reference if op == "forward" else act.spec.reference_derivative
        ref = fn(x.astype(np.float64), *_params(act.spec, dtype))
        errs = ulp_errors(got, ref, dtype)
        assert np.isfinite(errs).all(), f"{name} {op}: NaN/inf mismatch at {x[~np.isfinite(errs)]}"


def _fd_points(spec):
    rng = np.random.default_rng(3)
    lo, hi = (0.01, 0.99) if spec.name == "logit" else ((0.05, 8.0) if spec.name == "log1mexp" else (-6, 6))
    return rng.uniform(lo, hi, 400)


@pytest.mark.parametrize("name", BUILTINS)
def test_derivative_matches_finite_difference_of_reference(name):
    """A wrong derivative formula cannot agree with a central difference of the reference."""
    act = fa.get(name)
    x = _fd_points(act.spec)
    p = act.spec.defaults
    h = 1e-6 * np.maximum(1.0, np.abs(x))
    f = act.spec.reference
    fd = (f(x + h, *p) - f(x - h, *p)) / (2 * h)
    curvature = np.abs(f(x + h, *p) - 2 * f(x, *p) + f(x - h, *p)) / h**2
    smooth = curvature < 1e3  # drop points within h of a kink
    assert smooth.mean() > 0.9
    got = act.grad(x)
    np.testing.assert_allclose(got[smooth], fd[smooth], rtol=1e-5, atol=1e-6, err_msg=name)
    np.testing.assert_allclose(act.spec.reference_derivative(x, *p)[smooth], fd[smooth], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", [n for n in BUILTINS if fa.get(n).spec.param_derivatives])
def test_parameter_derivatives_match_finite_differences(name):
    from fastact.kernels.cpu import jit

    spec = fa.get(name).spec
    x = _fd_points(spec)
    for i, param in enumerate(spec.params):
        if param.name not in spec.param_derivatives:
            continue
        d = jit(spec.param_derivatives[param.name])
        p = list(spec.defaults)
        h = 1e-6
        up, down = list(p), list(p)
        up[i] += h
        down[i] -= h
        fd = (spec.reference(x, *up) - spec.reference(x, *down)) / (2 * h)
        got = np.array([d(v, *p) for v in x])
        np.testing.assert_allclose(got, fd, rtol=1e-5, atol=1e-6, err_msg=f"{name} d/d{param.name}")


# ---- limits, signs and the stability cases from real bug reports ------------------------------

LIMITS = {
    # name: (f(-inf), f(+inf))
    "sigmoid": (0.0, 1.0),
    "tanh": (-1.0, 1.0),
    "softsign": (-1.0, 1.0),
    "silu": (-0.0, np.inf),
    "mish": (-0.0, np.inf),
    "gelu": (-0.0, np.inf),
    "gelu_tanh": (-0.0, np.inf),
    "quick_gelu": (-0.0, np.inf),
    "softplus": (0.0, np.inf),
    "log_sigmoid": (-np.inf, 0.0),
    "elu": (-1.0, np.inf),
    "relu": (0.0, np.inf),
    "squareplus": (0.0, np.inf),
    "hard_swish": (-0.0, np.inf),
}


@pytest.mark.parametrize("name", sorted(LIMITS))
def test_limits_at_infinity_are_the_mathematical_ones(name, dtype):
    got = fa.get(name)(np.array([-np.inf, np.inf], dtype=dtype))
    want = np.array(LIMITS[name], dtype=dtype)
    np.testing.assert_array_equal(got, want)
    assert np.signbit(got[0]) == np.signbit(want[0]), f"{name}(-inf) has the wrong sign of zero"


def test_signed_zero_conventions(dtype):
    z = np.array([-0.0, 0.0], dtype=dtype)
    assert not np.signbit(fa.relu(z)).any()  # relu(-0.0) = +0.0
    assert np.signbit(fa.silu(z))[0] and np.signbit(fa.gelu(z))[0] and np.signbit(fa.tanh(z))[0]


def test_derivative_conventions_at_kinks(dtype):
    assert fa.relu.grad(dtype.type(0)) == 0
    assert fa.leaky_relu.grad(dtype.type(0)) == dtype.type(0.01)
    assert (fa.relu6.grad(np.array([0, 6], dtype)) == 0).all()
    assert (fa.hard_tanh.grad(np.array([-1, 1], dtype)) == 0).all()
    np.testing.assert_array_equal(fa.hard_swish.grad(np.array([-3, 3], dtype)), [0, 1])
    assert (fa.hard_sigmoid.grad(np.array([-3, 3], dtype)) == 0).all()
    assert fa.elu.grad(dtype.type(0)) == 1.0  # alpha * e^0 with alpha = 1
    np.testing.assert_allclose(
        fa.selu.grad(dtype.type(0)), 1.0507009873554805 * 1.6732632423543772, rtol=1e-6
    )


def test_softplus_and_log_sigmoid_at_1e4(dtype):
    x = np.array([1e4, -1e4], dtype=dtype)
    np.testing.assert_array_equal(fa.softplus(x), [1e4, 0.0])
    np.testing.assert_array_equal(fa.log_sigmoid(x), [0.0, -1e4])
    np.testing.assert_array_equal(fa.softplus.grad(x), [1.0, 0.0])


def test_softplus_with_huge_beta_stays_finite(dtype):
    x = np.array([1.0, -1.0, 1e-31, 0.0], dtype=dtype)
    got = fa.softplus(x, beta=1e30, threshold=1e30)
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got[:2], [1.0, 0.0], rtol=1e-6)


def test_elu_family_keeps_relative_accuracy_near_zero(dtype):
    x = dtype.type(-1e-8)
    for act, scale in ((fa.elu, 1.0), (fa.celu, 1.0), (fa.selu, 1.0507009873554805 * 1.6732632423543772)):
        got = float(act(x))
        want = scale * np.expm1(-1e-8)
        assert abs(got - want) <= 2 * np.spacing(np.abs(want).astype(dtype)), act.name


def test_sigmoid_far_tail_is_zero_without_warnings(dtype):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fa.sigmoid(dtype.type(-1e4)) == 0.0
        assert fa.sigmoid(dtype.type(1e4)) == 1.0
        assert fa.sigmoid.grad(np.array([-1e4, 1e4], dtype)).tolist() == [0.0, 0.0]
        assert np.isnan(fa.sigmoid(np.array([np.nan], dtype))).all()


def test_sigmoid_keeps_subnormal_results_in_float32():
    got = fa.sigmoid(np.float32(-95.0))
    assert got > 0 and abs(float(got) - 5.521e-42) < 2e-45


def test_mish_and_silu_are_finite_at_1e3(dtype):
    x = np.array([1e3, -1e3], dtype=dtype)
    for act in (fa.mish, fa.silu, fa.gelu, fa.gelu_tanh):
        assert np.isfinite(act(x)).all() and np.isfinite(act.grad(x)).all(), act.name
        assert act(x)[0] == 1e3


def test_silu_grad_far_left_is_nonzero_in_float64():
    got = float(fa.silu.grad(np.float64(-709.0)))
    assert got != 0.0 and abs(got / -8.6e-306 - 1) < 0.01


def test_gelu_negative_tail_does_not_cancel():
    # 1 + erf(x / sqrt 2) is exactly 0 here; the erfc form keeps the value
    np.testing.assert_allclose(fa.gelu(np.float64(-10.0)), -7.619853024160526e-23, rtol=1e-13)
    assert fa.gelu_tanh(np.float32(-6.5)) < 0


def test_sigmoid_grad_does_not_cancel_for_large_x():
    # pytorch#195681: sigma(1 - sigma) returns 0 here
    np.testing.assert_allclose(fa.sigmoid.grad(37.42994775023705), 5.551115123125775e-17, rtol=1e-14)
