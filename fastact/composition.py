"""Composition of activations into one fused kernel: ``compose("tanh", "softplus")`` is
tanh(softplus(x)), with ``times_x=True`` it is x * tanh(softplus(x)) (mish).

The result is an ordinary :class:`ActivationSpec`: its scalar forward calls the components'
scalar functions (inlined by Numba into one loop), its derivative is the chain rule
(``f'(g(x)) g'(x)``, and ``h + x h'`` with the identity factor), its NumPy reference composes
the references. Parameters of the components become parameters of the composition, named
``<component>_<param>`` (``softplus_beta``). The text form ``"x*tanh.softplus"`` (outer
first, ``x*`` for the identity factor) is what :func:`fastact.get` and the CLI accept.
"""

from __future__ import annotations

from . import fmath
from ._jit import activate_jitables, jitable
from .errors import ParameterError, SpecError
from .registry import REGISTRY
from .spec import ActivationSpec, Param, Properties

_built: dict[tuple, tuple] = {}
_origins: dict[int, tuple] = {}


def is_expression(name: str) -> bool:
    """Whether ``name`` is a composition (``"tanh.softplus"``, ``"x*tanh"``), not a plain name."""
    return isinstance(name, str) and ("." in name or name.strip().startswith("x*"))


def parse(expr: str) -> tuple[bool, list[str]]:
    """``"x*tanh.softplus"`` -> (True, ["tanh", "softplus"])."""
    text = expr.replace(" ", "")
    times_x = text.startswith("x*")
    body = text[2:] if times_x else text
    parts = [p for p in body.split(".")]
    if not parts or any(not p for p in parts):
        raise ParameterError(
            f"cannot parse the composition {expr!r}; write it like 'tanh.softplus' or 'x*tanh'"
        )
    return times_x, parts


def from_expression(expr: str) -> ActivationSpec:
    """The spec of a text composition such as ``"x*tanh.softplus"`` (built once per set of
    component specs by :func:`compose`)."""
    times_x, parts = parse(expr.replace(" ", ""))
    return compose(*parts, times_x=times_x, name=None)


def compose(*names: str, times_x: bool = False, name: str | None = None) -> ActivationSpec:
    """The spec of names[0](names[1](...(x))) (times x with ``times_x``), one fused kernel."""
    if not names:
        raise ParameterError("compose() needs at least one activation")
    entries = [REGISTRY.entry(n) for n in names]
    specs = [e.spec for e in entries]
    # one spec per (components, times_x, name): kernels are compiled per spec, and unpickling a
    # composition (a Dask task on a worker) must find the compiled one, not build another
    key = (tuple(id(s) for s in specs), bool(times_x), name)
    hit = _built.get(key)
    if hit is not None and all(a is b for a, b in zip(hit[0], specs)):
        return hit[1]
    spec = _build(names, entries, specs, times_x, name)
    _built[key] = (specs, spec)
    _origins[id(spec)] = (spec, tuple(names), bool(times_x), name)
    return spec


def origin(spec: ActivationSpec) -> tuple[tuple[str, ...], bool, str | None]:
    """``(names, times_x, name)`` that :func:`compose` built ``spec`` from (how a composition
    pickles: by what it is made of, rebuilt in the receiving process)."""
    hit = _origins.get(id(spec))
    if hit is None or hit[0] is not spec:
        raise SpecError(f"{spec.name} was not built by fastact.compose")
    return hit[1], hit[2], hit[3]


