"""Axis-wise activations: against the long-double NumPy references within the stated bounds,
every axis of 1-D to 4-D inputs, special rows, backward against references and finite
differences, out=, dtypes, errors, the parallel target and the CLI."""

import numpy as np
import pytest
from click.testing import CliRunner

import fastact as fa
from fastact.testing.accuracy import bounds, within

AXIS = fa.names("axis")
DTYPES = [np.float32, np.float64]


def test_all_registered_with_their_kind():
    assert set(AXIS) == {"softmax", "log_softmax", "softmin", "logsumexp", "logmeanexp", "standardize",
                         "sparsemax", "glu", "swiglu", "geglu", "reglu"}  # fmt: skip
    assert all(fa.info(n)["kind"] == "axis" for n in AXIS)
    assert isinstance(fa.softmax, fa.AxisActivation) and fa.info("relu")["kind"] == "elementwise"


def _check(act, x, axis, dtype, **kw):
    spec = act.spec
    got = act(x, axis=axis, **kw)
    ref = spec.reference(x.astype(np.float64), axis, *[float(dtype.type(v)) for v in spec.defaults])
    if kw.get("keepdims"):
        ref = np.expand_dims(ref, axis)
    assert got.shape == ref.shape and got.dtype == dtype
    ulps, atol = bounds(spec, dtype, "forward")
    ok = within(got, ref, dtype, ulps, atol)
    bad = np.flatnonzero(~ok)[:3]
    assert ok.all(), f"{spec.name} axis={axis}: got {got.flat[bad]} ref {ref.flat[bad]}"
    return got


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name", AXIS)
def test_matches_reference_on_every_axis(name, dtype):
    act, dt = fa.get(name), np.dtype(dtype)
    rng = np.random.default_rng(0)
    for shape in [(12,), (6, 8), (4, 6, 8), (2, 4, 6, 4)]:
        for scale in (1.0, 20.0):
            x = (rng.standard_normal(shape) * scale).astype(dt)
            for axis in range(-len(shape), len(shape)):
                _check(act, x, axis, dt)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name", [n for n in AXIS if fa.get(n).spec.output != "half"])
def test_special_rows(name, dtype):
    act, dt = fa.get(name), np.dtype(dtype)
    inf, nan = np.inf, np.nan
    rows = np.array([
        [1.0, 1.0, 1.0, 1.0],          # all equal
        [1e30, 0.0, -1.0, 2.0],         # one huge value
        [-inf, 0.0, 1.0, -inf],        # -inf entries
        [-inf, -inf, -inf, -inf],      # all -inf
        [inf, 0.0, inf, -inf],         # +inf entries
        [nan, 0.0, 1.0, 2.0],          # NaN
        [0.0, -40.0, -40.0, -45.0],    # a dominant entry
    ]).astype(dt)  # fmt: skip
    got = act(rows)
    ref = act.spec.reference(rows.astype(np.float64), -1, *act.spec.defaults)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    ulps, atol = bounds(act.spec, dt, "forward")
    assert within(got, ref, dt, ulps, atol).all(), (got, ref)
    assert np.isnan(got[5]).all()


def test_documented_special_values():
    inf = np.inf
    np.testing.assert_array_equal(fa.softmax(np.array([inf, 0.0, inf])), [0.5, 0.0, 0.5])
    assert np.isnan(fa.softmax(np.array([-inf, -inf]))).all()  # as PyTorch
    assert fa.logsumexp(np.array([-inf, -inf])) == -inf and fa.logsumexp(np.array([inf, 1.0])) == inf
    np.testing.assert_array_equal(fa.log_softmax(np.array([inf, 0.0, inf])), [-np.log(2), -inf, -np.log(2)])
    assert fa.logsumexp(np.zeros((3, 0))).tolist() == [-inf] * 3


def test_logsumexp_keeps_the_tiny_term():
    assert fa.logsumexp(np.array([0.0, -40.0])) == np.log1p(np.exp(-40.0))
    assert fa.logsumexp(np.array([0.0, -40.0], np.float32)) == np.float32(np.log1p(np.exp(-40.0)))
    x = np.full(7, 3.25)
    assert fa.logmeanexp(x) == 3.25  # exact for equal entries
    got = fa.logsumexp(np.arange(24.0).reshape(2, 3, 4), axis=1, keepdims=True)
    assert got.shape == (2, 1, 4)


