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
