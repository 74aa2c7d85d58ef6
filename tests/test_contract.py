"""The NumPy ufunc contract, as a differential property test (issue 13, "The proof").

For every activation and op, both CPU targets, drawn shapes (0-d, empty, 1-d..4-d), dtypes
(float16/32/64, integers, bools, both byte orders), layouts (C, F, negative strides, steps,
broadcast zero strides, read-only, unaligned, bytes-backed), parameters (scalars and
broadcast arrays inside each Param's bounds) and ``out=`` (the same layouts, other float
dtypes, ``out`` aliasing an input, and overlapping one with an offset), the suite asserts:

1. the result is bit for bit (NaN-aware, signed zeros included) what the same call gives on
   fresh C-contiguous native-order copies of every operand, on the ``cpu`` target;
2. dtype and shape follow the rules fastact documents (float16 -> float16, ints/bools ->
   float64, float32 stays float32, operands promote, parameters never change the dtype; with
   ``out=`` the return value is ``out`` and holds the result cast to out's dtype);
3. no byte outside ``out``'s elements changes (sentinel guard bytes before, after and
   between strided elements), and a read-only ``out`` raises ``ValueError``;
4. inputs never change (unless they are, or overlap, ``out``); no RuntimeWarning is emitted.

Axis-wise activations: any axis, keepdims for the reductions, in place (``out=x`` forward,
``out=g`` backward), strided/F-order/shifted ``out``, odd halves of gated units raising
``ShapeMismatchError``. Dask: elementwise bitwise and axis-wise (chunked along the axis for
the softmax family) within a few ULP of the in-memory result, with special rows.

``FASTACT_HYPOTHESIS=thorough`` runs 25x the examples, randomized; CI runs a bounded,
derandomized profile.
"""

from __future__ import annotations

import contextlib
import math
import os
import warnings
from dataclasses import dataclass
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

import fastact as fa
from fastact import activation as act_mod
from fastact import axis as axis_mod

from .contract_strategies import (
    BIG_FLOATS,
    FLOATS,
    INPUT_DTYPES,
    OUT_DTYPES,
    PARAM_CANDIDATES,
    Layout,
    Operand,
    assert_bits_equal,
    assert_close_specials,
    c_layout,
    fresh,
    layouts,
    native,
    place,
    place_beside,
    preset,
    reduced,
    result_dtype,
    shapes,
)

THOROUGH = os.environ.get("FASTACT_HYPOTHESIS", "").strip().lower() == "thorough"
_HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
settings.register_profile(
    "fastact-contract-ci", deadline=None, derandomize=True, database=None, suppress_health_check=_HEALTH
)
settings.register_profile("fastact-contract-thorough", deadline=None, suppress_health_check=_HEALTH)
PROFILE = settings.get_profile("fastact-contract-thorough" if THOROUGH else "fastact-contract-ci")


def examples(n: int):
    return settings(PROFILE, max_examples=n * (25 if THOROUGH else 1))


ELEMENTWISE = [e.spec.name for e in fa.REGISTRY.entries("elementwise") if e.builtin]
AXISWISE = [e.spec.name for e in fa.REGISTRY.entries("axis") if e.builtin]
TARGETS = ("cpu", "parallel")
#: the activations the heavy layout tests run on (parameters: array, bounded, ordered, random)
HEAVY = ("relu", "gelu", "sigmoid", "softplus", "prelu", "rrelu", "hard_tanh", "logit", "threshold")


def ops(name: str) -> list[str]:
    return ["forward"] + (["grad", "backward"] if fa.get(name).spec.derivative is not None else [])


def bound(name: str, target: str):
    return fa.get(name) if target == "cpu" else fa.get(name, target="parallel", threads=2)


@contextlib.contextmanager
def parallel_threshold(size: int | None):
    """Let the parallel target split small arrays (``size`` elements on), so that the
    chunking across threads runs on the suite's small arrays."""
    with contextlib.ExitStack() as stack:
        if size is not None:
            for module in (act_mod, axis_mod):
                if hasattr(module, "PARALLEL_MIN_SIZE"):
                    stack.enter_context(mock.patch.object(module, "PARALLEL_MIN_SIZE", size))
        yield


@contextlib.contextmanager
def no_runtime_warnings(out, result: np.dtype):
    """fastact emits no floating-point warnings (README), except that casting into an out=
    narrower than the result may warn, as NumPy's own ufuncs do."""
    with warnings.catch_warnings():
        if out is None or np.dtype(out.dtype).itemsize >= result.itemsize:
            warnings.simplefilter("error", RuntimeWarning)
        yield


# ---- case descriptors ----------------------------------------------------------------------------