@pytest.mark.parametrize("name", AXIS)
def test_backward_matches_reference_and_finite_differences(name):
    act = fa.get(name)
    spec = act.spec
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 6, 8))
    for axis in (-1, 1, 0):
        y = act(x, axis=axis)
        g = rng.standard_normal(y.shape)
        got = act.backward(x, g, axis=axis)
        assert got.shape == x.shape
        np.testing.assert_allclose(got, spec.reference_backward(x, g, axis), rtol=1e-10, atol=1e-12)
        # <g, J v> by central differences of the reference must equal <backward(x, g), v>
        v = rng.standard_normal(x.shape)
        h = 1e-6
        fd = (spec.reference(x + h * v, axis) - spec.reference(x - h * v, axis)) / (2 * h)
        assert np.sum(g * fd) == pytest.approx(np.sum(got * v), rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("name", AXIS)
def test_float32_backward(name):
    act = fa.get(name)
    x = np.random.default_rng(2).standard_normal((7, 10)).astype(np.float32)
    g = np.random.default_rng(3).standard_normal(act(x).shape).astype(np.float32)
    got = act.backward(x, g)
    assert got.dtype == np.float32
    ref = act.spec.reference_backward(x.astype(np.float64), g.astype(np.float64), -1)
    np.testing.assert_allclose(got, ref, rtol=2e-5, atol=2e-6)


def test_out_dtypes_layouts_and_errors():
    x = np.random.default_rng(4).standard_normal((6, 10)).astype(np.float32)
    out = np.empty_like(x)
    assert fa.softmax(x, out=out) is out
    np.testing.assert_array_equal(out, fa.softmax(x))
    out_t = np.empty((10, 6), np.float32)
    fa.softmax(x.T, axis=0, out=out_t)  # non-contiguous input, axis 0
    np.testing.assert_allclose(out_t, fa.softmax(x, axis=1).T, rtol=1e-6)
    assert fa.softmax(x.astype(np.float16)).dtype == np.float16
    assert fa.softmax(np.arange(4)).dtype == np.float64
    with pytest.raises(fa.ShapeMismatchError, match="out= has shape"):
        fa.softmax(x, out=np.empty((6, 9), np.float32))
    with pytest.raises(fa.ShapeMismatchError, match="odd"):
        fa.swiglu(np.ones((2, 5)))
    assert fa.swiglu(np.ones((2, 6)), axis=1).shape == (2, 3)
    with pytest.raises(fa.ParameterError, match="out of bounds"):
        fa.softmax(x, axis=2)
    with pytest.raises(fa.ParameterError, match="Jacobian"):
        fa.softmax.grad(x)
    with pytest.raises(fa.ShapeMismatchError, match="grad_out has shape"):
        fa.softmax.backward(x, np.ones((6, 9)))
    with pytest.raises(fa.DTypeError):
        fa.softmax(np.ones(3, complex))
    with pytest.raises(fa.ParameterError, match="outside"):
        fa.standardize(x, eps=-1.0)
    with pytest.raises(fa.TargetUnavailableError, match="sparsemax has no CUDA kernel yet"):
        fa.get("sparsemax", target="cuda")


def test_parallel_rows_are_bitwise_the_cpu_result():
    x = np.random.default_rng(5).standard_normal((3000, 200)).astype(np.float32)
    for name in ("softmax", "log_softmax", "logsumexp", "standardize"):
        par = fa.get(name, target="parallel", threads=2)
        np.testing.assert_array_equal(par(x), fa.get(name)(x))
        g = np.ones_like(fa.get(name)(x))
        np.testing.assert_array_equal(par.backward(x, g), fa.get(name).backward(x, g))


def test_cli_lists_kind_and_evaluates():
    from fastact.tools.cli import main

    runner = CliRunner()
    result = runner.invoke(main, ["list", "--json"])
    kinds = {row["name"]: row["kind"] for row in __import__("json").loads(result.stdout)}
    assert kinds["softmax"] == "axis" and kinds["relu"] == "elementwise"
    result = runner.invoke(main, ["eval", "softmax", "0", "0", "--json"])
    assert result.exit_code == 0 and __import__("json").loads(result.stdout)["y"] == [0.5, 0.5]
    result = runner.invoke(main, ["eval", "softmax", "0", "1", "--grad"])
    assert result.exit_code == 2 and "Jacobian" in result.stderr
    for name in AXIS:
        result = runner.invoke(main, ["show", name])
        assert result.exit_code == 0 and "axis-wise" in result.stdout, result.output
    result = runner.invoke(main, ["eval", "logsumexp", "0", "-40"])
    assert result.exit_code == 0 and "4.248354255291589e-18" in result.stdout
