"""Building blocks of the ufunc-contract suite (tests/test_contract.py, issue 13).

Cases are small *descriptors* (shapes, dtypes, layouts, seeds) that hypothesis draws and
prints; the arrays are built from them with NumPy at run time, so generation stays fast and a
falsifying example is reproducible from its printed form.

Memory: every array lives in its own ``Arena`` (a uint8 buffer filled with a sentinel byte),
viewed through explicit strides, so a test can check afterwards that no byte outside the
``out=`` elements changed (the guard bytes before, after and between strided elements) and
that no input changed at all. Overlapping ``out=`` views share the arena of their input.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from hypothesis import strategies as st

SENTINEL = 0xA5  # guard byte: 0xA5A5... is a finite float of every width, unlikely as a result
GUARD = 16  # bytes of sentinel before and after every array

FLOATS = ("float16", "float32", "float64")
BIG_FLOATS = (">f2", ">f4", ">f8")
INTS = ("int8", "int32", "int64", "uint8", "uint16", ">i4")
INPUT_DTYPES = FLOATS + FLOATS + BIG_FLOATS + INTS + ("bool",)
OUT_DTYPES = FLOATS + (">f4", ">f8")

#: parameter values the suite draws from (each filtered by the Param's declared bounds)
PARAM_CANDIDATES = (-3.0, -1.0, -0.5, -0.125, 0.0, 0.01, 0.125, 0.25, 1 / 3, 0.5, 1.0, 1.5, 2.0, 4.0, 20.0)


def native(dt) -> np.dtype:
    dt = np.dtype(dt)
    return dt.newbyteorder("=") if dt.byteorder not in ("=", "|") else dt


def float_type(dt) -> np.dtype:
    """The float type an operand of dtype ``dt`` computes in, as fastact documents it:
    float16/32/64 as they are, integers and bools as float64."""
    dt = native(dt)
    return dt if dt.kind == "f" else np.dtype(np.float64)


def result_dtype(*dtypes) -> np.dtype:
    return np.result_type(*(float_type(d) for d in dtypes))


# ---- values ------------------------------------------------------------------------------------


def _float_values(rng: np.random.Generator, n: int, dt: np.dtype, finite: bool = False) -> np.ndarray:
    fi = np.finfo(dt)
    sign = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    normal = rng.standard_normal(n) * rng.choice([1.0, 4.0, 30.0], size=n)
    large = sign * 10.0 ** rng.uniform(0, math.log10(float(fi.max)), n)
    small = sign * 10.0 ** rng.uniform(math.log10(float(fi.tiny)), 0, n)
    sub = sign * float(fi.smallest_subnormal) * rng.integers(1, 2 ** int(fi.nmant), n).astype(np.float64)
    unit = rng.random(n)  # (0, 1): logit's domain
    specials = np.array(
        [0.0, -0.0, 1.0, -1.0, float(fi.max), -float(fi.max), float(fi.tiny), -float(fi.tiny)]
        + ([] if finite else [np.inf, -np.inf, np.nan, np.inf, -np.inf, np.nan])
    )
    special = rng.choice(specials, size=n)
    kinds = rng.choice(6, size=n, p=[0.42, 0.1, 0.1, 0.08, 0.1, 0.2])
    out = np.choose(kinds, [normal, large, small, sub, unit, special])
    with np.errstate(all="ignore"):
        return out.astype(dt)


def values(seed: int, shape: tuple, dtype, kind: str = "mixed") -> np.ndarray:
    """Deterministic content of ``shape``/``dtype`` (native order) from ``seed``.

    ``mixed``: normal values, large and tiny magnitudes, subnormals, +-0, +-inf, NaN;
    ``finite``: the same without inf/NaN; ``normal``: N(0, 3^2) only.
    """
    rng = np.random.default_rng(seed)
    dt = native(dtype)
    n = math.prod(shape)
    if dt.kind == "b":
        flat = rng.random(n) < 0.5
    elif dt.kind in "iu":
        info = np.iinfo(dt)
        small = rng.integers(max(info.min, -5), 6, n)
        full = rng.integers(
            info.min, info.max, n, endpoint=True, dtype=np.int64 if dt.kind == "i" else np.uint64
        )
        extreme = rng.choice(np.array([info.min, info.max, 0], dtype=dt), size=n)
        kinds = rng.choice(3, size=n, p=[0.6, 0.3, 0.1])
        flat = np.where(kinds == 0, small.astype(dt), np.where(kinds == 1, full.astype(dt), extreme))
    elif kind == "normal":
        flat = (rng.standard_normal(n) * 3).astype(dt)
    else:
        flat = _float_values(rng, n, dt, finite=kind == "finite")
    return np.asarray(flat, dtype=dt).reshape(shape)


ROW_KINDS = ("mixed", "finite", "finite", "pinf", "ninf", "nan", "all_ninf", "all_pinf", "pm_inf", "const")


def row_values(seed: int, shape: tuple, axis: int, dtype) -> np.ndarray:
    """Content whose rows along ``axis`` are each of one kind: finite, mixed specials, one or
    more +inf, -inf or NaN, all -inf, all +inf, +inf and -inf together, constant."""
    rng = np.random.default_rng(seed)
    dt = native(dtype)
    if dt.kind != "f":
        return values(seed, shape, dtype)
    moved_shape = tuple(s for i, s in enumerate(shape) if i != axis % len(shape)) + (shape[axis],)
    rows = math.prod(moved_shape[:-1])
    n = moved_shape[-1]
    base = _float_values(rng, rows * n, dt, finite=True).reshape(rows, n)
    base = np.where(np.abs(base.astype(np.float64)) < 1e4, base, dt.type(1.5))  # moderate spreads
    mixed = _float_values(rng, rows * n, dt).reshape(rows, n)
    for r in range(rows):
        kind = ROW_KINDS[rng.integers(len(ROW_KINDS))]
        row = base[r]
        if n == 0:
            continue
        pick = rng.random(n) < 0.3
        pick[rng.integers(n)] = True
        if kind == "mixed":
            row[:] = mixed[r]
        elif kind == "pinf":
            row[pick] = np.inf
        elif kind == "ninf":
            row[pick] = -np.inf
        elif kind == "nan":
            row[pick] = np.nan
        elif kind == "all_ninf":
            row[:] = -np.inf
        elif kind == "all_pinf":
            row[:] = np.inf
        elif kind == "pm_inf":
            row[pick] = np.inf
            row[rng.integers(n)] = -np.inf
        elif kind == "const":
            row[:] = row[0]
    return np.moveaxis(base.reshape(moved_shape), -1, axis % len(shape))


# ---- layouts and memory ------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """How an array sits in memory: axis order (outermost first), a step per axis (gaps
    between elements), a sign per axis (negative strides), a byte misalignment, read-only,
    built on an immutable ``bytes`` object, and axes broadcast with stride 0."""

    name: str
    perm: tuple
    steps: tuple
    signs: tuple
    misalign: int = 0
    readonly: bool = False
    from_bytes: bool = False
    broadcast: tuple = ()

    @property
    def writeable(self) -> bool:
        return not (self.readonly or self.from_bytes or self.broadcast)


def c_layout(ndim: int) -> Layout:
    return Layout("C", tuple(range(ndim)), (1,) * ndim, (1,) * ndim)


def preset(name: str, ndim: int) -> Layout:
    r = tuple(range(ndim))
    one, plus = (1,) * ndim, (1,) * ndim
    return {
        "C": Layout("C", r, one, plus),
        "F": Layout("F", r[::-1], one, plus),
        "reversed": Layout("reversed", r, one, (-1,) * ndim),
        "step": Layout("step", r, (2,) * ndim, plus),
        "unaligned": Layout("unaligned", r, one, plus, misalign=1),
        "readonly": Layout("readonly", r, one, plus, readonly=True),
        "bytes": Layout("bytes", r, one, plus, misalign=1, from_bytes=True),
    }[name]


@st.composite
def layouts(
    draw, ndim: int, *, broadcast: bool = True, readonly: bool = True, from_bytes: bool | None = None
):
    names = ["C", "C", "F", "reversed", "step", "unaligned", "random", "random"]
    if readonly:
        names += ["readonly"]
    if readonly if from_bytes is None else from_bytes:
        names += ["bytes"]
    if broadcast and ndim:
        names += ["broadcast"]
    name = draw(st.sampled_from(names))
    if name == "random":
        perm = tuple(draw(st.permutations(range(ndim))))
        steps = tuple(draw(st.lists(st.sampled_from([1, 1, 2, 3]), min_size=ndim, max_size=ndim)))
        signs = tuple(draw(st.lists(st.sampled_from([1, -1]), min_size=ndim, max_size=ndim)))
        misalign = draw(st.sampled_from([0, 0, 1]))
        ro = readonly and draw(st.booleans())
        return Layout("random", perm, steps, signs, misalign, readonly=ro)
    if name == "broadcast":
        axes = tuple(sorted(draw(st.sets(st.integers(0, ndim - 1), min_size=1))))
        base = draw(st.sampled_from(["C", "reversed", "step"]))
        lay = preset(base, ndim)
        return Layout(f"broadcast({base})", lay.perm, lay.steps, lay.signs, broadcast=axes)
    return preset(name, ndim)


def geometry(shape: tuple, itemsize: int, layout: Layout):
    """(strides, span in bytes, byte offset of element [0, ..., 0] from the lowest byte)."""
    nd = len(shape)
    strides = [0] * nd
    acc = itemsize
    for ax in reversed(layout.perm):
        strides[ax] = acc * layout.steps[ax]
        acc = strides[ax] * max(shape[ax], 1)
    start = 0
    for ax in range(nd):
        if layout.signs[ax] < 0:
            start += strides[ax] * max(shape[ax] - 1, 0)
            strides[ax] = -strides[ax]
    return tuple(strides), acc, start


class Arena:
    """A sentinel-filled byte buffer that arrays are viewed from (see the module docstring)."""

    def __init__(self, nbytes: int):
        self.raw = np.full(nbytes, SENTINEL, np.uint8)
        self.buffer = self.raw  # what views are made from (bytes once frozen)
        self.views: list[tuple] = []

    def view(self, shape, dtype, strides, offset) -> np.ndarray:
        self.views.append((tuple(shape), np.dtype(dtype).itemsize, tuple(strides), offset))
        return np.ndarray(shape, dtype, buffer=self.buffer, offset=offset, strides=strides)

    def freeze(self) -> None:
        """From now on views come from an immutable ``bytes`` copy (np.frombuffer-like)."""
        self.buffer = bytes(self.raw)
        self.raw = np.frombuffer(self.buffer, np.uint8)

    def snapshot(self) -> np.ndarray:
        return self.raw.copy()

    def footprint(self, shape, itemsize, strides, offset) -> np.ndarray:
        """Boolean mask of the bytes the view's elements cover."""
        mark = np.zeros(self.raw.size, np.uint8)
        if math.prod(shape):
            np.ndarray(tuple(shape) + (itemsize,), np.uint8, buffer=mark, offset=offset,
                       strides=tuple(strides) + (1,))[...] = 1  # fmt: skip
        return mark.astype(bool)


