"""The checks every activation must pass, as a library: what ``fastact check-plugin`` runs.

:func:`check_spec` takes one :class:`ActivationSpec` and returns the problems found, one
:class:`Problem` (one line) each; an empty list means the spec is sound:

- ``spec``: the record is valid (:meth:`ActivationSpec.validate`);
- ``compile``: forward, grad and backward kernels compile for the CPU, float32 and float64;
- ``forward``: the kernel matches the NumPy reference within the stated ``max_ulp`` (or
  :data:`DEFAULT_MAX_ULP` when none is stated) on sampled and special inputs;
- ``specials``: NaN propagates and the kernel and reference agree on which special inputs
  (±0, ±inf, NaN, extremes, subnormals) give NaN or infinity;
- ``grad``/``backward``: the derivative matches ``reference_derivative`` (when given) and a
  central finite difference of the reference; backward is ``g * grad``;
- ``param:NAME``: each parameter derivative matches a finite difference in that parameter.

These are the checks the builtins pass in fastact's own test suite.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from ..activation import Activation
from ..axis import AxisActivation
from ..errors import CompileError, SpecError, TargetUnavailableError, compile_summary
from ..kernels.cpu import jit
from ..registry import Entry
from ..spec import ActivationSpec, AxisSpec
from .accuracy import SPECIAL, bounds, samples, ulp_errors, within

DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


@dataclass(frozen=True)
class Problem:
    """One failed check: which activation, which check, and what was seen."""

    activation: str
    check: str
    message: str

    def __str__(self) -> str:
        return f"{self.activation}: {self.check}: {self.message}"


def check_spec(
    spec: ActivationSpec, *, source: str = "runtime", n: int = 20_000, seed: int = 0, cuda: bool = False
) -> list[Problem]:
    """Run every check on ``spec`` (see the module docstring); ``[]`` when all pass.

    ``source`` names where the spec came from (a distribution) in messages and kernel labels.
    ``cuda`` also runs the CUDA kernels (on the GPU, or in the simulator when
    ``NUMBA_ENABLE_CUDASIM=1``) on a small sample and compares them with the CPU target.
    """
    label = f"{source}:{getattr(spec, 'name', '?')}"
    problems: list[Problem] = []

    def problem(check: str, message: str) -> None:
        problems.append(Problem(label, check, message))

    if not isinstance(spec, (ActivationSpec, AxisSpec)):
        problem("spec", f"{type(spec).__name__} is not an ActivationSpec or AxisSpec")
        return problems
    try:
        spec.validate(source=None)
    except SpecError as exc:
        problem("spec", str(exc))
        return problems
    if isinstance(spec, AxisSpec):
        _check_axis(problem, spec, source, seed)
        return problems

    act = Activation(Entry(spec, source))
    ops = ("forward", "grad", "backward") if spec.derivative is not None else ("forward",)
    for op in ops:
        try:
            act.ufunc(op)  # compiles the ufunc and the contiguous loop
        except CompileError as exc:
            problem("compile", str(exc))
            return problems

    for dt in DTYPES:
        p = [float(dt.type(v)) for v in spec.defaults]  # the parameters as the kernel sees them
        x = samples(dt, n, seed)
        x64 = x.astype(np.float64)
        _compare(
            problem, "forward", dt, x, act(x), _call(spec.reference, x64, p), _bounds(spec, dt, "forward")
        )
        _specials(problem, act, spec, dt, p)
        if spec.derivative is None:
            continue
        grad = act.grad(x)
        if spec.reference_derivative is not None:
            ref = _call(spec.reference_derivative, x64, p)
            _compare(problem, "grad", dt, x, grad, ref, _bounds(spec, dt, "grad"))
        g = np.random.default_rng(seed + 1).uniform(-2, 2, x.shape).astype(dt)
        with np.errstate(all="ignore"):
            expected = (g * grad).astype(dt)
        # where f'(x) overflows the dtype but g f'(x) does not, backward is finite: skip those
        keep = ~(np.isinf(grad) & np.isfinite(x))
        _compare(problem, "backward", dt, x[keep], act.backward(x, g)[keep], expected[keep], (1.0, 0.0))

    if spec.derivative is not None:
        _finite_differences(problem, act, spec, seed)
    if cuda:
        _cuda(problem, act, spec, source, seed)
    return problems


def _cuda(problem, act, spec: ActivationSpec, source: str, seed: int) -> None:
    """The CUDA kernels agree with the CPU target (within twice the stated bound + 1 ULP)."""
    try:
        gpu = act.on("cuda")
    except TargetUnavailableError as exc:
        problem("cuda", str(exc))
        return
    for dt in DTYPES:
        with np.errstate(over="ignore"):
            x = np.concatenate([np.random.default_rng(seed).uniform(-8, 8, 32), SPECIAL]).astype(dt)
        g = np.ones_like(x)
        ops = [("forward", gpu, act)]
        if spec.derivative is not None:
            ops += [
                ("grad", gpu.grad, act.grad),
                ("backward", partial(_backward, gpu, g), partial(_backward, act, g)),
            ]
        for op, on_gpu, on_cpu in ops:
            try:
                got = on_gpu(x)
            except CompileError as exc:
                problem("cuda", str(exc))
                return
            ulps, atol = _bounds(spec, dt, op)
            _compare(
                problem, f"cuda {op}", dt, x, got, on_cpu(x).astype(np.float64), (2 * ulps + 1, 2 * atol)
            )


def _bounds(spec: ActivationSpec, dtype: np.dtype, op: str) -> tuple[float, float]:
    return bounds(spec, dtype, op)  # DEFAULT_MAX_ULP where the spec states no bound


def _call(
    fn: Callable, x: np.ndarray, params: list[float], axis: int | None = None, shape=None
) -> np.ndarray:
    """A reference's float64 result (``fn(x, [axis,] *params)``), warnings silenced, shaped."""
    args = (x, *params) if axis is None else (x, axis, *params)
    with np.errstate(all="ignore"):
        return np.broadcast_to(np.asarray(fn(*args), dtype=np.float64), x.shape if shape is None else shape)


