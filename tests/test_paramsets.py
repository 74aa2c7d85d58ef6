"""Parameter sets drawn across bounds (used by check-plugin and verify)."""

import math

import pytest

import fastact
from fastact.testing.paramsets import describe, param_sets


@pytest.mark.parametrize("name", [n for n in fastact.names() if fastact.get(n).spec.params])
def test_sets_are_defaults_then_distinct_accepted_values(name):
    spec = fastact.get(name).spec
    sets = param_sets(spec)
    assert sets[0] == tuple(spec.defaults)
    assert len(set(sets)) == len(sets)
    for s in sets:
        assert all(p.accepts(v) and math.isfinite(v) for p, v in zip(spec.params, s))
        if getattr(spec, "check_params", None) is not None:
            assert spec.check_params(*s) is None
    assert param_sets(spec) == sets  # seeded: reproducible from a failure message


def test_one_sided_bounds_draw_away_from_the_default():
    spec = fastact.get("softplus").spec
    betas = {s[0] for s in param_sets(spec, extra=6)}
    assert len(betas) >= 4 and all(b > 0 for b in betas)
    assert describe(spec, (2.0, 20.0)) == "beta=2, threshold=20"


def test_no_parameters():
    assert param_sets(fastact.get("relu").spec) == [()]
