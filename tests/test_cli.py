"""The click CLI through CliRunner: output, JSON, and one-line errors with exit codes."""

import dataclasses
import json
import os
import textwrap

import numpy as np
import pytest
from click.testing import CliRunner

import fastact as fa
from fastact.tools.cli import main

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


# ---- hostile and broken input (issue 14) ------------------------------------------------------


@pytest.fixture
def inputs(tmp_path):
    """Files that are not a .npy of real numbers."""
    np.savez(tmp_path / "a.npz", x=np.ones(3))
    np.save(tmp_path / "s.npy", np.array(["a", "b"]))
    np.save(tmp_path / "o.npy", np.array([1, None], dtype=object), allow_pickle=True)
    np.save(tmp_path / "c.npy", np.array([1 + 2j]))
    np.save(tmp_path / "ok.npy", np.array([-1.0, 2.0]))
    (tmp_path / "t.txt").write_text("1 2 3\n")
    return tmp_path


@pytest.mark.parametrize(
    "name, fragment",
    [
        ("a.npz", "is a .npz archive"),
        ("s.npy", "holds <U1 values, not real numbers"),
        ("o.npy", "holds Python objects"),
        ("t.txt", "is not a .npy file"),
        ("c.npy", "holds complex numbers (complex128)"),
    ],
)
def test_eval_input_that_is_not_real_numbers_is_a_usage_error(run, inputs, name, fragment):
    assert_one_line_error(run("eval", "relu", "--input", str(inputs / name)), 2, fragment)


def test_eval_values_and_input_together_is_a_usage_error(run, inputs):
    assert_one_line_error(run("eval", "relu", "1", "--input", str(inputs / "ok.npy")), 2, "not both")


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["bench", "relu", "--size", "inf"], "'inf' is not a positive whole number"),
        (["bench", "relu", "--size", "1e12"], "--size: benchmarking 1,000,000,000,000 elements needs about"),
        (["verify", "relu", "--samples", "1e12"], "--samples: verifying 1,000,000,000,000 samples needs"),
        (["plot", "relu", "--range", "-1e308", "1e308"], "HI - LO must be finite"),
        (["plot", "relu", "--range", "-inf", "inf"], "needs finite LO and HI"),
        (["plot", "relu", "--range", "1e16", "1.0000000000000002e16"], "wide enough"),
        (["new-plugin", "class"], "import name 'class' is a Python keyword"),
        (["new-plugin", "numpy"], "import name 'numpy' shadows an installed package"),
        (["new-plugin", "json"], "shadows a module of the standard library"),
        (["new-plugin", "fastact"], "shadows fastact itself"),
        (["new-plugin", "my-acts", "--activation", "exp"], "would shadow a name the generated module uses"),
        (["new-plugin", "my-acts", "--activation", "class"], "is a Python keyword"),
        (["new-plugin", "my-acts", "--activation", "abs"], "would shadow"),
        (["new-plugin", "my-acts", "--activation", "relu"], "is a fastact builtin"),
        (["new-plugin", "my-acts-"], "is not a valid distribution name"),
    ],
)
def test_bad_sizes_ranges_and_names_are_one_line_usage_errors(run, tmp_path, args, fragment):
    if args[0] == "new-plugin":
        args = [*args, "-d", str(tmp_path)]
    assert_one_line_error(run(*args), 2, fragment)
    assert not list(tmp_path.iterdir()), "nothing was written"


def test_bench_compare_with_partial_json_is_a_usage_error(run, tmp_path):
    doc = {"schema": "fastact-bench/1", "results": [{"activation": "relu", "size": 10, "dtype": "float32"}]}
    for name in ("old.json", "new.json"):
        (tmp_path / name).write_text(json.dumps(doc))
    result = run("bench", "--compare", str(tmp_path / "old.json"), str(tmp_path / "new.json"))
    assert_one_line_error(result, 2, "is not a complete fastact bench result: result 0 has no valid 'op'")


