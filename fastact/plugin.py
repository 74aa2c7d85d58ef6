"""The public plugin API: everything a third-party activation package imports.

A plugin declares, in its pyproject.toml::

    [project.entry-points."fastact.activations"]
    my_acts = "my_package.activations:specs"

where ``specs`` is an :class:`ActivationSpec`, an iterable of them, or a callable returning
either. Scalar functions (``forward``, ``derivative``, ``param_derivatives``) are written in
the subset of Python Numba compiles; helpers they call must be marked :func:`jitable`. They
may use the ``math`` module (scalar libm calls: the loop does not vectorize) and the
vectorizable elementary functions re-exported here: ``exp``, ``expm1``, ``log``, ``log1p``,
``tanh``, ``erfc``, ``ndtr``, ``npdf`` (:mod:`fastact.fmath`) and ``sin``, ``cos``, ``sincos``,
``erf``, ``atan``, ``exp2``, ``log2``, ``sigmoid``, ``softplus`` (:mod:`fastact.fmath_ext`),
each with a stated ULP bound (``MAX_ULP`` of its module); ``like(x, v)`` writes a constant in
the type of ``x`` for float32-native code. Every target and CLI
command then works for the plugin's activations with no further code.

``ABI_VERSION`` is the record layout this fastact reads. It changes when a field of
:class:`ActivationSpec` is removed or changes meaning; a new optional field whose default
keeps the old behaviour does not change it. A spec declaring another version is refused
with a message naming the plugin.

:class:`AxisSpec` declares an axis-wise activation (row kernels ``forward(x2d, out2d, *params)``
and ``backward(x2d, g2d, out2d, *params)`` on C-contiguous rows with the axis last, NumPy
references taking ``axis``); it gets the cpu and parallel targets and Dask.

:func:`check_spec` runs the checks ``fastact check-plugin`` runs, for a plugin's own tests.
"""

from ._jit import jitable
from .fmath import erfc, exp, expm1, like, log, log1p, ndtr, npdf, tanh
from .fmath_ext import atan, cos, erf, exp2, log2, sigmoid, sin, sincos, softplus
from .spec import ABI_VERSION, ActivationSpec, AxisSpec, Param, Properties
from .testing.checks import Problem, check_spec

__all__ = [
    "ABI_VERSION",
    "ActivationSpec",
    "AxisSpec",
    "Param",
    "Problem",
    "Properties",
    "check_spec",
    "atan",
    "cos",
    "erf",
    "erfc",
    "exp",
    "exp2",
    "expm1",
    "jitable",
    "like",
    "log",
    "log1p",
    "log2",
    "ndtr",
    "npdf",
    "sigmoid",
    "sin",
    "sincos",
    "softplus",
    "tanh",
]
