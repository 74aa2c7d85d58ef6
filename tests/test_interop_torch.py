"""fastact.torch (issue 20): autograd functions and modules over fastact's kernels."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import fastact as fa  # noqa: E402
import fastact.torch as ft  # noqa: E402
from tests.conftest import BUILTINS  # noqa: E402

#: away from every kink (0, ±0.5, ±1, ±3, 6) by more than gradcheck's step
POINTS = np.array([-2.7, -1.7, -0.77, -0.23, 0.31, 0.83, 1.37, 2.41])
DOMAIN = {"logit": (POINTS + 3) / 6.2, "log1mexp": np.abs(POINTS) + 0.05}


def points(name: str, dtype=torch.float64, requires_grad=True) -> torch.Tensor:
    x = torch.tensor(DOMAIN.get(name, POINTS), dtype=dtype)
    return x.reshape(2, 4).requires_grad_(requires_grad)


@pytest.mark.parametrize("name", BUILTINS)
def test_gradcheck_every_builtin(name):
    """d/dx through fastact's fused backward kernel, and d/dp through param_grad for every
    parameter with a derivative (as 0-d tensors that require grad)."""
    fn = getattr(ft, name)
    assert torch.autograd.gradcheck(fn, (points(name),))
    spec = fa.get(name).spec
    learnable = [p for p in spec.params if p.name in spec.param_derivatives]
    if learnable:
        params = [torch.tensor(p.default + 0.1, dtype=torch.float64, requires_grad=True) for p in learnable]

        def with_params(x, *ps):
            return fn(x, **{p.name: v for p, v in zip(learnable, ps)})

        assert torch.autograd.gradcheck(with_params, (points(name), *params))


@pytest.mark.parametrize("name", fa.names("axis"))
def test_gradcheck_axis_wise(name):
    x = torch.tensor(np.linspace(-2, 2, 24).reshape(2, 3, 4) ** 3 / 3, dtype=torch.float64).requires_grad_()
    dim = -1 if name in ("glu", "swiglu", "geglu", "reglu") else 1  # gated units: an even axis
    assert torch.autograd.gradcheck(lambda t: getattr(ft, name)(t, dim=dim), (x,))


@pytest.mark.parametrize("name", BUILTINS + ["x*tanh.softplus"])
def test_float32_results_equal_fastact_bitwise(name):
    x = points(name, torch.float32, requires_grad=True)
    y = ft.get(name)(x)
    g = torch.linspace(-1, 1, 8).reshape(2, 4)
    y.backward(g)
    xn = x.detach().numpy()
    act = fa.get(name)
    assert y.dtype == torch.float32
    assert np.array_equal(y.detach().numpy(), act(xn), equal_nan=True)
    assert np.array_equal(x.grad.numpy(), act.backward(xn, g.numpy()), equal_nan=True)


def test_no_copy_for_contiguous_cpu_tensors(monkeypatch):
    """Forward writes into the tensor it returns through out=; the input is viewed, not copied."""
    seen = {}
    real = fa.gelu.__class__.__call__

    def spy(self, x, *params, out=None, **kw):
        seen["x"], seen["out"] = x, out
        return real(self, x, *params, out=out, **kw)

    monkeypatch.setattr(fa.gelu.__class__, "__call__", spy)
    t = torch.randn(3, 5)
    y = ft.gelu(t)
    assert seen["x"].ctypes.data == t.data_ptr() and seen["out"].ctypes.data == y.data_ptr()


def test_no_grad_non_contiguous_and_dtypes():
    t = torch.randn(6, 8, dtype=torch.float64)
    with torch.no_grad():
        y = ft.silu(t.T)  # non-contiguous: one contiguous copy
    assert not y.requires_grad and np.array_equal(y.numpy(), fa.silu(t.T.numpy()))
    x = t.T.clone().requires_grad_()
    ft.mish(x[:, ::2]).sum().backward()
    want = np.zeros((8, 6))
    want[:, ::2] = fa.mish.grad(t.T.numpy()[:, ::2])
    assert np.array_equal(x.grad.numpy(), want)
    for dtype in (torch.float16, torch.bfloat16, torch.int64, torch.complex64):
        with pytest.raises(fa.DTypeError, match="float32 and torch.float64"):
            ft.relu(torch.ones(3, dtype=dtype))
    with pytest.raises(fa.DTypeError):
        ft.relu(np.ones(3))
    with pytest.raises(fa.ParameterError, match="beta"):
        ft.softplus(t, beta=0.0)
    with pytest.raises(AttributeError):
        ft.no_such_activation  # noqa: B018


def test_prelu_module_uses_the_channel_dimension_like_pytorch():
    torch.manual_seed(0)
    x = torch.randn(4, 3, 5, 5, requires_grad=True)
    mine = ft.Activation("prelu", num_parameters=3)
    theirs = torch.nn.PReLU(num_parameters=3)
    with torch.no_grad():
        mine.weight.copy_(torch.tensor([0.1, -0.2, 0.3]))
        theirs.weight.copy_(torch.tensor([0.1, -0.2, 0.3]))
    assert [n for n, _ in mine.named_parameters()] == ["weight"]
    y1, y2 = mine(x), theirs(x)
    assert torch.equal(y1, y2)
    g = torch.randn_like(y1)
    (gx1, gw1), (gx2, gw2) = (torch.autograd.grad(y, (x, m.weight), g) for y, m in ((y1, mine), (y2, theirs)))
    assert torch.equal(gx1, gx2) and torch.allclose(gw1, gw2, rtol=1e-5)
    one = ft.Activation("prelu")  # one shared weight, any shape
    assert one(torch.randn(7)).shape == (7,)
    with pytest.raises(fa.ParameterError, match="channel"):
        mine(torch.randn(7))


def test_modules_for_learnable_activations_train():
    for name in ("leaky_relu", "elu", "parametric_sigmoid", "parametric_tanh"):
        m = ft.Activation(name, num_parameters=2).double()
        x = torch.randn(5, 2, 3, dtype=torch.float64)
        assert torch.autograd.gradcheck(lambda t, *ps, m=m: m(t), (x.requires_grad_(), *m.parameters()))
    fixed = ft.Activation("softplus", beta=2.0)
    assert list(fixed.parameters()) == []
    assert torch.equal(fixed(torch.ones(2)), ft.softplus(torch.ones(2), 2.0))


def test_training_step_runs():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), ft.Activation("prelu", num_parameters=8),
                                torch.nn.Linear(8, 1))  # fmt: skip
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(32, 4), torch.randn(32, 1)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_readme_example_runs():
    from tests.test_interop_numba import readme_section

    (code,) = readme_section("PyTorch", "JAX")
    namespace: dict = {}
    exec(compile(code, "README torch", "exec"), namespace)
    assert namespace["prelu"].weight.grad.shape == (3,)