@dataclass(frozen=True)
class OutSpec:
    """``out=``: ``fresh`` (own buffer), ``alias`` (the operand ``target`` itself),
    ``overlap`` (a view of ``target``'s memory, ``layout`` over the same bytes, ``shift``
    items or rows away) or ``readonly`` (must raise ValueError)."""

    mode: str
    dtype: str | None = None
    layout: Layout | None = None
    target: str = "x"
    shift: tuple = ("item", 0)


@dataclass(frozen=True)
class ParamDesc:
    name: str
    form: str  # default (omitted), py, np, 0d, array
    value: float | None = None
    array: Operand | None = None


@dataclass(frozen=True)
class ElementwiseCase:
    x: Operand
    g: Operand | None
    params: tuple
    positional: bool
    out: OutSpec | None
    rng: int | None


@dataclass(frozen=True)
class AxisCase:
    x: Operand
    axis: int
    keepdims: bool
    g: Operand | None
    eps: float | None
    out: OutSpec | None


SHIFTS = (("item", 1), ("item", -1), ("item", 2), ("item", -2), ("row", 1), ("row", -1), ("item", 0))


@st.composite
def overlap_layouts(draw, base: Layout) -> Layout:
    """A layout over the same bytes as ``base``: same steps, maybe other order and signs."""
    nd = len(base.perm)
    perm = tuple(draw(st.permutations(base.perm))) if draw(st.booleans()) else base.perm
    signs = tuple(-s for s in base.signs) if draw(st.booleans()) else base.signs
    return Layout("overlap", perm, base.steps, signs, base.misalign) if nd else base


def param_candidates(spec, i: int) -> list[float]:
    p = spec.params[i]
    cands = sorted({c for c in PARAM_CANDIDATES if p.accepts(c)} | {float(p.default)})
    if spec.check_params is not None and len(spec.params) == 2:  # an ordered pair (min < max)
        half = len(cands) // 2
        cands = cands[:half] if i == 0 else cands[half:]
    return cands


def param_value(d: ParamDesc):
    """The object passed for a parameter (None: omitted)."""
    if d.form == "default":
        return None
    if d.form == "py":
        return float(d.value)
    if d.form == "np":
        return np.float32(d.value)
    if d.form == "0d":
        return np.array(d.value)
    return place(d.array).array


def params_valid(spec, descs) -> bool:
    if spec.check_params is None:
        return True
    arrays = []
    for p, d in zip(spec.params, descs):
        v = param_value(d)
        arrays.append(np.asarray(p.default if v is None else v, dtype=np.float64))
    flat = [a.ravel() for a in np.broadcast_arrays(*arrays)]
    return not any(spec.check_params(*(float(c) for c in combo)) for combo in zip(*flat))


@st.composite
def param_descs(draw, spec, full: tuple) -> tuple:
    descs = []
    for i, p in enumerate(spec.params):
        cands = param_candidates(spec, i)
        form = draw(st.sampled_from(["default", "py", "py", "np", "0d", "array", "array"]))
        if form == "array":
            shape = draw(reduced(full))
            op = Operand(
                shape,
                draw(st.sampled_from(["float64", "float32", ">f8"])),
                draw(layouts(len(shape))),
                draw(st.integers(0, 2**32 - 1)),
                "params",
                tuple(cands),
            )
            descs.append(ParamDesc(p.name, form, array=op))
        elif form == "default":
            descs.append(ParamDesc(p.name, form))
        else:
            descs.append(ParamDesc(p.name, form, value=draw(st.sampled_from(cands))))
    if not params_valid(spec, descs):
        descs = [ParamDesc(p.name, "default") for p in spec.params]
    return tuple(descs)


def shape_of(d: Operand | ParamDesc | None) -> tuple:
    if d is None:
        return ()
    if isinstance(d, ParamDesc):
        return d.array.shape if d.form == "array" else ()
    return d.shape


@st.composite
def out_specs(draw, result_shape: tuple, result: np.dtype, mode: str, target: str, target_op: Operand | None):
    if mode == "none":
        return None
    nd = len(result_shape)
    if mode == "fresh":
        dtype = draw(st.sampled_from([result.str] * 4 + list(OUT_DTYPES)))
        return OutSpec("fresh", dtype, draw(layouts(nd, broadcast=False, readonly=False)))
    if mode == "readonly":
        broadcast = Layout("broadcast", tuple(range(nd)), (1,) * nd, (1,) * nd, broadcast=tuple(range(nd)))
        choices = [preset("readonly", nd)] + ([broadcast] if nd else [])
        return OutSpec("readonly", result.str, draw(st.sampled_from(choices)))
    if mode == "alias":
        return OutSpec("alias", target_op.dtype, target_op.layout, target)
    return OutSpec(
        "overlap",
        target_op.dtype,
        draw(overlap_layouts(target_op.layout)),
        target,
        draw(st.sampled_from(SHIFTS)),
    )


