"""asv benchmarks: builtin activations x dtype x size, fastact beside NumPy.

``impl`` is a parameter so one run shows fastact and the NumPy baseline side by side and asv
tracks both across commits. Each op (forward, grad, backward) is its own class, so ``setup``
knows the op: it compiles (or loads the cached kernel) outside the timings, and a NumPy
combination with no baseline expression raises ``NotImplementedError`` there, which asv
records as a skip (raised inside a ``time_`` method it would be a failure). ``RatioToCopy``
tracks the figure that matters most for an elementwise kernel: its time over a memory copy
of the same array, measured in the same process.
"""

import os

import numpy as np

import fastact
from fastact.tools import baselines
from fastact.tools.bench import calls_per_sample, make_input

# Per-commit tracking set: piecewise (relu, hard_swish), exp-class (silu, elu), gelu (erf, the
# SciPy baseline) and a plugin-style composition (no NumPy baseline: its numpy params skip).
# FASTACT_ASV_ALL=1 benchmarks every builtin (about 1,300 combinations: an hour per commit).
ALL = os.environ.get("FASTACT_ASV_ALL", "") == "1"
BUILTIN = [e.spec.name for e in fastact.REGISTRY.entries("elementwise") if e.builtin]
TRACKED = ["relu", "hard_swish", "silu", "elu", "gelu", "x*tanh.softplus"]
NAMES = BUILTIN if ALL else TRACKED
DTYPES = ["float32", "float64"]
SIZES = [10_000, 10_000_000]
# asv starts one process per parameter combination (~1.5 s of imports each, skips included),
# so the tracking set keeps the cross product where it says something: forward in both dtypes
# and sizes; backward, memory and the ratios in float32 (float64 only with FASTACT_ASV_ALL=1).
RATIO_DTYPES = DTYPES if ALL else ["float32"]


class _Elementwise:
    """One op of every builtin x dtype x size x {fastact, numpy}; subclasses name the op.

    A NumPy combination with no baseline expression (or whose expression needs a missing
    SciPy) raises ``NotImplementedError`` in ``setup``, which asv records as a skip."""

    op = "forward"
    params = [NAMES, DTYPES, SIZES, ["fastact", "numpy"]]
    param_names = ["activation", "dtype", "size", "impl"]
    timeout = 300

    def setup(self, name, dtype, size, impl):
        np.seterr(all="ignore")
        self.call = _elementwise_call(name, self.op, dtype, size, impl)
        self.call()  # compile or load the disk cache (fastact), fail here (numpy): outside timings


def _elementwise_call(name, op, dtype, size, impl):
    """A no-argument callable running ``op`` of ``name`` on preallocated arrays; raises
    NotImplementedError (asv: skipped) when NumPy has no expression for it."""
    x = make_input(name, size, dtype)
    g = make_input("", size, dtype, seed=1)
    out, tmp = np.zeros_like(x), np.zeros_like(x)
    if impl == "fastact":
        act = fastact.get(name)
        act.ufunc(op)  # compile or load from the disk cache, outside the timings
        return {
            "forward": lambda: act(x, out=out),
            "grad": lambda: act.grad(x, out=out),
            "backward": lambda: act.backward(x, g, out=out),
        }[op]
    fn = baselines.numpy_baseline(name, op)
    if fn is None:
        raise NotImplementedError(f"no NumPy {op} expression for {name}")
    return lambda: fn(x, g, out, tmp)  # gelu without SciPy raises NotImplementedError on call


class ElementwiseForward(_Elementwise):
    op = "forward"

    def time_forward(self, *params):
        self.call()


if ALL:  # the tracking set times forward and backward; grad (f' alone) only in the full run

    class ElementwiseGrad(_Elementwise):
        op = "grad"

        def time_grad(self, *params):
            self.call()


class ElementwiseBackward(_Elementwise):
    op = "backward"
    params = [NAMES, RATIO_DTYPES, SIZES, ["fastact", "numpy"]]

    def time_backward(self, *params):
        self.call()


