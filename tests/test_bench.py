"""The benchmark machinery: its JSON, coverage, missing baselines, --compare, errors, asv.

These tests check what the benchmark reports, never how fast anything is.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import fastact as fa
from fastact.tools import bench, bench_compile
from fastact.tools.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _bench(*args):
    result = CliRunner().invoke(main, ["bench", *args])
    return result


def test_json_covers_every_activation_and_op():
    result = _bench(
        "--size", "256", "--repeat", "1", "--op", "all", "--baseline", "numpy,torch,numexpr", "--json"
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["schema"] == bench.SCHEMA
    assert {"cpu", "cores", "numpy", "numba", "fastact", "threads"} <= set(doc["machine"])
    assert doc["config"]["ops"] == ["forward", "grad", "backward"] and doc["config"]["sizes"] == [256]
    seen = {(r["activation"], r["op"]) for r in doc["results"]}
    expected = {(n, op) for n in fa.names("elementwise") for op in bench.OPS}
    expected |= {(n, op) for n in fa.names("axis") for op in ("forward", "backward")}  # no grad: a Jacobian
    assert seen == expected
    for r in doc["results"]:
        assert r["size"] == 256 and r["dtype"] == "float32"
        fast, copy = r["fastact"], r["copy"]
        assert 0 < fast["q1_s"] <= fast["median_s"] <= fast["q3_s"]
        assert r["ratio_to_copy"] == pytest.approx(fast["median_s"] / copy["median_s"])
        assert fast["elements_per_s"] == pytest.approx(256 / fast["median_s"])
        nbytes = 256 * 4 * (3 if r["op"] == "backward" else 2)
        assert fast["gb_per_s"] == pytest.approx(nbytes / fast["median_s"] / 1e9)
        assert set(r["baselines"]) == {"numpy", "torch", "numexpr"}
        for entry in r["baselines"].values():
            if entry["status"] == "ok":
                assert entry["speedup"] == pytest.approx(entry["median_s"] / fast["median_s"])


def test_missing_baselines_say_why():
    doc = json.loads(_bench("tanhshrink", "sparse_plus", "--size", "64", "--repeat", "1", "--op", "grad",
                            "--baseline", "numpy,torch", "--json").stdout)  # fmt: skip
    for r in doc["results"]:
        assert r["baselines"]["numpy"] == {"status": "no NumPy expression"}
        if bench.bl.torch_module() is not None:
            assert r["baselines"]["torch"]["status"].startswith("no torch kernel")
    table = _bench("sparse_plus", "--size", "64", "--repeat", "1", "--op", "grad", "--baseline", "numpy")
    assert table.exit_code == 0 and " no expr" in table.stdout.splitlines()[1]
    assert "missing baselines: no expr = no NumPy expression" in table.stdout


def test_paired_ratio_is_the_median_of_per_round_ratios():
    assert bench._paired([1.0, 10.0, 3.0], [1.0, 1.0, 1.0]) == 3.0
    # drift that hits both sides alike cancels: the plain ratio of medians would say 1.5
    assert bench._paired([2.0, 4.0, 8.0, 16.0], [1.0, 2.0, 4.0, 8.0]) == 2.0


@pytest.mark.parametrize("policy", bench.POLICIES)
def test_torch_baselines_compute_the_same_function(policy):
    """Each PyTorch kernel the bench times computes what fastact computes (so a ratio compares
    like with like); under "out" it writes the preallocated output."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    checked = 0
    for name in fa.names():
        act = fa.get(name)
        for op in ("forward", "backward"):
            fn = bench.bl.torch_baseline(name, op, policy)
            if fn is None:
                continue
            if act.spec.kind == "axis":
                x = rng.standard_normal((3, 8))
                g = rng.standard_normal(act(x).shape)  # backward: grad of the forward output
            else:
                x = bench.make_input(name, 64, np.float64, seed=5)
                g = rng.standard_normal(64)
            want = act(x) if op == "forward" else act.backward(x, g)
            out = np.full(want.shape, np.nan)
            tensors = [torch.from_numpy(a) for a in (x, g, out, np.zeros_like(x))]
            got = fn(*tensors)
            got = out if policy == "out" else got.numpy()
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-12, err_msg=f"{name} {op} {policy}")
            checked += 1
    assert checked >= (40 if policy == "out" else 45)


