"""fastact's builtin activations, registered through the ``fastact.activations`` entry point
exactly like a plugin's (see ``[project.entry-points."fastact.activations"]`` in pyproject.toml).
"""

from __future__ import annotations

from ..spec import ActivationSpec, AxisSpec
from . import axiswise, gaussian, hyperbolic, logistic, piecewise


def builtins() -> list[ActivationSpec | AxisSpec]:
    """Every builtin activation, elementwise first, in catalog order."""
    return [*piecewise.SPECS, *logistic.SPECS, *hyperbolic.SPECS, *gaussian.SPECS, *axiswise.SPECS]