class ElementwiseMemory:
    """Bytes one forward call allocates, per element: its output plus any temporaries.

    Measured with ``tracemalloc`` around a single call (after a warm-up call), which sees
    every NumPy array allocation (NumPy reports its data buffers to tracemalloc). asv's
    ``peakmem_`` was dropped: it is the process's peak, dominated by importing Numba (174M
    for fastact vs 42M for NumPy at 1e4 elements), not by the activation. The ideal is the
    output alone (4 bytes/element in float32); the NumPy baseline allocates its output and
    scratch array (and whatever its expression creates on the way)."""

    params = [NAMES, RATIO_DTYPES, ["fastact", "numpy"]]
    param_names = ["activation", "dtype", "impl"]
    timeout = 300
    size = 1_000_000  # the ratio does not depend on size; large enough to hide bookkeeping

    def setup(self, name, dtype, impl):
        np.seterr(all="ignore")
        x = make_input(name, self.size, dtype)
        if impl == "fastact":
            act = fastact.get(name)
            self.call = lambda: act(x)
        else:
            fn = baselines.numpy_baseline(name, "forward")
            if fn is None:
                raise NotImplementedError(f"no NumPy expression for {name}")
            self.call = lambda: fn(x, x, np.empty_like(x), np.empty_like(x))
        self.call()  # compile, and fail here (gelu without SciPy) rather than in track_

    def track_alloc_bytes_per_element(self, *params):
        import tracemalloc

        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            result = self.call()
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        del result
        return (peak - base) / self.size

    track_alloc_bytes_per_element.unit = "bytes/element"


def _interleaved_ratio(kernel, reference, size, rounds=7):
    """median(kernel) / median(reference), sampled round by round in this process, so drift
    and machine noise affect both alike and the ratio, not the raw time, is tracked."""
    import time

    number = calls_per_sample(size)
    samples = {kernel: [], reference: []}
    for _ in range(rounds):
        for fn in (reference, kernel):
            start = time.perf_counter()
            for _ in range(number):
                fn()
            samples[fn].append(time.perf_counter() - start)
    return float(np.median(samples[kernel]) / np.median(samples[reference]))


class RatioToCopy:
    """fastact's forward time over a memory copy of the same array (1.0 = memory bound)."""

    params = [NAMES, RATIO_DTYPES]
    param_names = ["activation", "dtype"]
    timeout = 300
    unit = "x copy"
    size = 10_000_000

    def setup(self, name, dtype):
        act = fastact.get(name)
        x = make_input(name, self.size, dtype)
        out, copy = np.zeros_like(x), np.zeros_like(x)
        self.kernel = lambda: act(x, out=out)
        self.copy = lambda: np.copyto(copy, x)
        self.kernel()

    def track_ratio_to_copy(self, *params):
        return _interleaved_ratio(self.kernel, self.copy, self.size)

    track_ratio_to_copy.unit = "x copy"


class RatioToNumpy:
    """fastact's time over the NumPy baseline's for the same op, array and output buffer,
    measured in the same process (below 1 = fastact faster). The time_ classes track both
    impls as separate parameters; this is the figure a regression of fastact shows in,
    independent of the machine. Ops without a NumPy expression are skipped in setup."""

    params = [NAMES, RATIO_DTYPES, ["forward", "grad", "backward"] if ALL else ["forward", "backward"]]
    param_names = ["activation", "dtype", "op"]
    timeout = 300
    unit = "ratio"
    size = 10_000_000

    def setup(self, name, dtype, op):
        np.seterr(all="ignore")
        self.numpy = _elementwise_call(name, op, dtype, self.size, "numpy")  # skips first
        self.numpy()  # gelu without SciPy skips here
        self.fastact = _elementwise_call(name, op, dtype, self.size, "fastact")
        self.fastact()

    def track_ratio_to_numpy(self, *params):
        return _interleaved_ratio(self.fastact, self.numpy, self.size)

    track_ratio_to_numpy.unit = "ratio"


class RatioToTorch:
    """fastact's time over PyTorch's own CPU kernel for the same op, both writing into
    preallocated outputs (``aten.<op>.out``, the fused ``*_backward.grad_input`` kernels) on one
    thread, interleaved in one process (below 1 = fastact faster). Skipped in setup where
    torch is not installed in the benchmark environment or has no such kernel."""

    params = [NAMES + ["softmax", "log_softmax", "logsumexp"], RATIO_DTYPES, ["forward", "backward"]]
    param_names = ["activation", "dtype", "op"]
    timeout = 300
    unit = "ratio"
    size = 10_000_000

    def setup(self, name, dtype, op):
        np.seterr(all="ignore")
        torch = baselines.torch_module()
        if torch is None:
            raise NotImplementedError("torch is not installed in this environment")
        fn = baselines.torch_baseline(name, op, "out")
        if fn is None:
            raise NotImplementedError(baselines.torch_reason(name, op, "out"))
        torch.set_num_threads(1)
        act = fastact.get(name)
        x = make_input(name, self.size, dtype)
        if act.spec.kind == "axis":
            x = x.reshape(-1, 1000)
        y = act(x)
        g = make_input("", y.size, dtype, seed=1).reshape(y.shape)
        out = np.zeros_like(y if op == "forward" else x)
        tensors = [torch.from_numpy(a) for a in (x, g, np.zeros_like(out), np.zeros_like(x))]
        self.torch = lambda: fn(*tensors)
        self.fastact = (lambda: act(x, out=out)) if op == "forward" else (lambda: act.backward(x, g, out=out))
        self.torch()
        self.fastact()

    def track_ratio_to_torch(self, *params):
        return _interleaved_ratio(self.fastact, self.torch, self.size)

    track_ratio_to_torch.unit = "ratio"


