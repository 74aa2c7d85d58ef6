"""Fake installed distributions (real dist-info metadata on sys.path) for registry tests."""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path

SLIPPED = '''

import numpy as np

from fastact.plugin import ActivationSpec, Param, Properties, exp, jitable, log1p


@jitable
def _nls(z):
    # -log sigmoid(z) = softplus(-z), finite for every z
    return (-z if z < 0.0 else 0.0) + log1p(exp(-abs(z)))


@jitable
def fwd(x, alpha, beta):
    y = x * exp(-alpha * _nls(beta * x))
    return -0.0 if x == -np.inf else y


@jitable
def fwd_no_beta(x, alpha, beta):  # (b) ignores beta
    y = x * exp(-alpha * _nls(x))
    return -0.0 if x == -np.inf else y


@jitable
def fwd_plus_zero(x, alpha, beta):  # (f) +0.0 at -inf where the reference gives -0.0
    y = x * exp(-alpha * _nls(beta * x))
    return 0.0 if x == -np.inf else y


@jitable
def _one_minus_s(z):
    e = exp(-abs(z))
    return e / (1.0 + e) if z >= 0.0 else 1.0 / (1.0 + e)


@jitable
def grad(x, alpha, beta):
    sa = exp(-alpha * _nls(beta * x))
    t = alpha * beta * x * _one_minus_s(beta * x)
    return sa + sa * t if abs(x) != np.inf else (1.0 if x > 0.0 else 0.0)


@jitable
def grad_no_alpha(x, alpha, beta):  # (c) ignores alpha
    sa = exp(-_nls(beta * x))
    t = beta * x * _one_minus_s(beta * x)
    return sa + sa * t if abs(x) != np.inf else (1.0 if x > 0.0 else 0.0)


@jitable
def grad_tail(x, alpha, beta):  # (e) wrong below -8, together with its reference
    g = grad(x, alpha, beta)
    return 2.0 * g if x < -8.0 else g


@jitable
def d_alpha(x, alpha, beta):
    return -x * _nls(beta * x) * exp(-alpha * _nls(beta * x))


@jitable
def d_alpha_tail(x, alpha, beta):  # (d) 1.5x too large above 8
    d = d_alpha(x, alpha, beta)
    return 1.5 * d if x > 8.0 else d


@jitable
def d_beta(x, alpha, beta):
    return alpha * x * x * exp(-alpha * _nls(beta * x)) * _one_minus_s(beta * x)


@jitable
def d_beta_no_alpha(x, alpha, beta):  # (a) lacks the factor alpha
    return x * x * exp(-alpha * _nls(beta * x)) * _one_minus_s(beta * x)


def ref(x, alpha, beta):
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        y = x * np.exp(-alpha * np.logaddexp(0.0, -beta * x))
    return np.where(x == -np.inf, -0.0, y)


def ref_grad(x, alpha, beta):
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        sa = np.exp(-alpha * np.logaddexp(0.0, -beta * x))
        g = sa * (1.0 + alpha * beta * x / (1.0 + np.exp(beta * x)))
    return np.where(np.isinf(x), np.where(x > 0, 1.0, 0.0), g)


def ref_grad_tail(x, alpha, beta):
    x = np.asarray(x, dtype=np.float64)
    g = ref_grad(x, alpha, beta)
    return np.where(x < -8.0, 2.0 * g, g)


PARAMS = (
    Param("alpha", 1.0, "exponent of the gate", lower=0.0, lower_open=True, learnable=True),
    Param("beta", 1.0, "gate slope", lower=0.0, lower_open=True, learnable=True),
)


def unit(name, forward=fwd, derivative=grad, reference_derivative=ref_grad, da=d_alpha, db=d_beta):
    return ActivationSpec(
        name=name, summary="x sigmoid(beta x)^alpha", formula="x sigmoid(beta x)^alpha",
        forward=forward, derivative=derivative, reference=ref, reference_derivative=reference_derivative,
        params=PARAMS, param_derivatives={"alpha": da, "beta": db},
        properties=Properties("(-inf, inf)", monotonic=False, smooth=False, zero_centered=False,
                              saturating=False),
        # exp(-alpha softplus(-beta x)) turns the exponent's rounding into a relative error of
        # |exponent| (up to ~745) ULP in float64; float32 is evaluated in float64 and rounded
        max_ulp={"float32": 1, "float64": 2048}, near_zero_eps=4,
    )  # fmt: skip


specs = [
    unit("sigpow"),
    unit("sigpow_a", db=d_beta_no_alpha),
    unit("sigpow_b", forward=fwd_no_beta),
    unit("sigpow_c", derivative=grad_no_alpha),
    unit("sigpow_d", da=d_alpha_tail),
    unit("sigpow_e", derivative=grad_tail, reference_derivative=ref_grad_tail),
    unit("sigpow_f", forward=fwd_plus_zero),
]
'''

