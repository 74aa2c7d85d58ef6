"""Parameter sets to test an activation at: its defaults, then values drawn across each
parameter's declared bounds.

Checking only at the defaults hides every bug that vanishes there (a forward ignoring
``beta``, a derivative missing a factor ``alpha`` that is 1 by default). ``check-plugin`` and
``verify`` therefore run at :func:`param_sets`: the defaults first, then sets drawn

- log-uniformly in magnitude for a parameter bounded only on one side (``(0, inf)`` draws
  from about 1e-2 to 1e2, which covers the scales a user passes),
- uniformly for a parameter bounded on both sides (open ends kept open),
- log-uniformly in magnitude with a random sign for an unbounded parameter,

each value rounded to 4 significant digits (readable in a failure message) and the whole set
kept only where the spec's ``check_params`` accepts it. The draw is seeded: the same spec
always gives the same sets, so a failure can be reproduced from its message.
"""

from __future__ import annotations

import math
import zlib

import numpy as np

from ..spec import Param

#: Magnitudes drawn for a side with no bound (log10 range).
LOG10_RANGE = (-2.0, 2.0)


def _round(value: float) -> float:
    return float(f"{value:.4g}")


def _draw(p: Param, rng: np.random.Generator) -> float:
    lo = p.lower if p.lower is not None and math.isfinite(p.lower) else None
    hi = p.upper if p.upper is not None and math.isfinite(p.upper) else None
    if lo is not None and hi is not None:
        for _ in range(16):
            v = _round(rng.uniform(lo, hi))
            if p.accepts(v):
                return v
        return p.default
    mag = 10.0 ** rng.uniform(*LOG10_RANGE)
    if lo is None and hi is None:
        return _round(mag if rng.random() < 0.5 else -mag)
    v = _round(lo + mag) if lo is not None else _round(hi - mag)
    return v if p.accepts(v) else p.default


def param_sets(spec, extra: int = 3, seed: int = 0) -> list[tuple[float, ...]]:
    """The defaults, then up to ``extra`` distinct parameter sets drawn across the bounds.

    ``spec`` is an :class:`~fastact.spec.ActivationSpec` or :class:`~fastact.spec.AxisSpec`;
    an activation without parameters gets ``[()]``. Sets the spec's ``check_params`` rejects
    are dropped; the seed is mixed with the spec's name so each activation gets its own draw.
    """
    defaults = tuple(float(v) for v in spec.defaults)
    if not spec.params:
        return [defaults]
    rng = np.random.default_rng([seed, zlib.crc32(spec.name.encode())])
    check = getattr(spec, "check_params", None)
    out = [defaults]
    for _ in range(extra * 8):
        if len(out) > extra:
            break
        cand = tuple(_draw(p, rng) for p in spec.params)
        if cand in out:
            continue
        if check is not None:
            try:
                if check(*cand) is not None:
                    continue
            except Exception:  # noqa: BLE001 - a rejecting check is a rejection
                continue
        out.append(cand)
    return out


def describe(spec, params) -> str:
    """``"alpha=0.3, beta=2"`` (or ``"defaults"`` for an activation without parameters)."""
    if not spec.params:
        return "no parameters"
    return ", ".join(f"{p.name}={v:g}" for p, v in zip(spec.params, params))
