"""fastact inside Numba code (issue 20): activation objects in ``@njit`` and ``@vectorize``,
scalars and arrays, forward/grad/backward, bitwise equal to fastact outside Numba.

Compiling is what costs (about 0.2 s per scalar call site, 0.5 s per array one), so one
function per builtin exercises the forms at once (float32 scalars for forward, grad and
backward in a loop, a float64 scalar, a 2-D F-ordered float64 array), and array grad/backward
are checked on a few activations (a plugin and a composition among them). The activation is
passed as an argument: its Numba type carries the spec.
"""

from __future__ import annotations

import subprocess
import sys

import numba
import numpy as np
import pytest

import fastact as fa
from tests import plugin_fixtures
from tests.conftest import BUILTINS

VALUES = np.array(
    [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 3.0, -3.0, 6.0, -6.0, 20.0, -20.0, 0.25, -0.75, 1e-3,
     -1e-3, 88.5, -88.5, 710.0, -710.0, 1e4, -1e4, 1e-40, -1e-40, 5e-324, np.inf, -np.inf, np.nan, 0.9, 0.1]
)  # fmt: skip
X32 = VALUES.astype(np.float32)
X64 = np.asfortranarray(VALUES.reshape(4, 8))  # 2-D, not C-contiguous
G32 = np.linspace(-2, 2, X32.size).astype(np.float32)
G64 = np.linspace(-3, 3, X32.size)


def same(got, want) -> bool:
    """Equal bits (the sign of zero included), dtype and shape; NaN where the other is NaN
    (a NaN's sign bit is not a value: vectorized and scalar code may set it differently)."""
    got, want = np.asarray(got), np.asarray(want)
    if got.dtype != want.dtype or got.shape != want.shape:
        return False
    nan = np.isnan(got)
    if not np.array_equal(nan, np.isnan(want)):
        return False
    view = np.uint32 if got.dtype == np.float32 else np.uint64
    return np.array_equal(got[~nan].view(view), want[~nan].view(view))


@numba.njit
def every_form(act, x32, g32, x64, s):
    f = np.empty(x32.size, np.float32)
    d = np.empty(x32.size, np.float32)
    b = np.empty(x32.size, np.float32)
    for i in range(x32.size):
        f[i] = act(x32[i])
        d[i] = act.grad(x32[i])
        b[i] = act.backward(x32[i], g32[i])
    return f, d, b, act(x64), act(s)


@pytest.mark.parametrize("name", BUILTINS)
def test_every_builtin_in_njit_equals_fastact_bitwise(name):
    act = fa.get(name)
    f, d, b, nd, scalar = every_form(act, X32, G32, X64, 0.375)
    assert same(f, act(X32)), (f, act(X32))
    assert same(d, act.grad(X32)), (d, act.grad(X32))
    assert same(b, act.backward(X32, G32)), (b, act.backward(X32, G32))
    assert same(nd, act(X64))
    assert same(scalar, act(0.375))


@numba.njit
def grad_and_backward(act, x, g):
    return act.grad(x), act.backward(x, g), act.grad(0.625), act.backward(0.625, -1.5)


def _array_cases():
    return ["gelu", "softplus", "logit", "elu", "x*tanh.softplus", "tanh.softplus"]


@pytest.mark.parametrize("name", _array_cases())
def test_array_grad_and_backward(name):
    act = fa.get(name)
    x = X64.reshape(2, 16)  # 2-D, C order
    g = G64.reshape(2, 16)
    d, b, ds, bs = grad_and_backward(act, x, g)
    assert same(d, act.grad(x)) and same(b, act.backward(x, g))
    assert same(ds, act.grad(0.625)) and same(bs, act.backward(0.625, -1.5))


COMPOSED = fa.get("x*tanh.softplus")


@numba.njit
def composed_global(x):
    return COMPOSED(x), fa.leaky_relu(x, 0.2), fa.leaky_relu.grad(x, 0.2), fa.softplus(x, 2.0, 10.0)


def test_globals_parameters_and_compositions():
    """Activations as globals (frozen at compile time), module attributes included, with
    positional parameters; a composition equals mish."""
    got = composed_global(X32)
    want = (COMPOSED(X32), fa.leaky_relu(X32, 0.2), fa.leaky_relu.grad(X32, 0.2), fa.softplus(X32, 2.0, 10.0))
    for a, b in zip(got, want):
        assert same(a, b)
    finite = np.isfinite(X32)
    np.testing.assert_allclose(got[0][finite], fa.mish(X32)[finite], rtol=1e-6, atol=1e-30)


@pytest.fixture
def good_plugin(tmp_path):
    """The good-plugin distribution (``bent_square(x, a) = a x + x^2``) installed and loaded."""
    plugin_fixtures.install(tmp_path, names={"fa_good_plugin"})
    fa.REGISTRY.reload()
    try:
        yield fa.get("bent_square")
    finally:
        plugin_fixtures.uninstall(tmp_path)
        fa.REGISTRY.reload()


def test_a_plugin_activation_in_njit(good_plugin):
    act = good_plugin
    assert act.qualified_name == "good-plugin:bent_square"
    got = every_form(act, X32, G32, X64, 0.375)
    want = (act(X32), act.grad(X32), act.backward(X32, G32), act(X64), act(0.375))
    for a, b in zip(got, want):
        assert same(a, b)

    @numba.njit
    def with_param(a, x, g):
        return a(x, 2.0), a.backward(x, g, 2.0)

    f, b = with_param(act, X64, X64)
    assert same(f, act(X64, 2.0)) and same(b, act.backward(X64, X64, 2.0))