@st.composite
def elementwise_cases(draw, name: str, op: str, full_shapes=None):
    spec = fa.get(name).spec
    full = draw(full_shapes if full_shapes is not None else shapes())
    nd = len(full)
    mode = draw(st.sampled_from(["none", "none", "fresh", "fresh", "fresh", "alias", "overlap", "readonly"]))
    target = "g" if op == "backward" and mode in ("alias", "overlap") and draw(st.booleans()) else "x"

    def operand(role: str) -> Operand:
        if mode in ("alias", "overlap") and role == target:
            dtype = draw(st.sampled_from(FLOATS + FLOATS + BIG_FLOATS))
            layout = draw(layouts(nd, broadcast=False, readonly=mode == "overlap", from_bytes=False))
            shape = full
        else:
            dtype = draw(st.sampled_from(INPUT_DTYPES))
            shape = full if draw(st.integers(0, 3)) else draw(reduced(full))
            layout = draw(layouts(len(shape)))
        kind = "finite" if role == "g" and draw(st.booleans()) else "mixed"
        return Operand(shape, dtype, layout, draw(st.integers(0, 2**32 - 1)), kind)

    x = operand("x")
    g = operand("g") if op == "backward" else None
    params = draw(param_descs(spec, full))
    positional = all(d.form != "default" for d in params) and draw(st.booleans())
    rng = draw(st.sampled_from([None, None, 0, 7, 2**40])) if spec.randomize is not None else None
    shape = np.broadcast_shapes(*(shape_of(d) for d in (x, g, *params)))
    dtypes = [x.dtype] + ([g.dtype] if g is not None else [])
    out = draw(out_specs(shape, result_dtype(*dtypes), mode, target, x if target == "x" else g))
    return ElementwiseCase(x, g, params, positional, out, rng)


# ---- running a case -------------------------------------------------------------------------------


def _shift_bytes(placed, shift) -> int:
    unit, k = shift
    itemsize = placed.geometry[1]
    if unit == "row" and placed.layout.perm:
        inner = placed.layout.perm[-1]
        return k * itemsize * placed.geometry[0][inner] * placed.layout.steps[inner]
    return k * itemsize


def _extra(op: Operand, out: OutSpec | None, role: str) -> int:
    if out is None or out.mode != "overlap" or out.target != role:
        return 0
    itemsize = np.dtype(op.dtype).itemsize
    inner = max((op.shape[op.layout.perm[-1]] * op.layout.steps[op.layout.perm[-1]]) if op.shape else 1, 2)
    return itemsize * inner + 2 * itemsize


class Call:
    """The placed operands, ``out``, the snapshots, and the checks after the call."""

    def __init__(self, operands: dict, out_spec: OutSpec | None, result_shape, result: np.dtype):
        self.out_spec = out_spec
        self.placed = {}
        for role, op in operands.items():
            if op is not None:
                self.placed[role] = place(op, extra=_extra(op, out_spec, role))
        self.out = None
        self.out_placed = None
        if out_spec is not None:
            if out_spec.mode == "alias":
                self.out_placed = self.placed[out_spec.target]
                self.out = self.out_placed.array
            elif out_spec.mode == "overlap":
                base = self.placed[out_spec.target]
                self.out_placed = place_beside(
                    base, out_spec.layout, out_spec.dtype, _shift_bytes(base, out_spec.shift)
                )
                self.out = self.out_placed.array
            else:
                op = Operand(tuple(result_shape), out_spec.dtype, out_spec.layout, 0)
                self.out_placed = place(op, fill=False)
                self.out = self.out_placed.array
        arenas = {id(p.arena): p.arena for p in self.placed.values()}
        if self.out_placed is not None:
            arenas[id(self.out_placed.arena)] = self.out_placed.arena
        self.arenas = arenas
        self.snapshots = {k: a.snapshot() for k, a in arenas.items()}
        self.fresh = {role: fresh(p.array) for role, p in self.placed.items()}
        self.result_shape = tuple(result_shape)
        self.result = result

    def arrays(self):
        return {role: p.array for role, p in self.placed.items()}

    def check_memory(self, raised: bool = False) -> None:
        out_arena = None if self.out_placed is None else self.out_placed.arena
        for key, arena in self.arenas.items():
            changed = arena.raw != self.snapshots[key]
            if arena is out_arena and not raised:
                shape, itemsize, strides, offset = self.out_placed.geometry
                allowed = arena.footprint(shape, itemsize, strides, offset)
                bad = changed & ~allowed
                assert not bad.any(), (
                    f"{int(bad.sum())} byte(s) outside out= changed (first at byte {int(np.argmax(bad))} of "
                    f"{arena.raw.size}; out starts at byte {offset})"
                )
            else:
                roles = [r for r, p in self.placed.items() if p.arena is arena] or ["out"]
                assert not changed.any(), f"input {'/'.join(roles)} was modified ({int(changed.sum())} bytes)"

    def check_result(self, got, expected, what: str) -> None:
        """``got`` (the return value) against ``expected`` (the fresh-copy result)."""
        assert np.shape(expected) == self.result_shape, f"{what}: reference shape {np.shape(expected)}"
        assert np.asarray(expected).dtype == self.result, (
            f"{what}: reference dtype {np.asarray(expected).dtype}, the documented rule gives {self.result}"
        )
        if self.out is None:
            assert isinstance(got, (np.ndarray, np.generic)), f"{what}: returned {type(got).__name__}"
            assert np.shape(got) == self.result_shape, f"{what}: shape {np.shape(got)} != {self.result_shape}"
            assert np.asarray(got).dtype == self.result, (
                f"{what}: dtype {np.asarray(got).dtype} != {self.result}"
            )
            if isinstance(got, np.ndarray):
                for role, a in self.arrays().items():
                    assert not np.shares_memory(got, a), f"{what}: the result shares memory with {role}"
            assert_bits_equal(got, expected, what)
        else:
            assert got is self.out, (
                f"{what}: with out= the return value is not out (got {type(got).__name__})"
            )
            with np.errstate(all="ignore"):
                want = np.asarray(expected).astype(native(self.out.dtype))
            assert_bits_equal(self.out, want, f"{what} (out= {self.out.dtype})")


