"""fastact plot and fastact compare."""

import json
import sys

import pytest
from click.testing import CliRunner

from fastact.tools.cli import main


def run(*args):
    return CliRunner().invoke(main, list(args))


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "curves.png"
    result = run("plot", "relu", "gelu", "x*tanh.softplus", "--grad", "--range", "-4", "4", "-o", str(path))
    assert result.exit_code == 0, result.output
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_plot_sketches_in_the_terminal_and_fails_cleanly(tmp_path, monkeypatch):
    result = run("plot", "relu", "tanh", "--range", "-3", "3")
    assert result.exit_code == 0 and "* relu" in result.stdout and "o tanh" in result.stdout
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if it were not installed
    result = run("plot", "relu", "-o", str(tmp_path / "x.png"))
    assert result.exit_code == 1 and result.stderr.count("\n") == 1 and "needs matplotlib" in result.stderr
    assert run("plot", "gelo").exit_code == 2
    assert run("plot", "softmax").exit_code == 2
    assert run("plot", "relu", "--range", "3", "-3").exit_code == 2


def _compare(*args):
    result = run("compare", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_compare_is_deterministic_and_shows_the_robust_facts():
    args = ("relu", "identity", "sigmoid", "--dataset", "spirals", "--epochs", "40", "--hidden", "32,32")
    doc = _compare(*args)
    again = _compare(*args)
    strip = lambda d: [{k: v for k, v in r.items() if k != "seconds_per_epoch"} for r in d["results"]]  # noqa: E731
    assert strip(doc) == strip(again)
    by = {r["activation"]: r for r in doc["results"]}
    assert by["relu"]["test_accuracy"] > by["identity"]["test_accuracy"] + 0.15  # nonlinearity matters
    # vanishing gradients: sigmoid's first layer in the 10-layer net gets orders of magnitude less
    assert by["sigmoid"]["deep_grad_norms"][0] < by["relu"]["deep_grad_norms"][0] / 100
    for r in doc["results"]:
        assert len(r["history"]) == 40 and 0 <= r["f1"] <= 1 and len(r["dead_units"]) == 2


def test_compare_learns_prelu_slopes_on_digits(tmp_path):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    plot = tmp_path / "loss.png"
    result = run("compare", "prelu", "--epochs", "3", "--hidden", "16", "--json", "--plot", str(plot))
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)["results"]
    assert row["test_accuracy"] > 0.8
    assert row["learned_params_layer1_mean"]["weight"] != pytest.approx(0.25)  # it learned
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_compare_errors():
    assert run("compare", "--hidden", "a,b").exit_code == 2
    assert run("compare", "softmax").exit_code == 2
    assert "did you mean" in run("compare", "relux").stderr
