"""Tools for plugin authors: find a plugin's specs (for ``check-plugin``) and write a new plugin
package skeleton (``new-plugin``)."""

from __future__ import annotations

import builtins
import difflib
import importlib
import importlib.util
import keyword
import re
import sys
import textwrap
from pathlib import Path

from .._version import __version__
from ..errors import PluginError
from ..registry import REGISTRY, as_specs, one_line, plugin_output
from ..testing.checks import Problem


def plugin_specs(target: str) -> tuple[str, list, list[Problem]]:
    """``(source, specs, problems)`` for an installed distribution name or ``module[:attr]``.

    For a distribution, the registry's own loading is used (the real entry points), so its load
    failures and lost name conflicts come back as problems too. A module is imported and its
    ``attr`` (default ``specs``) read like an entry point. Raises :class:`PluginError` when
    ``target`` is neither.
    """
    dist = target.strip().lower().replace("_", "-")
    REGISTRY.names()
    if dist in REGISTRY.distributions:
        specs = [e.spec for e in REGISTRY.all_entries() if e.source == dist]
        problems = [
            Problem(dist, "load", f"{f.entry_point}: {f.error}")
            for f in REGISTRY.failures
            if f.source == dist
        ]
        problems += [
            Problem(f"{dist}:{c.name}", "name", str(c)) for c in REGISTRY.conflicts if c.loser == dist
        ]
        return dist, specs, problems
    module, _, attr = target.strip().partition(":")
    if not re.fullmatch(r"[A-Za-z_][\w.]*", module):
        raise _not_found(target)
    try:
        with plugin_output():  # the plugin's prints go to stderr: --json stays valid
            mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if module == missing or module.startswith(missing + "."):  # the target itself, not a dependency
            raise _not_found(target) from None
        return module, [], [Problem(module, "load", f"failed to import: ModuleNotFoundError: {exc}")]
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # SystemExit too: a broken plugin is a problem to report
        why = f"failed to import: {type(exc).__name__}: {one_line(exc)}"
        return module, [], [Problem(module, "load", why)]
    attr = attr or "specs"
    if not hasattr(mod, attr):
        raise PluginError(f"module {module!r} has no attribute {attr!r}; name the entry point as MODULE:ATTR")
    try:
        with plugin_output():
            specs = as_specs(getattr(mod, attr))
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        return module, [], [Problem(module, "load", f"{attr}: {type(exc).__name__}: {one_line(exc)}")]
    return module, specs, []


