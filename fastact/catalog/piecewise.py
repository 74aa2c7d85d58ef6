"""Piecewise-linear and piecewise-polynomial activations: the ReLU family, hard_*, shrinks.

Derivative conventions at kinks follow PyTorch and JAX: relu'(0) = 0, leaky'(0) = slope,
0 at both ends of hard_tanh/relu6/hard_sigmoid, hard_swish' = 0 at -3 and 1 at +3.
Every function and derivative propagates NaN.

Written branch-free on purpose: a chain of one-level selects (``y = a if c else y``) and
non-short-circuit ``&``/``|`` let LLVM vectorize the loop; nested ternaries compiled to
unpredictable branches and ran 15x slower on random data.
"""

from __future__ import annotations

import numpy as np

from ..spec import ActivationSpec, Param, Properties
from ._common import reference


def identity(x):
    return x


def identity_d(x):
    return 1.0 if x == x else x


def relu(x):
    return 0.0 if x <= 0.0 else x


def relu_d(x):
    y = 1.0 if x > 0.0 else 0.0
    return x if x != x else y


def relu6(x):
    y = 0.0 if x <= 0.0 else x
    return 6.0 if x >= 6.0 else y


def relu6_d(x):
    y = 1.0 if (x > 0.0) & (x < 6.0) else 0.0
    return x if x != x else y


def leaky_relu(x, negative_slope):
    return x if x >= 0.0 else negative_slope * x


def leaky_relu_d(x, negative_slope):
    y = 1.0 if x > 0.0 else negative_slope
    return x if x != x else y


def leaky_relu_dslope(x, negative_slope):
    return 0.0 if x >= 0.0 else x


def rrelu(x, lower, upper):
    return x if x >= 0.0 else 0.5 * (lower + upper) * x


def rrelu_d(x, lower, upper):
    y = 1.0 if x > 0.0 else 0.5 * (lower + upper)
    return x if x != x else y


def _rrelu_randomize(rng, shape, params):
    lower, upper = (np.asarray(p, dtype=np.float64) for p in params)
    slope = rng.uniform(size=shape) * (upper - lower) + lower
    return (slope, slope)


def _rrelu_check(lower, upper):
    return None if lower <= upper else f"lower ({lower}) must not exceed upper ({upper})"


def hard_sigmoid(x):
    y = (x + 3.0) / 6.0  # x + 3 is exact near -3 (Sterbenz); x / 6 + 0.5 cancels there
    y = 0.0 if x <= -3.0 else y
    return 1.0 if x >= 3.0 else y


def hard_sigmoid_d(x):
    y = 1.0 / 6.0 if (x > -3.0) & (x < 3.0) else 0.0
    return x if x != x else y


def hard_swish(x):
    y = x * (x + 3.0) / 6.0
    y = -0.0 if x <= -3.0 else y
    return x if x >= 3.0 else y


def hard_swish_d(x):
    y = (x + 1.5) / 3.0  # x + 1.5 exact near the zero at -1.5; x / 3 + 0.5 cancels there
    y = 0.0 if x <= -3.0 else y
    return 1.0 if x >= 3.0 else y


def hard_tanh(x, min_val, max_val):
    y = min_val if x <= min_val else x
    return max_val if x >= max_val else y


def hard_tanh_d(x, min_val, max_val):
    y = 1.0 if (x > min_val) & (x < max_val) else 0.0
    return x if x != x else y


def _hard_tanh_check(min_val, max_val):
    return None if min_val < max_val else f"min_val ({min_val}) must be below max_val ({max_val})"


def softshrink(x, lambd):
    y = x - lambd if x > lambd else 0.0
    y = x + lambd if x < -lambd else y
    return x if x != x else y


def hardshrink(x, lambd):
    y = x if (x > lambd) | (x < -lambd) else 0.0
    return x if x != x else y


def shrink_d(x, lambd):
    y = 1.0 if (x > lambd) | (x < -lambd) else 0.0
    return x if x != x else y


def threshold(x, threshold, value):
    return value if x <= threshold else x


def threshold_d(x, threshold, value):
    y = 0.0 if x <= threshold else 1.0
    return x if x != x else y


def sparse_plus(x):
    y = 0.25 * (x + 1.0) * (x + 1.0)
    y = 0.0 if x <= -1.0 else y
    return x if x >= 1.0 else y


def sparse_sigmoid(x):
    y = 0.5 * (x + 1.0)
    y = 0.0 if x <= -1.0 else y
    return 1.0 if x >= 1.0 else y


