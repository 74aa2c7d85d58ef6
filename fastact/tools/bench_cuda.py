"""``fastact bench --target cuda``: kernel time from CUDA events beside a device-to-device copy.

Per (activation, op, size): the input lives on the device; ``repeat`` rounds each time, with
CUDA events on the default stream around ``number`` back-to-back launches, the
device-to-device copy of the same array, fastact's kernel (launched directly, so Python-side
checks stay out of the kernel time), and the PyTorch CUDA and CuPy baselines when installed.
``ratio_to_copy`` is fastact's median over the copy's: 1.0 is the bandwidth floor. End-to-end
time (host array in, host array out: two transfers and the kernel) is measured separately
with a wall clock. Results use the same JSON schema as the CPU benchmark, plus
``end_to_end_s`` per row.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..activation import Activation
from ..kernels import cuda as fcuda
from . import baselines as bl
from .bench import SCHEMA, machine_info, make_input, result_row

BASELINES = ("torch", "cupy")


def _cupy():
    try:
        import cupy
    except Exception:
        return None
    return cupy


def _event_time(cuda, fn: Callable[[], object], number: int, simulated: bool) -> float:
    """Seconds per call of ``fn`` on the default stream, from CUDA events (the simulator's
    events do not time anything: a wall clock stands in there)."""
    if simulated:
        t = time.perf_counter()
        for _ in range(number):
            fn()
        return (time.perf_counter() - t) / number
    start, stop = cuda.event(), cuda.event()
    start.record()
    for _ in range(number):
        fn()
    stop.record()
    stop.synchronize()
    return start.elapsed_time(stop) / 1e3 / number


def run(
    activations: Iterable[Activation],
    *,
    dtype: str = "float32",
    sizes: Iterable[int] = (100_000_000,),
    ops: Iterable[str] = ("forward",),
    baselines: Iterable[str] = BASELINES,
    repeat: int = 5,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Benchmark every (activation, size, op) on the GPU; the JSON-ready results document."""
    from numba import cuda

    fcuda.require()
    activations, sizes, ops = list(activations), list(sizes), list(ops)
    baselines = [b for b in baselines if b in BASELINES]
    torch = bl.torch_module() if "torch" in baselines else None
    if torch is not None and not torch.cuda.is_available():
        torch = None
    cupy = _cupy() if "cupy" in baselines else None
    found = {"torch": torch, "cupy": cupy}
    notes = [f"{b} (CUDA) is not available: its baseline is skipped" for b in baselines if found[b] is None]
    if fcuda.simulator():
        notes.append("CUDA simulator: kernels run in Python on the host; timings mean nothing")
    results = []
    for size in sizes:
        for act in activations:
            x = make_input(act.name, size, dtype)
            g = make_input("", size, dtype, seed=1)
            dx, dg = cuda.to_device(x), cuda.to_device(g)
            dout, dcopy = cuda.device_array_like(dx), cuda.device_array_like(dx)
            for op in ops:
                if progress:
                    progress(f"{act.name} {op} n={size:,}")
                results.append(
                    _bench_one(cuda, fcuda, act, op, x, g, dx, dg, dout, dcopy, repeat, torch, cupy)
                )
            del dx, dg, dout, dcopy
    try:
        device = cuda.get_current_device()
        gpu = getattr(device, "name", b"simulator")
        gpu = gpu.decode() if isinstance(gpu, bytes) else str(gpu)
    except Exception:
        gpu = "unknown"
    machine = {**machine_info("cuda"), "gpu": gpu, "simulator": fcuda.simulator()}
    config = {"target": "cuda", "dtype": dtype, "sizes": sizes, "ops": ops, "baselines": baselines,
              "repeat": repeat, "policies": ["out"]}  # fmt: skip
    return {"schema": SCHEMA, "machine": machine, "config": config, "notes": notes, "results": results}


def _bench_one(cuda, fcuda, act, op, x, g, dx, dg, dout, dcopy, repeat, torch, cupy):
    size = x.size
    spec = act.spec
    params = [np.dtype(x.dtype).type(v) for v in spec.defaults]
    start = time.perf_counter()
    kernel = fcuda.kernel(spec, op, False, act.qualified_name)
    blocks, threads = fcuda.launch_config(size)
    operands = (dx, dg) if op == "backward" else (dx,)
    launch = lambda: kernel[blocks, threads](*operands, dout, size, *params)
    launch()
    cuda.synchronize()
    compile_s = time.perf_counter() - start
    impls: dict[str, Callable[[], object]] = {"copy": lambda: dcopy.copy_to_device(dx), "fastact": launch}
    status: dict[str, str] = {}
    for kind, module in (("torch", torch), ("cupy", cupy)):
        if module is None:
            status[kind] = "not installed"
            continue
        fn = _baseline(kind, module, act.name, op, x, g)
        if fn is None:
            status[kind] = bl.torch_reason(act.name, op) if kind == "torch" else "no CuPy expression"
        else:
            impls[kind] = fn
    number = max(1, min(100, int(2e9 // max(size * x.itemsize, 1))))
    samples: dict[str, list[float]] = {k: [] for k in impls}
    for fn in impls.values():
        fn()
    cuda.synchronize()
    for _ in range(repeat):
        for k, fn in impls.items():
            samples[k].append(_event_time(cuda, fn, number, fcuda.simulator()))
    call = {"forward": act.__call__, "grad": act.grad, "backward": lambda a: act.backward(a, g)}[op]
    e2e = []
    for _ in range(max(1, repeat // 2)):
        t = time.perf_counter()
        call(x)
        e2e.append(time.perf_counter() - t)
    row = result_row(act, op, x, number, compile_s, samples, ("torch", "cupy"), status)
    row["policy"] = "out"
    return {**row, "end_to_end_s": float(np.median(e2e))}


def _baseline(kind: str, module, name: str, op: str, x: np.ndarray, g: np.ndarray):
    """A no-argument callable running the baseline on device copies of x and g, or None."""
    if kind == "torch":
        fn = bl.torch_baseline(name, op)
        if fn is None:
            return None
        tensors = [module.from_numpy(a).cuda() for a in (x, g, np.empty_like(x), np.empty_like(x))]
        return lambda: fn(*tensors)
    fn = bl.numpy_baseline(name, op)  # NumPy's expression on CuPy arrays (dispatched to CuPy)
    if fn is None:
        return None
    arrays = [module.asarray(a) for a in (x, g, np.empty_like(x), np.empty_like(x))]
    try:
        fn(*arrays)
    except Exception:
        return None
    return lambda: fn(*arrays)
