"""The activation records: ``ActivationSpec``, ``AxisSpec`` and ``Param`` (the plugin ABI).

An activation is described once, as scalar Python functions written in the subset Numba
compiles, plus metadata; every kernel is generated from that description. Changing the
fields or their meaning changes ``ABI_VERSION``; the registry refuses other versions.
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import SpecError

#: Version of the record layout. Bumped when a field is removed or changes meaning (a new
#: optional field whose default keeps the old behaviour does not bump it).
ABI_VERSION = 1

#: lower_snake_case; used with fullmatch (``$`` would also accept a trailing newline)
_NAME_RE = re.compile(r"[a-z][a-z0-9_]*")
@dataclass(frozen=True)
class Param:
    """A scalar parameter of an activation, passed to kernels as an extra ufunc input.

    ``lower``/``upper`` bound the accepted values (inclusive unless ``*_open`` is set);
    ``None`` means unbounded on that side. ``learnable`` says the parameter is meant to be
    trained (PReLU's slope, snake's frequency), as data rather than a word in ``doc``:
    ``fastact show`` and ``list --json`` show it, ``fastact compare`` trains exactly these,
    and a spec should give each one a ``param_derivatives`` entry. A new optional field
    (default ``False``), so the ABI version is unchanged.
    """

    name: str
    default: float
    doc: str = ""
    lower: float | None = None
    upper: float | None = None
    lower_open: bool = False
    upper_open: bool = False
    learnable: bool = False

    def interval(self) -> str:
        """The accepted values in interval notation, e.g. ``(0, inf)``."""
        lo = "-inf" if self.lower is None else f"{self.lower:g}"
        hi = "inf" if self.upper is None else f"{self.upper:g}"
        left = "(" if self.lower is None or self.lower_open else "["
        right = ")" if self.upper is None or self.upper_open else "]"
        return f"{left}{lo}, {hi}{right}"

    def accepts(self, value: float) -> bool:
        """Whether a single value lies inside the bounds (NaN never does when bounded)."""
        if self.lower is not None:
            if not (value > self.lower if self.lower_open else value >= self.lower):
                return False
        if self.upper is not None:
            if not (value < self.upper if self.upper_open else value <= self.upper):
                return False
        return True


@dataclass(frozen=True)
class Properties:
    """The facts a person uses to choose an activation.

    ``output_range`` is a readable interval that may name parameters (``"(-alpha, inf)"``).
    """

    output_range: str
    monotonic: bool
    smooth: bool
    zero_centered: bool
    saturating: bool
    sparse: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "output_range": self.output_range,
            "monotonic": self.monotonic,
            "smooth": self.smooth,
            "zero_centered": self.zero_centered,
            "saturating": self.saturating,
            "sparse": self.sparse,
        }


class _Record:
    """What both records (elementwise and axis-wise) derive from their parameters."""

    params: tuple[Param, ...]

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    @property
    def defaults(self) -> tuple[float, ...]:
        return tuple(p.default for p in self.params)


@dataclass(frozen=True)
class ActivationSpec(_Record):
    """One elementwise activation: scalar forward/derivative, parameters, reference, facts.

    ``forward(x, *params)`` and ``derivative(x, *params)`` are scalar functions in the Numba
    subset (helpers they call must be marked :func:`jitable`). ``reference(x, *params)`` is a
    plain NumPy float64 implementation: the oracle for tests and ``verify``;
    ``reference_derivative`` is the same for the derivative (finite differences of
    ``reference`` are used where it is missing).
    ``param_derivatives`` maps a parameter name to d f / d param (scalar, same subset).
    ``max_ulp`` states the maximum error of the forward pass, in units in the last place, per
    dtype name; ``near_zero_eps`` adds an absolute slack of that many machine epsilons where
    the function crosses zero inside its domain (a mixed bound: ULPs mean nothing at a zero).
    Derivatives are held to twice ``max_ulp`` plus 4 epsilons absolute, for the same reason.
    ``float32_native`` declares the scalar functions dtype-generic (constants written with
    ``fastact.fmath.like``): the float32 kernel then computes in float32, twice the SIMD
    width; by default float32 inputs are evaluated in float64 and rounded once.
    ``check_params`` returns an error message for an invalid combination of scalar
    parameters (e.g. ``min_val >= max_val``), or ``None``.
    ``randomize(rng, shape, params)`` returns per-element parameters for stochastic
    activations (rrelu in training mode) when the caller passes ``rng=``.
    """

    name: str
    summary: str
    formula: str
    forward: Callable
    derivative: Callable | None
    reference: Callable
    properties: Properties
    reference_derivative: Callable | None = None
    params: tuple[Param, ...] = ()
    derivative_formula: str = ""
    param_derivatives: Mapping[str, Callable] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    max_ulp: Mapping[str, float] = field(default_factory=dict)
    near_zero_eps: float = 0.0
    float32_native: bool = False
    notes: str = ""
    check_params: Callable[..., str | None] | None = None
    randomize: Callable | None = None
    abi: int = ABI_VERSION

    kind = "elementwise"  # a class attribute, not a field: AxisSpec's is "axis"

    def validate(self, source: str | None = "runtime", *, require_derivative: bool = False) -> None:
        """Raise :class:`SpecError` naming the activation (and its source) if anything is off."""
        origin = f" from {source}" if source else ""

        def fail(msg: str) -> None:
            raise SpecError(f"activation {self.name!r}{origin}: {msg}")

        validate_record(self, fail, f"activation name {self.name!r}{origin}")
        if not callable(self.forward):
            fail("forward is missing or not callable")
        if self.derivative is None and require_derivative:
            fail("derivative is required")
        if self.derivative is not None and not callable(self.derivative):
            fail("derivative is not callable")
        if not callable(self.reference):
            fail("reference (a NumPy implementation) is missing or not callable")
        if self.reference_derivative is not None and not callable(self.reference_derivative):
            fail("reference_derivative is not callable")
        if not isinstance(self.properties, Properties):
            fail("properties must be a fastact Properties record")
        names = [p.name for p in self.params]
        for fn_name in ("forward", "derivative"):
            fn = getattr(self, fn_name)
            if fn is None:
                continue
            arity = _arity(fn)
            if arity is not None and arity != 1 + len(self.params):
                fail(
                    f"{fn_name} takes {arity} arguments; expected x plus "
                    f"{len(self.params)} parameter(s) {tuple(names)}"
                )
        unknown = set(self.param_derivatives) - set(names)
        if unknown:
            fail(f"param_derivatives name unknown parameters {sorted(unknown)}")
        if self.check_params is not None:
            msg = self.check_params(*self.defaults)
            if msg:
                fail(f"default parameters are inconsistent: {msg}")


OUTPUTS = ("same", "reduce", "half")


@dataclass(frozen=True)
class AxisSpec(_Record):
    """An activation computed along one axis (see the module docstring).

    ``reference(x, axis, *params)`` and ``reference_backward(x, g, axis, *params)`` are NumPy
    float64 implementations (the oracles); ``max_ulp`` bounds the forward pass per dtype.
    """

    name: str
    summary: str
    formula: str
    forward: Callable
    backward: Callable | None
    reference: Callable
    properties: Properties
    reference_backward: Callable | None = None
    output: str = "same"
    params: tuple[Param, ...] = ()
    aliases: tuple[str, ...] = ()
    max_ulp: dict = field(default_factory=dict)
    near_zero_eps: float = 0.0
    notes: str = ""
    abi: int = ABI_VERSION

    kind = "axis"

    def validate(self, source: str | None = "runtime", *, require_derivative: bool = False) -> None:
        origin = f" from {source}" if source else ""

        def fail(msg: str) -> None:
            raise SpecError(f"axis-wise activation {self.name!r}{origin}: {msg}")

        validate_record(self, fail, f"axis-wise activation name {self.name!r}{origin}")
        if not callable(self.forward) or not callable(self.reference):
            fail("forward and reference must be callable")
        if self.backward is None and require_derivative:
            fail("backward is required")
        if self.output not in OUTPUTS:
            fail(f"output must be one of {OUTPUTS}, not {self.output!r}")


def validate_record(spec, fail: Callable[[str], None], named: str) -> None:
    """The checks every record kind shares (ActivationSpec and AxisSpec): ABI version, name and
    aliases, parameters (unique, valid names, numeric defaults inside their bounds), the
    stated accuracy. ``fail`` raises; ``named`` starts the bad-name message."""
    if spec.abi != ABI_VERSION:
        fail(f"declares ABI version {spec.abi!r}; this fastact reads version {ABI_VERSION}")
    if type(spec.name) is not str or not _NAME_RE.fullmatch(spec.name):  # a str subclass could lie
        raise SpecError(f"{named} is not lower_snake_case (letters, digits and '_', starting with a letter)")
    for alias in spec.aliases:
        if type(alias) is not str or not _NAME_RE.fullmatch(alias):
            fail(f"alias {alias!r} is not lower_snake_case")
    names = [p.name for p in spec.params]
    if len(set(names)) != len(names):
        fail(f"duplicate parameter names {names}")
    for p in spec.params:
        if not isinstance(p, Param):
            fail(f"parameter {p!r} is not a Param")
        valid = type(p.name) is str and _NAME_RE.fullmatch(p.name)
        if not valid or p.name in ("x", "out", "rng", "g", "axis"):
            fail(f"parameter name {p.name!r} is invalid or reserved")
        if not isinstance(p.default, (int, float)) or isinstance(p.default, bool):
            fail(f"parameter {p.name!r} default {p.default!r} is not a number")
        if not p.accepts(p.default):
            fail(f"parameter {p.name!r} default {p.default!r} is outside {p.interval()}")
        if not isinstance(p.learnable, bool):
            fail(f"parameter {p.name!r}: learnable must be True or False, not {p.learnable!r}")
    if not (spec.near_zero_eps >= 0 and math.isfinite(spec.near_zero_eps)):
        fail(f"near_zero_eps {spec.near_zero_eps!r} is not a finite non-negative number")
    for dtype, bound in spec.max_ulp.items():
        if dtype not in ("float32", "float64") or not (bound >= 0 and math.isfinite(bound)):
            fail(f"max_ulp entry {dtype!r}: {bound!r} is not a finite bound for float32/float64")


def _arity(fn: Callable) -> int | None:
    """Number of positional parameters of a plain function, or None when unknowable."""
    target = getattr(fn, "py_func", fn)  # a numba dispatcher wraps the Python function
    try:
        sig = inspect.signature(target)
    except (TypeError, ValueError):
        return None
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in sig.parameters.values()):
        return None
    return sum(1 for p in sig.parameters.values() if p.kind in kinds)
