"""``fastact bench``: time kernels beside a memory copy and the baselines, in one run.

Method: every implementation is called once before timing (compilation excluded; measured
separately as ``compile_s``), then ``repeat`` rounds each time the memory copy, fastact and
every baseline in turn, so drift on a noisy machine hits all of them alike. A sample is
``number`` back-to-back calls (more for small arrays, so timer resolution does not matter);
medians and quartiles are per call.

Like for like: every side does the same work under one **allocation policy**.

- ``out`` (the default): everyone writes into preallocated arrays. fastact with ``out=``,
  NumPy's expression with ``out=`` and a preallocated scratch array, PyTorch through its own
  out= kernels (``aten.<op>.out``, the ``*_backward.grad_input`` kernels autograd calls), the
  copy as ``np.copyto``. An activation PyTorch only composes from several kernels has no
  PyTorch entry under this policy (reported as such, not emulated).
- ``alloc``: everyone allocates its result. ``fastact.<name>(x)``, NumPy's expression into
  fresh arrays, ``torch.nn.functional``, the copy as ``x.copy()``.

Threads are the same on both sides: one for the ``cpu`` target (``torch.set_num_threads(1)``,
numexpr likewise), :func:`~fastact.activation.default_threads` for ``parallel``.

``ratio_to_copy`` is the median over rounds of fastact's sample over the copy's sample *in
the same round*: the copy reads and writes the same bytes as a forward pass, so it is the
physical floor of an elementwise kernel. ``speedup`` of a baseline is likewise the median of
its per-round time over fastact's (>1: fastact faster). ``loop`` (elementwise, policy ``out``,
up to :data:`LOOP_MAX_SIZE` elements) is the compiled contiguous loop called directly:
``overhead_s``, fastact's median minus the loop's, is what the Python-level call costs (what
matters on small arrays).
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
from ..kernels import cpu
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


POLICIES = bl.POLICIES
#: the compiled loop is timed on its own (for the call-overhead column) up to this size
LOOP_MAX_SIZE = 100_000


def run(
    activations: Iterable[Activation],
    *,
    dtype: str = "float32",
    sizes: Iterable[int] = (10_000_000,),
    ops: Iterable[str] = ("forward",),
    baselines: Iterable[str] = BASELINES,
    repeat: int = 5,
    target: str = "cpu",
    policies: Iterable[str] = ("out",),
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Benchmark every (policy, activation, size, op); return the JSON-ready results document."""
    activations, sizes, ops, baselines = list(activations), list(sizes), list(ops), list(baselines)
    policies = list(policies)
    for policy in policies:
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {POLICIES}, not {policy!r}")
    notes = []
    for kind in baselines:
        if not _installed(kind):
            notes.append(f"{kind} is not installed: its baseline is skipped")
    threads = 1 if target == "cpu" else default_threads()
    torch = bl.torch_module() if "torch" in baselines else None
    if torch is not None:
        torch.set_num_threads(threads)
    if "numexpr" in baselines and _installed("numexpr"):
        import numexpr

        numexpr.set_num_threads(threads)
    results = []
    for policy in policies:
        for size in sizes:
            for act in activations:
                x = make_input(act.name, size, dtype)
                g = make_input("", size, dtype, seed=1)
                if act.spec.kind == "axis":
                    results += _bench_axis(act, x, ops, baselines, repeat, torch, notes, progress, policy)
                    continue
                out, tmp, copy_out = np.empty_like(x), np.empty_like(x), np.empty_like(x)
                for x_ in (out, tmp, copy_out):
                    x_.fill(0)  # touch the pages so first-use faults stay out of the timings
                for op in ops:
                    if progress:
                        label = f" ({policy})" if len(policies) > 1 else ""
                        progress(f"{act.name} {op} n={size:,}{label}")
                    results.append(
                        _bench_one(act, op, x, g, out, tmp, copy_out, baselines, repeat, torch, policy)
                    )
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
            "policies": policies,
        },
        "notes": notes,
        "results": results,
    }
    return doc


def _bench_axis(act, x, ops, baselines, repeat, torch, notes, progress, policy="out"):
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
            act, op, xa, g, out, np.zeros_like(xa), np.zeros_like(xa), baselines, repeat, torch, policy
        )
        results.append({**row, "compile_s": compile_s, "shape": list(xa.shape)})
    return results


def _fastact_call(act, op, x, g, out, policy):
    if policy == "alloc":
        return {
            "forward": lambda: act(x),
            "grad": lambda: act.grad(x),
            "backward": lambda: act.backward(x, g),
        }[op]
    return {
        "forward": lambda: act(x, out=out),
        "grad": lambda: act.grad(x, out=out),
        "backward": lambda: act.backward(x, g, out=out),
    }[op]


def _loop_call(act, op, x, g, out):
    """The compiled contiguous loop itself (no dispatch), at the default parameters."""
    _, loop = cpu.kernels(act.spec, op, label=act.qualified_name)
    p = tuple(x.dtype.type(v) for v in act.spec.defaults)
    xf, gf, of = x.reshape(-1), g.reshape(-1), out.reshape(-1)
    if op == "backward":
        return lambda: loop(xf, gf, of, *p)
    return lambda: loop(xf, of, *p)


