"""check-plugin on broken plugins (real dist-info entry points), the C entry points through
ctypes and a C compiler, the C header, and the new-plugin skeleton."""

import ctypes
import shutil
import subprocess
import sys
import warnings

import numpy as np
import pytest
from click.testing import CliRunner

import fastact as fa
from fastact.tools.cli import main

from . import plugin_fixtures


@pytest.fixture
def plugins(tmp_path):
    plugin_fixtures.install(tmp_path)
    fa.REGISTRY.reload()
    yield tmp_path
    plugin_fixtures.uninstall(tmp_path)
    fa.REGISTRY.reload()


def run(*args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fa.FastactWarning)
        return CliRunner().invoke(main, list(args))


def fail_lines(result):
    return [line for line in result.stdout.splitlines() if line.startswith("FAIL")]


def test_check_plugin_passes_a_good_plugin_by_dist_and_by_module(plugins):
    for target in ("good-plugin", "fa_good_plugin:specs"):
        result = run("check-plugin", target, "--samples", "2000")
        assert result.exit_code == 0, result.output
        assert "all 1 activation(s) pass" in result.stdout


@pytest.mark.parametrize(
    "target, fragment",
    [
        ("wrong-plugin", "wrong-plugin:cube: grad: float32: disagrees with a finite difference of "
                         "the reference"),
        ("nocompile-plugin", "nocompile-plugin:uncompilable: compile: nocompile-plugin:uncompilable: "
                             "the forward kernel does not compile with Numba"),
        ("broken-plugin", "broken-plugin: load: fa_broken_plugin = fa_broken_plugin:specs: failed to load: "
                          "ImportError: missing dependency xyz"),
        ("invalid-plugin", "default 5.0 is outside [0, 1]"),
        ("abi-plugin", "declares ABI version 99; this fastact reads version 1"),
        ("nonspec-plugin", "returned int, not an ActivationSpec"),
        ("dup-plugin", "'relu' is offered by fastact and dup-plugin; fastact wins"),
        ("zz-dup-plugin", "'bent_square' is offered by good-plugin and zz-dup-plugin"),
    ],
)  # fmt: skip
def test_check_plugin_reports_each_problem_in_one_line(plugins, target, fragment):
    result = run("check-plugin", target, "--samples", "2000")
    assert result.exit_code == 1, result.output
    assert any(fragment in line for line in fail_lines(result)), result.stdout
    assert len(result.stderr.strip().splitlines()) == 1 and "problem(s)" in result.stderr


def test_check_plugin_keeps_checking_after_a_failure(plugins):
    result = run("check-plugin", "nocompile-plugin", "--samples", "2000")
    assert "ok    nocompile-plugin:doubled" in result.stdout and len(fail_lines(result)) == 1


def test_check_plugin_json(plugins):
    result = run("check-plugin", "wrong-plugin", "--json", "--samples", "2000")
    import json

    data = json.loads(result.stdout)
    assert data["activations"] == [{"name": "cube", "ok": False}]
    assert {p["check"] for p in data["problems"]} >= {"grad"}


def test_check_plugin_unknown_target_is_a_usage_error(plugins):
    result = run("check-plugin", "no-such-plugin")
    assert result.exit_code == 2 and "no installed plugin distribution or importable module" in result.stderr
    result = run("check-plugin", "fa_good_plugin:nothing")
    assert result.exit_code == 2 and "has no attribute 'nothing'" in result.stderr


def test_uncompilable_plugin_fails_at_first_use_and_others_keep_working(plugins):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fa.FastactWarning)
        with pytest.raises(
            fa.CompileError, match="nocompile-plugin:uncompilable: the forward kernel does not"
        ):
            fa.get("uncompilable")(np.ones(3))
        np.testing.assert_array_equal(fa.get("doubled")(np.ones(2)), [2.0, 2.0])
        np.testing.assert_array_equal(fa.relu(np.array([-1.0, 1.0])), [0.0, 1.0])
    result = run("eval", "uncompilable", "1")
    assert result.exit_code == 1 and result.stderr.count("\n") == 1 and "does not compile" in result.stderr


