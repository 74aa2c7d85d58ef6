"""``fastact plot``: function (and derivative) curves, as a PNG with matplotlib or as a sketch
in the terminal without it."""

from __future__ import annotations

import numpy as np

from .. import get

MARKS = "*o+x#@%&"


def curves(names, lo: float, hi: float, n: int = 801):
    """(x, [(label, f(x), f'(x) or None)]) for each activation name or composition."""
    x = np.linspace(lo, hi, n)
    out = []
    for name in names:
        act = get(name)
        if act.spec.kind != "elementwise":
            raise ValueError(f"{act.name} is axis-wise: it has no curve to plot")
        out.append((name, act(x), act.grad(x) if act.spec.derivative is not None else None))
    return x, out


def panels(path: str, titles: list[str], xlabel: str, draw, width: float = 5.5) -> None:
    """Write a PNG of ``len(titles)`` side-by-side panels; ``draw(axes)`` plots into them and
    each gets its title, x label, grid and legend. Shared by ``plot`` and ``compare --plot``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(titles), figsize=(width * len(titles), 4.2), squeeze=False)
    draw(axes[0])
    for ax, title in zip(axes[0], titles):
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def figure(names, lo: float, hi: float, grad: bool, path: str) -> None:
    """Write a PNG: the functions, and their derivatives side by side with ``grad``."""
    x, data = curves(names, lo, hi)

    def draw(axes):
        for label, y, d in data:
            axes[0].plot(x, y, label=label)
            if grad and d is not None:
                axes[1].plot(x, d, label=f"{label}'")
        for ax in axes:
            ax.axhline(0, color="0.7", lw=0.8)
            ax.axvline(0, color="0.7", lw=0.8)

    panels(path, ["f(x)", "f'(x)"] if grad else ["f(x)"], "x", draw)


def sketch(names, lo: float, hi: float, grad: bool, width: int = 72, height: int = 20) -> str:
    """The curves as characters (one mark per activation), for terminals without matplotlib."""
    x, data = curves(names, lo, hi, n=width)
    series = [(label, y) for label, y, _ in data]
    if grad:
        series += [(f"{label}'", d) for label, _, d in data if d is not None]
    finite = np.concatenate([y[np.isfinite(y)] for _, y in series]) if series else np.zeros(1)
    ymin, ymax = float(finite.min()), float(finite.max())
    if ymax - ymin < 1e-12:
        ymin, ymax = ymin - 1, ymax + 1
    grid = [[" "] * width for _ in range(height)]

    def row(v):
        return height - 1 - int(round((v - ymin) / (ymax - ymin) * (height - 1)))

    if ymin < 0 < ymax:
        grid[row(0.0)] = ["-"] * width
    zero_col = int(round((0 - lo) / (hi - lo) * (width - 1))) if lo < 0 < hi else None
    for r in range(height):
        if zero_col is not None:
            grid[r][zero_col] = "|" if grid[r][zero_col] == " " else "+"
    for k, (_, y) in enumerate(series):
        for c in range(width):
            if np.isfinite(y[c]):
                grid[row(float(y[c]))][c] = MARKS[k % len(MARKS)]
    lines = [f"{ymax:>9.3g} |" + "".join(grid[0])]
    lines += ["          |" + "".join(r) for r in grid[1:-1]]
    lines += [f"{ymin:>9.3g} |" + "".join(grid[-1])]
    lines += [" " * 11 + f"{lo:<{width // 2}g}" + f"{hi:>{width - width // 2}g}"]
    lines += ["   " + "   ".join(f"{MARKS[k % len(MARKS)]} {label}" for k, (label, _) in enumerate(series))]
    return "\n".join(lines)
