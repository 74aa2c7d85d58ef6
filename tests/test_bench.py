"""The benchmark machinery: its JSON, coverage, missing baselines, --compare, errors, asv.

These tests check what the benchmark reports, never how fast anything is.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import fastact as fa
from fastact.tools import bench
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


def test_missing_baselines_are_reported_not_invented():
    doc = json.loads(_bench("tanhshrink", "sparse_plus", "--size", "64", "--repeat", "1", "--op", "grad",
                            "--baseline", "numpy", "--json").stdout)  # fmt: skip
    for r in doc["results"]:
        assert r["baselines"]["numpy"] == {"status": "missing"}
    table = _bench("sparse_plus", "--size", "64", "--repeat", "1", "--op", "grad", "--baseline", "numpy")
    assert table.exit_code == 0 and " -" in table.stdout.splitlines()[1]


def test_uninstalled_baseline_is_a_note(monkeypatch):
    monkeypatch.setattr(bench.bl, "torch_module", lambda: None)
    doc = json.loads(_bench("relu", "--size", "64", "--repeat", "1", "--baseline", "torch", "--json").stdout)
    assert doc["results"][0]["baselines"]["torch"] == {"status": "not installed"}
    assert "torch is not installed: its baseline is skipped" in doc["notes"]


def test_table_output_and_output_file(tmp_path):
    path = tmp_path / "run.json"
    result = _bench("relu", "gelu", "--size", "1e3", "--repeat", "2", "--output", str(path), "--compile")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split()[:5] == ["activation", "median", "Gelem/s", "GB/s", "x"]
    assert lines[1].startswith("relu") and lines[2].startswith("gelu")
    assert "memory copy n=1e+03" in result.stdout and "compile" in lines[0]
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
