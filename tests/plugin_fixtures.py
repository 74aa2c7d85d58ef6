"""Fake installed distributions (real dist-info metadata on sys.path) for registry tests."""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path

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
