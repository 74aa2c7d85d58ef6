"""fastact's activations as PyTorch autograd functions and modules (the ``torch`` extra).

::

    import fastact.torch as ft

    y = ft.gelu(t)                              # every registered name, a torch.autograd.Function
    y = ft.leaky_relu(t, 0.2)                   # parameters positionally or by keyword
    y = ft.get("x*tanh.softplus")(t)            # compositions (and "dist:name")
    act = ft.Activation("prelu", num_parameters=3)   # an nn.Module, weight per channel (dim 1)

Forward and backward run fastact's compiled kernels on the tensor's memory: a CPU tensor is
viewed as a NumPy array (``Tensor.numpy()``, no copy; a non-contiguous one is made contiguous
first, one copy), the result is written into a fresh tensor through ``out=``, and backward
is the fused ``backward(x, grad_out)`` kernel. A CUDA tensor goes to fastact's ``cuda``
target through ``__cuda_array_interface__`` (in place, no copy). Parameters may be numbers or
tensors; a tensor parameter that requires grad gets its gradient from ``param_grad`` (summed
over the broadcast dimensions). Parameters broadcast NumPy-style against ``x`` as everywhere
in fastact; :class:`Activation` puts a per-channel parameter on dim 1, PyTorch's convention.

Only float32 and float64 tensors are served (:class:`fastact.DTypeError` otherwise: PyTorch's
autograd needs floating point, and fastact has no float16/bfloat16 kernels). Backward is not
itself differentiable (no double backward). Importing this module imports torch; ``import
fastact`` does not.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.autograd.function import once_differentiable

import fastact

from .errors import DTypeError, ParameterError

__all__ = ["Activation", "FastactFunction", "TorchActivation", "get"]

_DTYPES = (torch.float32, torch.float64)


def _check(t: torch.Tensor, name: str, what: str = "input") -> None:
    if not isinstance(t, torch.Tensor):
        raise DTypeError(f"fastact.torch.{name}: {what} must be a torch.Tensor, not {type(t).__name__}")
    if t.dtype not in _DTYPES:
        raise DTypeError(
            f"fastact.torch.{name}: {what} has dtype {t.dtype}; only torch.float32 and torch.float64 are "
            "supported (cast with .float() or .double())"
        )


def _host(t: torch.Tensor) -> np.ndarray:
    """A NumPy view of a CPU tensor's memory (contiguous: one copy first when it is not)."""
    return t.detach().contiguous().numpy()


def _param_value(p: Any, x: torch.Tensor) -> Any:
    """A parameter as fastact takes it: numbers as they are, tensors as NumPy (or device) arrays."""
    if isinstance(p, torch.Tensor):
        if p.device != x.device:
            raise ParameterError(f"a parameter tensor is on {p.device} while the input is on {x.device}")
        if x.is_cuda:
            return p.detach().to(x.dtype).contiguous()
        return _host(p.to(x.dtype))
    return p


def _run(act, op: str, x: torch.Tensor, g: torch.Tensor | None, params: tuple, kw: dict) -> torch.Tensor:
    """``op`` of ``act`` on tensors, written into a fresh tensor through fastact's ``out=``."""
    values = [_param_value(p, x) for p in params]
    if x.is_cuda:  # fastact's cuda target, in place through __cuda_array_interface__
        method = getattr(act.on("cuda"), _METHOD[op])
        xc = x.detach().contiguous()
        args = (xc,) if g is None else (xc, g.detach().to(x.dtype).contiguous())
        if act.spec.kind == "axis":
            return torch.as_tensor(method(*args, *values, **kw), device=x.device)
        out = torch.empty_like(xc)
        method(*args, *values, out=out, **kw)
        return out
    xn = _host(x)
    args = (xn,) if g is None else (xn, _host(g.to(x.dtype)))
    if op == "forward" and _changes_shape(act, kw):
        return torch.from_numpy(np.ascontiguousarray(act(*args, *values, **kw)))
    out = torch.empty(xn.shape, dtype=x.dtype)
    getattr(act, _METHOD[op])(*args, *values, out=out.numpy(), **kw)
    return out


_METHOD = {"forward": "__call__", "grad": "grad", "backward": "backward"}


def _changes_shape(act, kw: dict) -> bool:
    """Axis-wise activations that reduce (logsumexp) or halve (the gated units) the axis."""
    return act.spec.kind == "axis" and act.spec.output != "same"


