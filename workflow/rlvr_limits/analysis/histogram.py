"""Per-problem accuracy histograms with the paper's 12 bins (Fig. 5 and 13).

The bins are: exactly 0, (0, 0.1], (0.1, 0.2], …, (0.8, 0.9], (0.9, 1.0), exactly 1. Accuracy c/n is binned
with integer arithmetic, so a problem at exactly 0.1 (c·10 = n) lands in (0, 0.1] and not in the next bin as a
floating-point division might put it.
"""

from __future__ import annotations

import numpy as np

BIN_LABELS: tuple[str, ...] = (
    "0",
    *(f"({lo / 10:g},{(lo + 1) / 10:g}]" for lo in range(9)),
    "(0.9,1.0)",
    "1",
)


def bin_index(n: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Bin (0..11) of each problem's accuracy c/n."""
    n = np.asarray(n, dtype=np.int64)
    c = np.asarray(c, dtype=np.int64)
    if np.any(n < 1) or np.any(c < 0) or np.any(c > n):
        raise ValueError("every problem needs n >= 1 and 0 <= c <= n")
    tenths = -((-10 * c) // n)  # ceil(10c/n): (j-1)/10 < c/n <= j/10
    return np.where(c == 0, 0, np.where(c == n, 11, tenths))


def histogram(n: np.ndarray, c: np.ndarray) -> list[int]:
    """Number of problems in each of the 12 bins, in `BIN_LABELS` order."""
    return np.bincount(bin_index(n, c), minlength=len(BIN_LABELS)).tolist()
