"""Named random streams: one ``numpy.random.Generator`` per source of randomness.

Each stream is derived from the root seed sequence and a stable hash of its name, so
adding a new stream never shifts an existing one, and two scenarios that differ only in
staffing, routing or patience draw identical arrivals, specialties and consult lengths
for the same seed and replication (common random numbers).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.random.bit_generator import ISpawnableSeedSequence

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


# numpy's SeedSequence constants (numpy/random/bit_generator.pyx); every stream's
# SeedSequence has the default pool of 4 words
_MASK = 0xFFFFFFFF
_POOL = 4
_INIT_A, _MULT_A = 0x43B0D7E5, 0x931E8875
_INIT_B, _MULT_B = 0x8B51F9DD, 0x58F38DED
_MIX_L, _MIX_R = 0xCA01F9DD, 0x4973F715


def _powers(h: int, mult: int, n: int) -> np.ndarray:
    """``h, h*mult, ..., h*mult**n`` modulo 2**32, as a uint32 row (n + 1 entries)."""
    out = [h]
    for _ in range(n):
        h = h * mult & _MASK
        out.append(h)
    return np.array(out, dtype=np.uint32)


# the hash constant of generate_state before and after each of its 8 words (PCG64's 4 uint64)
_GEN = _powers(_INIT_B, _MULT_B, 8)
_GEN_IN, _GEN_OUT = _GEN[:-1], _GEN[1:]
_CYCLE = np.arange(8) % _POOL  # generate_state cycles over the pool


def _mix_prefix(words: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where ``SeedSequence``'s entropy mixing of ``words + [w]`` stands just before ``w``.

    With 4 or more ``words``, ``w`` enters only the final loop, after ``4 * len(words)``
    hashes, and the pool then is ``SeedSequence(words).pool``. Returns ``_MIX_L`` times that
    pool and the hash constant before and after each of the 4 hashes of ``w``.
    """
    assert len(words) >= _POOL
    pool = np.random.SeedSequence(np.array(words, dtype=np.uint32)).pool
    hs = _powers(_INIT_A * pow(_MULT_A, _POOL * len(words), 2**32) & _MASK, _MULT_A, _POOL)
    return pool * np.uint32(_MIX_L), hs[:-1], hs[1:]


def _seed_words(mixed: tuple[np.ndarray, np.ndarray, np.ndarray], last: np.ndarray) -> np.ndarray:
    """PCG64's seed, ``generate_state(4, np.uint64)``, for each final entropy word.

    ``mixed`` is ``_mix_prefix(words)``; row ``i`` of the result is what
    ``SeedSequence(words + [last[i]])`` gives. Vectorised over ``last`` (uint32): uint32
    array arithmetic wraps modulo 2**32 like numpy's C code, and (unlike numpy scalars)
    without overflow warnings.
    """
    lpool, h_in, h_out = mixed
    v = (last[:, None] ^ h_in) * h_out  # hashmix(last), once per pool word
    v ^= v >> 16
    x = lpool - _MIX_R * v  # mix(pool, hashmix(last)): the final pool, one row per name
    x ^= x >> 16
    d = (x[:, _CYCLE] ^ _GEN_IN) * _GEN_OUT
    d ^= d >> 16
    return np.ascontiguousarray(d, dtype="<u4").view("<u8").astype(np.uint64, copy=False)


class _PreparedSeed(ISpawnableSeedSequence):
    """Stands in for ``SeedSequence(prefix + [key])``, given its PCG64 seed ``state``.

    ``generate_state(4, np.uint64)`` (what ``PCG64`` asks) returns ``state``; any other
    request, and ``spawn``, go to the real ``SeedSequence``, built on first use.
    """

    def __init__(self, state: np.ndarray, prefix: list[int], key: int):
        self._state = state
        self._prefix = prefix
        self._key = key
        self._seq: np.random.SeedSequence | None = None

    def seed_sequence(self) -> np.random.SeedSequence:
        """The ``SeedSequence`` this stands in for (the same object on every call)."""
        if self._seq is None:
            self._seq = np.random.SeedSequence(
                np.array([*self._prefix, self._key], dtype=np.uint32))
        return self._seq

    def generate_state(self, n_words: int, dtype: Any = np.uint32) -> np.ndarray:
        """The seed words, as ``SeedSequence.generate_state`` returns them."""
        if n_words == 4 and (dtype is np.uint64 or np.dtype(dtype) == np.uint64):
            return self._state.copy()
        return self.seed_sequence().generate_state(n_words, dtype)

    def spawn(self, n_children: int) -> list[np.random.SeedSequence]:  # type: ignore[override]
        """Children of the real ``SeedSequence`` (see ``SeedSequence.spawn``)."""
        return self.seed_sequence().spawn(n_children)


class Streams:
    """A lazily created, named family of generators under one seed sequence.

    The stream named ``name`` is seeded by ``SeedSequence(root.entropy,
    spawn_key=(*root.spawn_key, 0x5EED, crc32(name)))``. For an integer root (every seed
    hubsim makes) the same pool is built from the words that constructor assembles (the
    root's entropy padded to the pool size, then the spawn key), which skips its argument
    handling and takes about half the time; ``tests/test_streams.py`` checks the two agree.
    ``prepare`` creates many streams at once, faster still.
    """

    def __init__(self, seed: int | np.random.SeedSequence):
        self.root = seed_sequence(seed)
        self._cache: dict[str, np.random.Generator] = {}
        root = self.root
        self._prefix: list[int] | None = None
        if isinstance(root.entropy, int) and all(isinstance(k, int) for k in root.spawn_key):
            run = _words(root.entropy)
            run += [0] * (_POOL - len(run))  # padded to the streams' own pool, not root's
            self._prefix = run + [w for k in (*root.spawn_key, 0x5EED) for w in _words(k)]
        self._mixed: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # by prepare

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

    def prepare(self, names: Iterable[str]) -> None:
        """Create the generators of all streams in ``names`` at once, for ``streams(name)``.

        Each is the generator ``streams(name)`` would create, state for state, made about
        4 times faster for 50 names (a fixed cost of about 20 µs pays off from about 5):
        ``SeedSequence``'s hashing runs vectorised over the names, and each ``PCG64`` is
        seeded from a stand-in for its ``SeedSequence``, which is then its
        ``bit_generator.seed_seq`` (it builds the real one for ``spawn`` or any other seed
        request). Names already created are skipped; duplicates are fine. A root whose
        entropy or spawn key is not plain ints takes the one-by-one path.
        """
        cache = self._cache
        todo = list(dict.fromkeys(n for n in names if n not in cache))
        prefix = self._prefix
        if prefix is None:  # no fast path: one at a time
            for name in todo:
                self(name)
            return
        if not todo:
            return
        if self._mixed is None:
            self._mixed = _mix_prefix(prefix)
        keys = [zlib.crc32(name.encode("utf-8")) for name in todo]
        states = _seed_words(self._mixed, np.array(keys, dtype=np.uint32))
        for name, key, state in zip(todo, keys, states, strict=True):
            seed = _PreparedSeed(state, prefix, key)
            # numpy's stubs leave out the ISeedSequence that PCG64 accepts
            cache[name] = np.random.Generator(np.random.PCG64(seed))  # type: ignore[arg-type]
