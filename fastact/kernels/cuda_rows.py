"""CUDA row kernels for the axis-wise activations: one block per row (grid-stride over rows),
threads striding along the row, shared-memory tree reductions for max, sums and counts.

The arithmetic follows the CPU row kernels: float64 accumulation, the row maximum ignoring
NaN (which then propagates through the sums), logsumexp as ``m + log1p(rest + count - 1)``
with the e^0 terms counted apart (so logsumexp([0, -40]) keeps e^-40), the +inf limit rows,
and the corrected two-pass variance for standardize. ``x - m`` is formed in float64 (exact for
float32 input). Arrays are 2-D (rows, n); reductions write and read column 0 of (rows, 1).
"""

from __future__ import annotations

from .cuda import simulator
from .row_modes import BLOCK, LOG_SOFTMAX, LOGMEANEXP, LOGSUMEXP, SOFTMAX


def kernels() -> dict:
    from . import cuda_rows_impl as k  # imports numba.cuda: loaded on the first launch only

    return {"forward": k.forward, "backward": k.backward, "standardize": k.standardize,
            "standardize_backward": k.standardize_backward}  # fmt: skip


#: name -> (forward launcher args, backward args): which kernel, sign and mode
FAMILY = {
    "softmax": (1.0, SOFTMAX, SOFTMAX),
    "softmin": (-1.0, SOFTMAX, SOFTMAX),
    "log_softmax": (1.0, LOG_SOFTMAX, LOG_SOFTMAX),
    "logsumexp": (1.0, LOGSUMEXP, LOGSUMEXP),
    "logmeanexp": (1.0, LOGMEANEXP, LOGSUMEXP),
}
SUPPORTED = (*FAMILY, "standardize")


def grid(rows: int) -> tuple[int, int]:
    if simulator():  # every simulated thread is a Python thread: a small power of two
        return min(rows, 2), 8
    return max(1, min(rows, 65535)), BLOCK


def run(name: str, backward: bool, x, g, out, params, stream=None) -> None:
    """Launch the row kernel of ``name`` on 2-D device arrays (rows, n)."""
    k = kernels()
    rows, n = x.shape
    blocks, threads = grid(rows)
    cfg = (blocks, threads) if stream is None else (blocks, threads, stream)
    if name == "standardize":
        eps = float(params[0])
        if backward:
            k["standardize_backward"][cfg](x, g, out, n, eps)
        else:
            k["standardize"][cfg](x, out, n, eps)
        return
    sign, fmode, bmode = FAMILY[name]
    if backward:
        k["backward"][cfg](x, g, out, n, sign, bmode)
    else:
        k["forward"][cfg](x, out, n, sign, fmode)
