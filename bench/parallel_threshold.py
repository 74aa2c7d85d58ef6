"""Where the ``parallel`` target starts to pay: its thread dispatch, and the break-even size.

Run from the repository root on a quiet machine::

    python bench/parallel_threshold.py [--repeat 9]

It prints (1) the cost of one dispatch: ``run_chunked`` of an empty-bodied kernel over a
64-element array on all threads, minus the same call inline, and (2) for a cheap and an
expensive activation, float32, the median time of the ``cpu`` and ``parallel`` targets at sizes
from 2^12 to 2^22, both forced through the chunked runner (``PARALLEL_MIN_SIZE`` lowered to 0
for the run), interleaved round by round. The smallest size where parallel wins for the cheap
activation is what :data:`fastact.activation.PARALLEL_MIN_SIZE` should be.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import fastact
from fastact import _threads, activation


def _median_call(fn, number: int, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - start) / number)
    return statistics.median(samples)


def dispatch_cost(repeat: int) -> tuple[float, float]:
    from fastact.kernels import cpu

    _, loop = cpu.kernels(fastact.get("identity").spec, "forward")
    x = np.ones(64 * _threads.default_threads(), np.float32)
    out = np.empty_like(x)
    threads = max(2, _threads.default_threads())
    inline = _median_call(lambda: _threads.run_chunked(loop, (x, out), (), 1), 2000, repeat)
    pooled = _median_call(lambda: _threads.run_chunked(loop, (x, out), (), threads), 2000, repeat)
    return inline, pooled


def break_even(name: str, repeat: int) -> list[tuple[int, float, float]]:
    serial, parallel = fastact.get(name), fastact.get(name, target="parallel")
    rows = []
    saved = activation.PARALLEL_MIN_SIZE
    activation.PARALLEL_MIN_SIZE = 0
    try:
        for k in range(12, 23, 2):
            n = 1 << k
            x = (np.random.default_rng(0).standard_normal(n) * 3).astype(np.float32)
            out = np.empty_like(x)
            number = max(1, 2_000_000 // n)
            run_serial = (lambda a, o: lambda: serial(a, out=o))(x, out)
            run_parallel = (lambda a, o: lambda: parallel(a, out=o))(x, out)
            run_serial(), run_parallel()
            s_samples, p_samples = [], []
            for _ in range(repeat):
                s_samples.append(_median_call(run_serial, number, 1))
                p_samples.append(_median_call(run_parallel, number, 1))
            rows.append((n, statistics.median(s_samples), statistics.median(p_samples)))
    finally:
        activation.PARALLEL_MIN_SIZE = saved
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("names", nargs="*", default=["relu", "gelu"])
    args = ap.parse_args()
    inline, pooled = dispatch_cost(args.repeat)
    print(f"threads {max(2, _threads.default_threads())}: run_chunked inline {inline * 1e6:.1f} us, "
          f"on the pool {pooled * 1e6:.1f} us -> dispatch {(pooled - inline) * 1e6:.1f} us")  # fmt: skip
    print(f"PARALLEL_MIN_SIZE now {activation.PARALLEL_MIN_SIZE:,}")
    for name in args.names:
        print(f"\n{name} (float32)     size      cpu  parallel  cpu/parallel")
        for n, s, p in break_even(name, args.repeat):
            print(f"{'':>18}{n:>9,} {s * 1e6:>7.1f}us {p * 1e6:>7.1f}us  {s / p:>6.2f}")


if __name__ == "__main__":
    main()