def run_elementwise(name: str, op: str, target: str, case: ElementwiseCase) -> None:
    act, ref = bound(name, target), fa.get(name)
    dtypes = [case.x.dtype] + ([case.g.dtype] if case.g is not None else [])
    operands = {"x": case.x, "g": case.g}
    arrays_params = {f"p:{d.name}": d.array for d in case.params if d.form == "array"}
    shape = np.broadcast_shapes(*(shape_of(d) for d in (case.x, case.g, *case.params)))
    call = Call({**operands, **arrays_params}, case.out, shape, result_dtype(*dtypes))

    def arguments(arrays: dict):
        args = [arrays["x"]] + ([arrays["g"]] if case.g is not None else [])
        kw = {} if case.rng is None else {"rng": case.rng}
        values = {}
        for d in case.params:
            if d.form == "array":
                values[d.name] = arrays[f"p:{d.name}"]
            elif d.form != "default":
                values[d.name] = param_value(d)
        if case.positional:
            args += [values[d.name] for d in case.params]
        else:
            kw.update(values)
        return args, kw

    fn = act if op == "forward" else getattr(act, op)
    ref_fn = ref if op == "forward" else getattr(ref, op)
    args, kw = arguments(call.fresh)
    expected = ref_fn(*args, **kw)
    args, kw = arguments(call.arrays())
    what = f"{name}.{op} [{target}]"
    if case.out is not None and case.out.mode == "readonly":
        with pytest.raises(ValueError):
            fn(*args, out=call.out, **kw)
        call.check_memory(raised=True)
        return
    with no_runtime_warnings(call.out, call.result):
        got = fn(*args, **kw) if call.out is None else fn(*args, out=call.out, **kw)
    call.check_result(got, expected, what)
    call.check_memory()


# ---- elementwise tests -------------------------------------------------------------------------------


@pytest.mark.parametrize("name,op", [(n, op) for n in ELEMENTWISE for op in ops(n)])
@examples(4)
@given(data=st.data())
def test_every_elementwise_activation_and_op(name, op, data):
    """A cheap sweep: every activation, every op, a few drawn cases each."""
    target = data.draw(st.sampled_from(TARGETS), label="target")
    case = data.draw(elementwise_cases(name, op), label="case")
    with parallel_threshold(1 if target == "parallel" else None):
        run_elementwise(name, op, target, case)


@pytest.mark.parametrize("name", HEAVY)
@examples(100)
@given(data=st.data())
def test_layouts_dtypes_parameters_and_out(name, data):
    """The heavy one: many layouts, dtypes, out= forms, parameters, both targets, on a sample
    of activations (each op compiles once)."""
    op = data.draw(st.sampled_from(ops(name)), label="op")
    target = data.draw(st.sampled_from(TARGETS), label="target")
    case = data.draw(elementwise_cases(name, op), label="case")
    with parallel_threshold(1 if target == "parallel" else None):
        run_elementwise(name, op, target, case)


BIG = (1 << 20) + 37  # at and above the parallel target's real threshold, with a ragged tail


def _big(kind_layout: str, dtype: str = "float32", seed: int = 1) -> Operand:
    return Operand((BIG,), dtype, preset(kind_layout, 1), seed, "finite")


