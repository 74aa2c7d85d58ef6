"""The click CLI through CliRunner: output, JSON, and one-line errors with exit codes."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

import fastact as fa
from fastact.cli import main

from . import plugin_fixtures


@pytest.fixture
def run():
    runner = CliRunner()

    def invoke(*args, input=None):
        result = runner.invoke(main, list(args), input=input)
        fa.REGISTRY.reload()  # --no-plugins must not leak into other tests
        return result

    return invoke


def assert_one_line_error(result, code, fragment):
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert fragment in lines[0]
    assert "Traceback" not in result.output


def test_list_shows_every_builtin(run):
    result = run("list")
    assert result.exit_code == 0
    names = [line.split()[0] for line in result.stdout.splitlines()[1:]]
    assert set(fa.names()) <= set(names)
    assert "negative_slope=0.01" in result.stdout and f"{len(fa.names())} activations" in result.stderr


def test_list_json(run):
    data = json.loads(run("list", "--json").stdout)
    by_name = {d["name"]: d for d in data}
    assert by_name["softplus"]["params"] == {"beta": 1.0, "threshold": 20.0}
    assert by_name["silu"]["aliases"] == ["swish"] and by_name["relu"]["source"] == "fastact"


def test_show(run):
    result = run("show", "gelu")
    assert result.exit_code == 0
    assert "0.5 x erfc(-x / sqrt(2))" in result.stdout and "max error 1 ULP (float32)" in result.stdout
    data = json.loads(run("show", "gelu", "--json").stdout)
    assert data["name"] == "gelu" and data["max_ulp"] == {"float32": 1, "float64": 64}
    assert json.loads(run("show", "swish", "--json").stdout)["name"] == "silu"


def test_eval_softplus_with_grad(run):
    result = run("eval", "softplus", "1e4", "-1e4", "--grad")
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.stdout.splitlines()[1:]]
    assert rows == [["10000.0", "10000.0", "1.0"], ["-10000.0", "0.0", "0.0"]]


def test_eval_json_params_and_dtype(run):
    result = run(
        "eval",
        "leaky_relu",
        "-2",
        "3",
        "nan",
        "-inf",
        "-p",
        "negative_slope=0.5",
        "--dtype",
        "float32",
        "--json",
    )
    data = json.loads(result.stdout)
    assert data["y"] == [-1.0, 3.0, "nan", "-inf"] and data["params"] == {"negative_slope": 0.5}
    assert data["dtype"] == "float32"


def test_eval_reads_stdin_and_npy(run, tmp_path):
    result = run("eval", "relu", "--json", input="-1 2, 3\n")
    assert json.loads(result.stdout)["y"] == [0.0, 2.0, 3.0]
    path = tmp_path / "x.npy"
    np.save(path, np.array([[-1.0, 4.0]]))
    assert json.loads(run("eval", "relu", "--input", str(path), "--json").stdout)["y"] == [0.0, 4.0]


@pytest.mark.parametrize(
    "args, code, fragment",
    [
        (["eval", "gelo", "1"], 2, "unknown activation 'gelo'; did you mean gelu"),
        (["show", "sigmod"], 2, "did you mean sigmoid"),
        (["eval", "relu", "abc"], 2, "'abc' is not a number"),
        (["eval", "relu"], 2, "no values"),
        (["eval", "softplus", "1", "-p", "beta=0"], 2, "'beta' = 0.0 is outside (0, inf)"),
        (["eval", "softplus", "1", "-p", "gamma=1"], 2, "unknown parameter(s) 'gamma'"),
        (["eval", "softplus", "1", "-p", "beta"], 2, "NAME=VALUE"),
        (["eval", "relu", "1", "--dtype", "int8"], 2, "'int8' is not one of"),
        (["eval", "relu", "1", "--bogus"], 2, "no such option: --bogus"),
        (["eval", "relu", "--input", "/nonexistent.npy"], 2, "cannot read /nonexistent.npy"),
        (["frobnicate"], 2, "No such command 'frobnicate'"),
    ],
)
def test_errors_are_one_line_with_exit_codes(run, args, code, fragment):
    assert_one_line_error(run(*args), code, fragment)


def test_plugins_command_and_no_plugins(run, tmp_path):
    plugin_fixtures.install(tmp_path)
    fa.REGISTRY.reload()
    try:
        result = run("plugins")
        assert "good-plugin 1.0: 1 activation(s): bent_square" in result.stdout
        assert "FAILED broken-plugin" in result.stdout and "conflict: 'relu'" in result.stdout
        data = json.loads(run("plugins", "--json").stdout)
        assert {f["source"] for f in data["failures"]} >= {"broken-plugin", "nonspec-plugin"}
        listing = run("list")
        assert "bent_square" in listing.stdout and "failed to load" in listing.stderr
        quiet = run("--no-plugins", "list")
        assert "bent_square" not in quiet.stdout and "failed" not in quiet.stderr
        assert "bent_square" not in run("list", "--no-plugins").stdout
    finally:
        plugin_fixtures.uninstall(tmp_path)
        fa.REGISTRY.reload()


def test_version(run):
    assert fa.__version__ in run("--version").stdout
