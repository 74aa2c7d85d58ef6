"""Plain-text tables for the CLI and the benchmark report."""

from __future__ import annotations

from collections.abc import Sequence


def table(rows: Sequence[Sequence[object]], header: Sequence[str], numeric_right: bool = False) -> str:
    """Aligned columns separated by two spaces; with ``numeric_right`` every column but the
    first is right-aligned (for figures). Trailing blanks are stripped."""
    cells = [[str(c) for c in row] for row in [header, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = []
    for row in cells:
        parts = [
            c.rjust(w) if numeric_right and i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))
        ]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)
