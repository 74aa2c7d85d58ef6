"""The activation registry, fed by the ``fastact.activations`` entry-point group.

Discovery is lazy: nothing is read until a name is first looked up. An entry point names a
module attribute that is an :class:`ActivationSpec`, an iterable of them, or a callable
returning either. fastact's builtins arrive through the same group (declared in fastact's own
pyproject.toml), so one path serves builtins and plugins alike.

Failures never spread: a plugin that does not import (whatever it raises, ``SystemExit``
included; only ``KeyboardInterrupt`` gets through), returns something that is not a spec, or
declares an invalid spec is skipped with a :class:`FastactWarning` and recorded in
:attr:`Registry.failures`. What a plugin prints while it loads goes to stderr (so ``--json``
output stays valid); a plugin still importing after :data:`SLOW_PLUGIN_SECONDS` gets one stderr
line naming it and how to skip plugins. A distribution whose name is not a valid one (PEP 508:
letters, digits, ``.``, ``_``, ``-``) is refused before its code is imported. On a name
conflict the builtin wins (then the first distribution in alphabetical order); every
activation stays reachable as ``dist:name``.

Thread-safe: the first lookup loads the registry once, completely, while other threads wait
for it; a plugin that looks names up while it is being loaded (``from fastact import gelu``)
sees what is loaded so far (the builtins come first) instead of recursing.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata

from .errors import FastactWarning, SpecError, UnknownActivationError
from .spec import ActivationSpec, AxisSpec


def _is_spec(obj: object) -> bool:
    return isinstance(obj, (ActivationSpec, AxisSpec))


GROUP = "fastact.activations"
BUILTIN_DIST = "fastact"
RUNTIME = "runtime"
#: seconds a plugin may take to import before one stderr line says which one is still importing
SLOW_PLUGIN_SECONDS = 5.0
_DIST_RE = re.compile(r"[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?")


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


def slow_plugin_seconds() -> float:
    """:data:`SLOW_PLUGIN_SECONDS`, or ``$FASTACT_PLUGIN_WARN_SECONDS`` when set."""
    try:
        return float(os.environ.get("FASTACT_PLUGIN_WARN_SECONDS", SLOW_PLUGIN_SECONDS))
    except ValueError:
        return SLOW_PLUGIN_SECONDS


def plugins_enabled() -> bool:
    """False when ``FASTACT_PLUGINS`` is set to 0/false/no/off: builtins only."""
    return os.environ.get("FASTACT_PLUGINS", "1").strip().lower() not in ("0", "false", "no", "off")


def as_specs(obj: object) -> list:
    if _is_spec(obj):
        return [obj]
    if callable(obj):
        obj = obj()
        if _is_spec(obj):
            return [obj]
    if isinstance(obj, (str, bytes)) or not isinstance(obj, Iterable):
        raise TypeError(f"returned {type(obj).__name__}, not an ActivationSpec or an iterable of them")
    return list(obj)


@dataclass
class _State:
    """One complete load of the registry (published at once, so readers never see half)."""

    by_name: dict[str, Entry] = field(default_factory=dict)
    by_qualified: dict[str, Entry] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    distributions: dict[str, str] = field(default_factory=dict)  # name -> version


class Registry:
    """Name -> activation map, loaded lazily from entry points (plus runtime registrations)."""

    def __init__(self, entry_points: Callable[[], Iterable[metadata.EntryPoint]] | None = None):
        self._entry_points = entry_points or (lambda: metadata.entry_points(group=GROUP))
        self._lock = threading.RLock()
        self._state: _State | None = None  # None: not loaded (or reloaded)
        self._staging: _State | None = None  # the load in progress, seen by the loading thread
        self._loader: int | None = None  # thread id of the loading thread
        self._runtime: list[ActivationSpec] = []
        self._listeners: list[Callable[[], None]] = []
        self.plugins = plugins_enabled()

    # -- loading ---------------------------------------------------------------------------

    def reload(self, *, plugins: bool | None = None) -> None:
        """Forget everything discovered and scan the entry points again on next use."""
        with self._lock:
            self._publish(None)
            self.plugins = plugins_enabled() if plugins is None else plugins

    def _current(self) -> _State:
        """The loaded state, loading it first if needed (once, whichever thread gets there)."""
        state = self._state
        if state is not None:
            return state
        with self._lock:  # other threads wait here while one loads
            if self._loader == threading.get_ident():
                # re-entry while loading (a plugin doing `from fastact import gelu` at import):
                # what is loaded so far, builtins first
                return self._staging
            if self._state is None:
                if _initializing("fastact.catalog"):
                    # a name looked up while fastact's own catalog is half imported (`import
                    # fastact.catalog` first: `from .. import fmath` asks fastact.__getattr__):
                    # loading now would record the builtins as a broken plugin for good
                    return _State()
                self._loader, self._staging = threading.get_ident(), _State()
                try:
                    self._publish(self._scan(self._staging))
                finally:
                    self._loader, self._staging = None, None
            return self._state

    def _load(self) -> None:
        self._current()

    def _publish(self, state: _State | None) -> None:
        """Make ``state`` the registry's contents (``None``: load again on next use) and tell
        the listeners (under the lock, after the change)."""
        self._state = state
        for listener in list(self._listeners):
            listener()

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` after every change of the contents (a load, ``register``,
        ``unregister``, ``reload``): how ``fastact``'s attribute cache stays right."""
        self._listeners.append(listener)

    @property
    def failures(self) -> list[Failure]:
        """Plugins (or single specs of them) that were skipped, and why."""
        return self._current().failures

    @property
    def conflicts(self) -> list[Conflict]:
        return self._current().conflicts

    @property
    def distributions(self) -> dict[str, str]:
        """Distributions that provide activations: name -> version."""
        return self._current().distributions

    def _scan(self, state: _State) -> _State:
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
            label = f"{ep.name} = {ep.value}"
            if not _DIST_RE.fullmatch(dist):
                # never import it: its name would travel into file names, source and output
                why = "refused: not a valid distribution name (letters, digits, '.', '_', '-')"
                self._fail(state, f"invalid distribution name {dist!r}", label, why)
                continue
            state.distributions.setdefault(dist, _dist_version(ep))
            try:
                specs = _load_plugin(ep, dist)
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # a broken plugin must not break fastact (SystemExit neither)
                self._fail(state, dist, label, f"failed to load: {type(exc).__name__}: {one_line(exc)}")
                continue
            for spec in specs:
                if not _is_spec(spec):
                    self._fail(state, dist, label, f"returned {type(spec).__name__}, not an ActivationSpec")
                    continue
                self._add(state, spec, dist, label, version=state.distributions[dist])
        for spec in self._runtime:
            held = state.by_name.get(spec.name)
            if held is None or held.spec is not spec:  # (a plugin may have registered it while loading)
                self._add(state, spec, RUNTIME, "fastact.register")
        return state

    def _fail(self, state: _State, dist: str, label: str, error: str) -> None:
        failure = Failure(dist, label, error)
        state.failures.append(failure)
        warnings.warn(f"fastact: skipped plugin {failure}", FastactWarning, stacklevel=5)

    def _add(self, state: _State, spec: ActivationSpec, dist: str, label: str, version: str = "") -> None:
        try:
            with plugin_output():
                spec.validate(source=None, require_derivative=dist == BUILTIN_DIST)  # runs check_params
        except SpecError as exc:
            self._fail(state, dist, label, str(exc))
            return
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            self._fail(state, dist, label, f"invalid spec: {type(exc).__name__}: {one_line(exc)}")
            return
        entry = Entry(spec, dist, version)
        state.by_qualified[entry.qualified_name] = entry
        holder = state.by_name.get(spec.name)
        if holder is not None:
            self._conflict(state, spec.name, holder.source, dist)
            return
        if spec.name in state.aliases:
            self._conflict(state, spec.name, state.by_name[state.aliases[spec.name]].source, dist)
            return
        state.by_name[spec.name] = entry
        for alias in spec.aliases:
            if alias in state.by_name or alias in state.aliases:
                continue  # an existing name or alias keeps its meaning
            state.aliases[alias] = spec.name

    def _conflict(self, state: _State, name: str, winner: str, loser: str) -> None:
        conflict = Conflict(name, winner, loser)
        state.conflicts.append(conflict)
        warnings.warn(f"fastact: {conflict}", FastactWarning, stacklevel=5)

    # -- queries ---------------------------------------------------------------------------

    def names(self, kind: str | None = None) -> list[str]:
        """Canonical names, in registration order (builtins first); ``kind`` filters
        (``"elementwise"`` or ``"axis"``)."""
        return [e.spec.name for e in self.entries(kind)]

    def entries(self, kind: str | None = None) -> list[Entry]:
        state = self._current()
        return [e for e in list(state.by_name.values()) if kind is None or e.spec.kind == kind]

    def all_entries(self) -> list[Entry]:
        """Every loaded activation, also those shadowed by a conflict (reachable as dist:name)."""
        return list(self._current().by_qualified.values())

    def aliases(self) -> dict[str, str]:
        return dict(self._current().aliases)

    def entry(self, name: str) -> Entry:
        """Look up a name, an alias or a qualified ``dist:name``."""
        state = self._current()
        if not isinstance(name, str):
            raise TypeError(f"activation names are strings, not {type(name).__name__}")
        key = name.strip()
        if ":" in key:
            found = state.by_qualified.get(key)
        else:
            key = key.lower().replace("-", "_")
            found = state.by_name.get(state.aliases.get(key, key))
        if found is None:
            known = [*state.by_name, *state.aliases, *state.by_qualified]
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
        with self._lock:
            state = self._current()
            taken = state.by_name.get(spec.name)
            replaceable = taken is not None and replace and taken.source == RUNTIME
            if spec.name in state.aliases or (taken is not None and not replaceable):
                owner = taken.source if taken else state.by_name[state.aliases[spec.name]].source
                hint = "; pass replace=True to override a runtime registration" if owner == RUNTIME else ""
                raise SpecError(f"activation {spec.name!r} is already registered by {owner}{hint}")
            self._runtime = [s for s in self._runtime if s.name != spec.name] + [spec]
            if state is self._state:  # publish a new state: readers keep a consistent old one
                state = _copy(state)
                if taken is not None:
                    del state.by_name[spec.name]
                self._add(state, spec, RUNTIME, "fastact.register")
                self._publish(state)
            else:  # registering from a plugin while it loads: the load picks it up
                if taken is not None:
                    del state.by_name[spec.name]
                self._add(state, spec, RUNTIME, "fastact.register")
        return spec

    def unregister(self, name: str) -> None:
        """Remove a runtime registration (builtins and plugins cannot be removed)."""
        with self._lock:
            entry = self.entry(name)
            if entry.source != RUNTIME:
                raise SpecError(f"{entry.qualified_name} was not registered at run time")
            self._runtime = [s for s in self._runtime if s.name != entry.spec.name]
            if self._loader is None:
                self._publish(None)  # loaded again, without it, on next use