C1 = c_layout(1)
LARGE_CASES = [
    pytest.param("sigmoid", "forward", _big("C"), None, None, id="sigmoid-C"),
    pytest.param("sigmoid", "forward", _big("C"), None, OutSpec("fresh", "float32", C1), id="sigmoid-out-C"),
    pytest.param(
        "sigmoid",
        "forward",
        _big("C"),
        None,
        OutSpec("fresh", "float32", preset("reversed", 1)),
        id="sigmoid-out-reversed",
    ),
    pytest.param(
        "sigmoid",
        "forward",
        _big("C", "float64"),
        None,
        OutSpec("fresh", "float64", preset("step", 1)),
        id="sigmoid-out-step",
    ),
    pytest.param(
        "sigmoid",
        "forward",
        _big("C"),
        None,
        OutSpec("overlap", "float32", C1, "x", ("item", 1)),
        id="sigmoid-out=x[1:]",
    ),
    pytest.param(
        "sigmoid",
        "forward",
        _big("C"),
        None,
        OutSpec("overlap", "float32", C1, "x", ("item", -1)),
        id="sigmoid-out=x[-1:]",
    ),
    pytest.param(
        "gelu",
        "backward",
        _big("C"),
        _big("C", seed=2),
        OutSpec("overlap", "float32", C1, "g", ("item", 1)),
        id="gelu-bwd-out=g[1:]",
    ),
    pytest.param(
        "gelu",
        "backward",
        _big("C"),
        _big("C", seed=2),
        OutSpec("alias", "float32", C1, "g"),
        id="gelu-bwd-out=g",
    ),
    pytest.param(
        "relu",
        "forward",
        _big("readonly", "float64"),
        None,
        OutSpec("fresh", "float64", preset("unaligned", 1)),
        id="relu-readonly-out-unaligned",
    ),
    pytest.param("relu", "grad", _big("unaligned", ">f8"), None, None, id="relu-grad-unaligned-bigendian"),
]


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name,op,x,g,out", LARGE_CASES)
def test_arrays_the_parallel_target_really_splits(name, op, x, g, out, target):
    """Arrays above the real PARALLEL_MIN_SIZE (no patching): chunks across threads, with
    out= reversed, strided, unaligned and overlapping its input in both directions."""
    run_elementwise(name, op, target, ElementwiseCase(x, g, (), False, out, None))


@pytest.mark.parametrize("name", ["relu", "sigmoid", "softplus"])
@examples(10)
@given(data=st.data())
def test_masked_arrays_keep_their_mask_or_raise(name, data):
    """Masked arrays: what np.exp does (a MaskedArray with the same mask, the data computed
    where unmasked) or a clear DTypeError, never a plain array without the mask."""
    shape = data.draw(shapes(1, 3, sides=(1, 2, 3, 4)), label="shape")
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    dtype = data.draw(st.sampled_from(["float32", "float64"]), label="dtype")
    x = np.ma.MaskedArray(
        np.random.default_rng(seed).standard_normal(shape).astype(dtype),
        mask=np.random.default_rng(seed + 1).random(shape) < 0.5,
    )
    act = fa.get(name)
    try:
        y = act(x)
    except fa.DTypeError:
        return
    assert isinstance(y, np.ma.MaskedArray), f"{name} dropped the mask: returned {type(y).__name__}"
    np.testing.assert_array_equal(np.ma.getmaskarray(y), np.ma.getmaskarray(x))
    keep = ~np.ma.getmaskarray(x)
    assert_bits_equal(np.asarray(y.data)[keep], act(np.asarray(x.data))[keep], f"{name} masked")


PARAM_GRAD = [n for n in ELEMENTWISE if fa.get(n).spec.param_derivatives]


@pytest.mark.parametrize("name", PARAM_GRAD)
@examples(20)
@given(data=st.data())
def test_param_grad_layouts_and_broadcast_parameters(name, data):
    """param_grad on drawn layouts/dtypes/broadcast parameters equals the fresh-copy result
    (a sum, so within rounding of the summation order, not bitwise), has one entry per
    parameter with a derivative, each of that parameter's shape; inputs are left alone."""
    spec = fa.get(name).spec
    full = data.draw(shapes(0, 4, sides=(0, 1, 2, 3, 5)), label="shape")
    dtypes = ("float32", "float64", ">f4", ">f8", "int32")

    def operand(shape):
        layout = data.draw(layouts(len(shape)))
        return Operand(
            shape, data.draw(st.sampled_from(dtypes)), layout, data.draw(st.integers(0, 2**32 - 1)), "normal"
        )

    x = operand(full if data.draw(st.booleans()) else data.draw(reduced(full)))
    g = operand(full)
    descs = data.draw(param_descs(spec, full), label="params")
    arrays = {f"p:{d.name}": d.array for d in descs if d.form == "array"}
    shape = np.broadcast_shapes(*(shape_of(d) for d in (x, g, *descs)))
    call = Call({"x": x, "g": g, **arrays}, None, shape, result_dtype(x.dtype, g.dtype))

    def arguments(a):
        kw = {}
        for d in descs:
            if d.form == "array":
                kw[d.name] = a[f"p:{d.name}"]
            elif d.form != "default":
                kw[d.name] = param_value(d)
        return (a["x"], a["g"]), kw

    args, kw = arguments(call.fresh)
    expected = fa.get(name).param_grad(*args, **kw)
    args, kw = arguments(call.arrays())
    with no_runtime_warnings(None, call.result):
        got = fa.get(name).param_grad(*args, **kw)
    call.check_memory()
    assert set(got) == set(expected) == set(spec.param_derivatives)
    for d in descs:
        if d.name not in got:
            continue
        want_shape = shape_of(d)
        a, e = np.asarray(got[d.name]), np.asarray(expected[d.name])
        assert a.shape == e.shape == want_shape, (d.name, a.shape, e.shape, want_shape)
        assert a.dtype == e.dtype, (d.name, a.dtype, e.dtype)
        tol = 1e-5 if a.dtype == np.float32 else 1e-12
        scale = float(math.prod(shape) or 1)
        np.testing.assert_allclose(a, e, rtol=tol, atol=tol * scale, err_msg=f"{name}.param_grad {d.name}")


