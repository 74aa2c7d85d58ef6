"""The activation registry, fed by the ``fastact.activations`` entry-point group.

Discovery is lazy: nothing is read until a name is first looked up. An entry point names a
module attribute that is an :class:`ActivationSpec`, an iterable of them, or a callable
returning either. fastact's builtins arrive through the same group (declared in fastact's own
pyproject.toml), so one path serves builtins and plugins alike.

Failures never spread: a plugin that does not import, returns something that is not a spec,
or declares an invalid spec is skipped with a :class:`FastactWarning` and recorded in
:attr:`Registry.failures`. On a name conflict the builtin wins (then the first distribution in
alphabetical order); every activation stays reachable as ``dist:name``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import metadata

from .errors import FastactWarning, SpecError, UnknownActivationError
from .spec import ActivationSpec


def _is_spec(obj: object) -> bool:
    from .axis import AxisSpec

    return isinstance(obj, (ActivationSpec, AxisSpec))


GROUP = "fastact.activations"
BUILTIN_DIST = "fastact"
RUNTIME = "runtime"


@dataclass(frozen=True)
class Entry:
    """A registered activation and where it came from."""

    spec: ActivationSpec
    source: str  # distribution name, or "runtime" for fastact.register
    version: str = ""

    @property
    def qualified_name(self) -> str:
        return f"{self.source}:{self.spec.name}"

    @property
    def builtin(self) -> bool:
        return self.source == BUILTIN_DIST


@dataclass(frozen=True)
class Failure:
    """A plugin (or one spec of it) that was skipped, and why."""

    source: str
    entry_point: str
    error: str

    def __str__(self) -> str:
        return f"{self.source} ({self.entry_point}): {self.error}"


@dataclass(frozen=True)
class Conflict:
    """Two distributions offer the same name; ``winner`` answers the plain name."""

    name: str
    winner: str
    loser: str

    def __str__(self) -> str:
        return (
            f"{self.name!r} is offered by {self.winner} and {self.loser}; {self.winner} wins "
            f"(use {self.loser}:{self.name} for the other)"
        )


def plugins_enabled() -> bool:
    """False when ``FASTACT_PLUGINS`` is set to 0/false/no/off: builtins only."""
    return os.environ.get("FASTACT_PLUGINS", "1").strip().lower() not in ("0", "false", "no", "off")


def _as_specs(obj: object) -> list:
    if _is_spec(obj):
        return [obj]
    if callable(obj):
        obj = obj()
        if _is_spec(obj):
            return [obj]
    if isinstance(obj, (str, bytes)) or not isinstance(obj, Iterable):
        raise TypeError(f"returned {type(obj).__name__}, not an ActivationSpec or an iterable of them")
    return list(obj)


class Registry:
    """Name -> activation map, loaded lazily from entry points (plus runtime registrations)."""

    def __init__(self, entry_points: Callable[[], Iterable[metadata.EntryPoint]] | None = None):
        self._entry_points = entry_points or (lambda: metadata.entry_points(group=GROUP))
        self._loaded = False
        self._loading = False
        self._by_name: dict[str, Entry] = {}
        self._by_qualified: dict[str, Entry] = {}
        self._aliases: dict[str, str] = {}
        self._runtime: list[ActivationSpec] = []
        self.failures: list[Failure] = []
        self.conflicts: list[Conflict] = []
        self.distributions: dict[str, str] = {}  # name -> version
        self.plugins = plugins_enabled()

    # -- loading ---------------------------------------------------------------------------

    def reload(self, *, plugins: bool | None = None) -> None:
        """Forget everything discovered and scan the entry points again on next use."""
        self._loaded = False
        self.plugins = plugins_enabled() if plugins is None else plugins

    def _load(self) -> None:
        if self._loaded or self._loading:
            return  # loading a plugin may look names up (e.g. `from fastact import x`): no re-entry
        self._loading = True
        try:
            self._scan()
        finally:
            self._loading = False

    def _scan(self) -> None:
        self._by_name, self._by_qualified, self._aliases = {}, {}, {}
        self.failures, self.conflicts, self.distributions = [], [], {}
        eps = list(self._entry_points())
        if not any(_dist_name(ep) == BUILTIN_DIST for ep in eps):
            # Running from a source tree that was never installed: load the builtins directly.
            eps.insert(0, metadata.EntryPoint("builtins", "fastact.catalog:builtins", GROUP))
        # builtins first, then plugins by distribution name: the order decides conflicts
        eps.sort(key=lambda ep: (_dist_name(ep) != BUILTIN_DIST, _dist_name(ep), ep.name))
        for ep in eps:
            dist = _dist_name(ep)
            if dist != BUILTIN_DIST and not self.plugins:
                continue
            self.distributions.setdefault(dist, _dist_version(ep))
            label = f"{ep.name} = {ep.value}"
            try:
                specs = _as_specs(ep.load())
            except Exception as exc:  # a broken plugin must not break fastact
                self._fail(dist, label, f"failed to load: {type(exc).__name__}: {exc}")
                continue
            for spec in specs:
                if not _is_spec(spec):
                    self._fail(dist, label, f"returned {type(spec).__name__}, not an ActivationSpec")
                    continue
                self._add(spec, dist, label, version=self.distributions[dist])
        for spec in self._runtime:
            self._add(spec, RUNTIME, "fastact.register")
        self._loaded = True

    def _fail(self, dist: str, label: str, error: str) -> None:
        failure = Failure(dist, label, error)
        self.failures.append(failure)
        warnings.warn(f"fastact: skipped plugin {failure}", FastactWarning, stacklevel=4)

    def _add(self, spec: ActivationSpec, dist: str, label: str, version: str = "") -> None:
        try:
            spec.validate(source=None, require_derivative=dist == BUILTIN_DIST)
        except SpecError as exc:
            self._fail(dist, label, str(exc))
            return
        entry = Entry(spec, dist, version)
        self._by_qualified[entry.qualified_name] = entry
        holder = self._by_name.get(spec.name)
        if holder is not None:
            self._conflict(spec.name, holder.source, dist)
            return
        if spec.name in self._aliases:
            self._conflict(spec.name, self._by_name[self._aliases[spec.name]].source, dist)
            return
        self._by_name[spec.name] = entry
        for alias in spec.aliases:
            if alias in self._by_name or alias in self._aliases:
                continue  # an existing name or alias keeps its meaning
            self._aliases[alias] = spec.name

    def _conflict(self, name: str, winner: str, loser: str) -> None:
        conflict = Conflict(name, winner, loser)
        self.conflicts.append(conflict)
        warnings.warn(f"fastact: {conflict}", FastactWarning, stacklevel=4)

    # -- queries ---------------------------------------------------------------------------

    def names(self, kind: str | None = None) -> list[str]:
        """Canonical names, in registration order (builtins first); ``kind`` filters
        (``"elementwise"`` or ``"axis"``)."""
        return [e.spec.name for e in self.entries(kind)]

    def entries(self, kind: str | None = None) -> list[Entry]:
        self._load()
        return [e for e in self._by_name.values() if kind is None or e.spec.kind == kind]

    def all_entries(self) -> list[Entry]:
        """Every loaded activation, also those shadowed by a conflict (reachable as dist:name)."""
        self._load()
        return list(self._by_qualified.values())

    def aliases(self) -> dict[str, str]:
        self._load()
        return dict(self._aliases)

    def entry(self, name: str) -> Entry:
        """Look up a name, an alias or a qualified ``dist:name``."""
        self._load()
        if not isinstance(name, str):
            raise TypeError(f"activation names are strings, not {type(name).__name__}")
        key = name.strip()
        if ":" in key:
            found = self._by_qualified.get(key)
        else:
            key = key.lower().replace("-", "_")
            found = self._by_name.get(self._aliases.get(key, key))
        if found is None:
            known = [*self._by_name, *self._aliases, *self._by_qualified]
            raise UnknownActivationError(name, known)
        return found

    def get(self, name: str) -> ActivationSpec:
        return self.entry(name).spec

    def __contains__(self, name: object) -> bool:
        try:
            self.entry(name)  # type: ignore[arg-type]
        except (UnknownActivationError, TypeError):
            return False
        return True

    # -- runtime registration --------------------------------------------------------------

    def register(self, spec: ActivationSpec, *, replace: bool = False) -> ActivationSpec:
        """Add an activation at run time (notebooks, tests); ``replace`` overrides a runtime one."""
        if not _is_spec(spec):
            raise SpecError(f"register() takes an ActivationSpec or AxisSpec, not {type(spec).__name__}")
        spec.validate(source=RUNTIME)
        self._load()
        taken = self._by_name.get(spec.name)
        if spec.name in self._aliases or (taken is not None and not (replace and taken.source == RUNTIME)):
            owner = taken.source if taken else self._by_name[self._aliases[spec.name]].source
            hint = "; pass replace=True to override a runtime registration" if owner == RUNTIME else ""
            raise SpecError(f"activation {spec.name!r} is already registered by {owner}{hint}")
        self._runtime = [s for s in self._runtime if s.name != spec.name] + [spec]
        if taken is not None:
            del self._by_name[spec.name]
        self._add(spec, RUNTIME, "fastact.register")
        return spec

    def unregister(self, name: str) -> None:
        """Remove a runtime registration (builtins and plugins cannot be removed)."""
        entry = self.entry(name)
        if entry.source != RUNTIME:
            raise SpecError(f"{entry.qualified_name} was not registered at run time")
        self._runtime = [s for s in self._runtime if s.name != entry.spec.name]
        self._loaded = False


def _dist_name(ep: metadata.EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    name = getattr(dist, "name", None) if dist is not None else None
    if name:
        return str(name).lower().replace("_", "-")
    return BUILTIN_DIST if ep.value.startswith("fastact.") else ep.value.split(":")[0].split(".")[0]


def _dist_version(ep: metadata.EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return str(getattr(dist, "version", "") or "") if dist is not None else ""


#: The process-wide registry behind ``fastact.names()``, ``fastact.get()`` and the CLI.
REGISTRY = Registry()
