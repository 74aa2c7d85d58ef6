"""C-callable kernels: every activation as ``numba.cfunc`` entry points with plain C signatures.

For an activation with parameters ``p1..pk`` (k may be 0) and ``T`` = float or double:

- scalar:  ``T f(T x, T p1, ..., T pk)`` for ``forward`` and ``grad``;
- array:   ``void f(const T *x, T *y, int64_t n, const double *params)`` for ``forward`` and
  ``grad``, and ``void f(const T *x, const T *g, T *y, int64_t n, const double *params)`` for
  ``backward`` (y = g * f'(x)); ``params`` points to k doubles (rounded to T first, as the
  ufuncs round parameters to the input's type) and may be NULL when k = 0.

**Symbol names: one rule.** Every entry point is ``fastact_<NAME>_<entry>`` (``entry`` like
``forward_f32``), in :attr:`CFunction.signature`, :attr:`CFunction.symbol` and the header's
``fastact_<NAME>_<entry>_t`` typedefs alike. ``NAME`` is the name ``fastact.get`` resolves to
the activation: its plain name (builtin, plugin or run-time registration: ``smish`` gives
``fastact_smish_forward_f32``); only an activation reachable by its qualified name alone (a
plugin that lost a name conflict, ``zoo:gelu``) uses that, with ``:`` written ``__`` and any
other character outside ``[A-Za-z0-9_]`` as ``_`` (``fastact_zoo__gelu_forward_f32``), so
two activations never share a symbol. :func:`c_name` computes it.

The same scalar code as the ufuncs (float32 evaluated in float64 unless the spec is
float32-native), so C, C++, Cython, ctypes and ``scipy.LowLevelCallable`` callers get the
same results. Each entry compiles on first access; :func:`header` writes the matching C
declarations without compiling anything.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from .._version import __version__
from ..errors import CompileError, compile_summary
from ..registry import REGISTRY
from ..spec import ABI_VERSION, ActivationSpec
from .cpu import jit

_C = {"f32": "float", "f64": "double"}
_NB = {"f32": "float32", "f64": "float64"}
SCALAR_OPS = ("forward", "grad")
ARRAY_OPS = ("forward", "grad", "backward")


@dataclass(frozen=True)
class CFunction:
    """A compiled C entry point: its address, its C prototype and a ctypes function."""

    symbol: str
    address: int
    signature: str
    cfunc: object  # the numba CFunc (``.ctypes`` calls it; ``.address`` is the pointer)

    @property
    def ctypes(self):
        return self.cfunc.ctypes


def _keys(spec: ActivationSpec) -> list[str]:
    keys = [f"{op}_{t}" for op in SCALAR_OPS for t in _C]
    keys += [f"{op}_array_{t}" for op in ARRAY_OPS for t in _C]
    return keys if spec.derivative is not None else [k for k in keys if k.startswith("forward")]


def c_identifier(name: str) -> str:
    """``name`` (``dist:name`` for a plugin) as a C identifier fragment: ``[A-Za-z0-9_]`` only
    (``:`` becomes ``__``); a distribution name never reaches the header as it is."""
    return re.sub(r"[^A-Za-z0-9_]", "_", str.__str__(str(name)).replace(":", "__"))


def c_comment(text: str) -> str:
    """``text`` safe inside a C block comment, on one line: whitespace runs (newlines included)
    become one space, ``*/`` and ``/*`` are broken apart, non-printable characters dropped."""
    flat = "".join(c if c.isprintable() else " " for c in str.__str__(str(text)))
    flat = " ".join(flat.split())
    while "*/" in flat or "/*" in flat:
        flat = flat.replace("*/", "* /").replace("/*", "/ *")
    return flat


def c_name(qualified_name: str) -> str:
    """The ``NAME`` of an activation's C symbols (see the module docstring): its plain name
    when that resolves to it, else its qualified name as an identifier (a lost conflict)."""
    name = qualified_name.rpartition(":")[2]
    try:
        owner = REGISTRY.entry(name).qualified_name
    except LookupError:
        owner = None
    return c_identifier(name if owner == qualified_name else qualified_name)


def _symbol(name: str, key: str) -> str:
    return f"fastact_{c_identifier(name)}_{key}"


def prototype(spec: ActivationSpec, key: str, name: str | None = None) -> str:
    """The C prototype of entry ``key`` (e.g. ``"grad_array_f32"``) of ``spec``."""
    op, _, rest = key.partition("_")
    kind, _, t = rest.rpartition("_")
    ctype = _C[t]
    symbol = _symbol(name or spec.name, key)
    if kind != "array":
        args = ", ".join([f"{ctype} x", *(f"{ctype} {c_identifier(p.name)}" for p in spec.params)])
        return f"{ctype} {symbol}({args})"
    g = f"const {ctype} *g, " if op == "backward" else ""
    return f"void {symbol}(const {ctype} *x, {g}{ctype} *y, int64_t n, const double *params)"


class CApi(Mapping):
    """The C entry points of one activation, keyed like ``"forward_f32"`` or
    ``"backward_array_f64"``; each compiles on first access."""

    def __init__(self, spec: ActivationSpec, label: str):
        self.spec = spec
        self.label = label
        self._built: dict[str, CFunction] = {}
        self._lock = threading.Lock()

    def __iter__(self) -> Iterator[str]:
        return iter(_keys(self.spec))

    def __len__(self) -> int:
        return len(_keys(self.spec))

    def __getitem__(self, key: str) -> CFunction:
        if key not in _keys(self.spec):
            raise KeyError(f"{self.label} has no C entry point {key!r}; available: {', '.join(self)}")
        with self._lock:  # two threads asking at once compile it once
            if key not in self._built:
                self._built[key] = self._compile(key)
            return self._built[key]

    def signatures(self) -> dict[str, str]:
        """``key -> C prototype`` for every entry point (compiles nothing)."""
        return {k: prototype(self.spec, k) for k in self}

    def _compile(self, key: str) -> CFunction:
        import numba
        from numba import types

        op, _, rest = key.partition("_")
        kind, _, t = rest.rpartition("_")
        spec = self.spec
        fn = spec.forward if op == "forward" else spec.derivative
        k = len(spec.params)
        nb = getattr(types, _NB[t])
        ev = _NB[t] if spec.float32_native else "float64"  # the evaluation type, as the ufuncs
        params = [f"p{i}" for i in range(k)]
        if kind != "array":
            sig = nb(*([nb] * (1 + k)))
            call = ", ".join(f"numba.{ev}({a})" for a in ["x", *params])
            source = f"def entry({', '.join(['x', *params])}):\n    return numba.{_NB[t]}(_f({call}))\n"
        else:
            ptr, dptr = types.CPointer(nb), types.CPointer(types.float64)
            ins = [ptr, ptr] if op == "backward" else [ptr]
            sig = types.void(*ins, ptr, types.int64, dptr)
            args = "xp, gp, yp, n, pp" if op == "backward" else "xp, yp, n, pp"
            lines = [
                f"def entry({args}):",
                "    x = numba.carray(xp, (n,))",
                "    y = numba.carray(yp, (n,))",
            ]
            if op == "backward":
                lines.append("    g = numba.carray(gp, (n,))")
            if k:
                lines.append(f"    p = numba.carray(pp, ({k},))")
                # parameters are rounded to the array's type first, as the ufuncs do
                lines += [f"    p{i} = numba.{ev}(numba.{_NB[t]}(p[{i}]))" for i in range(k)]
            value = f"_f({', '.join([f'numba.{ev}(x[i])', *params])})"
            if op == "backward":
                value = f"g[i] * {value}"
            lines += ["    for i in range(n):", f"        y[i] = {value}"]
            source = "\n".join(lines) + "\n"
        namespace = {"numba": numba, "_f": jit(fn)}
        try:
            exec(compile(source, f"<fastact cfunc {self.label!r} {key}>", "exec"), namespace)
            compiled = numba.cfunc(sig, error_model="numpy")(namespace["entry"])
        except Exception as exc:
            raise CompileError(
                f"{self.label}: the C entry point {key} does not compile: {compile_summary(exc)}"
            ) from exc
        name = c_name(self.label)
        return CFunction(_symbol(name, key), compiled.address, prototype(spec, key, name), compiled)


def header(entries: list[tuple[str, ActivationSpec]]) -> str:
    """A C header declaring, per activation, typedefs for its entry points' function pointers
    and its parameter names (the addresses come from :func:`fastact.c_api` at run time)."""
    lines = [
        f"/* fastact.h: C entry points of fastact {__version__} activations",
        " * (generated by `fastact c-header`).",
        " *",
        " * The functions are compiled at run time by Numba; get their addresses from Python with",
        ' * fastact.c_api("name")["forward_f32"].address and call them through these pointer types.',
        " * Scalar: T f(T x, T p1, ..., T pk). Array: void f(const T *x, T *y, int64_t n, const double",
        " * *params), backward: void f(const T *x, const T *g, T *y, int64_t n, const double *params).",
        " */",
        "#ifndef FASTACT_H",
        "#define FASTACT_H",
        "#include <stdint.h>",
        "",
        f"#define FASTACT_ABI_VERSION {ABI_VERSION}",
        "",
    ]
    for name, spec in entries:
        # only identifiers and escaped comment text: a plugin's name, formula or parameter
        # names cannot end a comment, start a directive or break a declaration
        cname = c_identifier(name)
        upper = cname.upper()
        lines.append(f"/* {c_comment(spec.name)}: {c_comment(spec.formula)} */")
        lines.append(f"#define FASTACT_{upper}_NPARAMS {len(spec.params)}")
        for i, p in enumerate(spec.params):
            default = c_comment(repr(float(p.default)))
            lines.append(
                f"#define FASTACT_{upper}_PARAM_{c_identifier(p.name).upper()} {i} /* default {default} */"
            )
        for key in _keys(spec):
            proto = prototype(spec, key, cname)
            ret, _, rest = proto.partition(" ")
            symbol, _, args = rest.partition("(")
            lines.append(f"typedef {ret} (*{symbol}_t)({args};")
        lines.append("")
    lines += ["#endif /* FASTACT_H */", ""]
    return "\n".join(lines)
