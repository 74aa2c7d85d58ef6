"""Safe by construction (issue 14): the kernel cache under hostile or broken directories and
files, metadata that tries to steer paths or inject code, and every source generator."""

from __future__ import annotations

import builtins
import os
import re
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pytest

import fastact as fa
from fastact import cache
from fastact.errors import CacheWarning, CompileError, SpecError
from fastact.kernels import cabi, cpu
from fastact.registry import Registry
from fastact.spec import ActivationSpec, Param, Properties

PAYLOAD = "import builtins; setattr(builtins, 'fastactpwned', 1)"


def double(x):
    return 2.0 * x


def no_len(x):
    return len(x)  # not in Numba's subset for a float


def make_spec(forward=double, name="double"):
    return ActivationSpec(
        name=name, summary="2 x", formula="2 x", forward=forward, derivative=None,
        reference=lambda x: 2.0 * np.asarray(x, float), properties=Properties("", True, True, True, False),
    )  # fmt: skip


def build(label="test:double", forward=double):
    """The forward kernels of a fresh spec object (so nothing comes from this process's memo)."""
    ufunc, loop = cpu.kernels(make_spec(forward), "forward", label=label)
    np.testing.assert_array_equal(ufunc(np.array([1.5, -2.0])), [3.0, -4.0])
    return ufunc, loop


@pytest.fixture
def dirs(tmp_path, monkeypatch):
    """Every cache candidate under tmp_path: $FASTACT_CACHE_DIR, $XDG_CACHE_HOME, the temp dir."""
    paths = {k: tmp_path / k for k in ("env", "xdg", "tmp")}
    paths["tmp"].mkdir()
    monkeypatch.setenv("FASTACT_CACHE_DIR", str(paths["env"]))
    monkeypatch.setenv("XDG_CACHE_HOME", str(paths["xdg"]))
    monkeypatch.setattr(tempfile, "tempdir", str(paths["tmp"]))
    monkeypatch.setattr(cache, "_warned", set())
    monkeypatch.delattr(builtins, "fastactpwned", raising=False)
    return paths


def kernel_modules(root: Path) -> list[Path]:
    return sorted(root.rglob("*.py")) if root.exists() else []


def pwned() -> bool:
    return getattr(builtins, "fastactpwned", None) == 1


# ---- 1. an untrusted cache directory ---------------------------------------------------------


def test_cache_directories_are_created_private(dirs):
    build()
    kernels = dirs["env"] / "kernels"
    for d in (dirs["env"], kernels, kernels / "__pycache__"):
        assert d.stat().st_mode & 0o777 == 0o700, d
    [module] = kernel_modules(dirs["env"])
    assert re.fullmatch(r"test__double_forward_[0-9a-f]{16}\.py", module.name)
    assert list((kernels / "__pycache__").glob(module.stem + ".*.nbi")), "Numba's cache is beside the module"


def test_a_world_writable_cache_directory_is_refused(dirs):
    build()  # a kernel fastact wrote itself, then the directory becomes world-writable
    [module] = kernel_modules(dirs["env"])
    module.write_text(PAYLOAD + "\n")  # planted by another local user
    os.chmod(dirs["env"], 0o777)
    os.chmod(dirs["env"] / "kernels", 0o777)
    with pytest.warns(CacheWarning, match="writable by group and others"):
        build()
    assert not pwned()
    assert module.read_text() == PAYLOAD + "\n", "a refused directory is not written to"
    assert len(kernel_modules(dirs["xdg"])) == 1, "the next private candidate took the kernel"
    assert (dirs["xdg"] / "fastact").stat().st_mode & 0o777 == 0o700


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to chown")
def test_a_cache_directory_owned_by_another_user_is_refused(dirs):
    (dirs["env"] / "kernels").mkdir(parents=True, mode=0o700)
    os.chown(dirs["env"], 4242, 4242)
    with pytest.warns(CacheWarning, match="owned by uid 4242"):
        build()
    assert not kernel_modules(dirs["env"]) and len(kernel_modules(dirs["xdg"])) == 1


def test_a_modified_kernel_module_is_never_imported(dirs):
    build()
    [module] = kernel_modules(dirs["env"])
    original = module.read_bytes()
    module.write_bytes(original + f"\n{PAYLOAD}\n".encode())
    with pytest.warns(CacheWarning, match="not what fastact writes"):
        build()
    assert not pwned()
    assert module.read_bytes() == original, "rewritten with what fastact writes"


