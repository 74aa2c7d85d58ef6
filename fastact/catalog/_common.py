"""Scalar helpers shared by the builtin activations, and their NumPy (float64) twins.

Scalar helpers are written in the Numba subset and marked :func:`~fastact.spec.jitable`;
they compute in float64 (Python float constants promote float32 inputs), so float32
kernels round once at the end. Branch conditions are written so that NaN falls into an
arithmetic branch and propagates.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..spec import jitable


@jitable
def nan_or(x, value):
    """``value``, or ``x`` itself when ``x`` is NaN (NaN-propagating constants)."""
    return x if x != x else value


@jitable
def sigmoid(x):
    """Two-branch logistic: no overflow, keeps subnormal results for very negative x."""
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@jitable
def sigmoid_prime(x):
    """sigma(x) * sigma(-x): the derivative without the 1 - sigma cancellation."""
    return sigmoid(x) * sigmoid(-x)


@jitable
def softplus(x):
    """log(1 + e^x) as max(x, 0) + log1p(e^-|x|): finite for every finite x."""
    return (x if x > 0.0 else 0.0) + math.log1p(math.exp(-abs(x)))


@jitable
def sech2(x):
    """1 - tanh(x)^2 as 4 e^-2|x| / (1 + e^-2|x|)^2: no cancellation, no overflow."""
    e = math.exp(-2.0 * abs(x))
    d = 1.0 + e
    return 4.0 * e / (d * d)


# ---- NumPy references (float64) --------------------------------------------------------


def reference(fn):
    """Decorate a NumPy reference: float64 arrays in, float64 out, no FP warnings."""

    @functools.wraps(fn)
    def wrapper(x, *params):
        x = np.asarray(x, dtype=np.float64)
        params = tuple(np.asarray(p, dtype=np.float64) for p in params)
        with np.errstate(all="ignore"):
            return np.asarray(fn(x, *params), dtype=np.float64)

    return wrapper


_erfc_vec = np.vectorize(math.erfc, otypes=[np.float64])


def np_erfc(x):
    """erfc in float64 through the C library (NumPy has no erf)."""
    return _erfc_vec(x)


def np_sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def np_sigmoid_prime(x):
    return np_sigmoid(x) * np_sigmoid(-x)


def np_softplus(x):
    return np.where(x > 0, x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def np_sech2(x):
    e = np.exp(-2.0 * np.abs(x))
    return 4.0 * e / (1.0 + e) ** 2


def np_nan_or(x, value):
    return np.where(np.isnan(x), x, value)
