"""Every activation's CUDA forward/grad/backward against the NumPy references (the stated
bounds) and the CPU target, out=, __cuda_array_interface__ objects, streams and errors."""

import numpy as np
import pytest

import fastact as fa
from fastact.testing.accuracy import SPECIAL, bounds, within

BUILTINS = [e.spec.name for e in fa.REGISTRY.entries("elementwise") if e.builtin]
DTYPES = [np.float32, np.float64]


def inputs(dtype):
    rng = np.random.default_rng(5)
    with np.errstate(over="ignore"):
        return np.concatenate([rng.uniform(-8, 8, 40), SPECIAL]).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name", BUILTINS)
def test_matches_reference_and_cpu(name, dtype):
    gpu, cpu = fa.get(name, target="cuda"), fa.get(name)
    spec = gpu.spec
    dt = np.dtype(dtype)
    x = inputs(dt)
    g = np.random.default_rng(1).uniform(-2, 2, x.shape).astype(dt)
    p = [float(dt.type(v)) for v in spec.defaults]
    x64 = x.astype(np.float64)
    with np.errstate(all="ignore"):
        cases = [("forward", gpu(x), cpu(x), spec.reference(x64, *p))]
        cases.append(("grad", gpu.grad(x), cpu.grad(x), spec.reference_derivative(x64, *p)))
        cases.append(("backward", gpu.backward(x, g), cpu.backward(x, g), g.astype(np.float64) * cases[1][3]))
    for op, got, on_cpu, ref in cases:
        assert got.dtype == dt and got.shape == x.shape
        ulps, atol = bounds(spec, dt, op)
        ok = within(got, ref, dt, ulps, 2 * atol) | within(got, on_cpu, dt, 2 * ulps + 1, 2 * atol)
        with np.errstate(over="ignore"):
            ok |= np.isinf(ref.astype(dt)) & np.isinf(got)  # overflow of the dtype, as on the CPU
        bad = np.flatnonzero(~ok)[:3]
        assert ok.all(), f"{name} {op}: x={x[bad]} cuda={got[bad]} cpu={on_cpu[bad]} ref={ref[bad]}"
        assert np.array_equal(np.isnan(got), np.isnan(on_cpu)), f"{name} {op}: NaN pattern differs"


def test_parameters_scalar_and_broadcast():
    gpu, cpu = fa.get("leaky_relu", target="cuda"), fa.get("leaky_relu")
    x = np.linspace(-3, 3, 24).reshape(4, 6)
    slope = np.array([[0.1], [0.2], [0.3], [0.4]])  # per row, broadcast over columns
    np.testing.assert_array_equal(gpu(x, slope), cpu(x, slope))
    np.testing.assert_array_equal(gpu.grad(x, negative_slope=0.3), cpu.grad(x, negative_slope=0.3))
    elu = fa.get("elu", target="cuda")
    np.testing.assert_allclose(elu(np.float32([-1.0]), 2.0), fa.elu(np.float32([-1.0]), 2.0), rtol=1e-6)


def test_float16_ints_and_shapes():
    gpu = fa.get("sigmoid", target="cuda")
    h = np.linspace(-4, 4, 9, dtype=np.float16)
    assert gpu(h).dtype == np.float16
    np.testing.assert_array_equal(gpu(h), fa.sigmoid(h))
    assert gpu(np.arange(3)).dtype == np.float64
    x = np.ones((2, 3, 4), np.float32)
    assert gpu(x).shape == (2, 3, 4)
    assert gpu(np.zeros((0, 3))).shape == (0, 3)
    np.testing.assert_array_equal(gpu(x[:, ::2]), fa.sigmoid(x[:, ::2]))  # non-contiguous host input


class FakeCAI:
    """The smallest __cuda_array_interface__ producer: in the simulator device memory is host
    memory, so a NumPy buffer stands in for a CuPy array or a PyTorch CUDA tensor."""

    def __init__(self, array):
        self.array = array

    @property
    def __cuda_array_interface__(self):
        a = self.array
        return {"shape": a.shape, "typestr": a.dtype.str, "data": (a.ctypes.data, False), "version": 3,
                "strides": None}  # fmt: skip