# ---- axis-wise ---------------------------------------------------------------------------------------


def axis_result_shape(spec, shape: tuple, ax: int, keepdims: bool) -> tuple:
    s = list(shape)
    if spec.output == "reduce":
        if keepdims:
            s[ax] = 1
        else:
            del s[ax]
    elif spec.output == "half":
        s[ax] //= 2
    return tuple(s)


@st.composite
def axis_cases(draw, name: str, backward: bool):
    spec = fa.get(name).spec
    nd = draw(st.integers(1, 4))
    sides = list(
        draw(st.tuples(*[st.sampled_from([1, 2, 3, 4, 5, 0] if i else [1, 2, 3, 4, 6]) for i in range(nd)]))
    )
    axis = draw(st.integers(-nd, nd - 1))
    ax = axis % nd
    if spec.output == "half":
        sides[ax] = draw(st.sampled_from([2, 4, 6, 8, 0, 2, 4, 1, 3, 5]))
    else:
        sides[ax] = draw(st.sampled_from([1, 2, 3, 5, 8, 13, 0]))
    shape = tuple(sides)
    keepdims = spec.output == "reduce" and draw(st.booleans())
    fwd_shape = axis_result_shape(spec, shape, ax, keepdims)
    g_shape = axis_result_shape(spec, shape, ax, draw(st.booleans())) if backward else None
    out_shape = shape if backward else fwd_shape
    mode = draw(
        st.sampled_from(["none", "none", "fresh", "fresh", "fresh", "alias", "alias", "overlap", "readonly"])
    )
    targets = (["x"] if out_shape == shape else []) + (["g"] if backward and g_shape == shape else [])
    if mode in ("alias", "overlap") and not targets:
        mode = "fresh"
    target = draw(st.sampled_from(targets)) if mode in ("alias", "overlap") else "x"

    def operand(role: str, shape: tuple) -> Operand:
        if mode in ("alias", "overlap") and role == target:
            dtype = draw(st.sampled_from(FLOATS + FLOATS + BIG_FLOATS))
            layout = draw(layouts(nd, broadcast=False, readonly=mode == "overlap", from_bytes=False))
        else:
            dtype = draw(st.sampled_from(INPUT_DTYPES if role == "x" else FLOATS + FLOATS + (">f8",)))
            layout = draw(layouts(len(shape)))
        kinds = (
            [f"rows:{ax}", f"rows:{ax}", "mixed", "finite"] if role == "x" else ["finite", "finite", "mixed"]
        )
        return Operand(shape, dtype, layout, draw(st.integers(0, 2**32 - 1)), draw(st.sampled_from(kinds)))

    x = operand("x", shape)
    g = operand("g", g_shape) if backward else None
    eps = draw(st.sampled_from([None, 0.0, 1e-5, 0.25, 1.0])) if spec.params else None
    dtypes = [x.dtype] + ([g.dtype] if g is not None else [])
    out = draw(out_specs(out_shape, result_dtype(*dtypes), mode, target, x if target == "x" else g))
    return AxisCase(x, axis, keepdims, g, eps, out)


