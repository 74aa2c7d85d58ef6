"""``fastact bench``: time kernels beside a memory copy and the baselines, in one run.

Method: every implementation is called once before timing (compilation excluded; measured
separately as ``compile_s``), then ``repeat`` rounds each time the memory copy, fastact and
every baseline in turn, so drift on a noisy machine hits all of them alike. A sample is
``number`` back-to-back calls (more for small arrays, so timer resolution does not matter);
medians and quartiles are per call. Outputs and scratch arrays are preallocated.

``ratio_to_copy`` is fastact's median over the copy's median on the same array: the copy
reads and writes the same bytes as a forward pass, so it is the physical floor of an
elementwise kernel. ``speedup`` of a baseline is its median over fastact's (>1: fastact faster).
"""

from __future__ import annotations

import json
import math
import os
import platform
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._version import __version__
from ..activation import Activation, default_threads
from . import baselines as bl
from .textfmt import table

SCHEMA = "fastact-bench/1"
OPS = ("forward", "grad", "backward")
BASELINES = ("numpy", "torch", "numexpr")
#: inputs inside each builtin's domain (default: standard normal times 3)
DOMAINS = {"logit": (0.001, 0.999), "log1mexp": (0.01, 10.0)}
#: the row length of the axis-wise benchmarks (the issue's (10000, 1000) softmax at 1e7)
AXIS_ROW = 1000


@dataclass
class Stats:
    median_s: float
    q1_s: float
    q3_s: float
    min_s: float

    @classmethod
    def of(cls, samples: list[float]) -> Stats:
        q1, med, q3 = np.percentile(samples, [25, 50, 75])
        return cls(float(med), float(q1), float(q3), float(min(samples)))