@dataclass(frozen=True)
class Operand:
    """An array operand: shape, dtype (any byte order), layout, content seed and kind."""

    shape: tuple
    dtype: str
    layout: Layout
    seed: int
    kind: str = "mixed"  # "mixed", "finite", "normal", "rows:<axis>" (row_values) or "params"
    candidates: tuple = field(default=(), repr=False)


@dataclass
class Placed:
    array: np.ndarray
    arena: Arena
    geometry: tuple  # (shape, itemsize, strides, offset) of the stored (unbroadcast) view
    content: np.ndarray | None  # the logical content, native order, C order
    layout: Layout


def content_of(op: Operand, shape: tuple | None = None) -> np.ndarray:
    shape = op.shape if shape is None else shape
    if op.kind.startswith("rows:"):
        return row_values(op.seed, shape, int(op.kind[5:]), op.dtype)
    if op.kind == "params":
        rng = np.random.default_rng(op.seed)
        return rng.choice(np.array(op.candidates), size=shape).astype(native(op.dtype))
    return values(op.seed, shape, op.dtype, op.kind)


def place(op: Operand, *, extra: int = 0, fill: bool = True) -> Placed:
    """Build ``op``'s array in a fresh arena (``extra`` spare bytes on both sides, for an
    overlapping ``out=``). ``fill=False`` leaves the elements as sentinel bytes (an ``out=``)."""
    lay = op.layout
    dt = np.dtype(op.dtype)
    stored = tuple(1 if i in lay.broadcast else s for i, s in enumerate(op.shape))
    strides, span, start = geometry(stored, dt.itemsize, lay)
    arena = Arena(2 * GUARD + lay.misalign + span + 2 * extra)
    offset = GUARD + lay.misalign + extra + start
    view = arena.view(stored, dt, strides, offset)
    content = None
    if fill:
        stored_content = content_of(op, stored)
        view[...] = stored_content
        content = np.broadcast_to(stored_content, op.shape).copy()
    if lay.from_bytes:
        arena.freeze()
        arena.views.pop()
        view = arena.view(stored, dt, strides, offset)
    if lay.readonly:
        view.flags.writeable = False
    array = np.broadcast_to(view, op.shape) if lay.broadcast else view
    return Placed(array, arena, (stored, dt.itemsize, strides, offset), content, lay)


