"""fastact: neural-network activation functions compiled with Numba.

Every registered activation is an attribute: ``fastact.gelu(x)``, ``fastact.gelu.grad(x)``,
``fastact.gelu.backward(x, g)``. The registry is read lazily from the ``fastact.activations``
entry points; importing fastact compiles nothing and does not import Numba.
"""

from __future__ import annotations

from pathlib import Path as _Path
from typing import Any

from ._jit import jitable
from ._version import __version__ as __version__
from .activation import TARGETS, Activation, bind
from .axis import AxisActivation
from .composition import compose as _build_composition
from .composition import from_expression, is_expression
from .errors import (
    CompileError,
    DTypeError,
    FastactError,
    FastactWarning,
    ParameterError,
    PluginError,
    ShapeMismatchError,
    SpecError,
    TargetUnavailableError,
    UnknownActivationError,
)
from .kernels.cabi import CApi
from .registry import REGISTRY, Entry
from .spec import ABI_VERSION, ActivationSpec, AxisSpec, Param, Properties

__all__ = [
    "ABI_VERSION",
    "TARGETS",
    "Activation",
    "ActivationSpec",
    "AxisActivation",
    "AxisSpec",
    "CompileError",
    "DTypeError",
    "FastactError",
    "FastactWarning",
    "Param",
    "ParameterError",
    "PluginError",
    "Properties",
    "ShapeMismatchError",
    "SpecError",
    "TargetUnavailableError",
    "UnknownActivationError",
    "c_api",
    "compose",
    "get",
    "info",
    "jitable",
    "names",
    "register",
]

_c_apis: dict[str, Any] = {}


def names(kind: str | None = None) -> list[str]:
    """Canonical names of every registered activation (builtins first); ``kind`` is
    ``"elementwise"`` or ``"axis"`` to list one kind."""
    return REGISTRY.names(kind)


def get(name: str, target: str = "cpu", threads: int | None = None) -> Activation | AxisActivation:
    """The activation ``name`` (a name, an alias or ``dist:name``) bound to ``target``.

    ``target`` is ``"cpu"`` (one thread), ``"parallel"`` (``threads`` threads, default
    ``NUMBA_NUM_THREADS`` or the number of cores), ``"cuda"`` (an NVIDIA GPU through
    numba-cuda; raises :class:`TargetUnavailableError` without one) or ``"auto"`` (CUDA for
    ``__cuda_array_interface__`` arrays, the CPU for host arrays).
    """
    return bind(_entry(name), target, threads)


def _entry(name: str):
    """A registry entry, or one built on the fly for a composition like ``"x*tanh.softplus"``."""
    if is_expression(name):
        spec = from_expression(name)
        return Entry(spec, "compose")
    return REGISTRY.entry(name)


def compose(*names: str, times_x: bool = False, name: str | None = None) -> Activation:
    """One fused activation computing names[0](names[1](...(x))), times x with ``times_x``
    (``compose("tanh", "softplus", times_x=True)`` is mish), with its chain-rule derivative.
    ``fastact.register(fa.compose(...).spec)`` adds it to the registry under ``name``."""
    return Activation(Entry(_build_composition(*names, times_x=times_x, name=name), "compose"))


def info(name: str) -> dict[str, Any]:
    """Everything the registry knows about an activation, as plain data (what `show` prints)."""
    entry = _entry(name)
    s = entry.spec
    if s.kind == "axis":
        return {
            "name": s.name, "qualified_name": entry.qualified_name, "kind": "axis", "source": entry.source,
            "version": entry.version, "summary": s.summary, "formula": s.formula, "output": s.output,
            "params": [{"name": p.name, "default": p.default, "bounds": p.interval(), "doc": p.doc}
                       for p in s.params],
            "properties": s.properties.as_dict(), "aliases": list(s.aliases), "max_ulp": dict(s.max_ulp),
            "notes": s.notes, "abi": s.abi,
        }  # fmt: skip
    return {
        "name": s.name,
        "qualified_name": entry.qualified_name,
        "kind": "elementwise",
        "source": entry.source,
        "version": entry.version,
        "summary": s.summary,
        "formula": s.formula,
        "derivative": s.derivative_formula,
        "params": [
            {"name": p.name, "default": p.default, "bounds": p.interval(), "doc": p.doc} for p in s.params
        ],
        "properties": s.properties.as_dict(),
        "aliases": list(s.aliases),
        "max_ulp": dict(s.max_ulp),
        "param_derivatives": sorted(s.param_derivatives),
        "notes": s.notes,
        "abi": s.abi,
    }


def c_api(name: str):
    """The C entry points of an activation (``numba.cfunc``), keyed like ``"forward_f32"`` or
    ``"backward_array_f64"``; each has ``.address``, ``.signature`` and ``.ctypes``.
    See :mod:`fastact.kernels.cabi` for the C signatures."""
    entry = REGISTRY.entry(name)
    if entry.spec.kind != "elementwise":
        raise ParameterError(
            f"{entry.spec.name} is axis-wise: C entry points exist for elementwise activations only"
        )
    api = _c_apis.get(entry.qualified_name)
    if api is None or api.spec is not entry.spec:
        api = _c_apis[entry.qualified_name] = CApi(entry.spec, entry.qualified_name)
    return api


def register(spec: ActivationSpec, *, replace: bool = False) -> Activation:
    """Register an activation at run time and return it bound to the CPU target."""
    REGISTRY.register(spec, replace=replace)
    return get(spec.name)


#: fastact's own submodules: ``from fastact import fmath`` must import the module, never
#: ask the registry (which may be loading the catalog that is importing it)
_SUBMODULES = frozenset(
    p.stem if p.suffix == ".py" else p.name
    for p in _Path(__file__).parent.iterdir()
    if p.suffix == ".py" or (p / "__init__.py").exists()
)
_cached_names: set[str] = set()


def _forget_attributes() -> None:
    for name in list(_cached_names):
        globals().pop(name, None)
        _cached_names.discard(name)


REGISTRY.on_change(_forget_attributes)


def __getattr__(name: str) -> Activation:
    """``fastact.gelu``: the activation ``name`` on the CPU target. Once looked up it is kept
    as a module attribute (a plain attribute lookup from then on, as fast as any) until the
    registry changes, when every kept name is dropped and looked up again."""
    if name.startswith("_") or name in _SUBMODULES:
        raise AttributeError(f"module 'fastact' has no attribute {name!r}")
    if name in REGISTRY:
        act = get(name)
        if name not in __all__:
            globals()[name] = act
            _cached_names.add(name)
        return act
    raise AttributeError(f"module 'fastact' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(REGISTRY.names()))
