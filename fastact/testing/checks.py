"""The checks every activation must pass, as a library: what ``fastact check-plugin`` runs.

:func:`check_spec` takes one :class:`ActivationSpec` and returns the problems found, one
:class:`Problem` (one line) each; an empty list means the spec is sound. Every check below
runs at each parameter set of :func:`~fastact.testing.paramsets.param_sets` (the defaults,
then 3 seeded sets drawn across each parameter's declared bounds: a bug that vanishes at
``alpha = 1`` cannot hide), and each check reports once, at its first failing parameter set
and dtype, with the count of other failing cases:

- ``spec``: the record is valid (:meth:`ActivationSpec.validate`);
- ``compile``: forward, grad and backward kernels compile for the CPU, float32 and float64;
- ``forward``: the kernel matches the NumPy reference within the stated ``max_ulp`` (or
  :data:`DEFAULT_MAX_ULP` when none is stated) on sampled inputs over the dtype's whole range
  and the special inputs, float32 and float64;
- ``signed zero``: where the reference gives an exact zero, the forward kernel gives the same
  signed zero (derivatives' zero signs are not checked);
- ``specials``: NaN propagates and the kernel and reference agree on which special inputs
  (±0, ±inf, NaN, extremes, subnormals) give NaN or infinity;
- ``grad``/``backward``: the derivative matches ``reference_derivative`` (when given) within
  twice the bound, and Richardson-extrapolated central differences of the forward reference
  (relative step 1e-6; tolerance 1e-5 relative plus 1e-6 absolute, 1.6e-5 in float32, plus
  the reference's rounding noise, or the spec's own grad bound) on :func:`fd_points` (|x|
  from 1e-4 to 1e3 log-spaced, a few to 1e4, and [-6, 6]) in float32 and float64, wherever
  the two step sizes agree (not at kinks, inside the domain);
  backward is ``g * grad``;
- ``param:NAME``: each parameter derivative matches the same finite difference in that
  parameter (float64, as ``param_grad`` computes it); a ``learnable`` parameter has one.

The builtins pass them at their defaults; at drawn parameter sets a few exceed their stated
float32 bound (see the README's Plugins section): those are findings about the builtins.
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
from .paramsets import describe, param_sets

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
    spec: ActivationSpec,
    *,
    source: str = "runtime",
    n: int = 20_000,
    seed: int = 0,
    cuda: bool = False,
    extra_params: int = 3,
) -> list[Problem]:
    """Run every check on ``spec`` (see the module docstring); ``[]`` when all pass.

    ``source`` names where the spec came from (a distribution) in messages and kernel labels.
    Every check runs at each parameter set of :func:`~fastact.testing.paramsets.param_sets`
    (the defaults, then ``extra_params`` seeded sets drawn across the declared bounds), and
    each check gives at most one problem: the first failing case (its parameter set and dtype
    in the message) and how many other cases failed the same check.
    ``cuda`` also runs the CUDA kernels (on the GPU, or in the simulator when
    ``NUMBA_ENABLE_CUDASIM=1``) on a small sample and compares them with the CPU target.
    """
    label = f"{source}:{getattr(spec, 'name', '?')}"
    problems: list[Problem] = []
    by_check: dict[str, tuple[int, list[str]]] = {}

    def problem(check: str, message: str, where: str | None = None) -> None:
        """Record a failed check; a check that already failed elsewhere only counts."""
        if check in by_check:
            by_check[check][1].append(where or "")
            return
        by_check[check] = (len(problems), [])
        problems.append(Problem(label, check, f"at {where}: {message}" if where else message))

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

    param_d = _param_derivative_kernels(problem, spec)
    for values in param_sets(spec, extra=extra_params, seed=seed):
        at = partial(_at, problem, describe(spec, values) if spec.params else None)
        for dt in DTYPES:
            _check_at(at, act, spec, dt, values, n, seed)
        if spec.derivative is not None:
            _finite_differences(at, act, spec, values, param_d, seed)
    for index, others in by_check.values():
        if others:
            old = problems[index]
            where = sorted({o for o in others if o} - {old.message.partition(":")[0][3:]})
            more = f" (and {len(others)} more failing case(s)" + (f", e.g. at {where[0]})" if where else ")")
            problems[index] = Problem(old.activation, old.check, old.message + more)
    if cuda:
        _cuda(problem, act, spec, source, seed)
    return problems


def _at(problem, where: str, check: str, message: str) -> None:
    problem(check, message, where)


def _check_at(problem, act, spec: ActivationSpec, dt: np.dtype, values, n: int, seed: int) -> None:
    """forward, specials, signed zeros, grad against ``reference_derivative`` and backward, in
    one dtype at one parameter set (``problem(check, message)`` already knows the set)."""
    p = [float(dt.type(v)) for v in values]  # the parameters as the kernel sees them
    x = samples(dt, n, seed)
    x64 = x.astype(np.float64)
    got = act(x, *p)
    ref = _call(spec.reference, x64, p)
    _compare(problem, "forward", dt, x, got, ref, _bounds(spec, dt, "forward"))
    _zero_signs(problem, dt, x, got, ref)
    _specials(problem, act, spec, dt, p)
    if spec.derivative is None:
        return
    grad = act.grad(x, *p)
    if spec.reference_derivative is not None:
        ref = _call(spec.reference_derivative, x64, p)
        _compare(problem, "grad", dt, x, grad, ref, _bounds(spec, dt, "grad"))
    g = np.random.default_rng(seed + 1).uniform(-2, 2, x.shape).astype(dt)
    with np.errstate(all="ignore"):
        expected = (g * grad).astype(dt)
    # where f'(x) overflows the dtype but g f'(x) does not, backward is finite: skip those
    keep = ~(np.isinf(grad) & np.isfinite(x))
    _compare(problem, "backward", dt, x[keep], act.backward(x, g, *p)[keep], expected[keep], (1.0, 0.0))


def _zero_signs(problem, dtype, x, got, ref) -> None:
    """Where the reference gives an exact zero, the forward kernel gives the same signed zero
    (``-0.0`` is how a negative result that underflowed says so, e.g. ``x sigmoid(x)`` at
    ``-inf``). Strict, but only at exact zeros of the float64 reference: a tiny reference that
    merely rounds to zero in the dtype is the ULP check's business. The derivatives' zero
    signs are not checked: references often get those wrong themselves."""
    ref = np.asarray(ref, np.float64)
    bad = (ref == 0) & (got == 0) & (np.signbit(got) != np.signbit(ref))
    if bad.any():
        i = int(np.argmax(bad))
        problem(
            "signed zero",
            f"{dtype.name} forward: the sign of zero differs from the reference at {int(bad.sum())} "
            f"input(s); e.g. x={_num(x.flat[i])}: kernel {_num(got.flat[i])}, reference "
            f"{_num(ref.flat[i])}",
        )


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
    """NaN propagates, and the kernel and the reference agree on which special inputs give NaN
    or an infinity; a finite disagreement there is the ``forward``/``grad`` check's to report,
    with its bound, and is named as such if it shows here (a difference that overflows)."""
    with np.errstate(over="ignore"):
        x = SPECIAL.astype(dtype)
    ops = [("forward", act, spec.reference)]
    if spec.derivative is not None:
        ops.append(("grad", act.grad, spec.reference_derivative))
    for op, fn, ref_fn in ops:
        got = fn(x, *params)
        if not np.isnan(got[np.isnan(x)]).all():
            problem("specials", f"{dtype.name} {op}: NaN input does not give NaN")
        if ref_fn is None:
            continue
        ref = _call(ref_fn, x.astype(np.float64), params)
        errs = ulp_errors(got, ref, dtype)
        bad = np.flatnonzero(~np.isfinite(errs))
        if bad.size:
            i = bad[0]
            with np.errstate(over="ignore"):
                rounded = ref.astype(dtype)
            finite = np.isfinite(got[i]) and np.isfinite(rounded[i])
            what = "disagree (finite values, far apart)" if finite else "disagree on NaN/infinity"
            problem(
                "specials",
                f"{dtype.name} {op}: kernel and reference {what} at x={_num(x[i])}"
                f" (kernel {_num(got[i])}, reference {_num(ref[i])})"
                + (f" and {bad.size - 1} more" if bad.size > 1 else ""),
            )


def _num(value) -> str:
    return repr(float(value))


def _backward(act, g, x):
    return act.backward(x, g)


def fd_points(seed: int = 3, n: int = 400) -> np.ndarray:
    """Where derivatives are checked against finite differences of the forward reference: a
    quarter uniform on [-6, 6], the rest log-spaced magnitudes of both signs from 1e-4 to 1e3
    (the tails where a wrong branch for ``x > 8`` hides), plus a few out to ±1e4. Not
    further: there the relative step (1e-6 |x| >= 1e-2) is no longer small against an
    oscillation such as snake's sin(a x), and three steps can agree by chance."""
    rng = np.random.default_rng(seed)
    k = n // 4
    mags = np.concatenate([10.0 ** rng.uniform(-4, 3, n - 2 * k), 10.0 ** rng.uniform(3, 4, k // 4)])
    signs = rng.choice([-1.0, 1.0], mags.size)
    return np.concatenate([rng.uniform(-6.0, 6.0, k), signs * mags, [8.5, -8.5, 12.0, -12.0]])


def _param_derivative_kernels(problem, spec: ActivationSpec) -> dict[str, Callable]:
    """Each parameter derivative, jitted once (a typing error is a ``param:NAME`` problem)."""
    out = {}
    for p in spec.params:
        if p.learnable and p.name not in spec.param_derivatives:
            why = "declared learnable=True but has no param_derivatives entry: it cannot be trained"
            problem(f"param:{p.name}", why)
    for name, d in spec.param_derivatives.items():
        try:
            djit = jit(d)
            djit(0.5, *spec.defaults)  # compiles now: the error belongs to this check
        except Exception as exc:  # numba typing errors: report, keep checking the others
            problem(f"param:{name}", f"does not compile with Numba: {compile_summary(exc)}")
            continue
        out[name] = djit
    return out


#: finite differences: relative step, and the relative tolerance of the comparison
FD_STEP, FD_RTOL = 1e-6, 1e-5


def _richardson(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, h: np.ndarray):
    """``(derivative, usable, noise)``: Richardson's extrapolation of central differences with
    steps h and h/2 (error O(h^4)), usable where those and a third with h/4 agree (not within
    h of a kink or the edge of the domain, no overflow, h small against the function's scale);
    the agreement is judged against the rounding noise of f."""
    with np.errstate(all="ignore"):
        up, down = f(x + h), f(x - h)
        up2, down2 = f(x + h / 2), f(x - h / 2)
        d1 = (up - down) / (2 * h)
        d2 = (up2 - down2) / h
        d4 = (f(x + h / 4) - f(x - h / 4)) / (h / 2)
        fd = (4 * d2 - d1) / 3
        noise = 64 * np.finfo(np.float64).eps * (np.abs(up) + np.abs(down)) / h
        close = FD_RTOL * np.abs(fd) / 4 + 2 * noise
        # three steps agreeing: two can agree by chance where h is no small step (a fast
        # oscillation like sin(24 x) at |x| = 6e7, where h = 65)
        usable = np.isfinite(fd) & (np.abs(d1 - d2) <= close) & (np.abs(d2 - d4) <= close)
    return fd, usable, noise


def _finite_differences(problem, act, spec: ActivationSpec, values, param_d, seed: int) -> None:
    """The derivative (float32 and float64 kernels) and each parameter derivative (float64, as
    ``param_grad`` computes them) against finite differences of the forward reference."""
    for dt in DTYPES:
        # the points and parameters the dtype can hold: the reference sees what the kernel sees
        x = fd_points(seed + 3).astype(dt).astype(np.float64)
        q = [float(dt.type(v)) for v in values]
        h = FD_STEP * np.maximum(1.0, np.abs(x))
        fd, usable, noise = _richardson(partial(_call, spec.reference, params=q), x, h)
        if not usable.any():
            continue
        xs = x[usable]
        got = act.grad(xs.astype(dt), *q).astype(np.float64)
        ulps, atol = _bounds(spec, dt, "grad")
        ok = within(got, fd[usable], dt, ulps, atol)
        _fd_compare(problem, "grad", dt, xs, got, fd[usable], noise[usable], ok)
    x = fd_points(seed + 3)
    p = list(values)
    for i, param in enumerate(spec.params):
        d = param_d.get(param.name)
        if d is None:
            continue
        in_param = partial(_in_param, spec.reference, x, p, i)
        fdp, usable, noise = _richardson(in_param, p[i], FD_STEP * max(1.0, abs(p[i])))
        if not usable.any():
            continue
        got = np.array([d(v, *p) for v in x[usable]])
        _fd_compare(problem, f"param:{param.name}", np.dtype(np.float64), x[usable], got, fdp[usable],
                    noise[usable], None)  # fmt: skip


def _in_param(reference: Callable, x: np.ndarray, p: list[float], i: int, value: float) -> np.ndarray:
    """The reference at every ``x`` with parameter ``i`` set to ``value``."""
    q = list(p)
    q[i] = value
    return _call(reference, x, q)


def _fd_compare(problem, check, dtype, x, got, fd, noise, ok) -> None:
    """``got`` within FD_RTOL of the finite difference plus its rounding noise and 1e-6 absolute
    (or, where ``ok`` is given, within the spec's own stated bound for that dtype)."""
    with np.errstate(invalid="ignore"):
        bad = ~(np.abs(got - fd) <= FD_RTOL * np.abs(fd) + noise + 1e-6 * (1 + 15 * (dtype == np.float32)))
    if ok is not None:
        bad &= ~ok
    if bad.any():
        i = int(np.argmax(bad))
        span = f"[{x.min():.3g}, {x.max():.3g}]"
        problem(
            check,
            f"{dtype.name}: disagrees with a finite difference of the reference at {int(bad.sum())} of "
            f"{x.size} points in {span}; e.g. x={_num(x[i])}: derivative {_num(got[i])}, "
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