def test_alloc_policy_and_small_array_overhead():
    result = _bench("relu", "softmax", "--size", "10", "--repeat", "2", "--policy", "both", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["config"]["policies"] == ["out", "alloc"]
    rows = {(r["activation"], r["policy"]): r for r in doc["results"]}
    assert set(rows) == {("relu", "out"), ("relu", "alloc"), ("softmax", "out"), ("softmax", "alloc")}
    out = rows[("relu", "out")]
    assert out["loop"]["median_s"] > 0
    assert out["overhead_s"] == pytest.approx(out["fastact"]["median_s"] - out["loop"]["median_s"])
    assert "loop" not in rows[("relu", "alloc")] and "loop" not in rows[("softmax", "out")]
    text = _bench("relu", "--size", "10", "--repeat", "1", "--policy", "both").stdout
    assert "over loop" in text and "policy alloc: every side allocates" in text


def test_uninstalled_baseline_is_a_note(monkeypatch):
    monkeypatch.setattr(bench.bl, "torch_module", lambda: None)
    doc = json.loads(_bench("relu", "--size", "64", "--repeat", "1", "--baseline", "torch", "--json").stdout)
    assert doc["results"][0]["baselines"]["torch"] == {"status": "not installed"}
    assert "torch is not installed: its baseline is skipped" in doc["notes"]


def test_table_output_and_output_file(tmp_path):
    path = tmp_path / "run.json"
    result = _bench("relu", "gelu", "--size", "1e3", "--repeat", "2", "--output", str(path))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split()[:5] == ["activation", "median", "Gelem/s", "GB/s", "x"]
    assert lines[1].startswith("relu") and lines[2].startswith("gelu")
    assert "memory copy n=1e+03" in result.stdout
    assert json.loads(path.read_text())["config"]["repeat"] == 2


def test_compare_computes_ratios(tmp_path):
    def doc(times):
        results = [
            {"activation": n, "op": "forward", "size": 10, "dtype": "float32",
             "fastact": {"median_s": t}, "ratio_to_copy": t / 1e-3}
            for n, t in times.items()
        ]  # fmt: skip
        return {"schema": bench.SCHEMA, "results": results}

    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(doc({"relu": 2e-3, "gelu": 9e-3, "only_old": 1.0})))
    new.write_text(json.dumps(doc({"relu": 1e-3, "gelu": 3e-3})))
    result = _bench("--compare", str(old), str(new), "--json")
    rows = {r["activation"]: r for r in json.loads(result.stdout)}
    assert set(rows) == {"relu", "gelu"}
    assert rows["relu"]["speedup"] == pytest.approx(2.0) and rows["gelu"]["speedup"] == pytest.approx(3.0)
    text = _bench("--compare", str(old), str(new)).stdout
    assert "2.00x" in text and "geometric mean old/new: 2.45x" in text
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    result = _bench("--compare", str(bad), str(new))
    assert result.exit_code == 2 and "not a fastact bench result" in result.stderr


@pytest.mark.parametrize(
    "args, code, fragment",
    [
        (["--size", "0"], 2, "not a positive whole number"),
        (["--size", "1.5"], 2, "not a positive whole number"),
        (["--size", "lots"], 2, "not a number of elements"),
        (["--dtype", "float16"], 2, "'float16' is not one of"),
        (["--target", "tpu"], 2, "'tpu' is not one of"),
        (["--baseline", "jax"], 2, "'jax' is not one of numpy, torch, numexpr, cupy"),
        (["--repeat", "0"], 2, "--repeat"),
        (["gelo"], 2, "did you mean gelu"),
    ],
)
def test_bad_arguments(args, code, fragment):
    result = _bench(*args)
    assert result.exit_code == code, result.output
    assert len(result.stderr.strip().splitlines()) == 1 and fragment in result.stderr


def test_size_parsing():
    from fastact.tools.cli import SizeType

    parse = lambda v: SizeType().convert(v, None, None)  # noqa: E731
    assert parse("1e7") == 10_000_000 and parse("10_000") == 10_000 and parse("5") == 5


@pytest.mark.skipif(shutil.which("asv") is None, reason="asv is not installed")
def test_asv_suite_is_discoverable():
    result = subprocess.run(
        [sys.executable, "-m", "asv", "check", "--python=same"],
        cwd=ROOT / "bench",
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and "No problems found" in result.stdout, result.stdout + result.stderr


def test_compile_reports_cold_and_warm_first_use():
    result = _bench("relu", "--size", "64", "--repeat", "1", "--baseline", "none", "--compile", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert "compile" in bench.render(doc, show_compile=True).splitlines()[0]
    (row,) = doc["first_use"]
    assert row["activation"] == "relu" and row["op"] == "forward"
    assert all(row[k] > 0 for k in ("cold_s", "warm_s", "numba_import_s", "fastact_import_s"))
    text = bench_compile.render([row])
    assert "cold (compile)" in text and "warm (cache load)" in text


def test_plugin_without_numpy_expression_uses_its_reference_labelled():
    doc = json.loads(_bench("x*tanh.softplus", "sparse_plus", "--size", "64", "--repeat", "1",
                            "--baseline", "numpy", "--json").stdout)  # fmt: skip
    rows = {r["activation"]: r["baselines"]["numpy"] for r in doc["results"]}
    composed = rows["x_times_tanh_of_softplus"]
    assert composed["status"] == "ok" and composed["source"] == "reference"
    assert rows["sparse_plus"]["status"] == "ok" and "source" not in rows["sparse_plus"]  # builtin
    text = bench.render(doc)
    assert "x*" in text.splitlines()[1] and "own float64 NumPy reference" in text
