"""fastact verify: passes for the builtins, catches a wrong spec, exits 1 on a broken bound."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

import fastact as fa
from fastact import ActivationSpec, Properties
from fastact.testing import verify as verify_mod
from fastact.tools.cli import main


def _run(*args):
    return CliRunner().invoke(main, ["verify", *args])


def test_every_builtin_meets_its_bound():
    result = _run("--samples", "4000", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert {(r["activation"], r["dtype"], r["op"]) for r in doc["results"]} == {
        (n, d, op) for n in fa.names() for d in ("float32", "float64") for op in ("forward", "grad")
    }
    axis = set(fa.names("axis"))
    for r in doc["results"]:
        if r["activation"] in axis and r["op"] == "grad":
            assert r["skipped"]  # a Jacobian: the tests check the backward pass
            continue
        assert r["ok"] and r["max_ulp_outside_slack"] <= r["bound_ulp"]
        assert r["samples"] >= (40 if r["activation"] in axis else 4000)


def _wrong_d(x):
    return 2.0 * x  # the derivative of x^2 is 2x, but the reference below says x^2 + x


def _square(x):
    return x * x


def test_a_wrong_derivative_fails_with_exit_code_1(registered):
    spec = ActivationSpec(
        name="test_wrong_grad", summary="", formula="", forward=_square, derivative=_wrong_d,
        reference=lambda x: x * x, reference_derivative=lambda x: 2 * x + 1e-3,
        properties=Properties("[0, inf)", False, True, False, False),
        max_ulp={"float32": 1, "float64": 1},
    )  # fmt: skip
    registered(spec)
    result = _run("test_wrong_grad", "--samples", "2000")
    assert result.exit_code == 1
    assert "FAIL" in result.stdout and "test_wrong_grad (float32 grad)" in result.stderr
    forward_rows = [line for line in result.stdout.splitlines() if " forward " in line]
    assert all(line.rstrip().endswith("ok") for line in forward_rows)


def test_exhaustive_is_float32_only():
    result = _run("relu", "--exhaustive", "--dtype", "float64")
    assert result.exit_code == 2 and "float32" in result.stderr


def test_exhaustive_walks_every_bit_pattern():
    chunks = verify_mod._chunks(np.float32, 0, True, 0)
    first = next(chunks)
    assert first.dtype == np.float32 and first.size == verify_mod.CHUNK
    assert first.view(np.uint32)[0] == 0 and first.view(np.uint32)[-1] == verify_mod.CHUNK - 1
    second = next(chunks)
    assert second.view(np.uint32)[0] == verify_mod.CHUNK
    assert (1 << 32) % verify_mod.CHUNK == 0


@pytest.mark.parametrize("args", [["gelo"], ["--samples", "0"]])
def test_usage_errors(args):
    assert _run(*args).exit_code == 2
