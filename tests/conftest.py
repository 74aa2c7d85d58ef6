import os
from pathlib import Path

import numpy as np
import pytest

# Kernels the suite compiles go to a cache of its own (kept between runs, ignored by git), not
# the developer's ~/.cache/fastact; set before fastact is imported, inherited by subprocesses.
os.environ.setdefault("FASTACT_CACHE_DIR", str(Path(__file__).resolve().parents[1] / ".fastact-test-cache"))

import fastact  # noqa: E402

DTYPES = [np.float32, np.float64]
BUILTINS = [e.spec.name for e in fastact.REGISTRY.entries("elementwise") if e.builtin]

#: the slow tests: a pip install of the example plugin, and the CUDA simulator subprocesses
#: (`pytest -m "not slow"` is the quick local loop; CI runs everything)
SLOW_FILES = {"test_plugin_package.py", "test_cuda_target.py"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.name in SLOW_FILES or "simulator" in item.name:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(params=DTYPES, ids=["float32", "float64"])
def dtype(request):
    return np.dtype(request.param)


@pytest.fixture
def registered():
    """``registered(spec, replace=False)`` registers an activation at run time for one test and
    unregisters whatever it registered at teardown, however the test ends."""
    names = []

    def register(spec, *, replace=False):
        act = fastact.register(spec, replace=replace)
        if spec.name not in names:
            names.append(spec.name)
        return act

    yield register
    for name in names:
        if name in fastact.REGISTRY and fastact.REGISTRY.entry(name).source == "runtime":
            fastact.REGISTRY.unregister(name)
