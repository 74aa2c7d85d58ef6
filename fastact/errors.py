"""Exception types: one precise class per kind of user mistake or failure.

Every class derives from :class:`FastactError` and from the built-in exception a NumPy user
would expect (``TypeError`` for dtypes, ``ValueError`` for shapes and parameters, ``LookupError``
for names), so ``except ValueError`` keeps working.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class FastactError(Exception):
    """Base class of every error fastact raises on purpose."""


class UnknownActivationError(FastactError, LookupError):
    """No activation of that name is registered; ``suggestions`` holds the closest names."""

    def __init__(self, name: str, known: Iterable[str] = ()):
        self.name = name
        self.suggestions = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(self.suggestions)}?" if self.suggestions else ""
        super().__init__(f"unknown activation {name!r}{hint} (`fastact list` shows them all)")

    def __str__(self) -> str:  # LookupError would quote the message like a KeyError
        return str(self.args[0])


class SpecError(FastactError, ValueError):
    """An ActivationSpec is invalid (bad name, missing function, default outside bounds...)."""


class PluginError(FastactError, RuntimeError):
    """A plugin could not be loaded or used."""


class ParameterError(FastactError, ValueError):
    """A parameter value is missing, unknown, of the wrong kind or outside its bounds."""


class DTypeError(FastactError, TypeError):
    """The input's dtype cannot be computed on (complex, object, strings, ...)."""


class ShapeMismatchError(FastactError, ValueError):
    """``out=`` (or another operand) has a shape that does not match the broadcast result."""


class TargetUnavailableError(FastactError, RuntimeError):
    """The requested target (e.g. ``cuda``) is not available on this machine or build."""


class FastactWarning(UserWarning):
    """Warnings from fastact itself (a plugin skipped, a name conflict)."""


class CompileError(FastactError, RuntimeError):
    """A spec's scalar functions do not compile with Numba."""