def test_conflict_between_two_plugins(plugins):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fa.FastactWarning)
        assert fa.REGISTRY.entry("bent_square").source == "good-plugin"
        other = fa.get("zz-dup-plugin:bent_square")
    np.testing.assert_array_equal(other(np.array([2.0]), 3.0), [6.0])
    result = run("plugins")
    assert "conflict: 'bent_square' is offered by good-plugin and zz-dup-plugin" in result.stdout


# ---- C entry points -----------------------------------------------------------------------


def _ptr(a):
    ctype = ctypes.c_float if a.dtype == np.float32 else ctypes.c_double
    return a.ctypes.data_as(ctypes.POINTER(ctype))


@pytest.mark.parametrize("name, params", [("gelu", ()), ("elu", (0.7,)), ("leaky_relu", (0.2,))])
def test_c_api_matches_the_ufuncs(name, params, dtype):
    act, api = fa.get(name), fa.c_api(name)
    t = "f32" if dtype == np.float32 else "f64"
    x = np.random.default_rng(0).uniform(-6, 6, 1000).astype(dtype)
    g = np.random.default_rng(1).uniform(-1, 1, 1000).astype(dtype)
    p = np.array(params, dtype=np.float64)
    for op, expected in (("forward", act(x, *params)), ("grad", act.grad(x, *params))):
        y = np.empty_like(x)
        api[f"{op}_array_{t}"].ctypes(_ptr(x), _ptr(y), x.size, _ptr(p) if params else None)
        np.testing.assert_array_equal(y, expected)
        scalar = api[f"{op}_{t}"].ctypes
        assert [dtype.type(scalar(float(v), *params)) for v in x[:5]] == list(expected[:5])
    y = np.empty_like(x)
    api[f"backward_array_{t}"].ctypes(_ptr(x), _ptr(g), _ptr(y), x.size, _ptr(p) if params else None)
    np.testing.assert_array_equal(y, act.backward(x, g, *params))


def test_c_api_signatures_and_errors():
    api = fa.c_api("elu")
    assert api.signatures()["forward_f32"] == "float fastact_elu_forward_f32(float x, float alpha)"
    assert api.signatures()["backward_array_f64"] == (
        "void fastact_elu_backward_array_f64(const double *x, const double *g, double *y, int64_t n, "
        "const double *params)"
    )
    with pytest.raises(KeyError, match="no C entry point 'backward_f32'"):
        api["backward_f32"]
    with pytest.raises(fa.UnknownActivationError):
        fa.c_api("nope")


def test_c_header_compiles_and_c_code_calls_the_entry_points(tmp_path):
    result = run("c-header", "elu", "relu", "-o", str(tmp_path / "fastact.h"))
    assert result.exit_code == 0, result.output
    header = (tmp_path / "fastact.h").read_text()
    assert "typedef float (*fastact_elu_forward_f32_t)(float x, float alpha);" in header
    assert "#define FASTACT_ELU_PARAM_ALPHA 0" in header and "#define FASTACT_ABI_VERSION 1" in header
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler")
    (tmp_path / "use.c").write_text(
        '#include "fastact.h"\n'
        "double call_elu(fastact_elu_forward_f64_t f, double x, double a) { return f(x, a); }\n"
        "void call_relu(fastact_relu_forward_array_f32_t f, const float *x, float *y, int64_t n)"
        " { f(x, y, n, 0); }\n"
    )
    lib = tmp_path / "libuse.so"
    subprocess.run(
        [cc, "-shared", "-fPIC", "-Wall", "-Werror", "-o", str(lib), str(tmp_path / "use.c")], check=True
    )
    so = ctypes.CDLL(str(lib))
    so.call_elu.restype = ctypes.c_double
    so.call_elu.argtypes = [ctypes.c_void_p, ctypes.c_double, ctypes.c_double]
    assert so.call_elu(fa.c_api("elu")["forward_f64"].address, -1.0, 2.0) == fa.elu(np.float64(-1.0), 2.0)
    x = np.array([-1.0, 0.5, 2.0], np.float32)
    y = np.empty_like(x)
    so.call_relu(
        ctypes.c_void_p(fa.c_api("relu")["forward_array_f32"].address), _ptr(x), _ptr(y), ctypes.c_int64(3)
    )
    np.testing.assert_array_equal(y, [0.0, 0.5, 2.0])


