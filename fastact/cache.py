"""The on-disk kernel cache: where generated kernel modules live, and what makes importing them
safe.

fastact writes one small Python module per (activation, op) and Numba writes its compiled
machine code beside it (``__pycache__/*.nbi`` and ``*.nbc``, which are pickles: loading them
runs code). So the cache is trusted only as far as its directory is:

- candidates, in order: ``$FASTACT_CACHE_DIR``, ``$XDG_CACHE_HOME/fastact`` (default
  ``~/.cache/fastact``), ``<tempdir>/fastact-<uid>``; kernels live in their ``kernels/``
  folder. Directories fastact creates get mode 0700.
- a directory is **refused** (one :class:`~fastact.errors.CacheWarning` per process, then the
  next candidate, or an in-memory compile) when it, its ``kernels/`` or ``kernels/__pycache__``
  folder is not owned by you (or root), is writable by group or others, is a symbolic link
  owned by someone else, or when an ancestor is writable by others without the sticky bit.
  This check is what protects Numba's pickles.
- a kernel module is imported only when its bytes equal the source fastact would write (the
  source is deterministic); it is compiled from those bytes, never from Python's ``.pyc``.
- file names are ``[A-Za-z0-9_]`` slugs of the activation's label plus a hash, so no metadata
  text can steer a path.
- a **read-only** trusted directory (a shared pre-built cache) is used for the kernels it
  holds; new kernels go to the next writable candidate.

:func:`info` and :func:`clear` are ``fastact cache info`` and ``fastact cache clear``.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import tempfile
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

from .errors import CacheWarning

KERNELS = "kernels"
PYCACHE = "__pycache__"
OPS = ("forward", "grad", "backward")
#: a generated kernel module's stem: label slug, op, 16 hex digits of the content hash
STEM_RE = re.compile(r"[A-Za-z0-9_]{1,64}_(?:forward|grad|backward)_[0-9a-f]{16}")
_KERNEL_FILE = re.compile(rf"({STEM_RE.pattern})\.py")
_TMP_FILE = re.compile(rf"\.({STEM_RE.pattern})\.\d+\.tmp")
_PYCACHE_FILE = re.compile(rf"({STEM_RE.pattern})\..+")

_lock = threading.RLock()
_warned: set[str] = set()
#: kernels directories found usable in this process -> read-only?; Numba's locator reads it
_known: dict[str, bool] = {}


class ReadOnlyCache(PermissionError):
    """Numba wanted to save machine code into a read-only kernel directory (a cache miss there)."""


@dataclass(frozen=True)
class Location:
    """One candidate cache directory and what fastact makes of it."""

    path: Path  # the kernels/ directory
    origin: str  # "FASTACT_CACHE_DIR", "user cache" or "temporary"
    status: str  # "writable", "read-only", "refused", "missing" or "unusable"
    reason: str = ""

    @property
    def usable(self) -> bool:
        return self.status in ("writable", "read-only")

    @property
    def writable(self) -> bool:
        return self.status == "writable"


def warn_once(key: str, message: str) -> None:
    """A :class:`CacheWarning`, once per process for each ``key``."""
    with _lock:
        if key in _warned:
            return
        _warned.add(key)
    warnings.warn(f"fastact: {message}", CacheWarning, stacklevel=3)


def _uid() -> int | None:
    return os.geteuid() if hasattr(os, "geteuid") else None


def _trusted_owner(uid: int) -> bool:
    return uid in (_uid(), 0)


def candidates() -> list[tuple[str, Path]]:
    """``(origin, root)`` of every candidate cache directory, in the order they are tried."""
    found = []
    env = os.environ.get("FASTACT_CACHE_DIR")
    if env:
        found.append(("FASTACT_CACHE_DIR", Path(env)))
    try:
        home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        found.append(("user cache", home / "fastact"))
    except RuntimeError:  # no home directory
        pass
    uid = _uid()
    found.append(("temporary", Path(tempfile.gettempdir()) / f"fastact-{'user' if uid is None else uid}"))
    return found


def problem(path: Path, sticky_ok: bool = False) -> str | None:
    """Why ``path`` (a directory fastact owns) cannot be trusted, or ``None`` when it can.
    ``sticky_ok``: a directory with the sticky bit (like /tmp) may be writable by others (they
    cannot rename what is ours inside it)."""
    if _uid() is None:  # no POSIX ownership (Windows): nothing to check
        return None
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        if not _trusted_owner(st.st_uid):
            return f"{path} is a symbolic link owned by uid {st.st_uid}"
        st = os.stat(path)
    if not stat.S_ISDIR(st.st_mode):
        return f"{path} is not a directory"
    if not _trusted_owner(st.st_uid):
        return f"{path} is owned by uid {st.st_uid}, not by you (uid {_uid()})"
    if st.st_mode & 0o022 and not (sticky_ok and st.st_mode & stat.S_ISVTX):
        who = {0o020: "group", 0o002: "others", 0o022: "group and others"}[st.st_mode & 0o022]
        return f"{path} is writable by {who} (mode {stat.S_IMODE(st.st_mode):04o})"
    return None


def _ancestor_problem(root: Path) -> str | None:
    """An ancestor writable by others without the sticky bit lets them swap the cache away."""
    if _uid() is None:
        return None
    for parent in root.resolve().parents:
        try:
            st = os.stat(parent)
        except OSError:
            continue
        if st.st_mode & 0o002 and not st.st_mode & stat.S_ISVTX:
            return f"{parent} (above the cache) is writable by others without the sticky bit"
    return None


def _can_write(path: Path) -> bool:
    return os.access(path, os.W_OK | os.X_OK)


def make_private(path: Path) -> None:
    """Create ``path`` and its missing parents with mode 0700 (an existing one is left as is)."""
    missing = []
    for p in [path, *path.parents]:
        if p.exists() or p.is_symlink():
            break
        missing.append(p)
    for p in reversed(missing):
        try:
            os.mkdir(p, 0o700)
        except FileExistsError:
            continue
        os.chmod(p, 0o700)  # whatever the umask


def inspect(origin: str, root: Path, create: bool = True) -> Location:
    """What fastact makes of the cache directory ``root`` (creating it when ``create``)."""
    kernels = root / KERNELS
    if create and not os.path.lexists(kernels):
        try:
            make_private(kernels)
        except OSError as exc:
            return Location(kernels, origin, "unusable", f"cannot create {kernels}: {exc.strerror or exc}")
    if not os.path.lexists(kernels):
        return Location(kernels, origin, "missing")
    try:
        reason = problem(root, sticky_ok=True) or problem(kernels)
        if reason is None and os.path.lexists(kernels / PYCACHE):
            reason = problem(kernels / PYCACHE)
        reason = reason or _ancestor_problem(root)
    except OSError as exc:
        return Location(kernels, origin, "unusable", f"cannot inspect {kernels}: {exc.strerror or exc}")
    if reason:
        return Location(kernels, origin, "refused", reason)
    pycache = kernels / PYCACHE
    writable = _can_write(kernels) and (not pycache.exists() or _can_write(pycache))
    return Location(kernels, origin, "writable" if writable else "read-only")


def locations() -> list[Location]:
    """The usable kernel directories, in lookup order, up to the first writable one (where new
    kernels are written); ``[]`` means compile in memory. Refused directories are warned about
    once and skipped."""
    found, tried = [], []
    for origin, root in candidates():
        loc = inspect(origin, root)
        tried.append(str(root))
        if loc.status == "refused":
            warn_once(
                f"refused:{loc.path}",
                f"not using the kernel cache {root} ({origin}): {loc.reason}; falling back to "
                "another private directory or in-memory compilation (to use it: make it yours with "
                "chmod go-w, then `fastact cache clear` if others could write to it; or set "
                "FASTACT_CACHE_DIR)",
            )
            continue
        if not loc.usable:
            continue
        found.append(loc)
        with _lock:
            _known[str(loc.path)] = not loc.writable
        if loc.writable:
            break
    else:
        warn_once("in-memory", f"no private, writable kernel cache directory (tried {', '.join(tried)}): new "
                  "kernels compile in memory, again in every process")  # fmt: skip
    return found


# ---- kernel files ---------------------------------------------------------------------------------


def slug(label: str, limit: int = 40) -> str:
    """``label`` as a file-name slug of ``[A-Za-z0-9_]`` (``dist:name`` -> ``dist__name``)."""
    text = re.sub(r"[^A-Za-z0-9_]", "_", str.__str__(label).replace(":", "__"))[:limit]
    return text or "kernel"


def stem(label: str, op: str, parts: list[str]) -> str:
    """The file stem of a kernel: slug, op and a hash of ``parts`` (its source, versions...)
    and of the full label, so two labels with one slug never share a file."""
    if op not in OPS:
        raise ValueError(f"op must be one of {OPS}, not {op!r}")
    digest = hashlib.sha256()
    for part in [str.__str__(label), *parts]:
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    name = f"{slug(label)}_{op}_{digest.hexdigest()[:16]}"
    assert STEM_RE.fullmatch(name), name
    return name


def read_status(path: Path, expected: bytes) -> str:
    """``"ok"`` when ``path`` holds exactly ``expected``, else ``"missing"``, ``"differs"`` or
    ``"unreadable"`` (a directory, a symbolic link, a permission problem)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return "missing"
    except OSError:
        return "unreadable"
    if not stat.S_ISREG(st.st_mode):
        return "unreadable"
    try:
        with open(path, "rb") as fh:
            data = fh.read(len(expected) + 1)
    except OSError:
        return "unreadable"
    return "ok" if data == expected else "differs"


