"""The small-array fast path (issue 22) computes exactly what the general path computes.

``Activation._fast`` and ``AxisActivation._fast`` decide the common call with a few checks
and call the compiled loop; everything else falls through to ``_apply``. These tests compare
the two bit for bit on every builtin, prove the fast path is really taken where it should
be (``_apply`` patched to fail), and that the cases it must not take still get NumPy's
semantics.
"""

import numpy as np
import pytest

import fastact as fa
from fastact.activation import Activation
from fastact.axis import AxisActivation

from .conftest import BUILTINS

AXIS = [e.spec.name for e in fa.REGISTRY.entries("axis") if e.builtin]

SPECIALS = [0.0, -0.0, 1e-310, -1e-310, 1e-40, 0.5, -0.5, 3.0, -3.0, 30.0, -30.0, 700.0, -700.0,
            1e30, -1e30, np.inf, -np.inf, np.nan]  # fmt: skip


def _values(dtype, n=64):
    rng = np.random.default_rng(7)
    x = np.concatenate([np.array(SPECIALS), rng.normal(scale=4, size=n)])
    with np.errstate(over="ignore"):
        return x.astype(dtype)


def _bits(a):
    a = np.asarray(a)
    return a.view(np.uint32 if a.dtype == np.float32 else np.uint64)


def _same(a, b):
    assert type(a) is type(b)
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    assert np.array_equal(_bits(a), _bits(b))


def _no_general_path(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("the general path was taken")

    monkeypatch.setattr(Activation, "_apply", fail)
    monkeypatch.setattr(AxisActivation, "_apply", fail)


@pytest.mark.parametrize("name", BUILTINS)
def test_fast_path_equals_general_path_bitwise(name, dtype):
    act = fa.get(name)
    x = _values(dtype).reshape(2, -1)
    g = x[::-1].copy()
    ops = [("forward", None)] + ([("grad", None), ("backward", g)] if act.spec.derivative else [])
    for op, gg in ops:
        call = {"forward": act, "grad": act.grad, "backward": act.backward}[op]
        args = (x,) if gg is None else (x, gg)
        general = act._apply(op, x, gg, (), {}, None, None)
        fast = act._fast(op, x, gg, (), None)
        _same(fast, general)
        out = np.empty_like(x)
        assert call(*args, out=out) is out
        _same(out, general)


@pytest.mark.parametrize("name", ["gelu", "leaky_relu", "softplus", "hard_tanh", "elu"])
def test_fast_path_with_positional_scalar_parameters(name, dtype):
    act = fa.get(name)
    x = _values(dtype)
    params = tuple(0.5 * (p.default or 1.0) + (0.25 if p.lower is None else 0.0) for p in act.spec.params)
    if name == "hard_tanh":
        params = (-0.5, 2.0)
    general = act._apply("forward", x, None, params, {}, None, None)
    _same(act._fast("forward", x, None, params, None), general)


@pytest.mark.parametrize("value", [0.5, -2.25, np.float64(1.5), np.float32(-0.75), 1e-310, np.nan])
def test_scalars_take_the_loop_and_return_numpy_scalars(value, monkeypatch):
    for name in ("gelu", "sigmoid", "tanh"):
        act = fa.get(name)
        expected_type = np.float32 if type(value) is np.float32 else np.float64
        general = act._apply("forward", value, None, (), {}, None, None)
        fast = act._fast("forward", value, None, (), None)
        assert type(fast) is expected_type and type(general) is expected_type
        _same(fast, general)
        _same(act.backward(value, value), act._apply("backward", value, value, (), {}, None, None))


def test_the_fast_path_is_taken_for_the_common_calls(monkeypatch):
    x = _values(np.float32)
    g, out = np.ones_like(x), np.empty_like(x)
    expected = fa.gelu(x), fa.gelu.backward(x, g), fa.softmax(x.reshape(2, -1))
    _no_general_path(monkeypatch)
    fa.gelu(x, out=out)
    _same(out, expected[0])
    _same(fa.gelu.backward(x, g), expected[1])
    _same(fa.gelu(x, out=x.copy()), expected[0])
    y = x.copy()
    assert fa.gelu(y, out=y) is y  # exactly in place is fine
    _same(fa.softmax(x.reshape(2, -1)), expected[2])
    fa.leaky_relu(x, 0.2)
    fa.gelu(0.5)


@pytest.mark.parametrize(
    "case",
    ["strided", "overlap", "read-only", "float16", "big-endian", "array-param", "bad-param", "keyword",
     "0-d"],  # fmt: skip
)
def test_what_the_fast_path_leaves_to_the_general_path(case, monkeypatch):
    x = _values(np.float64)
    seen = []
    original = Activation._apply

    def spy(self, *args, **kwargs):
        seen.append(True)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Activation, "_apply", spy)
    if case == "strided":
        out = np.zeros(2 * x.size)[::2]
        fa.sigmoid(x, out=out)
        _same(out, fa.sigmoid(x.copy()))
    elif case == "overlap":
        b = np.concatenate([x, [1.0]])
        expected = fa.sigmoid(b[:-1].copy())
        fa.sigmoid(b[:-1], out=b[1:])
        _same(b[1:], expected)
    elif case == "read-only":
        r = x.copy()
        r.flags.writeable = False
        _same(fa.sigmoid(r), fa.sigmoid(x))
    elif case == "float16":
        assert fa.sigmoid(np.ones(3, np.float16)).dtype == np.float16
    elif case == "big-endian":
        _same(fa.sigmoid(x.astype(">f8")), fa.sigmoid(x))
    elif case == "array-param":
        fa.leaky_relu(x, np.full(x.shape, 0.1))
    elif case == "bad-param":
        with pytest.raises(fa.ParameterError):
            fa.hard_tanh(x, 1.0, -1.0)
    elif case == "keyword":
        fa.softplus(x, beta=2.0)
    elif case == "0-d":
        assert np.ndim(fa.sigmoid(np.array(0.5))) == 0
    assert seen, "the general path should have taken this call"


