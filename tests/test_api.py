"""Ufunc semantics of Activation objects: dtypes, shapes, parameters, out=, errors."""

import pickle
import subprocess
import sys

import numpy as np
import pytest

import fastact as fa
from fastact import ActivationSpec, Param, Properties


def test_readme_example():
    y = fa.gelu(np.linspace(-3, 3, 7, dtype=np.float32))
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, fa.gelu.reference(np.linspace(-3, 3, 7)), rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64, np.uint16, np.bool_])
def test_int_and_bool_compute_in_float64(dtype):
    x = np.array([0, 1, 1], dtype=dtype)
    y = fa.sigmoid(x)
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y, fa.sigmoid(x.astype(np.float64)))


def test_float16_computes_in_float32_and_returns_float16():
    x = np.linspace(-4, 4, 33).astype(np.float16)
    y = fa.gelu(x)
    assert y.dtype == np.float16
    np.testing.assert_array_equal(y, fa.gelu(x.astype(np.float32)).astype(np.float16))
    out = np.empty_like(x)
    assert fa.gelu(x, out=out) is out and (out == y).all()


@pytest.mark.parametrize("bad", [np.array([1 + 2j]), np.array(["a"]), np.array([object()], dtype=object)])
def test_non_real_inputs_raise_dtype_error(bad):
    with pytest.raises(fa.DTypeError) as info:
        fa.relu(bad)
    assert isinstance(info.value, TypeError)


def test_longdouble_is_refused_clearly():
    if np.dtype(np.longdouble).itemsize <= 8:
        pytest.skip("longdouble is float64 here")
    with pytest.raises(fa.DTypeError, match="float64"):
        fa.relu(np.ones(2, dtype=np.longdouble))


def test_scalars_zero_d_and_empty():
    assert isinstance(fa.relu(-2.0), np.float64) and fa.relu(-2.0) == 0.0
    assert fa.tanh(np.float32(0.5)).dtype == np.float32
    assert np.ndim(fa.tanh(np.array(0.5))) == 0
    for shape in [(0,), (3, 0), (0, 2, 2)]:
        y = fa.gelu(np.empty(shape, np.float32))
        assert y.shape == shape and y.dtype == np.float32


def test_non_contiguous_inputs_match_contiguous_bitwise():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(64, 33)).astype(np.float32) * 4
    for view in (base[::2], base.T, base[::-1, ::3], np.broadcast_to(base[0], (5, 33))):
        for act in (fa.gelu, fa.softplus, fa.relu):
            np.testing.assert_array_equal(act(view), act(np.ascontiguousarray(view)))
            np.testing.assert_array_equal(act.grad(view), act.grad(np.ascontiguousarray(view)))


def test_parameters_broadcast_like_ufunc_inputs():
    x = np.random.default_rng(1).normal(size=(2, 3, 4, 5)).astype(np.float32)
    weight = np.array([0.1, 0.2, 0.3], dtype=np.float64).reshape(3, 1, 1)  # per channel (N, C, H, W)
    y = fa.prelu(x, weight)
    assert y.dtype == np.float32  # array parameters follow the input's dtype
    np.testing.assert_allclose(y, fa.prelu.reference(x, weight.astype(np.float32)), rtol=1e-7)
    slope = np.linspace(0, 1, 5)
    np.testing.assert_allclose(
        fa.leaky_relu(x, negative_slope=slope), np.where(x >= 0, x, slope.astype(np.float32) * x)
    )
    g = np.ones_like(x)
    np.testing.assert_allclose(fa.prelu.backward(x, g, weight), fa.prelu.grad(x, weight))


def test_positional_keyword_and_default_parameters_agree():
    x = np.linspace(-3, 3, 11)
    a = fa.softplus(x, 2.0, 10.0)
    b = fa.softplus(x, beta=2.0, threshold=10.0)
    c = fa.softplus(x, 2.0, threshold=10.0)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    np.testing.assert_array_equal(fa.softplus(x), fa.softplus(x, 1.0, 20.0))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda x: fa.softplus(x, beta=0.0), "beta.*outside"),
        (lambda x: fa.celu(x, alpha=np.array([1.0, -1.0])[:, None]), "alpha.*outside"),
        (lambda x: fa.softplus(x, gamma=1.0), "unknown parameter"),
        (lambda x: fa.relu(x, 1.0), "takes 0 parameter"),
        (lambda x: fa.elu(x, 1.0, alpha=2.0), "given twice"),
        (lambda x: fa.elu(x, alpha=1 + 1j), "real numbers"),
        (lambda x: fa.elu(x, alpha="a"), "real numbers"),
        (lambda x: fa.hard_tanh(x, 1.0, -1.0), "min_val"),
        (lambda x: fa.rrelu(x, 0.5, 0.1), "lower"),
        (lambda x: fa.relu(x, rng=0), "deterministic"),
    ],
)
def test_bad_parameters_raise_parameter_error(call, match):
    with pytest.raises(fa.ParameterError, match=match) as info:
        call(np.ones(3))
    assert isinstance(info.value, ValueError)