def _reference_baseline(act):
    """A plugin's (or composition's) NumPy baseline: the spec's float64 ``reference``, the
    NumPy code its author wrote, cast into the output. Marked ``"source": "reference"`` in
    the results and ``*`` in the table: it is not a hand-tuned float32 expression."""
    reference, params = act.reference, tuple(act.spec.defaults)

    def fn(x, g, out, tmp):
        np.copyto(out, reference(x, *params), casting="unsafe")

    fn.source = "reference"
    return fn


def _baseline_call(kind, act, op, x, g, out, tmp, torch, policy):
    """``(callable, None)`` for a working baseline, or ``(None, why it is missing)``."""
    if not _installed(kind):
        return None, "not installed"
    if kind == "torch":
        fn = bl.torch_baseline(act.name, op, policy)
        if fn is None:
            return None, bl.torch_reason(act.name, op, policy)
        if policy == "alloc":
            tx, tg = torch.from_numpy(x), torch.from_numpy(g)
            call = lambda: fn(tx, tg, None, None)  # noqa: E731
        else:
            tensors = [torch.from_numpy(a) for a in (x, g, out, tmp)]
            call = lambda: fn(*tensors)  # noqa: E731
    else:
        fn = _baseline_fn(kind, act.name, op)
        builtin = act.qualified_name.startswith("fastact:")
        if fn is None and kind == "numpy" and op == "forward" and not builtin:
            fn = _reference_baseline(act)  # a plugin or composition: its own NumPy reference
        if fn is None:
            return None, {"numpy": "no NumPy expression", "numexpr": "no numexpr expression"}[kind]
        if policy == "alloc":
            call = lambda: fn(x, g, np.empty_like(out), np.empty_like(tmp))  # noqa: E731
        else:
            call = lambda: fn(x, g, out, tmp)  # noqa: E731
    try:
        with np.errstate(all="ignore"):
            call()
    except NotImplementedError as exc:
        return None, str(exc) or "not implemented"
    except Exception as exc:  # a baseline that breaks is reported, not fatal
        return None, f"error: {type(exc).__name__}: {exc}"
    return call, getattr(fn, "source", None)


def _bench_one(act, op, x, g, out, tmp, copy_out, baselines, repeat, torch, policy="out"):
    size = x.size
    start = time.perf_counter()
    if act.spec.kind == "elementwise":
        act.ufunc(op)
    compile_s = time.perf_counter() - start
    copy = (lambda: np.copyto(copy_out, x)) if policy == "out" else (lambda: x.copy())
    impls: dict[str, Callable[[], object]] = {"copy": copy}
    impls["fastact"] = _fastact_call(act, op, x, g, out, policy)
    if policy == "out" and act.spec.kind == "elementwise" and act.target != "cuda" and size <= LOOP_MAX_SIZE:
        impls["loop"] = _loop_call(act, op, x, g, out)
    status: dict[str, str] = {}
    for kind in baselines:
        call, why = _baseline_call(kind, act, op, x, g, out, tmp, torch, policy)
        if call is None:
            status[kind] = why
        else:
            impls[kind] = call
            if why:  # a working baseline with a note: where it comes from
                status[kind] = why
    number = calls_per_sample(size)
    samples: dict[str, list[float]] = {k: [] for k in impls}
    with np.errstate(all="ignore"):
        for fn in impls.values():
            fn()  # warm-up: compilation, first-touch, caches
        for _ in range(repeat):
            for k, fn in impls.items():
                samples[k].append(_sample(fn, number))
    row = result_row(act, op, x, number, compile_s, samples, baselines, status)
    return {**row, "policy": policy}


def _paired(num: list[float], den: list[float]) -> float:
    """The median over rounds of ``num[i] / den[i]``: both timed in the same round, so drift
    between rounds cancels."""
    return float(np.median(np.asarray(num) / np.asarray(den)))


def result_row(act, op: str, x: np.ndarray, number: int, compile_s: float,
               samples: dict[str, list[float]], baselines: Iterable[str],
               status: dict[str, str]) -> dict[str, Any]:  # fmt: skip
    """One JSON result: fastact's and the copy's statistics, throughput, ratio to the copy and
    each baseline's speed-up (or why it is missing), each ratio paired by round. Shared by
    the CPU and CUDA benchmarks."""
    stats = {k: Stats.of(v) for k, v in samples.items()}
    size = x.size
    fast = stats["fastact"]
    itemsize = x.dtype.itemsize
    nbytes = size * itemsize * (3 if op == "backward" else 2)
    copy_bytes = size * itemsize * 2
    base = {}
    for kind in baselines:
        if kind in stats:
            base[kind] = {**stats[kind].__dict__, "speedup": _paired(samples[kind], samples["fastact"]),
                          "status": "ok"}  # fmt: skip
            if status.get(kind):
                base[kind]["source"] = status[kind]
        else:
            base[kind] = {"status": status[kind]}
    row = {
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
        "ratio_to_copy": _paired(samples["fastact"], samples["copy"]),
        "baselines": base,
    }
    if "loop" in stats:
        row["loop"] = stats["loop"].__dict__
        row["overhead_s"] = fast.median_s - stats["loop"].median_s
    return row