# ---- new-plugin ---------------------------------------------------------------------------


def test_new_plugin_writes_a_package_that_passes_its_checks(tmp_path, monkeypatch):
    result = run("new-plugin", "my-acts", "-d", str(tmp_path), "--activation", "my_softplus")
    assert result.exit_code == 0, result.output
    root = tmp_path / "my-acts"
    assert (root / "pyproject.toml").read_text().count('my_acts = "my_acts:specs"') == 1
    monkeypatch.syspath_prepend(str(root / "src"))
    result = run("check-plugin", "my_acts:specs", "--samples", "4000")
    assert result.exit_code == 0, result.output
    assert "ok    my_acts:my_softplus" in result.stdout
    sys.modules.pop("my_acts", None)
    again = run("new-plugin", "my-acts", "-d", str(tmp_path))
    assert again.exit_code == 2 and "already exists" in again.stderr


def test_guide_example_is_what_new_plugin_writes(tmp_path):
    from fastact.tools.plugin_tools import new_plugin

    from .test_plugin_package import guide_files

    new_plugin("fastact-shifted", tmp_path)
    for rel, text in guide_files().items():
        assert (tmp_path / "fastact-shifted" / rel).read_text() == text, rel


def test_check_plugin_contains_a_module_that_exits_or_prints(tmp_path, monkeypatch):
    import json

    (tmp_path / "fa_exiting_mod.py").write_text("print('chatter')\nimport sys\nsys.exit(4)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    result = run("check-plugin", "fa_exiting_mod:specs", "--json")
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["problems"][0]["message"] == "failed to import: SystemExit: 4"
    assert "chatter" in result.stderr


def test_c_symbols_follow_one_rule_in_c_api_and_the_header(plugins, tmp_path):
    """fastact_<NAME>_<entry>: the plain name when it resolves to the activation (a plugin's
    too), dist__name only for one that lost a name conflict; c_api and c-header agree."""
    from fastact.kernels.cabi import c_name

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fa.FastactWarning)
        won, lost = fa.get("bent_square").qualified_name, fa.get("zz-dup-plugin:bent_square").qualified_name
        assert (c_name(won), c_name(lost)) == ("bent_square", "zz_dup_plugin__bent_square")
        signature = fa.c_api("bent_square")["forward_f32"].signature
        assert signature == "float fastact_bent_square_forward_f32(float x, float a)"
        lost_signature = fa.c_api("zz-dup-plugin:bent_square")["forward_f64"].signature
    assert lost_signature == "double fastact_zz_dup_plugin__bent_square_forward_f64(double x, double a)"
    result = run("c-header", "bent_square", "zz-dup-plugin:bent_square", "-o", str(tmp_path / "h.h"))
    assert result.exit_code == 0, result.output
    text = (tmp_path / "h.h").read_text()
    assert "typedef float (*fastact_bent_square_forward_f32_t)(float x, float a);" in text
    assert "typedef double (*fastact_zz_dup_plugin__bent_square_forward_f64_t)(double x, double a);" in text


def test_a_lost_name_conflict_fails_its_activation_instead_of_ok_then_fail(plugins):
    import json

    result = run("check-plugin", "dup-plugin", "--samples", "2000")
    assert "ok    dup-plugin:relu" not in result.stdout, result.stdout
    assert [line for line in fail_lines(result) if "dup-plugin:relu: name:" in line]
    data = json.loads(run("check-plugin", "dup-plugin", "--samples", "2000", "--json").stdout)
    assert data["activations"] == [{"name": "relu", "ok": False}]
    assert [p["check"] for p in data["problems"]] == ["name"]
