"""Per-call cost of fastact's bridges (issue 20), and one MLP training step with fastact.torch
activations vs torch.nn.functional. A script, not a test: ``python bench/interop_overhead.py``.

Times are medians of repeated calls on float32 arrays (silu: a cheap kernel, so the bridges'
overhead shows); the figures are noisy on a
shared machine. Sizes 1e3 (call overhead dominates) and 1e6 (the kernel dominates).
"""

from __future__ import annotations

import statistics
import time

import numba
import numpy as np

import fastact as fa


def median_time(fn, repeat: int = 30, budget_s: float = 1.0) -> float:
    fn()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < repeat and (time.perf_counter() - start) < budget_s or len(times) < 5:
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def fmt(s: float) -> str:
    return f"{s * 1e6:.1f} us" if s < 1e-3 else f"{s * 1e3:.2f} ms"


def main() -> None:
    rows = []

    @numba.njit
    def in_njit(x):
        return fa.silu(x)

    for n in (1_000, 1_000_000):
        x = np.random.default_rng(0).standard_normal(n).astype(np.float32)
        rows.append(("fastact.silu (NumPy)", n, median_time(lambda x=x: fa.silu(x))))
        rows.append(("fastact.silu inside @njit", n, median_time(lambda x=x: in_njit(x))))
    try:
        import torch
        import torch.nn.functional as F

        import fastact.torch as ft

        torch.set_num_threads(1)
        for n in (1_000, 1_000_000):
            t = torch.randn(n)
            tg = t.clone().requires_grad_()
            g = torch.ones(n)
            rows.append(("fastact.torch.silu", n, median_time(lambda t=t: ft.silu(t))))
            rows.append(("torch F.silu", n, median_time(lambda t=t: F.silu(t))))
            for what, fn in (("fastact.torch.silu fwd+bwd", ft.silu), ("torch F.silu fwd+bwd", F.silu)):
                step = lambda fn=fn, tg=tg, g=g: torch.autograd.grad(fn(tg), tg, g)  # noqa: E731
                rows.append((what, n, median_time(step)))
    except ImportError as exc:
        print(f"(torch skipped: {exc})")
    try:
        import jax
        import jax.numpy as jnp

        import fastact.jax as fj

        mine, theirs = jax.jit(fj.silu), jax.jit(jax.nn.silu)
        for n in (1_000, 1_000_000):
            v = jnp.asarray(np.random.default_rng(0).standard_normal(n).astype(np.float32))
            rows.append(("fastact.jax.silu (jit)", n, median_time(lambda v=v: mine(v).block_until_ready())))
            rows.append(("jax.nn.silu (jit)", n, median_time(lambda v=v: theirs(v).block_until_ready())))  # noqa: E501
    except ImportError as exc:
        print(f"(jax skipped: {exc})")
    print(f"{'what':30} {'elements':>9} {'per call':>10}")
    for what, n, s in rows:
        print(f"{what:30} {n:>9.0e} {fmt(s):>10}")
    train_step()


def train_step() -> None:
    try:
        import torch
        import torch.nn.functional as F

        import fastact.torch as ft
    except ImportError:
        return
    torch.set_num_threads(1)
    torch.manual_seed(0)
    x, y = torch.randn(256, 784), torch.randint(0, 10, (256,))
    print("\nOne training step, MLP 784-512-512-10, batch 256, SGD, float32, 1 thread (median):")
    cases = [("gelu", ft.gelu, "fastact.torch"), ("silu", ft.silu, "fastact.torch"),
             ("gelu", F.gelu, "torch.nn.functional"), ("silu", F.silu, "torch.nn.functional")]  # fmt: skip
    for name, act, where in cases:
        layers = [torch.nn.Linear(784, 512), torch.nn.Linear(512, 512), torch.nn.Linear(512, 10)]
        params = [p for layer in layers for p in layer.parameters()]
        opt = torch.optim.SGD(params, lr=0.01)

        def step(act=act, layers=layers, opt=opt):
            opt.zero_grad()
            h = act(layers[0](x))
            h = act(layers[1](h))
            F.cross_entropy(layers[2](h), y).backward()
            opt.step()

        print(f"  {name:5} {where:20} {fmt(median_time(step, repeat=20, budget_s=3.0))}")


if __name__ == "__main__":
    main()