def _build(names, entries, specs, times_x, name) -> ActivationSpec:
    for s in specs:
        if s.kind != "elementwise":
            raise ParameterError(f"{s.name} is axis-wise; only elementwise activations compose")
        if s.derivative is None:
            raise ParameterError(f"{s.name} has no derivative, so its composition has none")
    label = ("x_times_" if times_x else "") + "_of_".join(s.name for s in specs)
    name = name or label
    params, slices = [], []
    for s in specs:
        start = len(params)
        params += [Param(f"{s.name}_{p.name}", p.default, p.doc, p.lower, p.upper, p.lower_open, p.upper_open)
                   for p in s.params]  # fmt: skip
        slices.append((start, len(params)))
    if len({p.name for p in params}) != len(params):
        raise SpecError(f"compose({', '.join(names)}): an activation appears twice with parameters")
    k = len(params)
    args = ", ".join(["x", *(f"p{i}" for i in range(k))])

    def pargs(i):
        lo, hi = slices[i]
        return "".join(f", p{j}" for j in range(lo, hi))

    # forward: v_n = x; v_i = f_i(v_{i+1}); derivative: product of f_i'(v_{i+1})
    lines = [f"def forward({args}):", f"    v{len(specs)} = x"]
    for i in reversed(range(len(specs))):
        lines.append(f"    v{i} = _f{i}(v{i + 1}{pargs(i)})")
    lines.append("    return x * v0" if times_x else "    return v0")
    lines += [f"def derivative({args}):", f"    v{len(specs)} = x", "    d = _fm.like(x, 1.0)"]
    for i in reversed(range(len(specs))):
        lines.append(f"    d = d * _d{i}(v{i + 1}{pargs(i)})")
        lines.append(f"    v{i} = _f{i}(v{i + 1}{pargs(i)})")
    lines.append("    return v0 + x * d" if times_x else "    return d")
    namespace: dict = {"_fm": fmath}
    for i, s in enumerate(specs):
        # the components' scalar functions, registered as jitable (target-generic overloads), so
        # the composition compiles for the CPU and as a CUDA device function alike
        namespace[f"_f{i}"] = _jitable(s.forward)
        namespace[f"_d{i}"] = _jitable(s.derivative)
    # d/dp for a parameter p of component i: (prod_{j<i} f_j'(v_{j+1})) * df_i/dp(v_{i+1})
    param_derivatives = {}
    for i, s in enumerate(specs):
        lo, _ = slices[i]
        for k, p in enumerate(s.params):
            dp = s.param_derivatives.get(p.name)
            if dp is None:
                continue
            fname = f"dparam_{lo + k}"
            namespace[f"_p{lo + k}"] = _jitable(dp)
            body = [f"def {fname}({args}):", f"    v{len(specs)} = x"]
            for j in reversed(range(i, len(specs))):
                body.append(f"    v{j} = _f{j}(v{j + 1}{pargs(j)})")
            body.append(f"    d = _p{lo + k}(v{i + 1}{pargs(i)})")
            for j in reversed(range(i)):
                body.append(f"    v{j} = _f{j}(v{j + 1}{pargs(j)})")
                body.append(f"    d = d * _d{j}(v{j + 1}{pargs(j)})")
            body.append("    return x * d" if times_x else "    return d")
            lines += body
            param_derivatives[params[lo + k].name] = fname
    exec(compile("\n".join(lines), f"<fastact composition {name}>", "exec"), namespace)
    forward, derivative = namespace["forward"], namespace["derivative"]
    param_derivatives = {pname: namespace[fname] for pname, fname in param_derivatives.items()}

    def split(values):
        return [values[lo:hi] for lo, hi in slices]

    def reference(x, *values):
        v = x
        for s, p in reversed(list(zip(specs, split(values)))):
            v = s.reference(v, *p)
        return x * v if times_x else v

    def reference_derivative(x, *values):
        v, d = x, 1.0
        for s, p in reversed(list(zip(specs, split(values)))):
            d = d * _ref_d(s)(v, *p)
            v = s.reference(v, *p)
        return v + x * d if times_x else d

    expr = ("x*" if times_x else "") + ".".join(
        e.qualified_name if not e.builtin else e.spec.name for e in entries
    )
    formula = ("x * " if times_x else "") + "(".join(s.name for s in specs) + "(x" + ")" * len(specs)
    return ActivationSpec(
        name=name, summary=f"composition {expr}: one fused kernel", formula=formula,
        derivative_formula="chain rule of the components", forward=forward, derivative=derivative,
        reference=reference, reference_derivative=reference_derivative, params=tuple(params),
        param_derivatives=param_derivatives,
        properties=Properties("see the components", monotonic=False, zero_centered=False, saturating=False,
                              smooth=all(s.properties.smooth for s in specs)),
        # float32 evaluates in float64: the components' intermediate results (softplus(-104) is
        # subnormal in float32) would otherwise lose what the hand-written builtins keep
        float32_native=False,
        notes=f"Built by fastact.compose from {expr}. No accuracy bound is stated: intermediate results can "
        "underflow in the tails where a hand-written builtin avoids it; `fastact verify` measures it.",
    )  # fmt: skip


_registered: set = set()


def _jitable(fn):
    """``fn`` registered once with Numba's ``register_jitable`` (dispatchers pass through)."""
    if hasattr(fn, "py_func"):  # already a Numba dispatcher
        return fn
    if fn not in _registered:
        activate_jitables()  # fastact's own helpers first, then this one registers at once
        jitable(fn)
        _registered.add(fn)
    return fn


def _ref_d(spec):
    if spec.reference_derivative is not None:
        return spec.reference_derivative

    def central(x, *p):
        import numpy as np

        x = np.asarray(x, dtype=np.float64)
        h = 1e-6 * np.maximum(1.0, np.abs(x))
        return (spec.reference(x + h, *p) - spec.reference(x - h, *p)) / (2 * h)

    return central