class FastactFunction(torch.autograd.Function):
    """``FastactFunction.apply(act, kw, x, *params)``: ``act(x, *params, **kw)`` with fastact's
    fused backward kernel as the gradient, and ``param_grad`` for parameter tensors."""

    @staticmethod
    def forward(ctx, act, kw, x, *params):
        ctx.act, ctx.kw = act, kw
        ctx.param_kinds = [isinstance(p, torch.Tensor) for p in params]
        ctx.save_for_backward(x, *(p for p in params if isinstance(p, torch.Tensor)))
        ctx.numbers = [None if isinstance(p, torch.Tensor) else p for p in params]
        return _run(act, "forward", x, None, params, kw)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        x, *tensors = ctx.saved_tensors
        it = iter(tensors)
        params = tuple(next(it) if tensor else number for tensor, number in zip(ctx.param_kinds, ctx.numbers))
        act, kw = ctx.act, ctx.kw
        grad_x = None
        if ctx.needs_input_grad[2]:
            grad_x = _run(act, "backward", x, grad_out.to(x.dtype), params, kw)
        grads = [None] * len(params)
        needs = ctx.needs_input_grad
        wanted = [i for i, p in enumerate(params) if isinstance(p, torch.Tensor) and needs[3 + i]]
        if wanted:
            if act.spec.kind == "axis":
                raise ParameterError(f"fastact.torch.{act.name}: axis-wise parameters have no gradient")
            if x.is_cuda:
                raise ParameterError(f"fastact.torch.{act.name}: parameter gradients are computed on the CPU "
                                     "only; move the tensors to the CPU or make the parameters constants")
            values = [_host(p.to(x.dtype)) if isinstance(p, torch.Tensor) else p for p in params]
            found = act.param_grad(_host(x), _host(grad_out.to(x.dtype)), *values)
            for i in wanted:
                name = act.spec.params[i].name
                if name not in found:
                    raise ParameterError(f"fastact.torch.{act.name}: parameter {name!r} has no derivative")
                grads[i] = torch.from_numpy(np.ascontiguousarray(found[name])).to(params[i].dtype).reshape(
                    params[i].shape
                )
        return (None, None, grad_x, *grads)


class TorchActivation:
    """One fastact activation for tensors: ``act(x, *params, **params_by_name)``, and for
    axis-wise ones ``axis=`` (``dim=`` is accepted as PyTorch's name for it) and ``keepdims=``."""

    def __init__(self, act):
        self.act = act
        self.name = act.name

    def __repr__(self) -> str:
        return f"<fastact.torch {self.act.qualified_name}>"

    def __call__(self, x: torch.Tensor, *params: Any, **kw: Any) -> torch.Tensor:
        _check(x, self.name)
        act = self.act
        axis_kw = {}
        if act.spec.kind == "axis":
            if "dim" in kw:
                if "axis" in kw:
                    raise ParameterError(f"fastact.torch.{self.name}: give axis= or dim=, not both")
                kw["axis"] = kw.pop("dim")
            for key in ("axis", "keepdims"):
                if key in kw:
                    axis_kw[key] = kw.pop(key)
        values = act.bind(params, kw)
        for p, v in zip(act.spec.params, values):
            if isinstance(v, torch.Tensor):
                _check(v, self.name, f"parameter {p.name!r}")
        return FastactFunction.apply(act, axis_kw, x, *values)


def get(name: str) -> TorchActivation:
    """The activation ``name`` (a name, an alias, ``dist:name`` or a composition such as
    ``"x*tanh.softplus"``) for tensors."""
    return TorchActivation(fastact.get(name))


def __getattr__(name: str) -> TorchActivation:
    """``fastact.torch.gelu``: every registered activation by name."""
    if name.startswith("_"):
        raise AttributeError(f"module 'fastact.torch' has no attribute {name!r}")
    try:
        return get(name)
    except LookupError:
        raise AttributeError(f"module 'fastact.torch' has no attribute {name!r}") from None


class Activation(torch.nn.Module):
    """An activation as an ``nn.Module``; its learnable parameters (those with a derivative in
    the spec: prelu's weight, parametric_sigmoid's, ...) are ``nn.Parameter``s.

    ``num_parameters`` > 1 gives each learnable parameter one value per channel, applied along
    dim 1 as PyTorch does (``nn.PReLU(num_parameters=C)``); ``init`` overrides their initial
    value (default: the spec's default); other parameters are fixed keyword arguments.
    """

    def __init__(self, name: str, num_parameters: int = 1, init: float | None = None, **fixed: Any):
        super().__init__()
        self.fn = get(name)
        spec = self.fn.act.spec
        if spec.kind != "elementwise":
            raise ParameterError(f"Activation: {spec.name} is axis-wise; use fastact.torch.{name}")
        if isinstance(num_parameters, bool) or not isinstance(num_parameters, int) or num_parameters < 1:
            raise ParameterError(f"num_parameters must be a positive integer, not {num_parameters!r}")
        unknown = set(fixed) - set(spec.param_names)
        if unknown:
            valid = ", ".join(spec.param_names) or "none"
            raise ParameterError(f"{spec.name}: unknown parameter(s) {sorted(unknown)}; valid: {valid}")
        self.num_parameters = num_parameters
        self.learnable = [
            p.name for p in spec.params if p.name in spec.param_derivatives and p.name not in fixed
        ]
        self.fixed = dict(fixed)
        for p in spec.params:
            if p.name in self.learnable:
                value = p.default if init is None else init
                weight = torch.nn.Parameter(torch.full((num_parameters,), float(value)))
                self.register_parameter(p.name, weight)

    def extra_repr(self) -> str:
        return f"{self.fn.act.qualified_name}, num_parameters={self.num_parameters}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spec = self.fn.act.spec
        values = []
        for p in spec.params:
            if p.name in self.learnable:
                w = getattr(self, p.name).to(x.dtype) if x.dtype in _DTYPES else getattr(self, p.name)
                if self.num_parameters > 1:
                    if x.dim() < 2:
                        raise ParameterError(
                            f"{spec.name}: {self.num_parameters} per-channel parameters need an input with a "
                            f"channel dimension (dim 1), got shape {tuple(x.shape)}"
                        )
                    w = w.reshape((-1,) + (1,) * (x.dim() - 2))
                else:
                    w = w.reshape(())
                values.append(w)
            else:
                values.append(self.fixed.get(p.name, p.default))
        return self.fn(x, *values)
