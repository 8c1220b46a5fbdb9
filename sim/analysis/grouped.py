"""Statistics of many groups at once, equal bit for bit to numpy's on each group alone.

A summary has a few hundred groups; computing each group's figures from its own rows
costs a few dozen numpy calls per group. These give every group's counts, sums, means
and percentiles from one sort per grouping, with the values numpy gives one group:
sums are added in numpy's (pairwise) order over each group's rows in record order, and
percentiles follow numpy's default ('linear') method step for step.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np


def percentile_positions(ns: np.ndarray, percentiles: tuple[float, ...]
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where ``numpy.percentile`` ('linear') looks in groups of ``ns`` sorted values.

    The positions of the lower and upper neighbours [group, percentile] (the last value at
    or past the end) and the interpolation weights, as numpy computes them.
    """
    virtual = np.outer(ns - 1, np.true_divide(percentiles, 100))
    below = np.floor(virtual)
    last = virtual >= (ns - 1)[:, None]  # at or past the end: the largest value
    top = np.broadcast_to((ns - 1)[:, None], virtual.shape)
    lower = np.where(last, top, below).astype(np.intp)
    upper = np.where(last, top, below + 1).astype(np.intp)
    gamma = virtual - np.where(last, -1.0, below)
    return lower, upper, gamma


def interpolate(a: np.ndarray, b: np.ndarray, gamma: np.ndarray) -> np.ndarray:
    """The linear interpolation numpy makes between neighbours ``a`` and ``b`` (``_lerp``)."""
    diff = b - a
    return np.where(gamma >= 0.5, b - diff * (1 - gamma), a + diff * gamma)


class ByGroup:
    """Rows labelled with group numbers ``key`` in [0, size), sorted by group once.

    Each statistic takes values and a mask over the same rows (no mask: every row) and
    returns one figure per group: a group without selected rows counts 0 and has NaN means
    and percentiles.
    """

    def __init__(self, key: np.ndarray, size: int) -> None:
        self.key, self.size = key, size

    @cached_property
    def order(self) -> np.ndarray:
        """Every row, sorted by group (record order within a group)."""
        return self._argsort(self.key)

    def _by_group(self, rows: np.ndarray) -> np.ndarray:
        """``rows`` sorted by group, in their given order within a group."""
        return rows[self._argsort(self.key[rows])]

    def _argsort(self, keys: np.ndarray) -> np.ndarray:
        if self.size < 2**15:  # 16-bit keys sort by radix, in O(n)
            keys = keys.astype(np.int16)
        return np.argsort(keys, kind="stable")

    def count(self, mask: np.ndarray | None = None,
              weights: np.ndarray | None = None) -> np.ndarray:
        """Each group's number of selected rows (all without ``mask``) or sum of their weights.

        Floats; whole-number weights add up exactly in any order.
        """
        if mask is not None:  # weights, not a selection: faster than selecting the rows
            weights = mask if weights is None else weights * mask
        return np.bincount(self.key, weights, minlength=self.size).astype(float)

    def _selected(self, mask: np.ndarray | None,
                  order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The rows of ``order`` that ``mask`` selects (all without it), and each group's count."""
        if mask is None:
            return order, np.bincount(self.key, minlength=self.size)
        rows = order[np.flatnonzero(mask[order])]
        return rows, np.bincount(self.key[rows], minlength=self.size)

    def _sums(self, values: np.ndarray,
              mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Each group's sum of the selected values (numpy's pairwise order), and count."""
        rows, ns = self._selected(mask, self.order)
        side_by_side, ends = values[rows], np.cumsum(ns).tolist()
        starts = [0, *ends[:-1]]
        sums = [np.add.reduce(side_by_side[a:b]) for a, b in zip(starts, ends, strict=True)]
        return np.array(sums, dtype=values.dtype), ns

    def sum(self, values: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """Each group's sum, as ``values[mask & (key == g)].sum()`` adds it (pairwise)."""
        return self._sums(values, mask)[0]

    def mean(self, values: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """Each group's mean, as ``values[mask & (key == g)].mean()`` (NaN if empty)."""
        total, n = self._sums(values, mask)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n > 0, total / n, np.nan)

    def percentile(self, values: np.ndarray, q: float, mask: np.ndarray | None = None,
                   ascending: np.ndarray | None = None) -> np.ndarray:
        """Each group's ``numpy.percentile(values[mask & (key == g)], q)`` (NaN if empty).

        ``ascending``, the rows in order of value (``np.argsort(values)``), saves the sort
        when several groupings need percentiles of the same values.
        """
        if ascending is None:
            ascending = np.argsort(values, kind="stable")
        rows, ns = self._selected(mask, ascending)
        if not len(rows):
            return np.full(self.size, np.nan)
        ordered = values[self._by_group(rows)]
        lower, upper, gamma = percentile_positions(ns, (q,))
        first, has = np.cumsum(ns) - ns, ns > 0

        def at(pos: np.ndarray) -> np.ndarray:
            return ordered[np.where(has, first + pos[:, 0], 0)]

        return np.where(has, interpolate(at(lower), at(upper), gamma[:, 0]), np.nan)


class Flags:
    """Boolean columns over the same rows, counted by group for many groupings.

    Each row's flags are packed once into one code; a grouping's counts of every flag then
    take one bincount of (group, code) pairs, not one weighted bincount per flag: the
    same whole numbers as ``ByGroup.count(mask)``.
    """

    def __init__(self, *masks: np.ndarray) -> None:
        n = len(masks)
        code = np.zeros(len(masks[0]), dtype=np.intp)
        for i, mask in enumerate(masks):
            code |= mask.astype(np.intp) << i
        self.code, self.n = code, n
        self.bits = (np.arange(1 << n)[:, None] >> np.arange(n)) & 1  # [code, flag]

    def count(self, key: np.ndarray, size: int) -> list[np.ndarray]:
        """Each flag's count by group (floats), rows labelled with ``key`` in [0, size)."""
        pairs = np.bincount((key << self.n) | self.code, minlength=size << self.n)
        return list((pairs.reshape(size, 1 << self.n) @ self.bits).T.astype(float))
