"""The jitable machinery: scalar helpers and Numba overloads registered with Numba lazily.

``import fastact`` must not import Numba, yet activations and ``fmath`` declare their helpers
at import. :func:`jitable` and :func:`register_overload` queue them; the first kernel that
compiles calls :func:`activate_jitables`, which imports Numba and registers them all (after
that, new ones register at once). This is the one documented hook through which Numba stays
lazy; it sits below every other fastact module except ``errors`` and ``_version``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

_JIT_LOCK = threading.RLock()
_PENDING_JITABLE: list[Callable] = []
_PENDING_OVERLOADS: list[Callable[[], None]] = []
_JIT_READY = False


def jitable(fn: Callable) -> Callable:
    """Mark a scalar helper so compiled activations may call it.

    The function stays a plain Python function (callable from Python, importable without
    Numba); it is registered with Numba's ``register_jitable`` only when the first kernel is
    compiled, so ``import fastact`` never imports Numba.
    """
    with _JIT_LOCK:
        if _JIT_READY:
            from numba.extending import register_jitable

            register_jitable(forceinline=True, error_model="numpy")(fn)
        else:
            _PENDING_JITABLE.append(fn)
    return fn


def register_overload(install: Callable[[], None]) -> None:
    """Run ``install`` (which registers Numba overloads) before the first kernel compiles."""
    with _JIT_LOCK:
        if _JIT_READY:
            install()
        else:
            _PENDING_OVERLOADS.append(install)


def activate_jitables() -> None:
    """Register every helper marked with :func:`jitable` with Numba (called by kernels; thread-safe:
    two threads compiling their first kernels register each helper once)."""
    global _JIT_READY
    from numba.extending import register_jitable

    with _JIT_LOCK:
        _JIT_READY = True
        while _PENDING_OVERLOADS:
            _PENDING_OVERLOADS.pop()()
        while _PENDING_JITABLE:
            # forceinline: kernels must inline their helpers for the loop to vectorize
            register_jitable(forceinline=True, error_model="numpy")(_PENDING_JITABLE.pop())