def test_cuda_array_interface_objects_are_used_in_place():
    x = np.linspace(-3, 3, 12).astype(np.float32)
    out = np.zeros_like(x)
    gpu = fa.get("silu", target="cuda")
    result = gpu(FakeCAI(x), out=FakeCAI(out))
    assert isinstance(result, FakeCAI)
    np.testing.assert_allclose(out, fa.silu(x), rtol=1e-6)
    on_device = gpu.backward(FakeCAI(x), FakeCAI(np.ones_like(x)))  # device in, device out
    np.testing.assert_allclose(on_device.copy_to_host(), fa.silu.grad(x), rtol=1e-6)


def test_auto_target_picks_by_where_the_array_lives():
    auto = fa.get("relu", target="auto")
    x = np.array([-1.0, 2.0])
    assert isinstance(auto(x), np.ndarray)
    out = np.zeros(2)
    auto(FakeCAI(x), out=FakeCAI(out))
    np.testing.assert_array_equal(out, [0.0, 2.0])


def test_keep_on_device_and_streams():
    from numba import cuda

    gpu = fa.get("tanh", target="cuda")
    x = np.linspace(-2, 2, 16)
    d = gpu(x, keep_on_device=True)
    np.testing.assert_allclose(d.copy_to_host(), np.tanh(x), rtol=1e-15)
    stream = cuda.stream()
    np.testing.assert_allclose(gpu(x, stream=stream), np.tanh(x), rtol=1e-15)
    host_out = np.empty_like(x)
    assert gpu.grad(x, out=host_out, stream=stream) is host_out


def test_errors():
    gpu = fa.get("relu", target="cuda")
    with pytest.raises(fa.ShapeMismatchError, match="out= has shape"):
        gpu(FakeCAI(np.ones(4, np.float32)), out=FakeCAI(np.ones(3, np.float32)))
    with pytest.raises(fa.DTypeError, match="out= on the device has dtype float64"):
        gpu(FakeCAI(np.ones(4, np.float32)), out=FakeCAI(np.ones(4)))
    with pytest.raises(fa.DTypeError, match="int32; the cuda target takes float32 or float64"):
        gpu(FakeCAI(np.ones(4, np.int32)))
    with pytest.raises(fa.ParameterError, match="outside"):
        fa.get("softplus", target="cuda")(np.ones(3), 0.0)
    with pytest.raises(fa.ParameterError, match="cuda target only"):
        fa.relu(np.ones(3), keep_on_device=True)


def test_plugin_activation_gets_the_cuda_target_with_no_extra_code():
    from fastact.plugin import ActivationSpec, Properties

    def cube(x):
        return x * x * x

    def cube_d(x):
        return 3.0 * x * x

    spec = ActivationSpec(
        name="cube_cuda_test", summary="x^3", formula="x^3", forward=cube, derivative=cube_d,
        reference=lambda x: np.asarray(x, float) ** 3,
        properties=Properties("(-inf, inf)", True, True, True, False),
    )  # fmt: skip
    fa.register(spec)
    try:
        np.testing.assert_array_equal(fa.get("cube_cuda_test", target="cuda").grad(np.array([2.0])), [12.0])
    finally:
        fa.REGISTRY.unregister("cube_cuda_test")


def test_bench_cuda_runs_and_reports_the_copy_ratio():
    import json

    from click.testing import CliRunner

    from fastact.tools.cli import main

    result = CliRunner().invoke(main, ["bench", "relu", "gelu", "--target", "cuda", "--size", "64",
                                       "--op", "all", "--repeat", "1", "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["config"]["target"] == "cuda" and doc["config"]["baselines"] == ["torch", "cupy"]
    assert len(doc["results"]) == 6 and doc["machine"]["simulator"] is True
    for r in doc["results"]:
        assert r["ratio_to_copy"] > 0 and r["end_to_end_s"] > 0 and r["fastact"]["gb_per_s"] > 0


def test_compositions_get_the_cuda_target():
    x = np.linspace(-4, 4, 33)
    gpu = fa.get("x*tanh.softplus", target="cuda")
    np.testing.assert_allclose(gpu(x), fa.mish(x), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(gpu.grad(x), fa.mish.grad(x), rtol=1e-12, atol=1e-15)