# ---- rendering -------------------------------------------------------------------------------


def _time(s: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s / 1e-9:.3g} ns"


#: short table cells for the reasons a baseline is missing (the JSON keeps the full reason)
_SHORT = {
    "not installed": "not inst.",
    "torch not installed": "not inst.",
    "no NumPy expression": "no expr",
    "no numexpr expression": "no expr",
    "no CuPy expression": "no expr",
    "no torch kernel": "no kernel",
    "no torch out= kernel": "no out=",
    "no torch out= kernel (torch composes it)": "composite",
    "no torch backward kernel (autograd composes it)": "composite",
    "no torch kernel (torch has no elementwise derivative op)": "no kernel",
}


def _speedup(entry: dict) -> str:
    if entry.get("status") == "ok":
        return f"{entry['speedup']:.2f}x" + ("*" if entry.get("source") == "reference" else "")
    status = entry["status"]
    if status in _SHORT:
        return _SHORT[status]
    if "scipy" in status:
        return "no scipy"
    return "error" if status.startswith("error") else "missing"


_POLICY_TITLE = {
    "out": "policy out: every side writes into preallocated arrays (fastact out=, NumPy out=, "
    "PyTorch's aten out= kernels, copy = np.copyto)",
    "alloc": "policy alloc: every side allocates its result (fastact.f(x), NumPy into fresh arrays, "
    "torch.nn.functional, copy = x.copy())",
}


def render(doc: dict[str, Any], show_compile: bool = False) -> str:
    """The results as aligned text tables (one per allocation policy), the machine and notes."""
    cfg, machine = doc["config"], doc["machine"]
    policies = cfg.get("policies", ["out"])
    multi_op = len(cfg["ops"]) > 1
    multi_size = len(cfg["sizes"]) > 1
    cuda = cfg["target"] == "cuda"
    small = any("overhead_s" in r and r["size"] <= 100_000 for r in doc["results"])
    lines: list[str] = []
    for policy in policies:
        header = ["activation"] + (["op"] if multi_op else []) + (["size"] if multi_size else [])
        header += ["median", "Gelem/s", "GB/s", "x copy"]
        header += ["over loop"] if small and policy == "out" else []
        header += [f"vs {b}" for b in cfg["baselines"]]
        header += ["end-to-end"] if cuda else []
        header += ["compile"] if show_compile else []
        rows = []
        for r in doc["results"]:
            if r.get("policy", "out") != policy:
                continue
            row = [r["activation"]] + ([r["op"]] if multi_op else [])
            row += [f"{r['size']:.0e}"] if multi_size else []
            row += [
                _time(r["fastact"]["median_s"]),
                f"{r['fastact']['elements_per_s'] / 1e9:.2f}",
                f"{r['fastact']['gb_per_s']:.1f}",
                f"{r['ratio_to_copy']:.2f}",
            ]
            if small and policy == "out":
                row += [_time(max(r["overhead_s"], 0.0)) if "overhead_s" in r else "-"]
            row += [_speedup(r["baselines"][b]) for b in cfg["baselines"]]
            row += [_time(r["end_to_end_s"])] if cuda else []
            row += [_time(r["compile_s"])] if show_compile else []
            rows.append(row)
        if len(policies) > 1 or policy != "out":
            lines += [_POLICY_TITLE[policy], ""]
        lines += table(rows, header, numeric_right=True).splitlines() + [""]
    copies = {r["size"]: r["copy"] for r in doc["results"]
              if r["op"] == cfg["ops"][0] and r.get("policy", "out") == policies[0]}  # fmt: skip
    copy_line = "; ".join(
        f"n={n:.0e}: {_time(c['median_s'])} ({c['gb_per_s']:.1f} GB/s)" for n, c in copies.items()
    )
    reasons = sorted({e["status"] for r in doc["results"] for e in r["baselines"].values()} - {"ok"})
    lines += [
        f"target {cfg['target']}, {cfg['dtype']}, median of {cfg['repeat']} rounds; memory copy {copy_line}",
        "x copy: fastact time / memory-copy time in the same round (1.0 = memory bound); vs X: X's time / "
        "fastact's time in the same round (>1: fastact faster)",
    ]
    if small and "out" in policies:
        lines += ["over loop: fastact's median minus its compiled loop called directly (the call's overhead)"]
    if any(e.get("source") == "reference" for r in doc["results"] for e in r["baselines"].values()):
        lines += ["*: no hand-written NumPy expression; the activation's own float64 NumPy reference instead"]
    if reasons:
        legend: dict[str, list[str]] = {}
        for why in reasons:
            legend.setdefault(_speedup({"status": why}), []).append(why)
        lines += ["missing baselines: " + "; ".join(f"{k} = {' or '.join(v)}" for k, v in legend.items())]
    lines += [
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
        return (r["activation"], r["op"], r["size"], r["dtype"], r.get("policy", "out"))

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