def place_beside(base: Placed, layout: Layout, dtype, shift_bytes: int) -> Placed:
    """An array of ``base``'s shape in ``base``'s arena, ``shift_bytes`` from it (overlapping)."""
    stored, itemsize, _, offset = base.geometry
    dt = np.dtype(dtype)
    assert dt.itemsize == itemsize
    strides, _, start = geometry(stored, itemsize, layout)
    _, _, base_start = geometry(stored, itemsize, base.layout)
    new_offset = offset - base_start + start + shift_bytes
    view = base.arena.view(stored, dt, strides, new_offset)
    return Placed(view, base.arena, (stored, itemsize, strides, new_offset), None, layout)


def fresh(a):
    """A fresh, C-contiguous, aligned, writeable, native-byte-order copy of an array operand."""
    if isinstance(a, np.ndarray):
        return np.array(a, dtype=native(a.dtype), order="C", copy=True)
    return a


def shapes(min_dims: int = 0, max_dims: int = 4, sides=(0, 1, 2, 3, 4, 5, 6, 7)):
    return st.integers(min_dims, max_dims).flatmap(lambda nd: st.tuples(*([st.sampled_from(sides)] * nd)))


@st.composite
def reduced(draw, full: tuple) -> tuple:
    """A shape that broadcasts to ``full``: some leading axes dropped, some axes of length 1."""
    drop = draw(st.integers(0, len(full)))
    kept = full[drop:]
    ones = draw(st.lists(st.booleans(), min_size=len(kept), max_size=len(kept)))
    return tuple(1 if one else s for s, one in zip(kept, ones))