@numba.vectorize(["float64(float64)", "float32(float32)"])
def vec_gelu(x):
    return fa.gelu(x) + fa.silu.grad(x)


def test_vectorize():
    assert same(vec_gelu(X64), fa.gelu(X64) + fa.silu.grad(X64))


def test_parameters_are_checked_and_mistakes_are_clear():
    @numba.njit
    def slope(x, s):
        return fa.softplus(x, s)

    with pytest.raises(fa.ParameterError, match="beta"):
        slope(1.0, np.nan)
    with pytest.raises(fa.ParameterError, match="beta"):
        numba.njit(lambda x: fa.softplus(x, -1.0))(1.0)

    with pytest.raises(numba.core.errors.TypingError, match="takes 1 parameter"):
        numba.njit(lambda x: fa.leaky_relu(x, 0.1, 0.2))(1.0)
    with pytest.raises(numba.core.errors.TypingError, match="axis-wise"):
        numba.njit(lambda x: fa.softmax(x))(X64)
    with pytest.raises(numba.core.errors.TypingError, match="float16"):
        numba.njit(lambda x: fa.relu(x))(np.ones(3, np.float16))
    with pytest.raises(numba.core.errors.TypingError, match="both scalars or both arrays"):
        numba.njit(lambda x: fa.relu.backward(x, 1.0))(X64)

    @numba.njit
    def mismatch(x, g):
        return fa.relu.backward(x, g)

    with pytest.raises(fa.ShapeMismatchError):
        mismatch(np.ones(3), np.ones(4))


def test_integer_input_computes_in_float64():
    @numba.njit
    def f(x, n):
        return fa.sigmoid(x), fa.sigmoid(n)

    arr, scalar = f(np.arange(-3, 4), 2)
    assert same(arr, fa.sigmoid(np.arange(-3, 4))) and scalar == fa.sigmoid(2)


def test_the_loop_inlines_no_python_objects():
    """The compiled loop (not its Python wrapper) calls nothing but LLVM intrinsics and
    Numba's reference counting: no Python C API, no separate function for the activation."""

    @numba.njit
    def loop(x, out):
        for i in range(x.size):
            out[i] = fa.gelu(x[i])

    out = np.empty_like(X64.ravel())
    loop(X64.ravel(), out)
    assert same(out, fa.gelu(X64.ravel()))
    ir = next(iter(loop.inspect_llvm().values()))
    start = ir.index("define", ir.index("4loop") - 200)
    body = ir[start : ir.index("\n}", start)]
    assert "4loop" in body.splitlines()[0]
    called = {part.split("(")[0] for part in body.split("call ")[1:]}
    foreign = {c for c in called if not any(k in c for k in ("@llvm.", "@NRT_"))}
    assert not foreign, foreign


def test_import_fastact_imports_neither_numba_nor_torch_nor_jax():
    code = (
        "import sys, fastact; fastact.names(); fastact.gelu; "
        "found = {'numba', 'torch', 'jax'} & set(sys.modules); assert not found, found"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def readme_section(title: str, next_title: str) -> list[str]:
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = text[text.index(f"## {title}\n") : text.index(f"## {next_title}\n")]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_readme_example_runs():
    (code,) = readme_section("Inside Numba code", "PyTorch")
    exec(compile(code, "README numba", "exec"), {})


CUDA_WORKER = """
import sys
from numba import cuda, types
import numba.cuda.dispatcher as dispatcher

class Target:
    compute_capability = (8, 0)

dispatcher.get_current_device = lambda: Target()  # what nested device functions ask the driver
try:
    cuda.compile_ptx(lambda x: None, (types.float32[::1],), cc=(8, 0))
except Exception as exc:
    print("NO-NVVM", type(exc).__name__, str(exc)[:200])
    sys.exit(0)
import fastact as fa

mish = fa.get("x*tanh.softplus")

def k(x, out):
    i = cuda.grid(1)
    if i < x.size:
        out[i] = fa.leaky_relu(x[i], 0.2) + fa.gelu.grad(x[i]) + fa.elu.backward(x[i], 2.0) + mish(x[i])

from numba.cuda.core import entrypoints

entrypoints.init_all()  # what a cuda.jit dispatcher runs before compiling: fastact's entry point
ptx, _ = cuda.compile_ptx(k, (types.float32[::1], types.float32[::1]), cc=(8, 0))
calls = [line for line in ptx.splitlines() if line.strip().startswith("call")]
print("PTX", len(ptx), "CALLS", len(calls))
"""


def test_cuda_device_code_compiles_to_ptx_inlined():
    """``@cuda.jit`` device code calling activations on scalars compiles for sm_80 on numba-cuda's
    real target (NVVM from the ``ptx`` extra; no GPU needed), with the scalar code inlined."""
    import os

    pytest.importorskip("numba_cuda")
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "0"}
    run = subprocess.run([sys.executable, "-c", CUDA_WORKER], env=env, capture_output=True, text=True,
                         timeout=600)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    if run.stdout.startswith("NO-NVVM"):
        if os.environ.get("FASTACT_PTX_REQUIRE", "0") not in ("", "0"):
            pytest.fail(run.stdout)
        pytest.skip(run.stdout)
    assert "PTX" in run.stdout and run.stdout.strip().endswith("CALLS 0"), run.stdout
