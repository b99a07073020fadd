"""The paper's 12 accuracy bins, with the edge values 0, 0.1, 0.9 and 1."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from rlvr_limits.analysis.histogram import BIN_LABELS, bin_index, histogram


def test_labels_are_the_papers() -> None:
    assert BIN_LABELS == ("0", "(0,0.1]", "(0.1,0.2]", "(0.2,0.3]", "(0.3,0.4]", "(0.4,0.5]", "(0.5,0.6]",
                          "(0.6,0.7]", "(0.7,0.8]", "(0.8,0.9]", "(0.9,1.0)", "1")


@pytest.mark.parametrize(("n", "c", "label"), [
    (10, 0, "0"),
    (10, 1, "(0,0.1]"),        # exactly 0.1 belongs to (0, 0.1]
    (128, 12, "(0,0.1]"),      # 0.094
    (128, 13, "(0.1,0.2]"),    # 0.102
    (10, 9, "(0.8,0.9]"),      # exactly 0.9 belongs to (0.8, 0.9]
    (20, 19, "(0.9,1.0)"),     # 0.95
    (1024, 1023, "(0.9,1.0)"),
    (10, 10, "1"),
    (1024, 1, "(0,0.1]"),
    (30, 3, "(0,0.1]"),        # 3/30 is 0.1 exactly, though 3/30 in floating point is 0.1000000000000000055
    (30, 9, "(0.2,0.3]"),      # 9/30 = 0.3 exactly
])
def test_edges(n: int, c: int, label: str) -> None:
    assert BIN_LABELS[int(bin_index(np.array([n]), np.array([c]))[0])] == label


def _reference_bin(n: int, c: int) -> int:
    acc = Fraction(c, n)
    if acc == 0:
        return 0
    if acc == 1:
        return 11
    return next(j for j in range(1, 11) if Fraction(j - 1, 10) < acc <= Fraction(j, 10))


def test_agrees_with_exact_fractions() -> None:
    for n in (1, 3, 7, 10, 16, 30, 64, 100, 128, 256):
        c = np.arange(n + 1)
        got = bin_index(np.full(n + 1, n), c)
        assert got.tolist() == [_reference_bin(n, int(ci)) for ci in c]


def test_histogram_counts_problems() -> None:
    n = np.full(6, 10)
    c = np.array([0, 0, 1, 5, 10, 9])
    assert histogram(n, c) == [2, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1]
    assert sum(histogram(n, c)) == 6


def test_invalid_counts() -> None:
    with pytest.raises(ValueError):
        bin_index(np.array([4]), np.array([5]))
