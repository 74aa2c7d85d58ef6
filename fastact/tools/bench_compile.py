"""``fastact bench --compile``: what the first use of a kernel costs, cold and warm.

Each activation is measured in fresh Python processes (a first use happens once per
process, so it cannot be measured in this one):

- **cold**: an empty kernel cache (a new ``FASTACT_CACHE_DIR``): generating the kernel module
  and Numba compiling it;
- **warm**: the same cache, now filled: importing the cached kernel module and loading Numba's
  machine code from disk.

Each child reports the time to ``import numba`` (the floor any Numba library pays), to
``import fastact`` after it (which must not import Numba itself), and each op's first call on
an 8-element array, in the order given. The first op also pays for fastact's one-time Numba
setup (registering the vectorizable math); later ops show a kernel alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from typing import Any

from .. import get
from .textfmt import table

#: the child's program: argv = name, dtype, op...; prints one JSON line of seconds
_CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import numpy as np
import numba  # noqa: F401
t1 = time.perf_counter()
import fastact
t2 = time.perf_counter()
name, dtype, ops = sys.argv[1], sys.argv[2], sys.argv[3:]
act = fastact.get(name)
x = np.linspace(0.1, 0.9, 8).astype(dtype)
y = act(x) if ops and ops[0] != "forward" else None
first = {}
for op in ops:
    t = time.perf_counter()
    if op == "forward":
        y = act(x)
    elif op == "grad":
        act.grad(x)
    else:
        act.backward(x, np.ones_like(y if y is not None else act(x)))
    first[op] = time.perf_counter() - t
print(json.dumps({"numpy_numba_import_s": t1 - t0, "fastact_import_s": t2 - t1, "first_call_s": first}))
"""


def _child(name: str, dtype: str, ops: list[str], cache_dir: str) -> dict[str, Any]:
    env = {**os.environ, "FASTACT_CACHE_DIR": cache_dir}
    argv = [sys.executable, "-c", _CHILD, name, dtype, *ops]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"first-use measurement of {name} failed: {tail}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(
    names: Iterable[str],
    ops: Iterable[str],
    dtype: str = "float32",
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Per activation: cold and warm first-call times per op, and the import times."""
    ops = list(ops)
    rows = []
    for name in names:
        with tempfile.TemporaryDirectory(prefix="fastact-first-use-") as tmp:
            os.chmod(tmp, 0o700)
            if progress:
                progress(f"{name} first use (cold, warm)")
            # an axis-wise activation has no grad op
            act_ops = [op for op in ops if not (op == "grad" and get(name).spec.kind == "axis")]
            cold = _child(name, dtype, act_ops, tmp)
            warm = _child(name, dtype, act_ops, tmp)
        for op in act_ops:
            rows.append({
                "activation": name, "op": op, "dtype": dtype,
                "cold_s": cold["first_call_s"][op], "warm_s": warm["first_call_s"][op],
                "numba_import_s": warm["numpy_numba_import_s"], "fastact_import_s": warm["fastact_import_s"],
            })  # fmt: skip
    return rows


def render(rows: list[dict[str, Any]]) -> str:
    def ms(s: float) -> str:
        return f"{s * 1e3:.1f} ms"

    cells = [[r["activation"], r["op"], ms(r["cold_s"]), ms(r["warm_s"])] for r in rows]
    text = table(cells, ["activation", "op", "cold (compile)", "warm (cache load)"], numeric_right=True)
    if rows:
        numba_ms = sorted(r["numba_import_s"] for r in rows)[len(rows) // 2] * 1e3
        fastact_ms = sorted(r["fastact_import_s"] for r in rows)[len(rows) // 2] * 1e3
        text += (
            f"\nfirst call on 8 elements in a fresh process, after `import numpy, numba` ({numba_ms:.0f} ms, "
            f"median) and `import fastact` ({fastact_ms:.0f} ms); cold: empty kernel cache; warm: "
            "the cache the cold run filled. The first op of each activation includes fastact's "
            "one-time Numba setup."
        )
    return text