def write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (a temporary file, then a rename): a concurrent
    process sees no file or the whole file, never half of one."""
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o644)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def kernel_files(directory: Path, stem_: str) -> list[Path]:
    """Every file of one kernel: its module and Numba's (and Python's) cache files."""
    files = [directory / f"{stem_}.py"]
    pycache = directory / PYCACHE
    try:
        files += [pycache / e.name for e in os.scandir(pycache) if e.name.startswith(stem_ + ".")]
    except OSError:
        pass
    return [f for f in files if os.path.lexists(f)]


def remove_kernel(directory: Path, stem_: str) -> None:
    """Delete one kernel's files (unlinking, never following, symbolic links)."""
    for f in kernel_files(directory, stem_):
        try:
            os.unlink(f)
        except FileNotFoundError:
            pass


# ---- Numba's cache locator ------------------------------------------------------------------------

_locator_installed = False


def install_locator() -> None:
    """Make Numba keep the machine code of fastact's kernels in ``kernels/__pycache__`` of the
    directory fastact checked (whatever ``NUMBA_CACHE_DIR`` says), and read it from a read-only
    directory too (Numba's own locators skip a directory they cannot write). A cache miss in a
    read-only directory raises :class:`ReadOnlyCache` when Numba tries to save."""
    global _locator_installed
    with _lock:
        if _locator_installed:
            return
        _locator_installed = True
        try:
            from numba.core import caching

            mixin, base = caching._SourceFileBackedLocatorMixin, caching._CacheLocator
            impl = getattr(caching, "CacheImpl", None) or caching._CacheImpl
        except (ImportError, AttributeError):  # another Numba layout: its own locators apply
            return

        class FastactLocator(mixin, base):
            def __init__(self, py_func, py_file, read_only):
                self._py_file = py_file
                self._lineno = py_func.__code__.co_firstlineno
                self._cache_path = os.path.join(os.path.dirname(py_file), PYCACHE)
                self._read_only = read_only

            def get_cache_path(self):
                return self._cache_path

            def ensure_cache_path(self):
                if self._read_only:
                    raise ReadOnlyCache(f"{self._cache_path} is read-only")
                make_private(Path(self._cache_path))

            @classmethod
            def from_function(cls, py_func, py_file):
                directory = os.path.dirname(os.path.abspath(py_file))
                read_only = _known.get(directory)
                if read_only is None or not _KERNEL_FILE.fullmatch(os.path.basename(py_file)):
                    return None
                return cls(py_func, py_file, read_only)

        impl._locator_classes.insert(0, FastactLocator)