def test_out_argument():
    x = np.linspace(-2, 2, 12, dtype=np.float32).reshape(3, 4)
    out = np.empty_like(x)
    assert fa.silu(x, out=out) is out
    np.testing.assert_array_equal(out, fa.silu(x))
    wide = np.empty(x.shape, np.float64)  # same_kind casting, as NumPy allows
    fa.silu(x, out=wide)
    np.testing.assert_array_equal(wide, fa.silu(x).astype(np.float64))
    inplace = x.copy()
    fa.relu(inplace, out=inplace)
    np.testing.assert_array_equal(inplace, np.maximum(x, 0))
    g = np.full_like(x, 2.0)
    fa.silu.backward(x, g, out=out)
    np.testing.assert_allclose(out, 2 * fa.silu.grad(x), rtol=1e-6)


def test_out_errors():
    x = np.ones((3, 4), np.float32)
    with pytest.raises(fa.ShapeMismatchError, match=r"\(4, 3\).*\(3, 4\)"):
        fa.gelu(x, out=np.empty((4, 3), np.float32))
    with pytest.raises(fa.DTypeError, match="int32"):
        fa.gelu(x, out=np.empty((3, 4), np.int32))
    with pytest.raises(fa.DTypeError, match="NumPy array"):
        fa.gelu(x, out=[0.0] * 12)
    ro = np.empty((3, 4), np.float32)
    ro.flags.writeable = False
    with pytest.raises(fa.ParameterError, match="read-only"):
        fa.gelu(x, out=ro)
    with pytest.raises(fa.ShapeMismatchError, match="broadcast"):
        fa.leaky_relu(x, np.ones(5))


def test_backward_is_grad_out_times_grad():
    rng = np.random.default_rng(2)
    x = rng.normal(size=1000) * 3
    g = rng.normal(size=1000)
    for act in (fa.gelu, fa.mish, fa.elu, fa.hard_swish):
        np.testing.assert_allclose(act.backward(x, g), g * act.grad(x), rtol=1e-15, atol=0)
    x32 = x.astype(np.float32)
    assert fa.gelu.backward(x32, g.astype(np.float32)).dtype == np.float32


def test_rrelu_random_slopes_are_seeded_and_bounded():
    x = -np.ones(10000)
    a = fa.rrelu(x, rng=42)
    b = fa.rrelu(x, rng=42)
    np.testing.assert_array_equal(a, b)
    slopes = -a
    assert slopes.min() >= 1 / 8 and slopes.max() <= 1 / 3 and slopes.std() > 0.05
    np.testing.assert_array_equal(fa.rrelu.grad(x, rng=42), slopes)
    np.testing.assert_allclose(fa.rrelu(x), -(1 / 8 + 1 / 3) / 2)  # deterministic mean slope


def test_unknown_names_suggest_the_closest():
    with pytest.raises(fa.UnknownActivationError, match="did you mean gelu") as info:
        fa.get("gelo")
    assert isinstance(info.value, LookupError) and "gelu" in info.value.suggestions
    with pytest.raises(AttributeError):
        fa.not_an_activation  # noqa: B018
    assert fa.get("Leaky-ReLU").name == "leaky_relu"
    assert fa.get("fastact:gelu") is fa.gelu


def test_unknown_target_is_a_clear_error():
    with pytest.raises(fa.TargetUnavailableError, match="choose one of"):
        fa.get("gelu", target="tpu")


def test_activation_objects_pickle():
    act = pickle.loads(pickle.dumps(fa.gelu))
    assert act is fa.gelu
    np.testing.assert_array_equal(act(np.arange(3.0)), fa.gelu(np.arange(3.0)))


