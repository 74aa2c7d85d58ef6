"""The entry-point registry with real (fake-installed) plugin distributions."""

import subprocess
import sys
import warnings

import numpy as np
import pytest

import fastact as fa
from fastact.registry import Registry

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