def _compare(problem, check, dtype, x, got, ref, bound) -> None:
    ulps, atol = bound
    ok = within(got, ref, dtype, ulps, atol)
    if ok.all():
        return
    errs = ulp_errors(got, ref, dtype)
    worst = int(np.argmax(np.where(ok, -1.0, errs)))
    problem(
        check,
        f"{dtype.name}: {int((~ok).sum())} of {x.size} inputs beyond {ulps:g} ULP"
        + (f" + {atol:.1e} abs" if atol else "")
        + f"; worst x={_num(x.flat[worst])}: kernel {_num(got.flat[worst])}, "
        + f"reference {_num(ref.flat[worst])}",
    )


def _specials(problem, act, spec, dtype, params) -> None:
    with np.errstate(over="ignore"):
        x = SPECIAL.astype(dtype)
    ops = [("forward", act, spec.reference)]
    if spec.derivative is not None:
        ops.append(("grad", act.grad, spec.reference_derivative))
    for op, fn, ref_fn in ops:
        got = fn(x)
        if not np.isnan(got[np.isnan(x)]).all():
            problem("specials", f"{dtype.name} {op}: NaN input does not give NaN")
        if ref_fn is None:
            continue
        errs = ulp_errors(got, _call(ref_fn, x.astype(np.float64), params), dtype)
        bad = x[~np.isfinite(errs)]
        if bad.size:
            ref = _call(ref_fn, bad.astype(np.float64), params)
            problem(
                "specials",
                f"{dtype.name} {op}: kernel and reference disagree on NaN/infinity at x={_num(bad[0])}"
                f" (kernel {_num(fn(bad[:1])[0])}, reference {_num(ref[0])})"
                + (f" and {bad.size - 1} more" if bad.size > 1 else ""),
            )


def _num(value) -> str:
    return repr(float(value))


def _backward(act, g, x):
    return act.backward(x, g)


def fd_points(seed: int = 3, n: int = 400) -> np.ndarray:
    """Where derivatives are checked against finite differences: uniform on [-6, 6]."""
    return np.random.default_rng(seed).uniform(-6.0, 6.0, n)