# ---- fastact cache info / clear -------------------------------------------------------------------


def _scan(directory: Path) -> tuple[int, int, int]:
    """(kernel modules, files, bytes) of fastact's files in a kernels directory."""
    kernels = files = size = 0
    for folder, pattern in ((directory, _KERNEL_FILE), (directory / PYCACHE, _PYCACHE_FILE)):
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for e in entries:
            if not e.is_file(follow_symlinks=False):
                continue
            if pattern.fullmatch(e.name) or (folder == directory and _TMP_FILE.fullmatch(e.name)):
                files += 1
                kernels += folder == directory and e.name.endswith(".py")
                try:
                    size += e.stat(follow_symlinks=False).st_size
                except OSError:
                    pass
    return kernels, files, size


def info() -> list[dict]:
    """Every candidate directory: path, origin, status (writable, read-only, refused, missing,
    unusable), why, and how many kernels, files and bytes it holds. Creates nothing."""
    out = []
    for origin, root in candidates():
        loc = inspect(origin, root, create=False)
        kernels, files, size = _scan(loc.path) if loc.usable else (0, 0, 0)
        out.append({"path": str(loc.path), "origin": origin, "status": loc.status, "reason": loc.reason,
                    "kernels": kernels, "files": files, "bytes": size})  # fmt: skip
    return out


def clear() -> list[dict]:
    """Delete fastact's files from every writable trusted candidate directory (its kernel
    modules and their Numba cache files; nothing else). Returns what was removed where;
    refused and read-only directories are reported and left alone."""
    out = []
    for origin, root in candidates():
        loc = inspect(origin, root, create=False)
        entry = {"path": str(loc.path), "origin": origin, "status": loc.status, "reason": loc.reason,
                 "removed": 0, "bytes": 0}  # fmt: skip
        if loc.writable:
            for folder, pattern in ((loc.path, _KERNEL_FILE), (loc.path / PYCACHE, _PYCACHE_FILE)):
                try:
                    entries = list(os.scandir(folder))
                except OSError:
                    continue
                for e in entries:
                    ours = pattern.fullmatch(e.name) or (folder == loc.path and _TMP_FILE.fullmatch(e.name))
                    if not ours or not e.is_file(follow_symlinks=False):
                        continue
                    try:
                        size = e.stat(follow_symlinks=False).st_size
                        os.unlink(e.path)
                    except OSError:
                        continue
                    entry["removed"] += 1
                    entry["bytes"] += size
        out.append(entry)
    return out