def run_axis(name: str, backward: bool, target: str, case: AxisCase) -> None:
    act, ref = bound(name, target), fa.get(name)
    spec = act.spec
    ax = case.axis % len(case.x.shape)
    odd = spec.output == "half" and case.x.shape[ax] % 2
    shape = case.x.shape if backward else axis_result_shape(spec, case.x.shape, ax, case.keepdims)
    dtypes = [case.x.dtype] + ([case.g.dtype] if backward else [])
    call = Call({"x": case.x, "g": case.g}, case.out, shape, result_dtype(*dtypes))
    kw = {"axis": case.axis}
    if not backward:
        kw["keepdims"] = case.keepdims
    if case.eps is not None:
        kw["eps"] = case.eps

    def invoke(fn, arrays, **extra):
        if backward:
            return fn.backward(arrays["x"], arrays["g"], **kw, **extra)
        return fn(arrays["x"], **kw, **extra)

    what = f"{name}{'.backward' if backward else ''}(axis={case.axis}) [{target}]"
    if odd or (case.out is not None and case.out.mode == "readonly"):
        error = fa.ShapeMismatchError if odd else ValueError
        with pytest.raises(error):
            invoke(act, call.arrays(), **({} if call.out is None else {"out": call.out}))
        call.check_memory(raised=True)
        return
    expected = invoke(ref, call.fresh)
    with no_runtime_warnings(call.out, call.result):
        got = invoke(act, call.arrays(), **({} if call.out is None else {"out": call.out}))
    call.check_result(got, expected, what)
    call.check_memory()


@pytest.mark.parametrize("name", AXISWISE)
@examples(60)
@given(data=st.data())
def test_axiswise_contract(name, data):
    backward = fa.get(name).spec.backward is not None and data.draw(st.booleans(), label="backward")
    target = data.draw(st.sampled_from(TARGETS), label="target")
    case = data.draw(axis_cases(name, backward), label="case")
    note(f"x content:\n{place(case.x).content!r}")
    with parallel_threshold(1 if target == "parallel" else None):
        run_axis(name, backward, target, case)


C2 = c_layout(2)
AXIS_LARGE = [
    pytest.param("softmax", False, OutSpec("alias", "float32", C2, "x"), id="softmax-out=x"),
    pytest.param("log_softmax", False, OutSpec("alias", "float32", C2, "x"), id="log_softmax-out=x"),
    pytest.param("log_softmax", False, OutSpec("fresh", "float32", preset("F", 2)), id="log_softmax-out-F"),
    pytest.param("softmax", True, OutSpec("alias", "float32", C2, "g"), id="softmax-bwd-out=g"),
    pytest.param(
        "softmin", True, OutSpec("overlap", "float32", C2, "g", ("row", 1)), id="softmin-bwd-out=g-next-row"
    ),
    pytest.param(
        "standardize",
        False,
        OutSpec("overlap", "float32", C2, "x", ("row", -1)),
        id="standardize-out=x-prev-row",
    ),
    pytest.param(
        "logsumexp", False, OutSpec("fresh", "float32", preset("reversed", 1)), id="logsumexp-out-reversed"
    ),
]


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name,backward,out", AXIS_LARGE)
def test_axiswise_rows_the_parallel_target_really_splits(name, backward, out, target):
    shape = (64, 4099)  # >= the real axis-wise threshold (2^18 elements)
    x = Operand(shape, "float32", c_layout(2), 3, "rows:1")
    g = (
        Operand(
            shape if fa.get(name).spec.output == "same" else shape[:1],
            "float32",
            c_layout(2 if fa.get(name).spec.output == "same" else 1),
            4,
            "finite",
        )
        if backward
        else None
    )
    run_axis(name, backward, target, AxisCase(x, -1, False, g, None, out))


# ---- Dask -----------------------------------------------------------------------------------------

try:
    import dask.array as da
except ImportError:  # pragma: no cover - dask is in the test extra
    da = None
needs_dask = pytest.mark.skipif(da is None, reason="dask is not installed")

DASK_ELEMENTWISE = ("relu", "gelu", "prelu", "softplus", "hard_tanh", "rrelu", "logit")
TOL = {"float16": (4e-3, 4e-3), "float32": (1e-6, 4 * 2.0**-23), "float64": (1e-13, 4 * 2.0**-52)}


@st.composite
def chunkings(draw, shape: tuple, single: int | None = None):
    out = []
    for i in range(len(shape)):
        if i == single:
            out.append(-1)
        else:
            out.append(draw(st.sampled_from([1, 2, 3, -1])))
    return tuple(out)


