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
