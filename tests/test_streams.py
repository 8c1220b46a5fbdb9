"""Named streams: the fast seeding path draws exactly what SeedSequence's own would."""

from __future__ import annotations

import pickle
import warnings
import zlib

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.engine.streams import Streams, replication_seed


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
    # a root with a larger pool: each stream's SeedSequence still has the default one
    root = np.random.SeedSequence(3, pool_size=8)
    assert Streams(root)._prefix is not None
    assert same(Streams(root)("x"), slow(root, "x"))
    s8 = Streams(root)
    s8.prepare(["x", "y"])
    assert same(s8("y"), slow(root, "y"))
    # a root built from a list of words has no fast path: it takes SeedSequence's own
    root = np.random.SeedSequence([1, 2, 3])
    assert Streams(root)._prefix is None
    assert np.array_equal(Streams(root)("x").random(5), slow(root, "x").random(5))
    # the same name gives the same generator object; different names differ
    s = Streams(5)
    assert s("a") is s("a") and s("a").random() != s("b").random()


def same(a: np.random.Generator, b: np.random.Generator) -> bool:
    """Same PCG64 state, then the same draws (which advance both alike)."""
    return (a.bit_generator.state == b.bit_generator.state
            and np.array_equal(a.integers(0, 2**63, 4), b.integers(0, 2**63, 4))
            and np.array_equal(a.random(3), b.random(3)))


names_st = st.lists(st.text(max_size=20), max_size=8)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**200), st.lists(st.integers(0, 2**70), max_size=3), names_st)
def test_prepare_matches_lazy_streams(entropy: int, spawn: list[int], names: list[str]) -> None:
    root = np.random.SeedSequence(entropy, spawn_key=tuple(spawn))
    prepared, lazy = Streams(root), Streams(root)
    assert prepared._prefix is not None  # the vectorised path is the one under test
    prepared.prepare([*names, *names[:2]])  # duplicates are fine
    assert set(prepared._cache) == set(names)
    for name in set(names):
        got = prepared._cache[name]
        assert prepared(name) is got
        assert got.bit_generator.state == slow(root, name).bit_generator.state
        assert same(got, lazy(name))


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**64), st.integers(0, 2**40), names_st)
def test_prepare_matches_lazy_streams_of_replications(seed: int, k: int,
                                                      names: list[str]) -> None:
    root = replication_seed(seed, k)
    prepared, lazy = Streams(root), Streams(root)
    prepared.prepare(names)
    for name in set(names):
        assert same(prepared(name), lazy(name))


def test_prepare_skips_existing_and_many_at_once() -> None:
    s, lazy = Streams(replication_seed(20240601, 7)), Streams(replication_seed(20240601, 7))
    first = s("patience")
    first.random()  # a drawn-from stream is kept as it is, not recreated
    names = ([f"arrivals/source{i}" for i in range(200)] + ["patience", "", "consult/ü日本"])
    with np.errstate(all="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")  # no uint32 overflow warnings from the hashing
        s.prepare(names)
    assert s("patience") is first
    lazy("patience").random()
    for name in names:  # distinct
        assert same(s(name), lazy(name))
    s.prepare([])
    s.prepare(names)  # all cached already: nothing changes
    assert all(s(name) is s._cache[name] for name in names)


def test_prepared_seed_seq_spawns_and_pickles_like_a_seed_sequence() -> None:
    prepared, lazy = Streams(11), Streams(11)
    prepared.prepare(["a", "b"])
    a, b = prepared("a"), lazy("a")
    mine, real = a.bit_generator.seed_seq, b.bit_generator.seed_seq
    assert not isinstance(mine, np.random.SeedSequence)  # a stand-in ...
    for n_words, dtype in ((4, np.uint64), (8, np.uint32), (3, np.uint32), (10, np.uint64)):
        assert np.array_equal(mine.generate_state(n_words, dtype),
                              real.generate_state(n_words, dtype))
    # ... whose spawn gives the same children, in the same order, as the real one's
    for _ in range(2):
        for x, y in zip(a.spawn(2), b.spawn(2), strict=True):
            assert same(x, y)
    a.random(7)
    b.random(7)
    assert same(pickle.loads(pickle.dumps(a)), b)


def test_prepare_without_fast_path() -> None:
    for root in (np.random.SeedSequence([1, 2, 3]), np.random.SeedSequence(np.uint64(9))):
        s = Streams(root)
        assert s._prefix is None
        s.prepare(["x", "y", "x"])
        assert set(s._cache) == {"x", "y"}
        assert same(s("x"), slow(root, "x")) and same(s("y"), slow(root, "y"))
        assert isinstance(s("x").bit_generator.seed_seq, np.random.SeedSequence)