def test_no_trusted_writable_directory_compiles_in_memory(dirs, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("FASTACT_CACHE_DIR", str(blocker))  # no directory can be made under a file
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    monkeypatch.setattr(tempfile, "tempdir", str(blocker))
    with pytest.warns(CacheWarning, match="compile in memory"):
        build()
    fields = dict(op="forward", args="x", body="_f(x)", signatures=["float64(float64)"], label="t:x",
                  loop_args="x, out", loop_signatures=["void(float64[::1], float64[::1])"],
                  loop_body="_f(x[i])")  # fmt: skip
    source = cpu.render(fields, cached=False)
    assert "cache=False" in source and "cache=True" not in source and "scalar(" not in source
    assert "cache=True" in cpu.render(fields, "m", "f")


# ---- 2. metadata that steers paths or injects code ---------------------------------------------


@pytest.mark.parametrize(
    "label",
    [
        "./../../../../tmp/fastact-escaped/x:double",
        "evil\n\x0cimport builtins; setattr(builtins, 'fastactpwned', 1) #:double",
        "evil\r" + PAYLOAD + ":double",
    ],
)
def test_a_label_never_leaves_the_cache_or_enters_the_code(dirs, label):
    build(label=label)
    assert not pwned()
    [module] = kernel_modules(dirs["env"])
    assert module.parent == dirs["env"] / "kernels"
    assert re.fullmatch(r"[A-Za-z0-9_]+\.py", module.name)
    assert not Path("/tmp/fastact-escaped").exists()
    source = module.read_text()
    assert f"LABEL = {label!r}\n" in source and len(source.splitlines()) == len(cpu._TEMPLATE.splitlines())


def _fake_dist(root: Path, dist_name: str, module: str, source: str) -> None:
    info = root / f"{module}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist_name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[fastact.activations]\n{module} = {module}:specs\n")
    (root / f"{module}.py").write_text(textwrap.dedent(source))


@pytest.mark.parametrize(
    "dist_name", ["./../../../../tmp/x/escaped", "evil\n \x0cimport builtins; setattr(builtins, 'a', 1) #"]
)
def test_a_distribution_with_an_invalid_name_is_refused_before_import(tmp_path, monkeypatch, dist_name):
    source = "import builtins\nbuiltins.fastact_badname = 1\nspecs = []\n"
    _fake_dist(tmp_path, dist_name, "fa_badname", source)
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = Registry()
    with pytest.warns(fa.FastactWarning, match="invalid distribution name"):
        registry.names()
    [failure] = [f for f in registry.failures if "fa_badname" in f.entry_point]
    assert "not a valid distribution name" in failure.error and "\n" not in str(failure)
    assert not hasattr(builtins, "fastact_badname") and "fa_badname" not in sys.modules


@pytest.mark.parametrize("bad", ["relu2\n", "Relu", "a-b", "x\nimport os"])
def test_names_must_match_entirely(bad):
    with pytest.raises(SpecError):
        make_spec(name=bad).validate()
    spec = make_spec()
    for field in ("aliases", "params"):
        value = (bad,) if field == "aliases" else (Param(bad, 1.0),)
        with pytest.raises(SpecError):
            ActivationSpec(**{**spec.__dict__, field: value}).validate()


def forged(x):
    return 2.0 * x


def test_a_forged_import_path_never_reaches_the_source(dirs):
    class Sly(str):  # a str whose repr would close the string and run the payload
        def __repr__(self):
            return f"'tests.test_security'); {PAYLOAD} #"

    original = forged.__module__, forged.__qualname__
    try:
        forged.__module__ = Sly("tests.test_security")
        module, qualname = cpu._import_path(forged)
        assert type(module) is str and repr(module) == "'tests.test_security'"
        build(forward=forged)
        [written] = kernel_modules(dirs["env"])
        assert "_f = scalar('tests.test_security', 'forged')\n" in written.read_text()
        forged.__qualname__ = f"forged\n{PAYLOAD}"  # not a dotted name: compiled in memory
        assert cpu._import_path(forged) is None
        build(forward=forged, label="test:in_memory")
        assert not pwned() and kernel_modules(dirs["env"]) == [written]
    finally:
        forged.__module__, forged.__qualname__ = original


# ---- 3. the other generators ------------------------------------------------------------------