def _not_found(target: str) -> PluginError:
    dists = [d for d in REGISTRY.distributions if d != "fastact"]
    close = difflib.get_close_matches(target.lower(), dists, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f" (installed plugins: {', '.join(dists) or 'none'})"
    return PluginError(f"no installed plugin distribution or importable module named {target!r}{hint}")


# ---- new-plugin -----------------------------------------------------------------------------

_PYPROJECT = """\
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "{dist}"
version = "0.1.0"
description = "Activations for fastact."
requires-python = ">=3.10"
dependencies = ["fastact>={fastact_version}", "numpy"]

[project.optional-dependencies]
test = ["pytest"]

[project.entry-points."fastact.activations"]
{package} = "{package}:specs"

[tool.setuptools.packages.find]
where = ["src"]
"""

_MODULE = '''\
"""{dist}: activations for fastact, registered through the ``fastact.activations`` entry point."""

import math

import numpy as np

from fastact.plugin import ActivationSpec, Properties, exp, jitable, log1p

LOG2 = math.log(2.0)


@jitable
def {name}(x):
    # softplus(x) - log 2, written to stay finite for every x: max(x, 0) + log1p(e^-|x|) - log 2
    return (x if x > 0.0 else 0.0) + log1p(exp(-abs(x))) - LOG2


@jitable
def {name}_grad(x):
    # sigmoid(x), without overflow
    e = exp(-abs(x))
    return 1.0 / (1.0 + e) if x >= 0.0 else e / (1.0 + e)


def reference(x):
    x = np.asarray(x, dtype=np.float64)
    return np.logaddexp(0.0, x) - LOG2


def reference_grad(x):
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(over="ignore"):
        return 0.5 * (1.0 + np.tanh(0.5 * x))


SPEC = ActivationSpec(
    name="{name}",
    summary="softplus(x) - log 2: a smooth ReLU through the origin (SchNet's shifted softplus)",
    formula="log(1 + e^x) - log 2",
    derivative_formula="sigmoid(x)",
    forward={name},
    derivative={name}_grad,
    reference=reference,
    reference_derivative=reference_grad,
    properties=Properties("(-log 2, inf)", monotonic=True, smooth=True, zero_centered=True, saturating=False),
    max_ulp={{"float32": 1, "float64": 4}},
    near_zero_eps=2,
)


def specs():
    """What the entry point returns: this package's activations."""
    return [SPEC]
'''

_TEST = """\
import numpy as np

import fastact
from fastact.plugin import check_spec
from {package} import SPEC


def test_spec_passes_fastacts_checks():
    assert check_spec(SPEC, source="{dist}") == []


def test_registered_through_the_entry_point():
    act = fastact.get("{name}")
    assert act.qualified_name == "{dist}:{name}"
    np.testing.assert_allclose(act(np.array([0.0, 1.0])), [0.0, np.log1p(np.e) - np.log(2.0)], rtol=1e-12)
"""

_README = """\
# {dist}

Activations for [fastact](https://pypi.org/project/fastact/), added by installing this package:

    pip install -e .
    fastact list                     # shows {name}, source {dist}
    fastact check-plugin {dist}      # the checks fastact's builtins pass
    pip install -e '.[test]' && pytest
"""


#: names the generated module itself defines or imports: an activation named like one of them
#: (or NAME_grad like one of them) would shadow it and break the module
_MODULE_NAMES = frozenset({"math", "np", "ActivationSpec", "Properties", "exp", "jitable", "log1p", "LOG2",
                           "reference", "reference_grad", "SPEC", "specs"})  # fmt: skip


def _package_problem(package: str) -> str | None:
    """Why ``package`` cannot be the plugin's import name, or ``None``."""
    if keyword.iskeyword(package) or keyword.issoftkeyword(package):
        return "is a Python keyword"
    if package in getattr(sys, "stdlib_module_names", ()) or package in sys.builtin_module_names:
        return "shadows a module of the standard library"
    if package == "fastact":
        return "shadows fastact itself"
    try:
        found = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        found = None
    if found is not None:
        return "shadows an installed package"
    return None


def _activation_problem(activation: str) -> str | None:
    """Why ``activation`` cannot name the example activation, or ``None``."""
    if keyword.iskeyword(activation) or keyword.issoftkeyword(activation):
        return "is a Python keyword"
    if activation in _MODULE_NAMES or f"{activation}_grad" in _MODULE_NAMES or hasattr(builtins, activation):
        return "would shadow a name the generated module uses"
    if activation in REGISTRY and REGISTRY.entry(activation).builtin:
        return "is a fastact builtin (a builtin wins a name conflict)"
    return None


def new_plugin(dist: str, directory: Path, activation: str = "shifted_softplus") -> list[Path]:
    """Write a ready-to-install plugin package ``dist`` under ``directory/dist``; return its files.

    Refuses names that would make a broken package: a distribution or activation name that is
    not a plain identifier-like name, an import name that is a keyword or shadows the standard
    library, fastact or another installed package, an activation name that shadows a builtin or
    a name the generated module uses (``exp``, ``np``...) or an activation already registered.
    """
    if not re.fullmatch(r"[A-Za-z](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?", dist):
        raise PluginError(
            f"{dist!r} is not a valid distribution name (letters, digits, '-', '_', '.'; "
            "starting with a letter, ending with a letter or digit)"
        )
    if not re.fullmatch(r"[a-z][a-z0-9_]*", activation):
        raise PluginError(f"activation name {activation!r} is not lower_snake_case")
    package = re.sub(r"[^a-z0-9_]", "_", dist.lower())
    root = directory / dist
    if root.exists():
        raise PluginError(f"{root} already exists; choose another name or directory")
    why = _package_problem(package)
    if why:
        raise PluginError(f"plugin name {dist!r}: its import name {package!r} {why}; choose another name")
    why = _activation_problem(activation)
    if why:
        raise PluginError(f"activation name {activation!r} {why}; choose another (--activation NAME)")
    fields = dict(dist=dist, package=package, name=activation, fastact_version=__version__)
    files = {
        root / "pyproject.toml": _PYPROJECT,
        root / "README.md": _README,
        root / "src" / package / "__init__.py": _MODULE,
        root / "tests" / f"test_{package}.py": _TEST,
    }
    for path, template in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(template).format(**fields))
    return list(files)
