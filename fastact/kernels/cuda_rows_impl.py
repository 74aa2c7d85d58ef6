"""The kernels of :mod:`fastact.kernels.cuda_rows`, at module level: the CUDA simulator
swaps this module's global ``cuda`` for its own at launch, which closures would not see."""

import math

from numba import cuda, float64

from .row_modes import BLOCK, LOG_SOFTMAX, LOGSUMEXP, SOFTMAX

INF = math.inf


@cuda.jit(device=True)
def reduce(sh, value, op):
    """Block-wide reduction of one value per thread (op 0: max ignoring NaN, 1: sum)."""
    t = cuda.threadIdx.x
    sh[t] = value
    cuda.syncthreads()
    step = cuda.blockDim.x // 2
    while step > 0:
        if t < step:
            a, b = sh[t], sh[t + step]
            if op == 0:
                sh[t] = b if (b > a or a != a) else a
            else:
                sh[t] = a + b
        cuda.syncthreads()
        step //= 2
    result = sh[0]
    cuda.syncthreads()
    return result


@cuda.jit(device=True)
def row_stats(x, r, n, sign, sh):
    """(m, rest, count, infs, nans): max, sum of e^(v - m) off the max, entries at the max,
    +inf entries and NaN entries of row r."""
    t = cuda.threadIdx.x
    m = -INF
    infs = 0.0
    nans = 0.0
    for i in range(t, n, cuda.blockDim.x):
        v = sign * float64(x[r, i])
        m = v if v > m else m
        infs += 1.0 if v == INF else 0.0
        nans += 1.0 if v != v else 0.0
    m = reduce(sh, m, 0)
    infs = reduce(sh, infs, 1)
    nans = reduce(sh, nans, 1)
    rest = 0.0
    count = 0.0
    for i in range(t, n, cuda.blockDim.x):
        v = sign * float64(x[r, i])
        if v == m:
            count += 1.0
        else:
            rest += math.exp(v - m) if v - m > -1e4 else 0.0
    rest = reduce(sh, rest, 1)
    count = reduce(sh, count, 1)
    if nans > 0:
        rest = math.nan
    return m, rest, count, infs


@cuda.jit
def forward(x, out, n, sign, mode):
    sh = cuda.shared.array(BLOCK, float64)
    for r in range(cuda.blockIdx.x, x.shape[0], cuda.gridDim.x):
        m, rest, count, infs = row_stats(x, r, n, sign, sh)
        nan_row = rest != rest
        if mode >= LOGSUMEXP:
            if cuda.threadIdx.x == 0:
                if nan_row:
                    out[r, 0] = math.nan
                elif m == INF or m == -INF:
                    out[r, 0] = m
                elif mode == LOGSUMEXP:
                    out[r, 0] = m + math.log1p(rest + (count - 1.0))
                else:
                    z = (rest + count - n) / n
                    out[r, 0] = m + (math.log1p(z) if abs(z) < 0.5 else math.log((rest + count) / n))
            continue
        s = rest + count
        ls = math.log1p(rest + (count - 1.0))
        for i in range(cuda.threadIdx.x, n, cuda.blockDim.x):
            v = sign * float64(x[r, i])
            if m == INF:  # the limit: the +inf entries share the mass
                inside = v == INF
                if mode == SOFTMAX:
                    y = 1.0 / infs if inside else 0.0
                else:
                    y = -math.log(infs) if inside else -INF
                y = math.nan if nan_row else y
            elif mode == SOFTMAX:
                y = math.exp(v - m) / s
            else:
                y = (v - m) - ls
            out[r, i] = y


@cuda.jit
def backward(x, g, out, n, sign, mode):
    """VJPs: softmax (sign y (g - <g, y>)), log_softmax (g - y sum g), logsumexp and
    logmeanexp (g[r] y), with y = softmax(sign x)."""
    sh = cuda.shared.array(BLOCK, float64)
    for r in range(cuda.blockIdx.x, x.shape[0], cuda.gridDim.x):
        m, rest, count, infs = row_stats(x, r, n, sign, sh)
        s = rest + count
        acc = 0.0
        for i in range(cuda.threadIdx.x, n, cuda.blockDim.x):
            v = sign * float64(x[r, i])
            y = math.exp(v - m) / s
            if mode == SOFTMAX:
                acc += float64(g[r, i]) * y
            elif mode == LOG_SOFTMAX:
                acc += float64(g[r, i])
        acc = reduce(sh, acc, 1)
        for i in range(cuda.threadIdx.x, n, cuda.blockDim.x):
            v = sign * float64(x[r, i])
            y = math.exp(v - m) / s
            if mode == SOFTMAX:
                out[r, i] = sign * y * (float64(g[r, i]) - acc)
            elif mode == LOG_SOFTMAX:
                out[r, i] = float64(g[r, i]) - y * acc
            else:
                out[r, i] = float64(g[r, 0]) * y


@cuda.jit(device=True)
def moments(x, r, n, sh):
    t = cuda.threadIdx.x
    acc = 0.0
    for i in range(t, n, cuda.blockDim.x):
        acc += float64(x[r, i])
    m = reduce(sh, acc, 1) / n
    acc = 0.0
    for i in range(t, n, cuda.blockDim.x):
        acc += float64(x[r, i]) - m
    c = reduce(sh, acc, 1) / n
    acc = 0.0
    for i in range(t, n, cuda.blockDim.x):
        d = (float64(x[r, i]) - m) - c
        acc += d * d
    return m, c, reduce(sh, acc, 1) / n


@cuda.jit
def standardize(x, out, n, eps):
    sh = cuda.shared.array(BLOCK, float64)
    for r in range(cuda.blockIdx.x, x.shape[0], cuda.gridDim.x):
        m, c, var = moments(x, r, n, sh)
        inv = 1.0 / math.sqrt(var + eps)
        for i in range(cuda.threadIdx.x, n, cuda.blockDim.x):
            out[r, i] = ((float64(x[r, i]) - m) - c) * inv


@cuda.jit
def standardize_backward(x, g, out, n, eps):
    sh = cuda.shared.array(BLOCK, float64)
    for r in range(cuda.blockIdx.x, x.shape[0], cuda.gridDim.x):
        m, c, var = moments(x, r, n, sh)
        inv = 1.0 / math.sqrt(var + eps)
        gs = 0.0
        gy = 0.0
        for i in range(cuda.threadIdx.x, n, cuda.blockDim.x):
            gi = float64(g[r, i])
            gs += gi
            gy += gi * ((float64(x[r, i]) - m) - c) * inv
        gs = reduce(sh, gs, 1) / n
        gy = reduce(sh, gy, 1) / n
        for i in range(cuda.threadIdx.x, n, cuda.blockDim.x):
            y = ((float64(x[r, i]) - m) - c) * inv
            out[r, i] = (float64(g[r, i]) - gs - y * gy) * inv
