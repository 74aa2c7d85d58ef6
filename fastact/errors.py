"""Exception types: one precise class per kind of user mistake or failure.

Every class derives from :class:`FastactError` and from the built-in exception a NumPy user
would expect (``TypeError`` for dtypes, ``ValueError`` for shapes and parameters, ``LookupError``
for names), so ``except ValueError`` keeps working.
"""

from __future__ import annotations

import difflib
import re
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


class CacheWarning(FastactWarning):
    """The kernel cache was not used as configured: a directory refused as unsafe, a corrupt
    kernel removed and rebuilt, a read-only kernel that could not be used (each said once)."""


class CompileError(FastactError, RuntimeError):
    """A spec's scalar functions do not compile with Numba."""


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
#: lines of a Numba error that say nothing about the cause
_NOISE = re.compile(
    r"Failed in .* pipeline|During: Pass |There are \d+ candidate implementations|- Of which |"
    r"Overload of function |With argument\(s\)|No match\.|<source missing|^Rewrite |"
    r"^For further information|^See https?://|^-+$"
)


def compile_summary(exc: BaseException, limit: int = 600) -> str:
    """The informative part of a Numba compile error, on one line.

    Numba's first line ("Failed in nopython mode pipeline (step: nopython frontend)") only says
    that typing failed; what matters is the cause (``Unknown attribute 'foo' of type float64``,
    ``No implementation of function ... >>> str(float64)``) and where (``File "m.py", line 7``
    with the offending source line). ANSI highlighting is dropped.
    """
    text = _ANSI.sub("", str(exc))
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line and not _NOISE.search(line)]
    cause: list[str] = []
    where = during = ""
    for i, line in enumerate(lines):
        if line.startswith("File ") and not where:
            # the source lines that follow; a caret line marks the offending one above it
            code = []
            for following in lines[i + 1 :]:
                if following.startswith(("File ", "During:")):
                    break
                if set(following) == {"^"}:
                    code = code[-1:]
                    break
                code.append(following)
            shown = code[-1] if code else ""
            where = line.rstrip(":") + (f": {shown}" if shown and shown != "<source elided>" else "")
        elif line.startswith("During:"):
            during = during or line
        elif not where and not during and (line.startswith(">>>") or len(cause) < 2):
            if line != "^":
                cause.append(line)
        elif line.startswith(">>>") and line not in cause:
            cause.append(line)
    parts = [" ".join(cause) or type(exc).__name__]
    if where:
        parts.append(where)
    elif during:
        parts.append(during)
    summary = "; ".join(parts)
    summary = " ".join(summary.split())  # one line, whatever the message held
    return summary if len(summary) <= limit else summary[: limit - 3] + "..."