def test_c_header_escapes_what_a_plugin_writes():
    spec = ActivationSpec(
        name="odd", summary="", formula="x */ #include <evil.h> /* \n#define X 1\r\n\x00 σ(x)",
        forward=double, derivative=None, reference=double, properties=Properties("", True, True, True, False),
    )  # fmt: skip
    header = cabi.header([("bad-dist\n#define Y:odd", spec)])
    comments = [line for line in header.splitlines() if "odd" in line and line.startswith("/*")]
    assert comments == ["/* odd: x * / #include <evil.h> / * #define X 1 σ(x) */"]
    assert "#define X" not in header.replace("/* odd: x * / #include <evil.h> / * #define X 1", "")
    assert "#define FASTACT_BAD_DIST__DEFINE_Y__ODD_NPARAMS 0" in header
    assert "#include <evil.h>" not in [line.strip() for line in header.splitlines()]
    for line in header.splitlines():  # every comment closes on its own line, no stray directive
        assert line.count("/*") == line.count("*/") or line.startswith((" *", "/* fastact.h"))


def test_cuda_kernel_source_takes_only_known_ops():
    from fastact.kernels import cuda

    with pytest.raises(ValueError, match="op must be one of"):
        cuda.kernel(make_spec(), "forward\nimport os")
    with pytest.raises(ValueError, match="op must be one of"):
        cpu.kernels(make_spec(), "forward(x):\n    pass\n")


# ---- 5. a corrupt cache heals itself ---------------------------------------------------------


@pytest.mark.parametrize("damage", ["index", "data", "module"])
def test_a_corrupt_kernel_is_removed_rebuilt_and_warned_once(dirs, damage):
    build()
    kernels = dirs["env"] / "kernels"
    [module] = kernel_modules(dirs["env"])
    if damage == "module":
        module.write_bytes(module.read_bytes()[:40])  # truncated
        match = "not what fastact writes"
    else:
        for f in (kernels / "__pycache__").glob(module.stem + (".*.nbi" if damage == "index" else ".*.nbc")):
            f.write_bytes(b"\x80\x04garbage" if damage == "index" else f.read_bytes()[:30])
        match = "removed its files and rebuilt"
    with pytest.warns(CacheWarning, match=match) as caught:
        build()
        build()
    assert len([w for w in caught if issubclass(w.category, CacheWarning)]) == 1
    assert list((kernels / "__pycache__").glob(module.stem + ".*.nbi"))


def test_a_real_compile_error_is_not_taken_for_corruption(dirs):
    with pytest.raises(CompileError) as raised:
        build(forward=no_len)
    message = str(raised.value)
    assert ">>> len(float64)" in message and "return len(x)" in message and "\n" not in message
    assert "Failed in nopython mode pipeline" not in message


# ---- 6. a read-only cache --------------------------------------------------------------------


def test_a_read_only_cache_with_kernels_is_used(dirs, monkeypatch):
    build()
    shared = dirs["env"] / "kernels"
    before = {p: p.stat().st_mtime_ns for p in shared.rglob("*")}
    real = cache._can_write
    monkeypatch.setattr(cache, "_can_write", lambda p: False if shared in (p, *p.parents) else real(p))
    assert cache.inspect("FASTACT_CACHE_DIR", dirs["env"]).status == "read-only"
    build()
    assert not kernel_modules(dirs["xdg"]), "the pre-built kernel was loaded, not rebuilt elsewhere"
    assert {p: p.stat().st_mtime_ns for p in shared.rglob("*")} == before
    # a kernel the read-only cache lacks is compiled into the next writable directory
    build(label="test:other")
    assert len(kernel_modules(dirs["xdg"])) == 1
    assert {p: p.stat().st_mtime_ns for p in shared.rglob("*")} == before


# ---- thread and process safety of first-use compilation ----------------------------------------


def test_first_use_compiles_once_across_threads_and_processes(tmp_path):
    code = textwrap.dedent(
        """
        import threading, numpy as np, fastact as fa
        barrier, out, errors = threading.Barrier(4), [], []
        def work():
            barrier.wait()
            try:
                out.append(fa.get("relu6")(np.array([-1.0, 3.0, 9.0])).tolist())
            except Exception as exc:
                errors.append(repr(exc))
        threads = [threading.Thread(target=work) for _ in range(4)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        assert not errors and out == [[0.0, 3.0, 6.0]] * 4, (errors, out)
        """
    )
    env = {**os.environ, "FASTACT_CACHE_DIR": str(tmp_path)}
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]  # fmt: skip
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    modules = list((tmp_path / "kernels").glob("fastact__relu6_forward_*.py"))
    assert len(modules) == 1 and not list((tmp_path / "kernels").glob(".*.tmp"))
