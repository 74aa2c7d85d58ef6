"""asv benchmarks: every builtin activation x dtype x size, fastact beside NumPy.

``impl`` is a parameter so one run shows fastact and the NumPy baseline side by side and asv
tracks both across commits; a NumPy combination with no baseline expression is skipped.
``setup`` compiles (or loads the cached kernel) outside the timings. ``RatioToCopy`` tracks
the figure that matters most for an elementwise kernel: its time over a memory copy of the
same array, measured in the same process.
"""

import numpy as np

import fastact
from fastact.tools import baselines
from fastact.tools.bench import calls_per_sample, make_input

NAMES = [e.spec.name for e in fastact.REGISTRY.entries("elementwise") if e.builtin]
DTYPES = ["float32", "float64"]
SIZES = [10_000, 10_000_000]


class Elementwise:
    params = [NAMES, DTYPES, SIZES, ["fastact", "numpy"]]
    param_names = ["activation", "dtype", "size", "impl"]
    timeout = 300

    def setup(self, name, dtype, size, impl):
        self.x = make_input(name, size, dtype)
        self.g = make_input("", size, dtype, seed=1)
        self.out = np.zeros_like(self.x)
        self.tmp = np.zeros_like(self.x)
        np.seterr(all="ignore")
        if impl == "fastact":
            act = fastact.get(name)
            for op in ("forward", "grad", "backward"):
                act.ufunc(op)  # compile or load from the disk cache, outside the timings
            self.calls = {
                "forward": lambda: act(self.x, out=self.out),
                "grad": lambda: act.grad(self.x, out=self.out),
                "backward": lambda: act.backward(self.x, self.g, out=self.out),
                "alloc": lambda: act(self.x),
            }
        else:
            self.calls = {}
            for op in ("forward", "grad", "backward"):
                fn = baselines.numpy_baseline(name, op)
                if fn is not None:
                    self.calls[op] = (lambda f: lambda: f(self.x, self.g, self.out, self.tmp))(fn)
            if "forward" not in self.calls:
                raise NotImplementedError(f"no NumPy expression for {name}")
            self.calls["alloc"] = lambda: baselines.numpy_baseline(name, "forward")(
                self.x, self.g, np.empty_like(self.x), np.empty_like(self.x)
            )
        for fn in self.calls.values():
            fn()

    def _run(self, op):
        if op not in self.calls:
            raise NotImplementedError(op)
        self.calls[op]()

    def time_forward(self, *params):
        self._run("forward")

    def time_grad(self, *params):
        self._run("grad")

    def time_backward(self, *params):
        self._run("backward")

    def peakmem_forward(self, *params):
        self._run("alloc")


class RatioToCopy:
    """fastact's forward time over a memory copy of the same array (1.0 = memory bound)."""

    params = [NAMES, DTYPES]
    param_names = ["activation", "dtype"]
    timeout = 300
    unit = "x copy"

    def setup(self, name, dtype):
        self.act = fastact.get(name)
        self.x = make_input(name, 10_000_000, dtype)
        self.out = np.zeros_like(self.x)
        self.copy = np.zeros_like(self.x)
        self.act(self.x, out=self.out)

    def track_ratio_to_copy(self, name, dtype):
        import time

        number = calls_per_sample(self.x.size)
        kernel, copy = [], []
        for _ in range(7):  # interleaved, so drift affects both alike
            for samples, fn in ((copy, lambda: np.copyto(self.copy, self.x)),
                                (kernel, lambda: self.act(self.x, out=self.out))):  # fmt: skip
                start = time.perf_counter()
                for _ in range(number):
                    fn()
                samples.append(time.perf_counter() - start)
        return float(np.median(kernel) / np.median(copy))

    track_ratio_to_copy.unit = "x copy"


AXIS_NAMES = [e.spec.name for e in fastact.REGISTRY.entries("axis") if e.builtin]


class AxisWise:
    """Axis-wise activations over rows of 1000 (the issue's (10000, 1000) softmax at 1e7),
    forward with a preallocated output and backward, beside NumPy's stable expression."""

    params = [AXIS_NAMES, ["float32"], [(1000, 1000), (10000, 1000)], ["fastact", "numpy"]]
    param_names = ["activation", "dtype", "shape", "impl"]
    timeout = 300

    def setup(self, name, dtype, shape, impl):
        rows, width = shape
        self.x = make_input(name, rows * width, dtype).reshape(rows, width)
        act = fastact.get(name)
        y = act(self.x)  # compiles the row kernels outside the timings
        self.out = np.zeros_like(y)
        self.g = np.ones_like(y)
        self.dx = np.zeros_like(self.x)
        np.seterr(all="ignore")
        if impl == "fastact":
            self.forward = lambda: act(self.x, out=self.out)
            self.backward = lambda: act.backward(self.x, self.g, out=self.dx)
        else:
            fn = baselines.numpy_baseline(name, "forward")
            if fn is None:
                raise NotImplementedError(f"no NumPy expression for {name}")
            tmp = np.zeros_like(self.x)
            self.forward = lambda: fn(self.x, None, self.out, tmp)
            self.backward = None

    def time_forward(self, *params):
        self.forward()

    def time_backward(self, *params):
        if self.backward is None:
            raise NotImplementedError("no NumPy backward")
        self.backward()


class SmallArrays:
    """Per-call overhead on small arrays (a few elements to 1e3), where Python-level dispatch,
    not the kernel, decides the time: fastact's call with and without ``out=`` beside the
    NumPy expression doing the same work, so a regression of the fast path shows at once."""

    params = [["sigmoid", "gelu", "relu", "softmax"], [10, 1000], ["alloc", "out"], ["fastact", "numpy"]]
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
