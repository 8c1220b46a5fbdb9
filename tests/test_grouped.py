"""``sim.analysis.grouped``: each group's figures equal numpy's on that group alone, bit for bit."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.analysis.grouped import ByGroup, Flags

TIES = np.array([0.0, 0.1, 1.0, 2.5, 7.0, 1e-9, 1e6, 33.3])


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 400), st.sampled_from([50.0, 90.0, 95.0]))
def test_every_group_matches_numpy_on_its_own_rows(seed: int, n: int, q: float) -> None:
    rng = np.random.default_rng(seed)
    key = rng.integers(0, 7, n)  # group 7 never occurs, others may be empty
    values = rng.choice(TIES, n) * np.linspace(1.0, 1.1, n)  # ties; sums that round
    mask = rng.random(n) < rng.random()
    size = 8
    g = ByGroup(key, size)
    by_value = np.argsort(values, kind="stable")
    got = [g.count(mask), g.sum(values, mask), g.mean(values, mask),
           g.percentile(values, q, mask), g.percentile(values, q, mask, by_value),
           g.count(mask, np.arange(n)), g.count(), g.sum(values), g.mean(values),
           g.percentile(values, q)]
    for i in range(size):
        sel = mask & (key == i)
        x = values[sel]
        want = [float(sel.sum()), float(x.sum()),
                float(x.mean()) if len(x) else np.nan,
                float(np.percentile(x, q)) if len(x) else np.nan,
                float(np.percentile(x, q)) if len(x) else np.nan,
                float(np.flatnonzero(sel).sum()), float(np.sum(key == i)),
                float(values[key == i].sum()),
                float(values[key == i].mean()) if np.any(key == i) else np.nan,
                float(np.percentile(values[key == i], q)) if np.any(key == i) else np.nan]
        assert [float(v[i]).hex() for v in got] == [w.hex() for w in want], i


def test_a_long_group_is_summed_in_numpys_pairwise_order() -> None:
    """Above 8 and 128 values numpy adds pairwise; a running sum would differ in the last bits."""
    rng = np.random.default_rng(5)
    values = rng.exponential(30.0, 5000) * rng.choice([1.0, 1e-6, 1e6], 5000)
    key = rng.integers(0, 3, 5000)
    mask = rng.random(5000) < 0.8
    sums = ByGroup(key, 3).sum(values, mask)
    running = np.bincount(key[mask], values[mask], minlength=3)  # in record order
    assert [sums[i] for i in range(3)] == [values[mask & (key == i)].sum() for i in range(3)]
    assert not np.array_equal(sums, running)  # the order matters at these sizes


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 300), st.integers(1, 5))
def test_flags_count_as_a_mask_does(seed: int, n: int, k: int) -> None:
    """``Flags.count``: every flag's count by group, as ``ByGroup.count(mask)`` gives it."""
    rng = np.random.default_rng(seed)
    key = rng.integers(0, 6, n)  # group 6 never occurs
    masks = [rng.random(n) < rng.random() for _ in range(k)]
    got = Flags(*masks).count(key, 7)
    want = [ByGroup(key, 7).count(m) for m in masks]
    assert len(got) == k
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype and np.array_equal(g, w)
