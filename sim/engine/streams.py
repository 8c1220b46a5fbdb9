"""Named random streams: one ``numpy.random.Generator`` per source of randomness.

Each stream is derived from the root seed sequence and a stable hash of its name, so
adding a new stream never shifts an existing one, and two scenarios that differ only in
staffing, routing or patience draw identical arrivals, specialties and consult lengths
for the same seed and replication (common random numbers).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from functools import partial

import numpy as np

SeedLike = int | np.random.SeedSequence | None
"""Anything accepted as a seed: an int, a SeedSequence, or None (the scenario's seed)."""

STREAM_KEY = 0x5EED
"""The spawn-key word that sets named streams apart from ``spawn``'s numbered children."""


def seed_sequence(seed: int | np.random.SeedSequence) -> np.random.SeedSequence:
    """Normalise a seed into a SeedSequence."""
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return np.random.SeedSequence(int(seed))


def replication_seed(seed: int | np.random.SeedSequence,
                     replication: int) -> np.random.SeedSequence:
    """The seed sequence of replication ``replication`` (same as ``spawn`` order)."""
    root = seed_sequence(seed)
    return np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, replication))


class Streams:
    """A lazily created, named family of generators under one seed sequence.

    The stream named ``name`` is a PCG64 generator seeded by ``SeedSequence(root.entropy,
    spawn_key=(*root.spawn_key, 0x5EED, crc32(name)))``: a child of the root keyed by the
    name rather than by ``spawn``'s running count, so streams do not depend on the order
    in which they are first asked for.
    """

    def __init__(self, seed: int | np.random.SeedSequence):
        self.root = seed_sequence(seed)
        self._cache: dict[str, np.random.Generator] = {}

    def __call__(self, name: str) -> np.random.Generator:
        """The generator for stream ``name`` (the same object on every call)."""
        gen = self._cache.get(name)
        if gen is None:
            key = zlib.crc32(name.encode("utf-8"))
            seq = np.random.SeedSequence(self.root.entropy,
                                         spawn_key=(*self.root.spawn_key, STREAM_KEY, key))
            gen = self._cache[name] = np.random.Generator(np.random.PCG64(seq))
        return gen


BLOCK = 1024
"""How many values ``drawn`` draws at a time."""


def drawn(rng: np.random.Generator,
          sample: Callable[[np.random.Generator, int], np.ndarray]) -> Callable[[], float]:
    """Values of one kind drawn from a stream a block at a time, handed out one per call.

    For what the run asks for one value at a time (a follow-up's delay, consult and
    patience): one numpy call per block instead of one per value. The values depend only
    on the stream and on how many were asked for before, so they are reproducible. (A
    generator behind ``next``: about half the cost per value of a method call.)
    """
    def values() -> Iterator[float]:
        while True:
            yield from sample(rng, BLOCK).tolist()

    return partial(next, values())


def uniform(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` draws uniform on [0, 1) (a ``drawn`` sampler)."""
    return rng.random(n)