PLUGINS = {
    # module name: (distribution name, entry point value, module source)
    "fa_good_plugin": (
        "good-plugin",
        "fa_good_plugin:specs",
        """
        import numpy as np
        from fastact.plugin import ActivationSpec, Param, Properties

        def bent(x, a):
            return a * x + x * x

        def bent_d(x, a):
            return a + 2.0 * x

        def specs():
            return [ActivationSpec(
                name="bent_square", summary="a x + x^2", formula="a x + x^2",
                forward=bent, derivative=bent_d,
                reference=lambda x, a: a * np.asarray(x, float) + np.asarray(x, float) ** 2,
                properties=Properties("(-inf, inf)", False, True, False, False),
                params=(Param("a", 1.0, "slope"),), aliases=("bent_sq",),
            )]
        """,
    ),
    "fa_broken_plugin": (
        "broken-plugin",
        "fa_broken_plugin:specs",
        "raise ImportError('missing dependency xyz')",
    ),
    "fa_nonspec_plugin": ("nonspec-plugin", "fa_nonspec_plugin:specs", "specs = [42]"),
    "fa_invalid_plugin": (
        "invalid-plugin",
        "fa_invalid_plugin:spec",
        """
        from fastact.plugin import ActivationSpec, Param, Properties
        spec = ActivationSpec(
            name="invalid_one", summary="", formula="", forward=lambda x, a: x, derivative=None,
            reference=lambda x, a: x, properties=Properties("", True, True, True, True),
            params=(Param("a", 5.0, lower=0.0, upper=1.0),),
        )
        """,
    ),
    "fa_dup_plugin": (
        "dup-plugin",
        "fa_dup_plugin:spec",
        """
        from fastact.plugin import ActivationSpec, Properties
        def mine(x):
            return x + 1.0
        spec = ActivationSpec(
            name="relu", summary="not relu", formula="x + 1", forward=mine, derivative=None,
            reference=lambda x: x + 1.0, properties=Properties("", True, True, True, True),
        )
        """,
    ),
    "fa_abi_plugin": (
        "abi-plugin",
        "fa_abi_plugin:spec",
        """
        from fastact.plugin import ActivationSpec, Properties
        spec = ActivationSpec(
            name="from_the_future", summary="", formula="", forward=lambda x: x, derivative=None,
            reference=lambda x: x, properties=Properties("", True, True, True, True), abi=99,
        )
        """,
    ),
    "fa_dup2_plugin": (
        "zz-dup-plugin",
        "fa_dup2_plugin:spec",
        """
        from fastact.plugin import ActivationSpec, Param, Properties
        def other(x, a):
            return a * x
        spec = ActivationSpec(
            name="bent_square", summary="another bent_square", formula="a x", forward=other,
            derivative=None, reference=lambda x, a: a * x, params=(Param("a", 1.0),),
            properties=Properties("", True, True, True, False),
        )
        """,
    ),
    "fa_nocompile_plugin": (
        "nocompile-plugin",
        "fa_nocompile_plugin:specs",
        """
        import numpy as np
        from fastact.plugin import ActivationSpec, Properties
        def needs_python(x):
            return float(str(x))  # str() of a float is not in Numba's subset
        def fine(x):
            return 2.0 * x
        def two(x):
            return 2.0 + 0.0 * x
        specs = [
            ActivationSpec(
                name="uncompilable", summary="", formula="", forward=needs_python, derivative=None,
                reference=lambda x: np.asarray(x, float), properties=Properties("", True, True, True, False),
            ),
            ActivationSpec(
                name="doubled", summary="", formula="2 x", forward=fine, derivative=two,
                reference=lambda x: 2.0 * np.asarray(x, float),
                properties=Properties("", True, True, True, False),
            ),
        ]
        """,
    ),
    "fa_wrong_plugin": (
        "wrong-plugin",
        "fa_wrong_plugin:spec",
        """
        import numpy as np
        from fastact.plugin import ActivationSpec, Properties
        def cube(x):
            return x * x * x
        def cube_d(x):
            return 2.0 * x * x  # should be 3 x^2
        spec = ActivationSpec(
            name="cube", summary="x^3", formula="x^3", forward=cube, derivative=cube_d,
            reference=lambda x: np.asarray(x, float) ** 3, properties=Properties("", True, True, True, False),
            max_ulp={"float32": 1, "float64": 1},
        )
        """,
    ),
    # issue 17: x sigmoid(beta x)^alpha, correct (sigpow) and with each bug that slipped past a
    # check-plugin that checked at the defaults only, on [-6, 6], without signed zeros
    "fa_slipped_plugin": ("slipped-plugin", "fa_slipped_plugin:specs", SLIPPED),
}


def install(root: Path, names=None) -> None:
    """Write the plugin modules and their dist-info folders under ``root`` and add it to sys.path."""
    for module, (dist, value, source) in PLUGINS.items():
        if names is not None and module not in names:
            continue
        (root / f"{module}.py").write_text(textwrap.dedent(source))
        info = root / f"{dist.replace('-', '_')}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text(f"[fastact.activations]\n{module} = {value}\n")
    sys.path.insert(0, str(root))
    importlib.invalidate_caches()


def uninstall(root: Path) -> None:
    sys.path.remove(str(root))
    for module in PLUGINS:
        sys.modules.pop(module, None)
    importlib.invalidate_caches()
