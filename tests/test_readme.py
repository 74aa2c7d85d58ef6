"""The README's tour runs as written."""

import re
from pathlib import Path

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_tour_runs():
    tour = README[README.index("## A tour") :]
    code = re.search(r"```python\n(.*?)```", tour, flags=re.S).group(1)
    exec(compile(code, "README tour", "exec"), {})


def test_axis_bounds_table_matches_the_registry():
    import fastact as fa

    for name in fa.names("axis"):
        s = fa.get(name).spec
        row = f"| {name} | {s.max_ulp['float32']:g} | {s.max_ulp['float64']:g} | {s.near_zero_eps:g} |"
        assert row in README, row


def test_dask_and_xarray_examples_run():
    import pytest

    pytest.importorskip("dask.array")
    pytest.importorskip("xarray")
    section = README[README.index("## Dask and xarray") : README.index("## Plugins")]
    namespace: dict = {}
    for code in re.findall(r"```python\n(.*?)```", section, flags=re.S):
        code = code.replace("(100_000, 1024), chunks=(10_000, 1024)", "(1_000, 64), chunks=(100, 64)")
        code = code.replace("x.rechunk((10_000, 256))", "x.rechunk((100, 16))")
        exec(compile("import numpy as np\n" + code, "README dask", "exec"), namespace)


def test_compose_example_runs():
    import fastact as fa

    tour = README[README.index("## A tour") :]
    section = README[README.index("## Composing, learning parameters") :]
    namespace: dict = {}
    exec(
        compile(re.search(r"```python\n(.*?)```", tour, flags=re.S).group(1), "README tour", "exec"),
        namespace,
    )
    try:
        exec(
            compile(re.search(r"```python\n(.*?)```", section, flags=re.S).group(1), "README", "exec"),
            namespace,
        )
        assert namespace["grads"]["weight"].shape == (3, 1, 1)
        assert fa.get("squash").qualified_name == "runtime:squash"
    finally:
        fa.REGISTRY.unregister("squash")
