"""``fastact verify``: measure each activation's error against an exact judge and its bound.

Sampled mode draws inputs across the whole float range (:func:`fastact.testing.accuracy.samples`:
dense, exp-range, log-uniform over every binade, random bit patterns, special values);
``exhaustive`` walks all 2^32 float32 bit patterns in chunks of 2^24, spread over processes
(one per core). Every activation with parameters is measured at :func:`param_sets`: its
defaults and three seeded sets drawn across the parameters' bounds.

The judge. The float64 NumPy reference is a true oracle for float32, but for float64 it has
the kernel's own precision, and where both round the same ill-conditioned step they agree
and are both wrong. So wherever :mod:`fastact.testing.oracle` has an mpmath formula, the
errors of (a) every input the float reference puts above a quarter of the bound and (b) a
seeded random subset (``MP_SUBSET`` per chunk) are replaced by the errors against mpmath
at 256 bits; the result says how many inputs mpmath judged. Elsewhere the float reference
judges.

Forward is held to the spec's ``max_ulp`` (plus ``near_zero_eps``), grad to twice that plus
4 epsilons, as in :func:`fastact.testing.accuracy.bounds`. ``max_ulp`` is the true maximum
over all inputs; ``max_ulp_outside_slack`` leaves out the inputs that pass only through the
absolute slack near a zero, and ``near_zero_inputs`` counts those.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

from ..activation import Activation
from . import oracle
from .accuracy import bounds, samples, ulp_errors
from .paramsets import describe, param_sets

OPS = ("forward", "grad")
CHUNK = 1 << 24
#: Random inputs per chunk that mpmath judges (besides every suspicious one).
MP_SUBSET = 2000
#: At most this many suspicious inputs per chunk go to mpmath (the largest errors first).
MP_SUSPICIOUS = 4000


class _Tally:
    """Running maxima of one (activation, dtype, op, parameters) over chunks of inputs."""

    def __init__(self, bound: float, atol: float):
        self.bound, self.atol = bound, atol
        self.count = self.failures = self.near_zero = self.mp_judged = 0
        self.max_ulp = self.max_ulp_outside = self.max_abs = self.max_rel = 0.0
        self.worst_x: float | None = None
        self.worst_outside_x: float | None = None

    def add(self, x: np.ndarray, got: np.ndarray, ref: np.ndarray, dtype, errors: np.ndarray | None = None,
            mp_judged: int = 0) -> None:  # fmt: skip
        """Fold in one chunk; ``errors`` (ULPs) default to those against ``ref``."""
        if errors is None:
            errors = ulp_errors(got, ref, dtype)
        with np.errstate(all="ignore"):
            diff = np.abs(got.astype(np.float64) - ref)
        by_ulp = errors <= self.bound
        rescued = ~by_ulp & (diff <= self.atol) if self.atol > 0 else np.zeros_like(by_ulp)
        ok = by_ulp | rescued
        self.count += x.size
        self.mp_judged += mp_judged
        self.failures += int((~ok).sum())
        self.near_zero += int(rescued.sum())
        if errors.size:
            i = int(np.argmax(errors))
            if errors[i] >= self.max_ulp:
                self.max_ulp, self.worst_x = float(errors[i]), float(x[i])
            outside = np.where(rescued, 0.0, errors)
            j = int(np.argmax(outside))
            if outside[j] >= self.max_ulp_outside:
                self.max_ulp_outside, self.worst_outside_x = float(outside[j]), float(x[j])
        finite = np.isfinite(diff)
        if finite.any():
            self.max_abs = max(self.max_abs, float(diff[finite].max()))
        # relative error only where the reference is a normal number of the dtype
        normal = finite & (np.abs(ref) >= np.finfo(dtype).tiny)
        if normal.any():
            with np.errstate(all="ignore"):
                self.max_rel = max(self.max_rel, float((diff[normal] / np.abs(ref[normal])).max()))

    def merge(self, other: _Tally) -> None:
        """Fold in another tally of the same check (the exhaustive mode's processes)."""
        self.count += other.count
        self.failures += other.failures
        self.near_zero += other.near_zero
        self.mp_judged += other.mp_judged
        if other.max_ulp >= self.max_ulp and other.worst_x is not None:
            self.max_ulp, self.worst_x = other.max_ulp, other.worst_x
        if other.max_ulp_outside >= self.max_ulp_outside and other.worst_outside_x is not None:
            self.max_ulp_outside, self.worst_outside_x = other.max_ulp_outside, other.worst_outside_x
        self.max_abs = max(self.max_abs, other.max_abs)
        self.max_rel = max(self.max_rel, other.max_rel)

    def result(self) -> dict[str, Any]:
        return {
            "samples": self.count,
            "max_ulp": self.max_ulp,
            "worst_x": self.worst_x,
            "max_ulp_outside_slack": self.max_ulp_outside,
            "worst_x_outside_slack": self.worst_outside_x,
            "bound_ulp": self.bound,
            "abs_slack": self.atol,
            "max_abs": self.max_abs,
            "max_rel": self.max_rel,
            "failures": self.failures,
            "near_zero_inputs": self.near_zero,
            "mp_judged": self.mp_judged,
            "ok": self.failures == 0,
        }


def _reference(act: Activation, op: str) -> Callable | None:
    return act.spec.reference if op == "forward" else act.spec.reference_derivative


def _chunks(dtype, n: int, exhaustive: bool, seed: int) -> Iterator[np.ndarray]:
    if not exhaustive:
        yield samples(dtype, n, seed)
        return
    for start in range(0, 1 << 32, CHUNK):
        yield _bit_chunk(start)


def _bit_chunk(start: int) -> np.ndarray:
    return np.arange(start, start + CHUNK, dtype=np.uint64).astype(np.uint32).view(np.float32)


def _judge(name: str, op: str, dt, x, got, ref, params, bound: float, seed: int) -> tuple[np.ndarray, int]:
    """ULP errors of one chunk: against ``ref``, with mpmath's on the suspicious inputs and a
    random subset wherever an oracle exists. Returns (errors, how many mpmath judged)."""
    errors = np.asarray(ulp_errors(got, ref, dt), dtype=np.float64)
    if not oracle.has_oracle(name, op):
        return errors, 0
    rng = np.random.default_rng([seed, x.size, len(params)])
    suspicious = np.flatnonzero(errors > min(bound / 4, 1.0))
    if suspicious.size > MP_SUSPICIOUS:
        suspicious = suspicious[np.argsort(errors[suspicious])[-MP_SUSPICIOUS:]]
    pick = np.unique(np.concatenate([suspicious, rng.integers(0, x.size, min(MP_SUBSET, x.size))]))
    errors[pick] = oracle.ulp_errors_exact(name, op, dt, x[pick], got[pick], ref[pick], params)
    return errors, int(pick.size)


def _check(act: Activation, dt, x: np.ndarray, params, tallies: dict, seed: int) -> None:
    with np.errstate(all="ignore"):  # signalling-NaN bit patterns raise 'invalid' on casts
        x64 = x.astype(np.float64)
        for op, tally in tallies.items():
            got = act(x, *params) if op == "forward" else act.grad(x, *params)
            got = np.asarray(got, dtype=np.float64)
            ref = np.asarray(_reference(act, op)(x64, *params), dtype=np.float64)
            errors, judged = _judge(act.name, op, dt, x, got, ref, params, tally.bound, seed)
            tally.add(x, got, ref, dt, errors, judged)


#: The activation the exhaustive workers check (inherited through fork, not pickled).
_FORK_ACT: Activation | None = None


def _chunk_worker(args) -> dict[str, _Tally]:
    """One exhaustive chunk in a worker process: {op: tally}."""
    start, params, ops, seed = args
    act = _FORK_ACT
    assert act is not None
    dt = np.dtype(np.float32)
    tallies = {op: _Tally(*bounds(act.spec, dt, op)) for op in ops}
    _check(act, dt, _bit_chunk(start), params, tallies, seed + start)
    return tallies


def _eta(done: int, total: int, t0: float) -> str:
    elapsed = time.perf_counter() - t0
    left = elapsed / max(done, 1) * (total - done)
    return f"{done}/{total} chunks, {elapsed:.0f} s elapsed, ETA {left:.0f} s"


def verify_axis(act, dtype: str, *, n: int = 1_000_000, seed: int = 0, progress=None) -> list[dict[str, Any]]:
    """Axis-wise activations: forward against the reference on rows of 100 elements drawn at
    scales 1, 10 and 100 (``n`` elements in all, along the last axis), at each parameter set.
    Each output is judged relative to itself. ``worst_x`` is then the worst output's input
    element. The backward pass is checked by the test suite (its reference is a
    vector-Jacobian product, not a pointwise function)."""
    dt = np.dtype(dtype)
    rng = np.random.default_rng(seed)
    rows = max(n // 100, 3)
    scales = np.array([1.0, 10.0, 100.0])[np.arange(rows) % 3][:, None]
    x = (rng.standard_normal((rows, 100)) * scales).astype(dt)
    out = []
    base = {"activation": act.name, "dtype": dt.name}
    for ps in param_sets(act.spec):
        params = [float(dt.type(v)) for v in ps]
        tally = _Tally(*bounds(act.spec, dt, "forward"))
        got = act(x, *params)
        ref = np.asarray(act.spec.reference(x.astype(np.float64), -1, *params), dtype=np.float64)
        inputs = x[:, 0] if got.ndim == 1 else x[:, : got.shape[1]]  # an input element per output
        tally.add(inputs.ravel(), np.asarray(got, np.float64).ravel(), ref.ravel(), dt)
        out.append({**base, "op": "forward", "params": describe(act.spec, ps), **tally.result()})
    if progress:
        progress()
    skipped = "axis-wise: the backward pass is checked by the tests"
    return [*out, {**base, "op": "grad", "ok": True, "skipped": skipped}]


def verify(
    act: Activation,
    dtype: str,
    *,
    n: int = 1_000_000,
    ops: tuple[str, ...] = OPS,
    exhaustive: bool = False,
    seed: int = 0,
    progress: Callable[[], None] | None = None,
    workers: int | None = None,
    status: Callable[[str], None] | None = None,
    all_params: bool = True,
) -> list[dict[str, Any]]:
    """One result per op and parameter set: max ULP (the true maximum, and the maximum
    outside the absolute slack), abs and rel error, worst input, how many inputs mpmath
    judged, and pass/fail. ``exhaustive`` runs the 256 chunks on ``workers`` processes
    (default: every core), reporting ``status`` lines with an ETA."""
    dt = np.dtype(dtype)
    if exhaustive and dt != np.float32:
        raise ValueError("--exhaustive walks float32 bit patterns; use --dtype float32")
    sets = param_sets(act.spec) if all_params else [tuple(float(v) for v in act.spec.defaults)]
    results = []
    for ps in sets:
        params = [float(dt.type(v)) for v in ps]  # what the kernel sees
        live = tuple(op for op in ops if _reference(act, op) is not None)
        tallies = {op: _Tally(*bounds(act.spec, dt, op)) for op in live}
        if exhaustive:
            _exhaustive(act, params, live, tallies, seed, workers, progress, status)
        else:
            for x in _chunks(dt, n, False, seed):
                _check(act, dt, x, params, tallies, seed)
            if progress:
                progress()
        for op in ops:
            base = {"activation": act.name, "dtype": dt.name, "op": op, "params": describe(act.spec, ps)}
            if op in tallies:
                results.append({**base, **tallies[op].result()})
            else:
                results.append({**base, "ok": True, "skipped": "no reference for this op"})
    return results


def _exhaustive(act, params, ops, tallies, seed, workers, progress, status) -> None:
    starts = list(range(0, 1 << 32, CHUNK))
    workers = workers or os.cpu_count() or 1
    t0 = time.perf_counter()
    global _FORK_ACT
    _FORK_ACT = act
    act(np.zeros(4, np.float32), *params)  # compile (or load) before forking
    if "grad" in ops:
        act.grad(np.zeros(4, np.float32), *params)
    jobs = [(s, params, ops, seed) for s in starts]
    if workers == 1:
        done_iter = map(_chunk_worker, jobs)
        pool = None
    else:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"))
        done_iter = pool.map(_chunk_worker, jobs)
    try:
        for done, chunk in enumerate(done_iter, 1):
            for op, t in chunk.items():
                tallies[op].merge(t)
            if progress:
                progress()
            if status and (done % 8 == 0 or done == len(starts)):
                status(f"{act.name}: {_eta(done, len(starts), t0)}")
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
