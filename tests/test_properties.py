"""Property tests (hypothesis) for the ufunc semantics of every builtin."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fastact as fa

from .conftest import BUILTINS

MONOTONIC = [n for n in BUILTINS if fa.get(n).spec.properties.monotonic]
DOMAIN = {"logit": (0.0, 1.0), "log1mexp": (0.0, 1e6)}


def arrays(dtype, name):
    lo, hi = DOMAIN.get(name, (-1e6, 1e6))
    elements = st.floats(lo, hi, allow_nan=False, width=32 if dtype == np.float32 else 64)
    return hnp.arrays(dtype, hnp.array_shapes(min_dims=0, max_dims=3, max_side=6), elements=elements)


@pytest.mark.parametrize("name", BUILTINS)
@settings(max_examples=15, deadline=None)
@given(data=st.data(), dtype=st.sampled_from([np.float32, np.float64]))
def test_dtype_and_shape_are_preserved(name, data, dtype):
    x = data.draw(arrays(dtype, name))
    act = fa.get(name)
    for y in (act(x), act.grad(x), act.backward(x, np.ones_like(x))):
        assert np.shape(y) == x.shape and np.asarray(y).dtype == dtype


@pytest.mark.parametrize("name", MONOTONIC)
@settings(max_examples=20, deadline=None)
@given(data=st.data(), dtype=st.sampled_from([np.float32, np.float64]))
def test_monotonic_activations_stay_monotonic(name, data, dtype):
    x = np.sort(data.draw(arrays(dtype, name)).ravel())
    y = fa.get(name)(x)
    assert (y[1:] >= y[:-1]).all(), (x, y)  # not np.diff: inf - inf is nan
