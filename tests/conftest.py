import numpy as np
import pytest

import fastact

DTYPES = [np.float32, np.float64]
BUILTINS = [e.spec.name for e in fastact.REGISTRY.entries("elementwise") if e.builtin]


@pytest.fixture(params=DTYPES, ids=["float32", "float64"])
def dtype(request):
    return np.dtype(request.param)