# ---- comparisons --------------------------------------------------------------------------------


def _uint(dt: np.dtype):
    return {2: np.uint16, 4: np.uint32, 8: np.uint64}[dt.itemsize]


def assert_bits_equal(actual, expected, what: str = "") -> None:
    """Equal bit for bit (so -0.0 != 0.0), except that any NaN equals any NaN."""
    a, e = np.asarray(actual), np.asarray(expected)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != {e.shape}"
    a = a.astype(native(a.dtype), copy=False)
    e = e.astype(native(e.dtype), copy=False)
    assert a.dtype == e.dtype, f"{what}: dtype {a.dtype} != {e.dtype}"
    an, en = np.isnan(a), np.isnan(e)
    bad = (an != en) | (~an & (a.view(_uint(a.dtype)) != e.view(_uint(e.dtype))))
    if bad.any():
        idx = np.argwhere(bad)[:5] if bad.ndim else [()]
        shown = ", ".join(
            f"{tuple(int(i) for i in ix)}: got {a[tuple(ix)]!r} want {e[tuple(ix)]!r}" for ix in idx
        )
        raise AssertionError(f"{what}: {int(bad.sum())} of {bad.size} elements differ ({shown})")


def assert_close_specials(actual, expected, rtol: float, atol: float, what: str = "") -> None:
    """Within rtol/atol where finite; NaN at the same places, infinities equal (with sign)."""
    a, e = np.asarray(actual), np.asarray(expected)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != {e.shape}"
    assert a.dtype == e.dtype, f"{what}: dtype {a.dtype} != {e.dtype}"
    an, en = np.isnan(a), np.isnan(e)
    if (an != en).any():
        idx = np.argwhere(an != en)[:5]
        raise AssertionError(
            f"{what}: NaN at different places, e.g. {[(tuple(i), a[tuple(i)], e[tuple(i)]) for i in idx]}"
        )
    ai, ei = np.isinf(a), np.isinf(e)
    if (ai != ei).any() or (a[ai] != e[ei]).any():
        idx = np.argwhere((ai != ei) | (ai & (a != e)))[:5]
        raise AssertionError(
            f"{what}: infinities differ, e.g. {[(tuple(i), a[tuple(i)], e[tuple(i)]) for i in idx]}"
        )
    fin = ~(an | ai)
    np.testing.assert_allclose(a[fin].astype(np.float64), e[fin].astype(np.float64), rtol=rtol, atol=atol,
                               err_msg=what)  # fmt: skip
