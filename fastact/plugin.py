"""The public plugin API: everything a third-party activation package imports.

A plugin declares, in its pyproject.toml::

    [project.entry-points."fastact.activations"]
    my_acts = "my_package.activations:specs"

where ``specs`` is an :class:`ActivationSpec`, an iterable of them, or a callable returning
either. Scalar helpers called from ``forward``/``derivative`` must be marked :func:`jitable`.
``ABI_VERSION`` is the record layout this fastact reads; it changes when a field of
:class:`ActivationSpec` is added, removed or changes meaning.
"""

from .spec import ABI_VERSION, ActivationSpec, Param, Properties, jitable

__all__ = ["ABI_VERSION", "ActivationSpec", "Param", "Properties", "jitable"]
