"""The entry-point registry with real (fake-installed) plugin distributions."""

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import fastact as fa
from fastact.registry import Registry
from fastact.spec import ActivationSpec

from . import plugin_fixtures


@pytest.fixture
def plugins(tmp_path):
    plugin_fixtures.install(tmp_path)
    yield tmp_path
    plugin_fixtures.uninstall(tmp_path)


def _loaded(**kw):
    registry = Registry(**kw)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        registry.names()
    return registry, [str(w.message) for w in caught]


def test_builtins_come_through_the_entry_point():
    registry, messages = _loaded()
    assert registry.distributions.get("fastact") == fa.__version__
    assert len([e for e in registry.entries() if e.builtin]) >= 36
    assert not messages


def test_good_and_broken_plugins(plugins):
    registry, messages = _loaded()
    # the good plugin works, with its alias, through every API
    entry = registry.entry("bent_square")
    assert entry.source == "good-plugin" and entry.version == "1.0"
    assert registry.get("bent_sq") is entry.spec
    # each broken one is skipped, recorded and warned about by name
    failures = {f.source: f.error for f in registry.failures}
    assert "missing dependency xyz" in failures["broken-plugin"]
    assert "returned int, not an ActivationSpec" in failures["nonspec-plugin"]
    assert "default 5.0 is outside [0, 1]" in failures["invalid-plugin"]
    assert "ABI version 99" in failures["abi-plugin"]
    for source in failures:
        assert any(source in m for m in messages)
    # a plugin's 'relu' does not replace the builtin, but stays reachable by its qualified name
    assert registry.entry("relu").builtin
    assert registry.entry("dup-plugin:relu").spec.summary == "not relu"
    assert [str(c) for c in registry.conflicts] == [
        "'relu' is offered by fastact and dup-plugin; fastact wins (use dup-plugin:relu for the other)",
        "'bent_square' is offered by good-plugin and zz-dup-plugin; good-plugin wins "
        "(use zz-dup-plugin:bent_square for the other)",
    ]
    # builtins are untouched
    assert "gelu" in registry.names() and "from_the_future" not in registry.names()


def test_plugin_activations_compute_like_builtins(plugins):
    fa.REGISTRY.reload()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", fa.FastactWarning)
            act = fa.get("bent_square")
            x = np.array([1.0, -2.0], np.float32)
            np.testing.assert_array_equal(act(x, 2.0), [3.0, 0.0])
            np.testing.assert_array_equal(act.grad(x, a=2.0), [4.0, -2.0])
            np.testing.assert_array_equal(fa.get("dup-plugin:relu")(np.array([1.0])), [2.0])
    finally:
        fa.REGISTRY.reload()


def test_plugins_can_be_switched_off(plugins, monkeypatch):
    registry, messages = _loaded(entry_points=None)
    assert "bent_square" in registry.names()
    monkeypatch.setenv("FASTACT_PLUGINS", "0")
    registry, messages = _loaded()
    assert "bent_square" not in registry.names() and not registry.failures and not messages
    assert list(registry.distributions) == ["fastact"]


def test_entry_points_are_read_lazily(plugins):
    calls = []

    def eps():
        calls.append(1)
        from importlib.metadata import entry_points

        return entry_points(group="fastact.activations")

    registry = Registry(entry_points=eps)
    assert not calls
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fa.FastactWarning)
        registry.names()
        registry.names()
    assert len(calls) == 1


def test_listing_plugins_does_not_compile(plugins):
    code = (
        "import sys, warnings; warnings.simplefilter('ignore'); import fastact; fastact.names();"
        "assert 'numba' not in sys.modules, 'listing imported numba'"
    )
    env_path = str(plugins)
    subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path.insert(0, {env_path!r}); {code}"], check=True
    )


# ---- thread safety and contained plugins (issues 13 and 14) ---------------------------------


def _dist(root, dist, module, source):
    info = root / f"{module}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[fastact.activations]\n{module} = {module}:specs\n")
    (root / f"{module}.py").write_text(source)


