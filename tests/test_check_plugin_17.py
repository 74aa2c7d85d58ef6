"""check-plugin catches the mistakes that slipped past it (issue 17): each is a broken fixture
plugin (tests/plugin_fixtures.py, ``slipped-plugin``) that check-plugin rejects with one line
naming ``dist:name``, the check and the parameter set; plus its messages and records."""

import json
import warnings

import numpy as np
import pytest
from click.testing import CliRunner

import fastact as fa
from fastact.plugin import ActivationSpec, Param, Properties, check_spec
from fastact.tools.cli import main

from . import plugin_fixtures

#: activation: (the check that must fail, a fragment of its one line)
SLIPPED = {
    "sigpow_a": ("param:beta", "disagrees with a finite difference of the reference"),  # d/dbeta lacks alpha
    "sigpow_b": ("forward", "inputs beyond 1 ULP"),  # forward ignores beta
    "sigpow_c": ("grad", "inputs beyond 2 ULP"),  # derivative ignores alpha
    "sigpow_d": ("param:alpha", "disagrees with a finite difference"),  # d/dalpha 1.5x above x = 8
    "sigpow_e": ("grad", "disagrees with a finite difference"),  # grad and reference_grad, x < -8
    "sigpow_f": ("signed zero", "x=-inf: kernel 0.0, reference -0.0"),  # +0.0 at -inf
}


def run(*args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fa.FastactWarning)
        return CliRunner().invoke(main, list(args))


@pytest.fixture(scope="module")
def slipped(tmp_path_factory):
    """``check-plugin slipped-plugin`` (run once: compiling is the cost)."""
    root = tmp_path_factory.mktemp("slipped")
    plugin_fixtures.install(root, names={"fa_slipped_plugin"})
    fa.REGISTRY.reload()
    try:
        return run("check-plugin", "slipped-plugin", "--samples", "2000")
    finally:
        plugin_fixtures.uninstall(root)
        fa.REGISTRY.reload()


def test_the_correct_unit_passes(slipped):
    assert "ok    slipped-plugin:sigpow\n" in slipped.stdout


@pytest.mark.parametrize("name", sorted(SLIPPED))
def test_each_slipped_bug_is_one_line_naming_dist_name_and_the_parameter_set(slipped, name):
    check, fragment = SLIPPED[name]
    lines = [line for line in slipped.stdout.splitlines() if line.startswith(f"FAIL  slipped-plugin:{name}:")]
    assert len(lines) == 1, "\n".join(lines)
    assert lines[0].startswith(f"FAIL  slipped-plugin:{name}: {check}: at alpha="), lines[0]
    assert ", beta=" in lines[0] and fragment in lines[0], lines[0]
    assert f"ok    slipped-plugin:{name}" not in slipped.stdout
    assert slipped.exit_code == 1


def test_bugs_invisible_at_the_defaults_are_reported_at_a_drawn_set(slipped):
    fails = [line.split(": ", 2) for line in slipped.stdout.splitlines() if line.startswith("FAIL")]
    by_name = {who.split(":")[1]: message.partition(": ")[2] for who, _, message in fails}
    for name in ("sigpow_a", "sigpow_b", "sigpow_c"):  # alpha = beta = 1 hides them
        assert not by_name[name].startswith("at alpha=1, beta=1:"), by_name[name]
    assert "in [" in by_name["sigpow_d"] and "e+0" in by_name["sigpow_d"]  # the x range reaches far


def _spec(name, forward, reference, derivative=None, params=(), **kw):
    return ActivationSpec(
        name=name, summary="", formula="", forward=forward, derivative=derivative, reference=reference,
        properties=Properties("", monotonic=True, smooth=True, zero_centered=True, saturating=False),
        params=params, **kw,
    )  # fmt: skip


def _huge(x):
    return 1e308 if 1e300 < x < np.inf else x


def _np_huge(x):
    x = np.asarray(x, dtype=np.float64)
    return np.where((x > 1e300) & (x < np.inf), -1e308, x)