AXIS_BUILTIN = [e.spec.name for e in fastact.REGISTRY.entries("axis") if e.builtin]
AXIS_NAMES = AXIS_BUILTIN if ALL else ["softmax", "logsumexp", "swiglu"]


class _AxisWise:
    """Axis-wise activations over rows of 1000 (the issue's (10000, 1000) softmax at 1e7),
    with a preallocated output, beside NumPy's stable expression; subclasses name the op.
    NumPy has no backward expression: those combinations are skipped in ``setup``."""

    op = "forward"
    params = [AXIS_NAMES, ["float32"], [(1000, 1000), (10000, 1000)] if ALL else [(10000, 1000)],
              ["fastact", "numpy"]]  # fmt: skip
    param_names = ["activation", "dtype", "shape", "impl"]
    timeout = 300

    def setup(self, name, dtype, shape, impl):
        rows, width = shape
        np.seterr(all="ignore")
        x = make_input(name, rows * width, dtype).reshape(rows, width)
        if impl == "numpy":
            fn = baselines.numpy_baseline(name, self.op)
            if fn is None:
                raise NotImplementedError(f"no NumPy {self.op} expression for {name}")
            out, tmp = np.zeros_like(x), np.zeros_like(x)
            self.call = lambda: fn(x, None, out, tmp)
            return
        act = fastact.get(name)
        y = act(x)
        out, g, dx = np.zeros_like(y), np.ones_like(y), np.zeros_like(x)
        if self.op == "forward":
            self.call = lambda: act(x, out=out)
        else:
            self.call = lambda: act.backward(x, g, out=dx)
        self.call()  # compiles this op's row kernels outside the timings (backward has its own)


class AxisForward(_AxisWise):
    op = "forward"

    def time_forward(self, *params):
        self.call()


class AxisBackward(_AxisWise):
    op = "backward"

    def time_backward(self, *params):
        self.call()


class SmallArrays:
    """Per-call overhead on small arrays (a few elements to 1e3), where Python-level dispatch,
    not the kernel, decides the time: fastact's call with and without ``out=`` beside the
    NumPy expression doing the same work, so a regression of the fast path shows at once."""

    params = [["sigmoid", "gelu", "relu", "softmax"] if ALL else ["sigmoid", "softmax"], [10, 1000],
              ["alloc", "out"], ["fastact", "numpy"]]  # fmt: skip
    param_names = ["activation", "size", "output", "impl"]

    def setup(self, name, size, output, impl):
        np.seterr(all="ignore")
        shape = (size // 10, 10) if name == "softmax" else (size,)
        self.x = make_input(name, size, "float32").reshape(shape)
        self.out = np.empty_like(self.x)
        if impl == "fastact":
            act = fastact.get(name)
            call = (lambda: act(self.x)) if output == "alloc" else (lambda: act(self.x, out=self.out))
        elif name == "softmax":
            def softmax(out=None):
                e = np.exp(self.x - self.x.max(axis=-1, keepdims=True))
                return np.divide(e, e.sum(axis=-1, keepdims=True), out=out)

            call = (lambda: softmax()) if output == "alloc" else (lambda: softmax(self.out))
        else:
            fn = baselines.numpy_baseline(name, "forward")
            if fn is None:
                raise NotImplementedError(f"no NumPy expression for {name}")
            tmp = np.empty_like(self.x)
            call = (lambda: fn(self.x, self.x, np.empty_like(self.x), tmp)) if output == "alloc" else (
                lambda: fn(self.x, self.x, self.out, tmp))
        call()
        self.call = call

    def time_call(self, *params):
        self.call()