def test_info_describes_an_activation():
    data = fa.info("softplus")
    assert data["params"][0] == {
        "name": "beta",
        "default": 1.0,
        "bounds": "(0, inf)",
        "doc": data["params"][0]["doc"],
    }
    assert data["max_ulp"] == {"float32": 3, "float64": 4}
    assert data["source"] == "fastact" and data["kind"] == "elementwise"


# ---- runtime registration --------------------------------------------------------------------


def cube(x, a):
    return a * x * x * x


def cube_d(x, a):
    return 3.0 * a * x * x


def _cube_spec(name="test_cube", **kw):
    fields = dict(
        name=name,
        summary="a x^3",
        formula="a x^3",
        forward=cube,
        derivative=cube_d,
        reference=lambda x, a: a * np.asarray(x, np.float64) ** 3,
        properties=Properties("(-inf, inf)", True, True, True, False),
        params=(Param("a", 1.0, "scale"),),
    )
    fields.update(kw)
    return ActivationSpec(**fields)


def test_register_at_runtime_and_compile():
    act = fa.register(_cube_spec())
    try:
        assert "test_cube" in fa.names() and act.qualified_name == "runtime:test_cube"
        np.testing.assert_array_equal(act(np.array([2.0], np.float32), 0.5), [4.0])
        np.testing.assert_array_equal(act.grad(np.array([2.0]), a=2.0), [24.0])
        with pytest.raises(fa.SpecError, match="already registered by runtime"):
            fa.register(_cube_spec())
        again = fa.register(_cube_spec(summary="replaced"), replace=True)
        assert again.spec.summary == "replaced"
        with pytest.raises(fa.SpecError, match="already registered by fastact"):
            fa.register(_cube_spec(name="gelu"))
    finally:
        fa.REGISTRY.unregister("test_cube")  # unregister itself is what this test checks
    assert "test_cube" not in fa.names()


def test_lambdas_compile_in_memory(registered):
    spec = _cube_spec(name="test_lambda", forward=lambda x, a: a * x, derivative=lambda x, a: a + 0.0 * x)
    act = registered(spec)
    np.testing.assert_array_equal(act(np.arange(3.0), 2.0), [0.0, 2.0, 4.0])


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(name="Bad Name"), "lower_snake_case"),
        (dict(forward=None), "forward is missing"),
        (dict(params=(Param("a", -1.0, lower=0.0),)), "outside"),
        (dict(abi=99), "ABI version 99"),
        (dict(reference=None), "reference"),
        (dict(forward=lambda x: x), "forward takes 1 arguments"),
        (dict(max_ulp={"float16": 1}), "max_ulp"),
    ],
)
def test_invalid_specs_are_refused_with_a_precise_error(change, match):
    with pytest.raises(fa.SpecError, match=match):
        fa.register(
            _cube_spec(name="test_invalid", **change) if "name" not in change else _cube_spec(**change)
        )


def test_a_spec_numba_cannot_compile_gives_compile_error(registered):
    def forward(x):
        return {"not": x}["not"] + object()

    act = registered(_cube_spec(name="test_uncompilable", forward=forward, derivative=None, params=()))
    with pytest.raises(fa.CompileError, match="test_uncompilable: the forward kernel does not compile"):
        act(np.ones(2))
    with pytest.raises(fa.CompileError, match="no derivative"):
        act.grad(np.ones(2))


def test_import_and_listing_do_not_import_numba():
    code = "import sys, fastact; fastact.names(); fastact.info('gelu'); assert 'numba' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_kernels_are_cached_on_disk_across_processes(tmp_path):
    code = "import numpy as np, fastact; print(fastact.elu(np.array([-1.0], np.float32))[0])"
    env = {"FASTACT_CACHE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    import os

    env = {**os.environ, **env}
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    generated = list((tmp_path / "kernels").glob("fastact__elu_forward_*.py"))
    index = list((tmp_path / "kernels" / "__pycache__").glob("*.nbi"))
    assert len(generated) == 1 and index, "no generated module or Numba cache index was written"
    stamp = {p: p.stat().st_mtime_ns for p in (tmp_path / "kernels" / "__pycache__").iterdir()}
    second = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert first.stdout == second.stdout == "-0.63212055\n"
    # the second process loaded the cache instead of writing it again
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "kernels" / "__pycache__").iterdir()} == stamp