@pytest.mark.parametrize("name", AXIS)
def test_axis_fast_path_equals_general_path_bitwise(name, dtype):
    act = fa.get(name)
    x = np.nan_to_num(_values(dtype, n=78), posinf=5.0, neginf=-5.0, nan=0.25).reshape(4, 24)
    x[1, 3] = np.inf
    general = act._apply(False, x, None, (), {}, -1, None, False)
    _same(act._fast(x, None, -1, None), general)
    if act.spec.backward is not None:
        g = np.random.default_rng(1).normal(size=np.shape(general)).astype(dtype)
        general = act._apply(True, x, g, (), {}, -1, None, False)
        _same(act._fast(x, g, -1, None), general)
        out = np.empty_like(x)
        assert act.backward(x, g, out=out) is out
        _same(out, general)


def test_ufunc_is_a_real_numpy_ufunc():
    u = fa.gelu.ufunc()
    assert isinstance(u, np.ufunc) and u.types == ["f->f", "d->d"]
    x = _values(np.float64)
    with np.errstate(all="ignore"):  # the raw ufunc reports the branch-free kernel's FP flags
        _same(u(x), fa.gelu(x))


def test_module_attributes_are_kept_until_the_registry_changes():
    import dataclasses

    spec = dataclasses.replace(fa.get("gelu").spec, name="fast_path_probe", aliases=())
    fa.register(spec)
    try:
        first = fa.fast_path_probe
        assert fa.fast_path_probe is first and "fast_path_probe" in vars(fa)
        fa.register(dataclasses.replace(spec, summary="second"), replace=True)
        assert "fast_path_probe" not in vars(fa)  # dropped on the change
        assert fa.fast_path_probe.spec.summary == "second"
    finally:
        fa.REGISTRY.unregister("fast_path_probe")  # the unregister is part of what is tested
    with pytest.raises(AttributeError):
        _ = fa.fast_path_probe
    assert fa.get is not None and callable(fa.names)  # module functions are never shadowed
