"""Named random streams: one ``numpy.random.Generator`` per source of randomness.

Each stream is derived from the root seed sequence and a stable hash of its name, so
adding a new stream never shifts an existing one, and two scenarios that differ only in
staffing, routing or patience draw identical arrivals, specialties and consult lengths
for the same seed and replication (common random numbers).
"""

from __future__ import annotations

import zlib

import numpy as np

SeedLike = int | np.random.SeedSequence | None
"""Anything accepted as a seed: an int, a SeedSequence, or None (the scenario's seed)."""


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


def _words(x: int) -> list[int]:
    """A non-negative integer as little-endian 32-bit words, as ``SeedSequence`` reads it."""
    out = [x & 0xFFFFFFFF]
    x >>= 32
    while x:
        out.append(x & 0xFFFFFFFF)
        x >>= 32
    return out


class Streams:
    """A lazily created, named family of generators under one seed sequence.

    The stream named ``name`` is seeded by ``SeedSequence(root.entropy,
    spawn_key=(*root.spawn_key, 0x5EED, crc32(name)))``. For an integer root (every seed
    hubsim makes) the same pool is built from the words that constructor assembles (the
    root's entropy padded to the pool size, then the spawn key), which skips its argument
    handling and takes about half the time; ``tests/test_streams.py`` checks the two agree.
    """

    def __init__(self, seed: int | np.random.SeedSequence):
        self.root = seed_sequence(seed)
        self._cache: dict[str, np.random.Generator] = {}
        root = self.root
        self._prefix: list[int] | None = None
        if isinstance(root.entropy, int) and all(isinstance(k, int) for k in root.spawn_key):
            run = _words(root.entropy)
            run += [0] * (root.pool_size - len(run))
            self._prefix = run + [w for k in (*root.spawn_key, 0x5EED) for w in _words(k)]

    def __call__(self, name: str) -> np.random.Generator:
        """The generator for stream ``name`` (the same object on every call)."""
        gen = self._cache.get(name)
        if gen is None:
            key = zlib.crc32(name.encode("utf-8"))
            if self._prefix is not None:
                ss = np.random.SeedSequence(np.array([*self._prefix, key], dtype=np.uint32))
            else:
                ss = np.random.SeedSequence(
                    self.root.entropy, spawn_key=(*self.root.spawn_key, 0x5EED, key))
            gen = self._cache[name] = np.random.Generator(np.random.PCG64(ss))
        return gen
