"""Named streams: the fast seeding path draws exactly what SeedSequence's own would."""

from __future__ import annotations

import zlib

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.streams import Streams, replication_seed


def slow(root: np.random.SeedSequence, name: str) -> np.random.Generator:
    key = zlib.crc32(name.encode("utf-8"))
    return np.random.Generator(np.random.PCG64(
        np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, 0x5EED, key))))


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**200), st.lists(st.integers(0, 2**70), max_size=3),
       st.text(max_size=20))
def test_fast_seeding_matches_seed_sequence(entropy: int, spawn: list[int], name: str) -> None:
    root = np.random.SeedSequence(entropy, spawn_key=tuple(spawn))
    streams = Streams(root)
    assert streams._prefix is not None  # the fast path is the one under test
    got, want = streams(name), slow(root, name)
    assert np.array_equal(got.integers(0, 2**63, 8), want.integers(0, 2**63, 8))


def test_replications_and_unusual_roots() -> None:
    for root in (replication_seed(42, 3), np.random.SeedSequence(7)):
        assert np.array_equal(Streams(root)("consult/medicine").random(5),
                              slow(root, "consult/medicine").random(5))
    # a root built from a list of words has no fast path: it takes SeedSequence's own
    root = np.random.SeedSequence([1, 2, 3])
    assert Streams(root)._prefix is None
    assert np.array_equal(Streams(root)("x").random(5), slow(root, "x").random(5))
    # the same name gives the same generator object; different names differ
    s = Streams(5)
    assert s("a") is s("a") and s("a").random() != s("b").random()