@needs_dask
@pytest.mark.parametrize("name", DASK_ELEMENTWISE)
@examples(10)
@given(data=st.data())
def test_dask_elementwise_equals_in_memory_bitwise(name, data):
    spec = fa.get(name).spec
    act = fa.get(name)
    op = data.draw(st.sampled_from(ops(name)), label="op")
    shape = data.draw(shapes(1, 3, sides=(1, 2, 3, 5, 7)), label="shape")
    dtype = data.draw(st.sampled_from(FLOATS + ("int32", ">f8")), label="dtype")
    x = np.asarray(
        place(Operand(shape, dtype, c_layout(len(shape)), data.draw(st.integers(0, 2**32 - 1)))).array
    )
    dx = da.from_array(x, chunks=data.draw(chunkings(shape), label="chunks"))
    args, dargs = [x], [dx]
    if op == "backward":
        gd = data.draw(st.sampled_from(FLOATS), label="g dtype")
        g = np.asarray(
            place(Operand(shape, gd, c_layout(len(shape)), data.draw(st.integers(0, 2**32 - 1)))).array
        )
        args.append(g)
        dargs.append(da.from_array(g, chunks=data.draw(chunkings(shape), label="g chunks")))
    descs = data.draw(param_descs(spec, shape), label="params")
    kw = {d.name: param_value(d) for d in descs if d.form != "default"}
    fn = act if op == "forward" else getattr(act, op)
    eager = fn(*args, **kw)
    lazy = fn(*dargs, **kw)
    assert isinstance(lazy, da.Array)
    assert lazy.dtype == np.asarray(eager).dtype == result_dtype(*(a.dtype for a in args))
    assert_bits_equal(lazy.compute(), eager, f"dask {name}.{op}")


TWO_PASS = ("softmax", "log_softmax", "softmin", "logsumexp", "logmeanexp")


@needs_dask
@pytest.mark.parametrize("name", AXISWISE)
@examples(12)
@given(data=st.data())
def test_dask_axiswise_equals_in_memory(name, data):
    """Axis one chunk: bitwise (the same row kernel per block). Axis chunked: the softmax
    family within a few ULP, NaN and infinities exactly (rows with +inf, -inf, NaN, all -inf);
    the others raise ShapeMismatchError asking for a rechunk."""
    spec = fa.get(name).spec
    act = fa.get(name)
    backward = spec.backward is not None and data.draw(st.booleans(), label="backward")
    nd = data.draw(st.integers(1, 3), label="ndim")
    axis = data.draw(st.integers(-nd, nd - 1), label="axis")
    ax = axis % nd
    sides = list(data.draw(st.tuples(*[st.sampled_from([1, 2, 3, 5])] * nd), label="sides"))
    sides[ax] = data.draw(
        st.sampled_from([2, 4, 6, 8] if spec.output == "half" else [1, 3, 4, 7, 10]), label="n"
    )
    shape = tuple(sides)
    chunked = data.draw(st.booleans(), label="chunk the axis") and shape[ax] > 1
    chunks = list(data.draw(chunkings(shape, single=ax), label="chunks"))
    if chunked:
        chunks[ax] = data.draw(st.sampled_from([c for c in (1, 2, 3) if c < shape[ax]]), label="axis chunk")
    dtype = data.draw(st.sampled_from(FLOATS + FLOATS + ("int32",)), label="dtype")
    x = values_rows(data.draw(st.integers(0, 2**32 - 1), label="seed"), shape, ax, dtype)
    dx = da.from_array(x, chunks=tuple(chunks))
    keepdims = spec.output == "reduce" and data.draw(st.booleans(), label="keepdims")
    if backward:
        g_shape = shape if spec.output != "half" else axis_result_shape(spec, shape, ax, False)
        if spec.output == "reduce":
            g_shape = axis_result_shape(spec, shape, ax, keepdims)
        g = place(Operand(g_shape, dtype if dtype != "int32" else "float64", c_layout(len(g_shape)),
                          data.draw(st.integers(0, 2**32 - 1)), "finite")).array  # fmt: skip
        g = np.asarray(g)
        dg = da.from_array(g)

    def call(a, b=None):
        if backward:
            return act.backward(a, b, axis=axis)
        return act(a, axis=axis, keepdims=keepdims)

    if chunked and name not in TWO_PASS:
        with pytest.raises(fa.ShapeMismatchError):
            call(dx, dg if backward else None)
        return
    eager = call(x, g if backward else None)
    lazy = call(dx, dg if backward else None)
    assert isinstance(lazy, da.Array)
    assert lazy.dtype == np.asarray(eager).dtype
    got = lazy.compute()
    what = f"dask {name}{'.backward' if backward else ''}(axis={axis}, chunks={tuple(chunks)})"
    note(f"x:\n{x!r}")
    if not chunked:
        assert_bits_equal(got, eager, what)
        return
    rtol, atol = TOL[np.asarray(eager).dtype.name]
    if backward:
        atol *= 1 + float(np.max(np.abs(g), initial=0))
    assert_close_specials(got, eager, rtol, atol, what)


def values_rows(seed: int, shape: tuple, ax: int, dtype: str) -> np.ndarray:
    return np.asarray(place(Operand(shape, dtype, c_layout(len(shape)), seed, f"rows:{ax}")).array)


def test_suite_covers_every_builtin():
    assert set(HEAVY) <= set(ELEMENTWISE) and len(ELEMENTWISE) >= 36 and len(AXISWISE) >= 11
