"""The ``parallel`` target's threads: one process-wide pool and the chunked runner.

Kernel loops release the GIL, so a call splits its arrays into chunks, runs one on the calling
thread and the others on the pool. A call made from one of the pool's own threads (a parallel
activation inside a task that runs on the pool) runs inline: waiting there on work queued
behind the caller would deadlock.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

_pool_lock = threading.Lock()
_pool_executor: ThreadPoolExecutor | None = None
_in_pool = threading.local()  # set in fastact's pool threads: nested calls there run inline


def default_threads() -> int:
    """``NUMBA_NUM_THREADS`` if set, else the number of cores."""
    env = os.environ.get("NUMBA_NUM_THREADS", "").strip()
    return int(env) if env.isdigit() and int(env) > 0 else (os.cpu_count() or 1)


def _mark_pool_thread() -> None:
    _in_pool.active = True


def pool() -> ThreadPoolExecutor:
    """The one process-wide pool behind the ``parallel`` target, created on first use with
    as many workers as :func:`default_threads` (at least 2): however many thread counts are
    asked for, no more threads than that ever exist. A call asking for more chunks than
    workers queues the rest."""
    global _pool_executor
    with _pool_lock:
        if _pool_executor is None:
            _pool_executor = ThreadPoolExecutor(
                max(2, default_threads()), thread_name_prefix="fastact", initializer=_mark_pool_thread
            )
        return _pool_executor


def run_chunked(loop, arrays, params, threads: int, align: int = 64) -> None:
    """Run ``loop`` over ``threads`` chunks of the arrays' first axis (``align``-element
    aligned): the calling thread takes the first chunk itself, the pool the others (the loop
    releases the GIL). Elementwise loops get flat arrays, axis-wise ones rows.

    Called from one of the pool's own threads (a parallel activation inside a task that runs
    on the pool) the whole range runs inline: waiting there on work queued behind the caller
    would deadlock. The chunks must not overlap in memory (callers guarantee it)."""
    n = arrays[-1].shape[0]
    if threads <= 1 or getattr(_in_pool, "active", False):
        loop(*arrays, *params)
        return
    step = -(-n // threads)
    step = -(-step // align) * align
    bounds = [(start, min(start + step, n)) for start in range(0, n, step)]
    executor = pool()
    futures = [executor.submit(loop, *(a[lo:hi] for a in arrays), *params) for lo, hi in bounds[1:]]
    lo, hi = bounds[0]
    try:
        loop(*(a[lo:hi] for a in arrays), *params)
    finally:
        for future in futures:
            future.result()