def _finite_differences(problem, act, spec: ActivationSpec, seed: int) -> None:
    x = fd_points(seed + 3)
    p = list(spec.defaults)
    f = lambda v, q: _call(spec.reference, v, q)
    h = 1e-6 * np.maximum(1.0, np.abs(x))
    up, mid, down = f(x + h, p), f(x, p), f(x - h, p)
    with np.errstate(all="ignore"):
        fd = (up - down) / (2 * h)
        curvature = np.abs(up - 2 * mid + down) / h**2
    usable = np.isfinite(fd) & (curvature < 1e3)  # inside the domain, not within h of a kink
    if usable.mean() < 0.5:
        return  # the reference is mostly undefined or kinked on [-6, 6]: nothing to compare
    _fd_compare(problem, "grad", x[usable], act.grad(x)[usable], fd[usable])
    for i, param in enumerate(spec.params):
        d = spec.param_derivatives.get(param.name)
        if d is None:
            continue
        try:
            djit = jit(d)
            got = np.array([djit(v, *p) for v in x[usable]])
        except Exception as exc:  # numba typing errors: report, keep checking the others
            problem(f"param:{param.name}", f"does not compile with Numba: {compile_summary(exc)}")
            continue
        step = 1e-6 * max(1.0, abs(p[i]))
        hi, lo = list(p), list(p)
        hi[i] += step
        lo[i] -= step
        with np.errstate(all="ignore"):
            fdp = (f(x[usable], hi) - f(x[usable], lo)) / (2 * step)
        fine = np.isfinite(fdp)
        _fd_compare(problem, f"param:{param.name}", x[usable][fine], got[fine], fdp[fine])


def _fd_compare(problem, check, x, got, fd) -> None:
    bad = ~np.isclose(got, fd, rtol=1e-5, atol=1e-6)
    if bad.any():
        i = int(np.argmax(bad))
        problem(
            check,
            f"disagrees with a finite difference of the reference at {int(bad.sum())} of {x.size} "
            f"points in [-6, 6]; e.g. x={_num(x[i])}: derivative {_num(got[i])}, "
            f"finite difference {_num(fd[i])}",
        )


def _check_axis(problem, spec, source: str, seed: int) -> None:
    """Axis-wise specs (already validated): forward within max_ulp of the reference on random
    rows of both dtypes (every axis of a 3-D input), backward equal to the reference's VJP and
    to a directional finite difference of the reference."""
    act = AxisActivation(Entry(spec, source))
    rng = np.random.default_rng(seed)
    for dt in DTYPES:
        p = [float(dt.type(v)) for v in spec.defaults]
        for scale in (1.0, 30.0):
            x = (rng.standard_normal((6, 8, 10)) * scale).astype(dt)
            for axis in range(3):
                try:
                    got = act(x, axis=axis)
                except Exception as exc:
                    problem("forward", f"{dt.name} axis={axis}: {type(exc).__name__}: {exc}")
                    return
                ref = _call(spec.reference, x.astype(np.float64), p, axis=axis, shape=got.shape)
                _compare(
                    problem,
                    f"forward axis={axis}",
                    dt,
                    x,
                    got.ravel(),
                    ref.ravel(),
                    _bounds(spec, dt, "forward"),
                )
    if spec.backward is None or spec.reference_backward is None:
        return
    x = rng.standard_normal((6, 8, 10))
    p = list(spec.defaults)
    for axis in range(3):
        y = act(x, axis=axis)
        g = rng.standard_normal(y.shape)
        got = act.backward(x, g, axis=axis)
        ref = spec.reference_backward(x, g, axis, *p)
        if not np.allclose(got, ref, rtol=1e-9, atol=1e-12):
            problem(
                "backward", f"axis={axis}: differs from reference_backward by {np.abs(got - ref).max():.3g}"
            )
        v = rng.standard_normal(x.shape)
        h = 1e-6
        fd = (spec.reference(x + h * v, axis, *p) - spec.reference(x - h * v, axis, *p)) / (2 * h)
        lhs, rhs = float(np.sum(g * fd)), float(np.sum(got * v))
        if not np.isclose(lhs, rhs, rtol=1e-5, atol=1e-7):
            problem(
                "backward", f"axis={axis}: <g, J v> = {lhs:.9g} by finite differences, {rhs:.9g} by backward"
            )
