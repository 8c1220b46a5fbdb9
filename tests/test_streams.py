"""Named streams: each is the documented SeedSequence child of the root, keyed by name."""

from __future__ import annotations

import pickle
import zlib

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.engine.streams import BLOCK, Streams, drawn, replication_seed, uniform


def reference(root: np.random.SeedSequence, name: str) -> np.random.Generator:
    key = zlib.crc32(name.encode("utf-8"))
    return np.random.Generator(np.random.PCG64(
        np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, 0x5EED, key))))


def same(a: np.random.Generator, b: np.random.Generator) -> bool:
    """Same PCG64 state, then the same draws (which advance both alike)."""
    return (a.bit_generator.state == b.bit_generator.state
            and np.array_equal(a.integers(0, 2**63, 4), b.integers(0, 2**63, 4))
            and np.array_equal(a.random(3), b.random(3)))


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**200), st.lists(st.integers(0, 2**70), max_size=3),
       st.lists(st.text(max_size=20), max_size=6))
def test_streams_are_seed_sequence_children_in_any_order(entropy: int, spawn: list[int],
                                                         names: list[str]) -> None:
    root = np.random.SeedSequence(entropy, spawn_key=tuple(spawn))
    forward, backward = Streams(root), Streams(root)
    for name in reversed(names):  # created in another order: the same streams
        backward(name)
    for name in set(names):
        assert same(forward(name), reference(root, name))
        assert backward(name).bit_generator.state == reference(root, name).bit_generator.state


def test_replications_and_unusual_roots() -> None:
    for root in (replication_seed(42, 3), np.random.SeedSequence(7),
                 np.random.SeedSequence(3, pool_size=8), np.random.SeedSequence([1, 2, 3])):
        assert same(Streams(root)("consult/medicine"), reference(root, "consult/medicine"))
    # the same name gives the same generator object; different names differ
    s = Streams(5)
    assert s("a") is s("a") and s("a").random() != s("b").random()
    # replications differ from each other and from the root
    draws = {float(Streams(replication_seed(9, k))("x").random()) for k in range(3)}
    assert len(draws | {float(Streams(9)("x").random())}) == 4


def test_known_values_are_kept() -> None:
    """The first draws of two streams, as recorded at the change to numpy's public path
    (the record digests of tests/test_engine_equivalence.py rest on these values)."""
    assert Streams(1)("arrivals/d2d").integers(0, 2**32, 2).tolist() == [3161154344,
                                                                         3770595746]
    rep = Streams(replication_seed(20240601, 7))
    assert rep("patience").integers(0, 2**32, 2).tolist() == [1713372601, 1645596074]


def test_a_stream_pickles_with_its_state() -> None:
    a, b = Streams(11)("a"), Streams(11)("a")
    a.random(7)
    b.random(7)
    assert same(pickle.loads(pickle.dumps(a)), b)


def test_drawn_hands_out_the_blocks_of_its_stream_in_order() -> None:
    """One value at a time, the same values as drawing the blocks at once, block by block."""
    n = BLOCK * 2 + 5
    draw = drawn(np.random.default_rng(7), uniform)
    got = [draw() for _ in range(n)]
    rng = np.random.default_rng(7)
    want = np.concatenate([rng.random(BLOCK) for _ in range(3)])[:n]
    assert got == want.tolist()
    assert all(isinstance(v, float) for v in got[:3])  # Python floats, not numpy scalars