def test_a_finite_disagreement_at_a_special_input_is_not_called_nan_or_infinity():
    # float64 at x = 1.8e308: kernel 1e308, reference -1e308, both finite; their difference
    # overflows the ULP arithmetic, which used to be reported as a NaN/infinity disagreement
    problems = check_spec(_spec("huge_sign", _huge, _np_huge), n=200)
    specials = [p.message for p in problems if p.check == "specials"]
    assert len(specials) == 1 and "NaN/infinity" not in specials[0], specials
    assert "float64 forward: kernel and reference disagree (finite values, far apart) at x=1.79" in (
        specials[0]
    )


def test_a_learnable_parameter_without_a_derivative_is_a_problem():
    spec = _spec("scaled_id", _scaled, lambda x, a: a * np.asarray(x, float), _scaled_d,
                 params=(Param("a", 1.0, "scale", learnable=True),))  # fmt: skip
    problems = check_spec(spec, n=200, extra_params=0)
    assert [(p.check, p.message) for p in problems] == [
        ("param:a", "declared learnable=True but has no param_derivatives entry: it cannot be trained")
    ]


def _scaled(x, a):
    return a * x


def _scaled_d(x, a):
    return a + 0.0 * x


def test_learnable_is_data_shown_by_show_and_list():
    data = json.loads(run("show", "prelu", "--json").stdout)
    assert data["params"][0]["learnable"] is True
    assert "(learnable)" in run("show", "prelu").stdout
    assert json.loads(run("show", "elu", "--json").stdout)["params"][0]["learnable"] is False
    rows = {r["name"]: r["learnable"] for r in json.loads(run("list", "--json").stdout)}
    assert rows["prelu"] == ["weight"] and rows["parametric_tanh"] == ["a", "b"] and rows["elu"] == []
    assert Param("a", 1.0).learnable is False  # optional: old specs unchanged (ABI 1)


def test_compare_trains_the_declared_learnable_parameters():
    from fastact.tools.compare import _learnable

    assert [p.name for p in _learnable(fa.get("prelu").spec)] == ["weight"]
    assert [p.name for p in _learnable(fa.get("parametric_sigmoid").spec)] == ["a", "b"]
    assert _learnable(fa.get("elu").spec) == []  # a derivative, but not declared learnable


def test_the_guides_parametric_example_passes_check_spec(tmp_path, monkeypatch):
    """docs/plugins.md's parametric example, as written there: imported, and check_spec (all
    parameter sets, both dtypes, finite differences of the reference) finds nothing."""
    import importlib
    import re
    import sys
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "plugins.md").read_text()
    code = re.search(r"<!-- example: parametric -->.*?```python\n(.*?)```", text, flags=re.S).group(1)
    (tmp_path / "fa_guide_parametric.py").write_text(code)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        spec = importlib.import_module("fa_guide_parametric").SPEC
        assert [p.name for p in spec.params if p.learnable] == ["alpha", "beta"]
        assert set(spec.param_derivatives) == {"alpha", "beta"}
        assert [str(p) for p in check_spec(spec, source="guide", n=4000)] == []
    finally:
        sys.modules.pop("fa_guide_parametric", None)


_UNCOMPILABLE = '''
import numpy as np
from fastact.plugin import ActivationSpec, Properties

def wide(x):
    return np.float128(x)

def ctx(x):
    with open("nothing") as fh:
        return x

P = Properties("", monotonic=True, smooth=True, zero_centered=True, saturating=False)
specs = [ActivationSpec(name=f.__name__, summary="", formula="", forward=f, derivative=None,
                        reference=lambda x: x, properties=P) for f in (wide, ctx)]
'''


def test_compile_errors_carry_numbas_reason_in_text_and_json(tmp_path, monkeypatch):
    import sys

    (tmp_path / "fa_uncompilable_mod.py").write_text(_UNCOMPILABLE)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        args = ("check-plugin", "fa_uncompilable_mod:specs", "--samples", "200")
        text, data = run(*args), json.loads(run(*args, "--json").stdout)
    finally:
        sys.modules.pop("fa_uncompilable_mod", None)
    fails = [line for line in text.stdout.splitlines() if line.startswith("FAIL")]
    assert len(fails) == 2 and text.exit_code == 1
    assert "wide: compile:" in fails[0] and "float128" in fails[0] and "line 6" in fails[0]
    assert "ctx: compile:" in fails[1] and "context manager" in fails[1]
    messages = [p["message"] for p in data["problems"]]
    assert "float128" in messages[0] and "context manager" in messages[1]
    assert all("\n" not in m for m in messages)