SPEC_SOURCE = """
import numpy as np
from fastact.plugin import ActivationSpec, Properties
def f(x):
    return x
def specs():
    print("specs() speaking on stdout")
    return [ActivationSpec(name={name!r}, summary="", formula="x", forward=f, derivative=None,
            reference=lambda x: np.asarray(x, float), properties=Properties("", True, True, True, False))]
"""


def test_the_first_lookup_from_many_threads_loads_once_and_completely(tmp_path):
    _dist(tmp_path, "reentrant-plugin", "fa_reentrant",
          "from fastact import gelu  # a lookup while the registry is loading\n"
          + SPEC_SOURCE.format(name="reentrant_one"))  # fmt: skip
    code = f"""
import sys, threading, warnings
sys.path.insert(0, {str(tmp_path)!r})
warnings.simplefilter("error")
import fastact as fa
barrier, errors = threading.Barrier(8), []
def work():
    barrier.wait()
    try:
        assert fa.get("relu").name == "relu" and fa.get("reentrant_one").name == "reentrant_one"
    except BaseException as exc:
        errors.append(repr(exc))
threads = [threading.Thread(target=work) for _ in range(8)]
[t.start() for t in threads]
[t.join() for t in threads]
assert not errors, errors
assert not fa.REGISTRY.failures, fa.REGISTRY.failures
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "specs() speaking on stdout" in done.stderr and not done.stdout


def test_register_and_unregister_from_many_threads():
    import threading

    registry = Registry(entry_points=lambda: [])
    spec = registry.get("relu")
    specs = [ActivationSpec(**{**spec.__dict__, "name": f"threaded_{i}", "aliases": ()}) for i in range(16)]
    barrier, errors = threading.Barrier(8), []

    def work(chunk):
        barrier.wait()
        try:
            for s in chunk:
                registry.register(s)
                assert registry.get(s.name) is s
            registry.unregister(chunk[0].name)
        except BaseException as exc:
            errors.append(repr(exc))

    threads = [threading.Thread(target=work, args=(specs[2 * i : 2 * i + 2],)) for i in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors, errors
    left = sorted(n for n in registry.names() if n.startswith("threaded_"))
    assert left == sorted(s.name for s in specs[1::2])
    assert "relu" in registry.names()


def test_a_plugin_that_exits_or_prints_is_contained(tmp_path, monkeypatch, capsys):
    import json

    from click.testing import CliRunner

    from fastact.tools.cli import main

    _dist(tmp_path, "exit-plugin", "fa_exit", "import sys\nsys.exit(3)\n")
    chatty = "print('hello from a plugin')\n" + SPEC_SOURCE.format(name="chatty")
    _dist(tmp_path, "chatty-plugin", "fa_chatty", chatty)
    monkeypatch.syspath_prepend(str(tmp_path))
    registry, messages = _loaded()
    failures = {f.source: f.error for f in registry.failures}
    assert failures == {"exit-plugin": "failed to load: SystemExit: 3"}
    assert registry.get("relu").name == "relu" and registry.get("chatty").name == "chatty"
    out = capsys.readouterr()
    assert "hello from a plugin" in out.err and "speaking on stdout" in out.err and not out.out
    try:  # the CLI: exit code 0 and --json still valid JSON on stdout
        fa.REGISTRY.reload()
        result = CliRunner().invoke(main, ["plugins", "--json"])
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        assert {"source": "exit-plugin", "entry_point": "fa_exit = fa_exit:specs",
                "error": "failed to load: SystemExit: 3"} in data["failures"]  # fmt: skip
        assert "speaking on stdout" in result.stderr
    finally:
        sys.modules.pop("fa_chatty", None)
        fa.REGISTRY.reload()


def test_a_hanging_plugin_import_says_which_and_how_to_skip(tmp_path):
    _dist(tmp_path, "slow-plugin", "fa_slow", "import time\ntime.sleep(1.5)\nspecs = []\n")
    code = f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import fastact; print(len(fastact.names()))"
    env = {**os.environ, "FASTACT_PLUGIN_WARN_SECONDS": "0.3"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    [line] = [line for line in done.stderr.splitlines() if "still importing" in line]
    assert "'slow-plugin'" in line and "--no-plugins" in line and "FASTACT_PLUGINS=0" in line
    assert done.stdout.strip().isdigit()