@pytest.mark.parametrize(
    "args",
    [
        ["bench", "relu", "--output", "/nonexistent/d/r.json"],
        ["verify", "relu", "--output", "/nonexistent/d/r.json"],
        ["plot", "relu", "-o", "/nonexistent/d/r.png"],
        ["compare", "relu", "--plot", "/nonexistent/d/r.png"],
        ["c-header", "relu", "-o", "/nonexistent/d/fastact.h"],
    ],
)
def test_output_paths_are_checked_before_any_work(run, args, monkeypatch):
    from fastact.testing import verify
    from fastact.tools import bench, compare

    def no_work(*a, **k):
        raise AssertionError("the work started before the output path was checked")

    for module, fn in ((bench, "run"), (verify, "verify"), (compare, "train")):
        monkeypatch.setattr(module, fn, no_work)
    assert_one_line_error(run(*args), 2, "the directory /nonexistent/d does not exist")
    assert not run(*args).stdout


def test_a_failed_write_at_the_end_prints_the_results(run, tmp_path, monkeypatch):
    import fastact.tools.cli

    def full_disk(path, text):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fastact.tools.cli, "write_text", full_disk)
    result = run("c-header", "relu", "-o", str(tmp_path / "fastact.h"))
    assert_one_line_error(result, 1, "No space left on device; the results are on stdout")
    assert "#define FASTACT_RELU_NPARAMS 0" in result.stdout
    result = run("bench", "relu", "--size", "1000", "--repeat", "1", "--baseline", "none",
                 "--output", str(tmp_path / "r.json"))  # fmt: skip
    assert_one_line_error(result, 1, "cannot write")
    table, _, doc = result.stdout.partition("\n{")
    assert "relu" in table and json.loads("{" + doc)["results"][0]["activation"] == "relu"


def test_eval_on_stdin_warns_of_nothing(run):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = run("eval", "relu", input="-1 2\n")
    assert result.exit_code == 0 and result.stdout.split()[-2:] == ["2.0", "2.0"]


def test_a_compile_error_names_the_cause_on_one_line(run, tmp_path, monkeypatch):
    (tmp_path / "fa_typo_plugin.py").write_text(textwrap.dedent(
        """
        import numpy as np
        from fastact.plugin import ActivationSpec, Properties
        def typo(x):
            return x.real_part * 2.0
        specs = [ActivationSpec(name="typo_act", summary="", formula="", forward=typo, derivative=None,
                 reference=np.asarray, properties=Properties("", True, True, True, False))]
        """
    ))  # fmt: skip
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("FASTACT_CACHE_DIR", str(tmp_path / "cache"))
    data = json.loads(run("check-plugin", "fa_typo_plugin:specs", "--json", "--samples", "100").stdout)
    [message] = [p["message"] for p in data["problems"] if p["check"] == "compile"]
    assert "Unknown attribute 'real_part' of type float64" in message and "return x.real_part" in message
    assert "\n" not in message and "Failed in nopython mode pipeline" not in message


def test_cache_info_and_clear(run, tmp_path, monkeypatch):
    monkeypatch.setenv("FASTACT_CACHE_DIR", str(tmp_path / "mine"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    other = tmp_path / "xdg" / "fastact" / "kernels"
    other.mkdir(parents=True)
    (other / "keep.txt").write_text("not fastact's")
    os.chmod(tmp_path / "xdg" / "fastact", 0o777)
    from fastact import cache
    from fastact.kernels import cpu

    monkeypatch.setattr(cache, "_warned", set())
    cpu.kernels(dataclasses.replace(fa.get("relu6").spec), "forward", label="fastact:relu6")  # a fresh build
    data = {d["origin"]: d for d in json.loads(run("cache", "info", "--json").stdout)}
    mine, user = data["FASTACT_CACHE_DIR"], data["user cache"]
    assert mine["status"] == "writable" and mine["kernels"] == 1 and mine["bytes"] > 0
    assert user["status"] == "refused" and "writable by group and others" in user["reason"]
    text = run("cache", "info")
    assert str(tmp_path / "mine" / "kernels") in text.stdout and "new kernels go to" in text.stderr
    result = run("cache", "clear")
    assert result.exit_code == 0 and f"from {tmp_path / 'mine' / 'kernels'}" in result.stdout
    assert "left" in result.stdout and "refused" in result.stdout
    assert json.loads(run("cache", "info", "--json").stdout)[0]["files"] == 0
    assert (other / "keep.txt").exists() and (tmp_path / "mine" / "kernels").is_dir()


def test_the_module_docstring_names_every_command():
    from fastact.tools import cli

    for name in cli.main.commands:
        assert f"``{name}" in cli.__doc__, name
