"""``fastact bench --engine dask``: throughput on a chunked Dask array on a LocalCluster, beside
NumPy-in-Dask, for 1, 2, ... worker processes.

For each worker count a fresh ``LocalCluster`` (one thread per worker process) generates the
input on the workers and keeps it there (``persist``), so neither the generation nor a
transfer is timed. A sample is the wall time of ``f(x).sum().compute()``: the activation on
every chunk plus a cheap sum that keeps the results from travelling to the client; the same
for NumPy's expression of the activation (``map_blocks``) and for a plain copy of each chunk.
Medians of ``repeat`` samples; ``scaling`` is the 1-worker time over this one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from . import baselines as bl
from .bench import SCHEMA, _time, machine_info
from .textfmt import table


def _numpy_block(name: str):
    fn = bl.numpy_baseline(name, "forward")
    if fn is None:
        return None

    def block(b):
        out, tmp = np.empty_like(b), np.empty_like(b)
        with np.errstate(all="ignore"):
            fn(b, None, out, tmp)
        return out

    return block


def run(
    activations: Iterable,
    *,
    dtype: str = "float32",
    size: int = 1_000_000_000,
    chunk: int = 10_000_000,
    workers: Iterable[int] = (1, 2),
    repeat: int = 3,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    import dask.array as da
    from distributed import Client, LocalCluster, wait

    activations, workers = list(activations), list(workers)
    results = []
    for n in workers:
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                          silence_logs=50) as cluster, Client(cluster) as client:  # fmt: skip
            x = (
                da.random.default_rng(0).standard_normal(size, chunks=chunk, dtype=np.float64).astype(dtype)
                * 3
            )
            x = client.persist(x)
            wait(x)
            for act in activations:
                if progress:
                    progress(f"{act.name} workers={n}")
                impls = {
                    "copy": lambda x=x: x.map_blocks(np.copy).sum().compute(),
                    "fastact": lambda a=act, x=x: a(x).sum().compute(),
                }
                block = _numpy_block(act.name)
                if block is not None:
                    impls["numpy"] = lambda b=block, x=x: x.map_blocks(b, dtype=x.dtype).sum().compute()
                samples: dict[str, list[float]] = {k: [] for k in impls}
                for fn in impls.values():
                    fn()  # warm-up: every worker compiles or loads the kernel once
                for _ in range(repeat):
                    for k, fn in impls.items():
                        t = time.perf_counter()
                        fn()
                        samples[k].append(time.perf_counter() - t)
                med = {k: float(np.median(v)) for k, v in samples.items()}
                results.append({
                    "activation": act.name, "workers": n, "size": size, "chunk": chunk, "dtype": dtype,
                    "fastact_s": med["fastact"], "numpy_s": med.get("numpy"), "copy_s": med["copy"],
                    "elements_per_s": size / med["fastact"],
                })  # fmt: skip
    one = {r["activation"]: r["fastact_s"] for r in results if r["workers"] == min(workers)}
    for r in results:
        r["scaling"] = one[r["activation"]] / r["fastact_s"]
        r["vs_numpy"] = (r["numpy_s"] / r["fastact_s"]) if r["numpy_s"] else None
    config = {
        "engine": "dask",
        "dtype": dtype,
        "size": size,
        "chunk": chunk,
        "workers": workers,
        "repeat": repeat,
    }
    return {
        "schema": SCHEMA,
        "machine": machine_info("cpu"),
        "config": config,
        "notes": [],
        "results": results,
    }


def render(doc: dict[str, Any]) -> str:
    rows = [
        [r["activation"], str(r["workers"]), _time(r["fastact_s"]), f"{r['elements_per_s'] / 1e9:.2f}",
         f"{r['scaling']:.2f}x", _time(r["numpy_s"]) if r["numpy_s"] else "-",
         f"{r['vs_numpy']:.2f}x" if r["vs_numpy"] else "-", _time(r["copy_s"])]
        for r in doc["results"]
    ]  # fmt: skip
    header = ["activation", "workers", "fastact", "Gelem/s", "scaling", "numpy-in-dask", "vs numpy", "copy"]
    cfg, machine = doc["config"], doc["machine"]
    return "\n".join([
        table(rows, header, numeric_right=True), "",
        f"dask LocalCluster, one thread per worker process; {cfg['size']:.0e} {cfg['dtype']} elements in "
        f"chunks of {cfg['chunk']:.0e}; median of {cfg['repeat']}; time of f(x).sum().compute(), x persisted",
        f"machine: {machine['cpu']}, {machine['cores']} cores. Real gains come from more machines: "
        "a cluster adds memory bandwidth, which these kernels are bound by.",
    ])  # fmt: skip
