"""``fastact verify``: measure each activation's error against its reference and its bound.

Sampled mode draws inputs across the whole float range (:func:`fastact.testing.accuracy.samples`:
dense, exp-range, log-uniform over every binade, random bit patterns, special values);
``exhaustive`` walks all 2^32 float32 bit patterns in chunks of 2^24. Forward is held to
the spec's ``max_ulp`` (plus ``near_zero_eps``), grad to twice that plus 4 epsilons, as in
:func:`fastact.testing.accuracy.bounds`. For float32 the float64 reference is a true oracle; for
float64 it has the same precision, so the float64 figure measures agreement with it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..activation import Activation
from .accuracy import bounds, samples, ulp_errors, within

OPS = ("forward", "grad")
CHUNK = 1 << 24


class _Tally:
    """Running maxima of one (activation, dtype, op) over chunks of inputs."""

    def __init__(self, bound: float, atol: float):
        self.bound, self.atol = bound, atol
        self.count = self.failures = self.near_zero = 0
        self.max_ulp = self.max_abs = self.max_rel = 0.0
        self.worst_x: float | None = None

    def add(self, x: np.ndarray, got: np.ndarray, ref: np.ndarray, dtype) -> None:
        errors = ulp_errors(got, ref, dtype)
        ok = within(got, ref, dtype, self.bound, self.atol)
        self.count += x.size
        self.failures += int((~ok).sum())
        # inputs that pass only through the absolute slack (near a zero) are counted apart,
        # so max_ulp is the largest error over the inputs judged in ULPs
        rescued = ok & ~(errors <= self.bound)
        self.near_zero += int(rescued.sum())
        judged = np.where(rescued, 0.0, errors)
        if judged.size:
            i = int(np.argmax(judged))
            if judged[i] >= self.max_ulp:
                self.max_ulp, self.worst_x = float(judged[i]), float(x[i])
        with np.errstate(all="ignore"):
            diff = np.abs(got.astype(np.float64) - ref)
            finite = np.isfinite(diff)
            if finite.any():
                self.max_abs = max(self.max_abs, float(diff[finite].max()))
            # relative error only where the reference is a normal number of the dtype
            normal = finite & (np.abs(ref) >= np.finfo(dtype).tiny)
            if normal.any():
                self.max_rel = max(self.max_rel, float((diff[normal] / np.abs(ref[normal])).max()))

    def result(self) -> dict[str, Any]:
        return {
            "samples": self.count,
            "max_ulp": self.max_ulp,
            "bound_ulp": self.bound,
            "abs_slack": self.atol,
            "max_abs": self.max_abs,
            "max_rel": self.max_rel,
            "worst_x": self.worst_x,
            "failures": self.failures,
            "near_zero_inputs": self.near_zero,
            "ok": self.failures == 0,
        }


def _reference(act: Activation, op: str) -> Callable | None:
    return act.spec.reference if op == "forward" else act.spec.reference_derivative


def _chunks(dtype, n: int, exhaustive: bool, seed: int) -> Iterator[np.ndarray]:
    if not exhaustive:
        yield samples(dtype, n, seed)
        return
    for start in range(0, 1 << 32, CHUNK):
        yield np.arange(start, start + CHUNK, dtype=np.uint64).astype(np.uint32).view(np.float32)


def verify_axis(act, dtype: str, *, n: int = 1_000_000, seed: int = 0, progress=None) -> list[dict[str, Any]]:
    """Axis-wise activations: forward against the reference on rows of 100 elements drawn at
    scales 1, 10 and 100 (``n`` elements in all, along the last axis). ``worst_x`` is then the
    worst output's input element. The backward pass is checked by the test suite (its
    reference is a vector-Jacobian product, not a pointwise function)."""
    dt = np.dtype(dtype)
    params = [float(dt.type(v)) for v in act.spec.defaults]
    tally = _Tally(*bounds(act.spec, dt, "forward"))
    rng = np.random.default_rng(seed)
    rows = max(n // 100, 3)
    scales = np.array([1.0, 10.0, 100.0])[np.arange(rows) % 3][:, None]
    x = (rng.standard_normal((rows, 100)) * scales).astype(dt)
    got = act(x)
    ref = np.asarray(act.spec.reference(x.astype(np.float64), -1, *params), dtype=np.float64)
    inputs = x[:, 0] if got.ndim == 1 else x[:, : got.shape[1]]  # an input element per output
    tally.add(inputs.ravel(), got.ravel(), ref.ravel(), dt)
    if progress:
        progress()
    base = {"activation": act.name, "dtype": dt.name}
    skipped = "axis-wise: the backward pass is checked by the tests"
    return [
        {**base, "op": "forward", **tally.result()},
        {**base, "op": "grad", "ok": True, "skipped": skipped},
    ]


def verify(
    act: Activation,
    dtype: str,
    *,
    n: int = 1_000_000,
    ops: tuple[str, ...] = OPS,
    exhaustive: bool = False,
    seed: int = 0,
    progress: Callable[[], None] | None = None,
) -> list[dict[str, Any]]:
    """One result per op: max ULP, abs and rel error, worst input, and pass/fail."""
    dt = np.dtype(dtype)
    if exhaustive and dt != np.float32:
        raise ValueError("--exhaustive walks float32 bit patterns; use --dtype float32")
    params = [float(dt.type(v)) for v in act.spec.defaults]  # what the kernel sees
    tallies = {}
    for op in ops:
        if _reference(act, op) is not None:
            tallies[op] = _Tally(*bounds(act.spec, dt, op))
    for x in _chunks(dt, n, exhaustive, seed):
        with np.errstate(all="ignore"):  # signalling-NaN bit patterns raise 'invalid' on casts
            x64 = x.astype(np.float64)
            for op, tally in tallies.items():
                got = act(x) if op == "forward" else act.grad(x)
                ref = _reference(act, op)(x64, *params)
                tally.add(x, got, ref, dt)
        if progress:
            progress()
    results = []
    for op in ops:
        base = {"activation": act.name, "dtype": dt.name, "op": op}
        if op in tallies:
            results.append({**base, **tallies[op].result()})
        else:
            results.append({**base, "ok": True, "skipped": "no reference for this op"})
    return results
