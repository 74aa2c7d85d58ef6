"""Real installs: the zoo plugin and the plugin guide's example, built and installed by pip into a
separate directory, found through importlib.metadata entry points in a fresh interpreter."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def guide_files() -> dict[str, str]:
    """The files of the plugin guide's example: each ``<!-- file: PATH -->`` marker in
    docs/plugins.md owns the next fenced code block."""
    text = (ROOT / "docs" / "plugins.md").read_text()
    return {
        m.group(1): m.group(2)
        for m in re.finditer(r"<!-- file: (\S+) -->.*?```\w*\n(.*?)```", text, flags=re.S)
    }


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """pip-install the zoo and the guide's example (no deps: fastact is the running one)."""
    tmp = tmp_path_factory.mktemp("plugins")
    example = tmp / "fastact-shifted"
    for rel, text in guide_files().items():
        (example / rel).parent.mkdir(parents=True, exist_ok=True)
        (example / rel).write_text(text)
    # build from a copy: pip builds in place and would leave egg-info/ and build/ in the tree
    zoo = shutil.copytree(
        ROOT / "plugins" / "fastact-zoo",
        tmp / "fastact-zoo",
        ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"),
    )
    target = tmp / "site"
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "-q",
        "--no-deps",
        "--target",
        str(target),
        str(zoo),
        str(example),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return target


def fastact(site, *args):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}
    return subprocess.run([sys.executable, "-m", "fastact", *args], capture_output=True, text=True, env=env)


def test_guide_has_the_whole_example():
    assert set(guide_files()) == {
        "pyproject.toml",
        "src/fastact_shifted/__init__.py",
        "tests/test_fastact_shifted.py",
    }


def test_list_shows_plugin_activations_with_their_source(site):
    done = fastact(site, "list", "--json")
    assert done.returncode == 0, done.stderr
    sources = {row["name"]: row["source"] for row in json.loads(done.stdout)}
    for name in (
        "snake",
        "rational",
        "elish",
        "bent_identity",
        "isru",
        "isrlu",
        "soft_exponential",
        "serf",
        "srelu",
    ):
        assert sources[name] == "fastact-zoo"
    assert sources["shifted_softplus"] == "fastact-shifted"
    assert sources["relu"] == "fastact"


def test_eval_a_plugin_activation(site):
    done = fastact(site, "eval", "snake", "0", "1", "-p", "a=2", "--json")
    assert done.returncode == 0, done.stderr
    import math

    y = json.loads(done.stdout)["y"]
    assert y[0] == 0.0 and abs(y[1] - (1 + math.sin(2.0) ** 2 / 2)) < 1e-15
    done = fastact(site, "eval", "fastact-shifted:shifted_softplus", "0", "--grad", "--json")
    assert json.loads(done.stdout)["grad"] == [0.5]


@pytest.mark.parametrize("dist", ["fastact-zoo", "fastact-shifted"])
def test_check_plugin_passes(site, dist):
    done = fastact(site, "check-plugin", dist, "--samples", "4000")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "all" in done.stdout.splitlines()[-1] and "FAIL" not in done.stdout


def test_check_plugin_runs_the_cuda_kernels_in_the_simulator(site):
    pytest.importorskip("numba_cuda")
    done = fastact(site, "check-plugin", "fastact-zoo", "--samples", "2000", "--cuda-sim")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "all 9 activation(s) pass" in done.stdout


def test_plugins_command_lists_the_distributions(site):
    done = fastact(site, "plugins", "--json")
    dists = {d["name"]: d for d in json.loads(done.stdout)["distributions"]}
    assert dists["fastact-zoo"]["version"] == "0.1.0" and "serf" in dists["fastact-zoo"]["activations"]
    assert dists["fastact-shifted"]["activations"] == ["shifted_softplus"]


def test_plugin_switch_off(site):
    done = fastact(site, "--no-plugins", "eval", "snake", "1")
    assert done.returncode == 2 and "unknown activation 'snake'" in done.stderr.lower()