def calls_per_sample(size: int) -> int:
    """Enough back-to-back calls that one sample lasts well above timer resolution."""
    return int(min(1000, max(1, 2_000_000 // max(size, 1))))


def _sample(fn: Callable[[], object], number: int) -> float:
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - start) / number


def machine_info(target: str) -> dict[str, Any]:
    import numba

    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    torch = bl.torch_module()
    try:
        import numexpr

        numexpr_version = numexpr.__version__
    except ImportError:
        numexpr_version = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "fastact": __version__,
        "torch": getattr(torch, "__version__", None),
        "numexpr": numexpr_version,
        "threads": 1 if target == "cpu" else default_threads(),
    }


def make_input(name: str, size: int, dtype, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    lo, hi = DOMAINS.get(name, (None, None))
    x = rng.uniform(lo, hi, size) if lo is not None else rng.standard_normal(size) * 3.0
    return x.astype(dtype)


def _baseline_fn(kind: str, name: str, op: str):
    return {"numpy": bl.numpy_baseline, "torch": bl.torch_baseline, "numexpr": bl.numexpr_baseline}[kind](
        name, op
    )


def _installed(kind: str) -> bool:
    if kind == "torch":
        return bl.torch_module() is not None
    if kind == "numexpr":
        try:
            import numexpr  # noqa: F401
        except ImportError:
            return False
    return True


def run(
    activations: Iterable[Activation],
    *,
    dtype: str = "float32",
    sizes: Iterable[int] = (10_000_000,),
    ops: Iterable[str] = ("forward",),
    baselines: Iterable[str] = BASELINES,
    repeat: int = 5,
    target: str = "cpu",
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Benchmark every (activation, size, op); return the JSON-ready results document."""
    activations, sizes, ops, baselines = list(activations), list(sizes), list(ops), list(baselines)
    notes = []
    for kind in baselines:
        if not _installed(kind):
            notes.append(f"{kind} is not installed: its baseline is skipped")
    torch = bl.torch_module() if "torch" in baselines else None
    if torch is not None:
        notes.append("torch.nn.functional allocates its output on every call (it has no out=)")
        if target == "cpu":
            torch.set_num_threads(1)
    if "numexpr" in baselines and _installed("numexpr") and target == "cpu":
        import numexpr

        numexpr.set_num_threads(1)
    results = []
    for size in sizes:
        for act in activations:
            x = make_input(act.name, size, dtype)
            g = make_input("", size, dtype, seed=1)
            if act.spec.kind == "axis":
                results += _bench_axis(act, x, ops, baselines, repeat, torch, notes, progress)
                continue
            out, tmp, copy_out = np.empty_like(x), np.empty_like(x), np.empty_like(x)
            for x_ in (out, tmp, copy_out):
                x_.fill(0)  # touch the pages so first-use faults stay out of the timings
            for op in ops:
                if progress:
                    progress(f"{act.name} {op} n={size:,}")
                results.append(_bench_one(act, op, x, g, out, tmp, copy_out, baselines, repeat, torch, notes))
    doc = {
        "schema": SCHEMA,
        "machine": machine_info(target),
        "config": {
            "target": target,
            "dtype": dtype,
            "sizes": sizes,
            "ops": ops,
            "baselines": baselines,
            "repeat": repeat,
        },
        "notes": notes,
        "results": results,
    }
    return doc


def _bench_axis(act, x, ops, baselines, repeat, torch, notes, progress):
    """Axis-wise activations: rows of :data:`AXIS_ROW` elements (the axis last), forward and
    backward (grad has no meaning for them); the copy is of the same input array."""
    width = min(x.size, AXIS_ROW)
    xa = x[: x.size // width * width].reshape(-1, width)
    start = time.perf_counter()
    fwd = act(xa)  # compiles the row kernels
    compile_s = time.perf_counter() - start
    g = make_input("", fwd.size, xa.dtype, seed=1).reshape(fwd.shape)
    note = f"axis-wise activations run on rows of {width} elements (shape {xa.shape}, axis -1); no grad op"
    if note not in notes:
        notes.append(note)
    results = []
    for op in ops:
        if op == "grad":
            continue
        if progress:
            progress(f"{act.name} {op} n={xa.size:,}")
        out = np.zeros_like(fwd) if op == "forward" else np.zeros_like(xa)
        row = _bench_one(
            act, op, xa, g, out, np.zeros_like(xa), np.zeros_like(xa), baselines, repeat, torch, notes
        )
        results.append({**row, "compile_s": compile_s, "shape": list(xa.shape)})
    return results


def _bench_one(act, op, x, g, out, tmp, copy_out, baselines, repeat, torch, notes):
    size = x.size
    start = time.perf_counter()
    if act.spec.kind == "elementwise":
        act.ufunc(op)
    compile_s = time.perf_counter() - start
    kernel = {
        "forward": lambda: act(x, out=out),
        "grad": lambda: act.grad(x, out=out),
        "backward": lambda: act.backward(x, g, out=out),
    }[op]
    impls: dict[str, Callable[[], object]] = {"copy": lambda: np.copyto(copy_out, x), "fastact": kernel}
    status: dict[str, str] = {}
    for kind in baselines:
        if not _installed(kind):
            status[kind] = "not installed"
            continue
        fn = _baseline_fn(kind, act.name, op)
        if fn is None:
            status[kind] = "missing"
            continue
        if kind == "torch":
            tensors = [torch.from_numpy(a) for a in (x, g, out, tmp)]
            call = (lambda f, t: lambda: f(*t))(fn, tensors)
        else:
            call = (lambda f: lambda: f(x, g, out, tmp))(fn)
        try:
            with np.errstate(all="ignore"):
                call()
        except NotImplementedError as exc:
            status[kind] = f"missing ({exc})"
            continue
        except Exception as exc:  # a baseline that breaks is reported, not fatal
            status[kind] = f"error: {type(exc).__name__}: {exc}"
            continue
        impls[kind] = call
    number = calls_per_sample(size)
    samples: dict[str, list[float]] = {k: [] for k in impls}
    with np.errstate(all="ignore"):
        for fn in impls.values():
            fn()  # warm-up: compilation, first-touch, caches
        for _ in range(repeat):
            for k, fn in impls.items():
                samples[k].append(_sample(fn, number))
    stats = {k: Stats.of(v) for k, v in samples.items()}
    return result_row(act, op, x, number, compile_s, stats, baselines, status)


def result_row(act, op: str, x: np.ndarray, number: int, compile_s: float, stats: dict[str, Stats],
               baselines: Iterable[str], status: dict[str, str]) -> dict[str, Any]:  # fmt: skip
    """One JSON result: fastact's and the copy's statistics, throughput, ratio to the copy and
    each baseline's speed-up (or why it is missing). Shared by the CPU and CUDA benchmarks."""
    size = x.size
    fast = stats["fastact"]
    itemsize = x.dtype.itemsize
    nbytes = size * itemsize * (3 if op == "backward" else 2)
    copy_bytes = size * itemsize * 2
    base = {}
    for kind in baselines:
        if kind in stats:
            s = stats[kind]
            base[kind] = {**s.__dict__, "speedup": s.median_s / fast.median_s, "status": "ok"}
        else:
            base[kind] = {"status": status[kind]}
    return {
        "activation": act.name,
        "source": act.qualified_name.split(":")[0],
        "op": op,
        "size": size,
        "dtype": x.dtype.name,
        "number": number,
        "compile_s": compile_s,
        "fastact": {
            **fast.__dict__,
            "elements_per_s": size / fast.median_s,
            "gb_per_s": nbytes / fast.median_s / 1e9,
        },
        "copy": {**stats["copy"].__dict__, "gb_per_s": copy_bytes / stats["copy"].median_s / 1e9},
        "ratio_to_copy": fast.median_s / stats["copy"].median_s,
        "baselines": base,
    }


# ---- rendering -------------------------------------------------------------------------------


def _time(s: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s / 1e-9:.3g} ns"


def _speedup(entry: dict) -> str:
    if entry.get("status") == "ok":
        return f"{entry['speedup']:.2f}x"
    return "n/a" if entry["status"] == "not installed" else "-"


def render(doc: dict[str, Any], show_compile: bool = False) -> str:
    """The results as one aligned text table, with the machine and the notes under it."""
    cfg, machine = doc["config"], doc["machine"]
    multi_op = len(cfg["ops"]) > 1
    multi_size = len(cfg["sizes"]) > 1
    header = ["activation"] + (["op"] if multi_op else []) + (["size"] if multi_size else [])
    cuda = cfg["target"] == "cuda"
    header += ["median", "Gelem/s", "GB/s", "x copy"] + [f"vs {b}" for b in cfg["baselines"]]
    header += ["end-to-end"] if cuda else []
    header += ["compile"] if show_compile else []
    rows = []
    for r in doc["results"]:
        row = (
            [r["activation"]] + ([r["op"]] if multi_op else []) + ([f"{r['size']:.0e}"] if multi_size else [])
        )
        row += [
            _time(r["fastact"]["median_s"]),
            f"{r['fastact']['elements_per_s'] / 1e9:.2f}",
            f"{r['fastact']['gb_per_s']:.1f}",
            f"{r['ratio_to_copy']:.2f}",
        ]
        row += [_speedup(r["baselines"][b]) for b in cfg["baselines"]]
        row += [_time(r["end_to_end_s"])] if cuda else []
        row += [_time(r["compile_s"])] if show_compile else []
        rows.append(row)
    lines = table(rows, header, numeric_right=True).splitlines()
    copies = {r["size"]: r["copy"] for r in doc["results"] if r["op"] == cfg["ops"][0]}
    copy_line = "; ".join(
        f"n={n:.0e}: {_time(c['median_s'])} ({c['gb_per_s']:.1f} GB/s)" for n, c in copies.items()
    )
    lines += [
        "",
        f"target {cfg['target']}, {cfg['dtype']}, median of {cfg['repeat']} rounds; memory copy {copy_line}",
        "x copy: fastact time / memory-copy time (1.0 = memory bound); vs X: X's time / fastact's time "
        "(>1: fastact faster; '-' no baseline expression, 'n/a' not installed)",
        f"machine: {machine['cpu']}, {machine['cores']} cores, threads {machine['threads']}; "
        f"numpy {machine['numpy']}, numba {machine['numba']}, torch {machine['torch'] or '-'}, "
        f"numexpr {machine['numexpr'] or '-'}",
    ]
    if cuda:
        lines += [
            f"gpu: {machine.get('gpu', '?')}; median = kernel time from CUDA events, "
            "copy = device-to-device; end-to-end = host array in and out (two transfers + kernel)"
        ]
    lines += [f"note: {n}" for n in doc["notes"]]
    return "\n".join(lines)


def load(path: str) -> dict[str, Any]:
    with open(path) as f:
        doc = json.load(f)
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise ValueError(f"{path} is not a fastact bench result ({SCHEMA})")
    return doc


def compare(old: dict[str, Any], new: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    """Ratios old/new of fastact's median per (activation, op, size, dtype) both runs share."""

    def key(r):
        return (r["activation"], r["op"], r["size"], r["dtype"])

    before = {key(r): r for r in old["results"]}
    rows, cells = [], []
    for r in new["results"]:
        o = before.get(key(r))
        if o is None:
            continue
        old_s, new_s = o["fastact"]["median_s"], r["fastact"]["median_s"]
        rows.append(
            {
                "activation": r["activation"],
                "op": r["op"],
                "size": r["size"],
                "dtype": r["dtype"],
                "old_s": old_s,
                "new_s": new_s,
                "speedup": old_s / new_s,
                "old_ratio_to_copy": o["ratio_to_copy"],
                "new_ratio_to_copy": r["ratio_to_copy"],
            }
        )
        cells.append(
            [r["activation"], r["op"], f"{r['size']:.0e}", r["dtype"], _time(old_s), _time(new_s),
             f"{old_s / new_s:.2f}x", f"{o['ratio_to_copy']:.2f} -> {r['ratio_to_copy']:.2f}"]
        )  # fmt: skip
    header = ["activation", "op", "size", "dtype", "old", "new", "old/new", "x copy"]
    text = table(cells, header)
    if not rows:
        text += "\n(no activation, op, size and dtype in common)"
    geo = math.exp(sum(math.log(r["speedup"]) for r in rows) / len(rows)) if rows else float("nan")
    return rows, text + (f"\ngeometric mean old/new: {geo:.2f}x" if rows else "")
