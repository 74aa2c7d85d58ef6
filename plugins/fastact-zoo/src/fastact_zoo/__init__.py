"""fastact-zoo: activations from the literature, installed into fastact as a plugin.

The entry point ``zoo = "fastact_zoo:specs"`` (pyproject.toml) is the whole contract; this
package imports nothing from fastact but the public plugin API, ``fastact.plugin``.
"""

from __future__ import annotations

from .activations import SPECS

__version__ = "0.1.0"


def specs():
    """The zoo's activation records (called by fastact's registry)."""
    return list(SPECS)