def sparse_sigmoid_d(x):
    y = 0.5 if (x > -1.0) & (x < 1.0) else 0.0
    return x if x != x else y


def relu_squared(x):
    return 0.0 if x <= 0.0 else x * x


def relu_squared_d(x):
    return 0.0 if x <= 0.0 else 2.0 * x


# ---- references ------------------------------------------------------------------------


def _where_nan(x, y):
    return np.where(np.isnan(x), x, y)


R = reference

_SLOPE = Param("negative_slope", 0.01, "slope for x < 0 (PyTorch/JAX default; Keras uses 0.2/0.3)")
_LAMBD = Param("lambd", 0.5, "half-width of the band mapped to zero", lower=0.0)

SPECS = [
    ActivationSpec(
        name="identity",
        summary="The identity map; the 'linear' activation of Keras.",
        formula="f(x) = x",
        derivative_formula="f'(x) = 1",
        forward=identity,
        derivative=identity_d,
        reference=R(lambda x: x),
        reference_derivative=R(lambda x: _where_nan(x, np.ones_like(x))),
        properties=Properties(
            "(-inf, inf)", monotonic=True, smooth=True, zero_centered=True, saturating=False
        ),
        aliases=("linear",),
        max_ulp={"float32": 0, "float64": 0},
    ),
    ActivationSpec(
        name="relu",
        summary="Rectified linear unit; NaN propagates like PyTorch, relu(-0.0) = +0.0.",
        formula="f(x) = max(x, 0)",
        derivative_formula="f'(x) = 1 if x > 0 else 0 (f'(0) = 0, like PyTorch and JAX)",
        forward=relu,
        derivative=relu_d,
        reference=R(lambda x: _where_nan(x, np.where(x > 0, x, 0.0))),
        reference_derivative=R(lambda x: _where_nan(x, np.where(x > 0, 1.0, 0.0))),
        properties=Properties(
            "[0, inf)", monotonic=True, smooth=False, zero_centered=False, saturating=False, sparse=True
        ),
        max_ulp={"float32": 0, "float64": 0},
    ),
    ActivationSpec(
        name="relu6",
        summary="ReLU clipped at 6 (MobileNet); hard_tanh(0, 6).",
        formula="f(x) = min(max(x, 0), 6)",
        derivative_formula="f'(x) = 1 on (0, 6), else 0 (0 at both kinks)",
        forward=relu6,
        derivative=relu6_d,
        reference=R(lambda x: _where_nan(x, np.clip(x, 0.0, 6.0))),
        reference_derivative=R(lambda x: _where_nan(x, np.where((x > 0) & (x < 6), 1.0, 0.0))),
        properties=Properties(
            "[0, 6]", monotonic=True, smooth=False, zero_centered=False, saturating=True, sparse=True
        ),
        max_ulp={"float32": 0, "float64": 0},
    ),
    ActivationSpec(
        name="leaky_relu",
        summary="ReLU with a small slope for negative inputs so units never die.",
        formula="f(x) = x if x >= 0 else negative_slope * x",
        derivative_formula="f'(x) = 1 if x > 0 else negative_slope",
        forward=leaky_relu,
        derivative=leaky_relu_d,
        param_derivatives={"negative_slope": leaky_relu_dslope},
        reference=R(lambda x, s: np.where(x >= 0, x, s * x)),
        reference_derivative=R(lambda x, s: _where_nan(x, np.where(x > 0, 1.0, s))),
        params=(_SLOPE,),
        properties=Properties(
            "(-inf, inf)", monotonic=True, smooth=False, zero_centered=False, saturating=False
        ),
        max_ulp={"float32": 1, "float64": 0},
    ),
    ActivationSpec(
        name="prelu",
        summary="Parametric ReLU: leaky ReLU with a learnable slope (per channel by broadcasting).",
        formula="f(x) = x if x >= 0 else weight * x",
        derivative_formula="f'(x) = 1 if x > 0 else weight;  df/dweight = min(x, 0)",
        forward=leaky_relu,
        derivative=leaky_relu_d,
        param_derivatives={"weight": leaky_relu_dslope},
        reference=R(lambda x, w: np.where(x >= 0, x, w * x)),
        reference_derivative=R(lambda x, w: _where_nan(x, np.where(x > 0, 1.0, w))),
        params=(Param("weight", 0.25, "learnable negative slope (PyTorch init 0.25)", learnable=True),),
        properties=Properties(
            "(-inf, inf)", monotonic=True, smooth=False, zero_centered=False, saturating=False
        ),
        max_ulp={"float32": 1, "float64": 0},
    ),
    ActivationSpec(
        name="rrelu",
        summary=(
            "Randomized leaky ReLU: the mean slope (lower+upper)/2 by default (PyTorch eval "
            "mode); pass rng= (a seed or numpy Generator) for a slope ~ U(lower, upper) per element."
        ),
        formula="f(x) = x if x >= 0 else a * x,  a = (lower + upper) / 2  (or a ~ U(lower, upper))",
        derivative_formula="f'(x) = 1 if x > 0 else a",
        forward=rrelu,
        derivative=rrelu_d,
        reference=R(lambda x, lo, hi: np.where(x >= 0, x, 0.5 * (lo + hi) * x)),
        reference_derivative=R(lambda x, lo, hi: _where_nan(x, np.where(x > 0, 1.0, 0.5 * (lo + hi)))),
        params=(
            Param("lower", 1.0 / 8.0, "lower bound of the slope", lower=0.0),
            Param("upper", 1.0 / 3.0, "upper bound of the slope", lower=0.0),
        ),
        properties=Properties(
            "(-inf, inf)", monotonic=True, smooth=False, zero_centered=False, saturating=False
        ),
        check_params=_rrelu_check,
        randomize=_rrelu_randomize,
        max_ulp={"float32": 1, "float64": 1},
    ),
    ActivationSpec(
        name="hard_sigmoid",
        summary="Piecewise-linear sigmoid relu6(x + 3) / 6 (PyTorch, JAX, Keras 3; not Keras 2).",
        formula="f(x) = clip(x / 6 + 1/2, 0, 1)",
        derivative_formula="f'(x) = 1/6 on (-3, 3), else 0",
        forward=hard_sigmoid,
        derivative=hard_sigmoid_d,
        reference=R(lambda x: _where_nan(x, np.clip((x + 3.0) / 6.0, 0.0, 1.0))),
        reference_derivative=R(lambda x: _where_nan(x, np.where((x > -3) & (x < 3), 1.0 / 6.0, 0.0))),
        properties=Properties("[0, 1]", monotonic=True, smooth=False, zero_centered=False, saturating=True),
        max_ulp={"float32": 1, "float64": 1},
    ),
    ActivationSpec(
        name="hard_swish",
        summary="x * hard_sigmoid(x) (MobileNetV3); hard_silu in JAX and Keras.",
        formula="f(x) = x * relu6(x + 3) / 6",
        derivative_formula="f'(x) = 0 for x <= -3, 1 for x >= 3, else (2x + 3) / 6",
        forward=hard_swish,
        derivative=hard_swish_d,
        reference=R(lambda x: np.where(x <= -3, -0.0, np.where(x >= 3, x, x * (x + 3.0) / 6.0))),
        reference_derivative=R(lambda x: np.where(x <= -3, 0.0, np.where(x >= 3, 1.0, (x + 1.5) / 3.0))),
        properties=Properties(
            "[-0.375, inf)", monotonic=False, smooth=False, zero_centered=False, saturating=False
        ),
        aliases=("hard_silu",),
        max_ulp={"float32": 1, "float64": 2},
    ),
    ActivationSpec(
        name="hard_tanh",
        summary="Clip to [min_val, max_val].",
        formula="f(x) = clip(x, min_val, max_val)",
        derivative_formula="f'(x) = 1 on (min_val, max_val), else 0",
        forward=hard_tanh,
        derivative=hard_tanh_d,
        reference=R(lambda x, lo, hi: _where_nan(x, np.clip(x, lo, hi))),
        reference_derivative=R(lambda x, lo, hi: _where_nan(x, np.where((x > lo) & (x < hi), 1.0, 0.0))),
        params=(Param("min_val", -1.0, "lower clip value"), Param("max_val", 1.0, "upper clip value")),
        properties=Properties(
            "[min_val, max_val]", monotonic=True, smooth=False, zero_centered=True, saturating=True
        ),
        check_params=_hard_tanh_check,
        aliases=("hardtanh",),
        max_ulp={"float32": 0, "float64": 0},
    ),
    ActivationSpec(
        name="softshrink",
        summary="Soft thresholding (the proximal map of the L1 norm).",
        formula="f(x) = x - lambd if x > lambd; x + lambd if x < -lambd; else 0",
        derivative_formula="f'(x) = 1 if |x| > lambd else 0",
        forward=softshrink,
        derivative=shrink_d,
        reference=R(
            lambda x, lam: _where_nan(x, np.where(x > lam, x - lam, np.where(x < -lam, x + lam, 0.0)))
        ),
        reference_derivative=R(lambda x, lam: _where_nan(x, np.where(np.abs(x) > lam, 1.0, 0.0))),
        params=(_LAMBD,),
        properties=Properties(
            "(-inf, inf)", monotonic=True, smooth=False, zero_centered=True, saturating=False, sparse=True
        ),
        aliases=("soft_shrink",),
        max_ulp={"float32": 1, "float64": 0},
    ),
    ActivationSpec(
        name="hardshrink",
        summary="Hard thresholding: keep x where |x| > lambd.",
        formula="f(x) = x if |x| > lambd else 0",
        derivative_formula="f'(x) = 1 if |x| > lambd else 0",
        forward=hardshrink,
        derivative=shrink_d,
        reference=R(lambda x, lam: _where_nan(x, np.where(np.abs(x) > lam, x, 0.0))),
        reference_derivative=R(lambda x, lam: _where_nan(x, np.where(np.abs(x) > lam, 1.0, 0.0))),
        params=(_LAMBD,),
        properties=Properties(
            "(-inf, inf)", monotonic=False, smooth=False, zero_centered=True, saturating=False, sparse=True
        ),
        aliases=("hard_shrink",),
        max_ulp={"float32": 0, "float64": 0},
    ),
    ActivationSpec(
        name="threshold",
        summary="Replace values at or below a threshold by a constant (PyTorch requires both).",
        formula="f(x) = x if x > threshold else value",
        derivative_formula="f'(x) = 1 if x > threshold else 0",
        forward=threshold,
        derivative=threshold_d,
        reference=R(lambda x, t, v: np.where(x <= t, v, x)),
        reference_derivative=R(lambda x, t, v: _where_nan(x, np.where(x > t, 1.0, 0.0))),
        params=(
            Param("threshold", 0.0, "values at or below it are replaced (no default in PyTorch)"),
            Param("value", 0.0, "the replacement value (no default in PyTorch)"),
        ),
        properties=Properties(
            "[value, inf) when value <= threshold",
            monotonic=False, smooth=False, zero_centered=False, saturating=False,  # fmt: skip
        ),
        max_ulp={"float32": 0, "float64": 0},
    ),
    ActivationSpec(
        name="sparse_plus",
        summary="Piecewise-quadratic softplus (JAX, Keras): exactly 0 below -1, exactly x above 1.",
        formula="f(x) = 0 (x <= -1); (x + 1)^2 / 4 (-1 < x < 1); x (x >= 1)",
        derivative_formula="f'(x) = sparse_sigmoid(x)",
        forward=sparse_plus,
        derivative=sparse_sigmoid,
        reference=R(lambda x: np.where(x <= -1, 0.0, np.where(x >= 1, x, 0.25 * (x + 1.0) ** 2))),
        reference_derivative=R(lambda x: _where_nan(x, 0.5 * np.clip(x + 1.0, 0.0, 2.0))),
        properties=Properties(
            "[0, inf)", monotonic=True, smooth=True, zero_centered=False, saturating=False, sparse=True
        ),
        max_ulp={"float32": 1, "float64": 1},
    ),
    ActivationSpec(
        name="sparse_sigmoid",
        summary="Piecewise-linear sigmoid, the derivative of sparse_plus (JAX, Keras).",
        formula="f(x) = clip(x + 1, 0, 2) / 2",
        derivative_formula="f'(x) = 1/2 on (-1, 1), else 0",
        forward=sparse_sigmoid,
        derivative=sparse_sigmoid_d,
        reference=R(lambda x: _where_nan(x, 0.5 * np.clip(x + 1.0, 0.0, 2.0))),
        reference_derivative=R(lambda x: _where_nan(x, np.where((x > -1) & (x < 1), 0.5, 0.0))),
        properties=Properties(
            "[0, 1]", monotonic=True, smooth=False, zero_centered=False, saturating=True, sparse=True
        ),
        max_ulp={"float32": 1, "float64": 0},
    ),
    ActivationSpec(
        name="relu_squared",
        summary="Squared ReLU (Primer, 'relu2' in Hugging Face transformers).",
        formula="f(x) = max(x, 0)^2",
        derivative_formula="f'(x) = 2 max(x, 0)",
        forward=relu_squared,
        derivative=relu_squared_d,
        reference=R(lambda x: _where_nan(x, np.where(x > 0, x * x, 0.0))),
        reference_derivative=R(lambda x: _where_nan(x, np.where(x > 0, 2.0 * x, 0.0))),
        properties=Properties(
            "[0, inf)", monotonic=True, smooth=False, zero_centered=False, saturating=False, sparse=True
        ),
        max_ulp={"float32": 1, "float64": 1},
    ),
]