def _copy(state: _State) -> _State:
    return _State(dict(state.by_name), dict(state.by_qualified), dict(state.aliases), list(state.failures),
                  list(state.conflicts), dict(state.distributions))  # fmt: skip


def _initializing(module: str) -> bool:
    spec = getattr(sys.modules.get(module), "__spec__", None)
    return bool(getattr(spec, "_initializing", False))


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or "(no message)"


@contextlib.contextmanager
def plugin_output():
    """While plugin code runs: its prints go to stderr (stdout may be carrying JSON)."""
    if sys.stdout is None or sys.stderr is None:
        yield
        return
    with contextlib.redirect_stdout(sys.stderr):
        yield


def _load_plugin(ep: metadata.EntryPoint, dist: str) -> list:
    """Import one entry point and read its specs, printing to stderr, with a line on stderr
    if the import is still running after :func:`slow_plugin_seconds`."""
    delay = slow_plugin_seconds()

    def still_importing():
        try:
            print(f"fastact: still importing plugin {dist!r} ({ep.value}) after {delay:g} s; skip plugins "
                  "with `fastact --no-plugins` or FASTACT_PLUGINS=0", file=sys.__stderr__ or sys.stderr,
                  flush=True)  # fmt: skip
        except Exception:
            pass

    timer = threading.Timer(delay, still_importing) if dist != BUILTIN_DIST and delay > 0 else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        with plugin_output():
            return as_specs(ep.load())
    finally:
        if timer is not None:
            timer.cancel()


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
