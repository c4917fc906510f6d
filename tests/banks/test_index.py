"""PdqIndex is exact: the same hits as comparing with every hash, at every distance and layout."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arbiter.banks.index import BRUTE, PdqIndex, Plan, codes_to_hex, hex_to_codes, plan

RADIUS = 31


def brute_force(bank: np.ndarray, queries: np.ndarray, radius: int) -> list[list[tuple[int, int]]]:
    """The reference answer: unpack every bit and count the differences."""
    bank_bits = np.unpackbits(bank, axis=1)
    out = []
    for query in np.unpackbits(queries, axis=1):
        distances = (bank_bits != query).sum(axis=1)
        near = np.flatnonzero(distances <= radius)
        out.append(sorted(((int(i), int(distances[i])) for i in near), key=lambda h: (h[1], h[0])))
    return out


def flip(code: np.ndarray, bits: int, rng: np.random.Generator) -> np.ndarray:
    unpacked = np.unpackbits(code)
    unpacked[rng.choice(256, bits, replace=False)] ^= 1
    return np.packbits(unpacked)


def planted(size: int, seed: int, radius: int = RADIUS):
    """A random bank and, for every distance 0..radius+3, queries planted at that distance
    from a bank hash (plus unrelated random queries)."""
    rng = np.random.default_rng(seed)
    bank = rng.integers(0, 256, (size, 32), dtype=np.uint8)
    queries, distances = [], []
    for distance in range(radius + 4):
        for _ in range(3):
            queries.append(flip(bank[rng.integers(size)], distance, rng))
            distances.append(distance)
    queries.extend(rng.integers(0, 256, (10, 32), dtype=np.uint8))
    return bank, np.array(queries, dtype=np.uint8), distances


LAYOUTS = [None, BRUTE, Plan(16, 16), Plan(12, 21), Plan(32, 8), Plan(11, 23), Plan(25, 10)]


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda p: "auto" if p is None else repr(p))
def test_search_equals_brute_force_at_every_distance(seed: int, layout: Plan | None):
    bank, queries, distances = planted(3000, seed)
    index = PdqIndex(bank, layout)
    found = index.search(queries, RADIUS)
    assert found == brute_force(bank, queries, RADIUS)
    # Each planted query finds its source exactly when it was planted within the radius.
    for hits, distance in zip(found, distances, strict=False):
        assert any(d == distance for _, d in hits) == (distance <= RADIUS)


@pytest.mark.parametrize("radius", [0, 1, 7, 15, 31, 47, 64, 100])
def test_every_radius_is_exact(radius: int):
    """Radii past the layout's design fall back to more flips, or to reading every hash."""
    bank, queries, _ = planted(2000, 10 + radius, radius=min(radius, 60))
    index = PdqIndex(bank, Plan(16, 16))
    assert index.search(queries, radius) == brute_force(bank, queries, radius)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    size=st.integers(1, 400),
    bits=st.sampled_from([8, 11, 16, 19, 21]),
    radius=st.integers(0, 40),
)
def test_property_any_bank_any_layout(seed: int, size: int, bits: int, radius: int):
    rng = np.random.default_rng(seed)
    bank = rng.integers(0, 256, (size, 32), dtype=np.uint8)
    # Near neighbours of bank hashes at random distances, and a few unrelated hashes.
    queries = np.array(
        [flip(bank[rng.integers(size)], int(rng.integers(0, radius + 4)), rng) for _ in range(6)]
        + list(rng.integers(0, 256, (2, 32), dtype=np.uint8))
    )
    index = PdqIndex(bank, Plan(256 // bits, bits))
    assert index.search(queries, radius) == brute_force(bank, queries, radius)


def test_a_million_hash_layout_is_exact_on_planted_neighbours():
    """The layout chosen for a million hashes (12 tables of 21 bits, 2 flips), on a smaller
    bank: the pigeonhole argument does not depend on the bank's size."""
    assert plan(1_000_000) == Plan(12, 21)
    assert Plan(12, 21).nflip(RADIUS) == 2 and RADIUS <= (2 + 1) * 12 - 1
    bank, queries, _ = planted(20_000, 99)
    assert PdqIndex(bank, Plan(12, 21)).search(queries) == brute_force(bank, queries, RADIUS)


def test_empty_bank():
    index = PdqIndex(np.zeros((0, 32), dtype=np.uint8))
    assert len(index) == 0
    queries = np.random.default_rng(0).integers(0, 256, (3, 32), dtype=np.uint8)
    assert index.search(queries) == [[], [], []]
    assert index.search(np.zeros((0, 32), dtype=np.uint8)) == []


def test_radius_zero_finds_exact_copies_only():
    rng = np.random.default_rng(5)
    bank = rng.integers(0, 256, (5000, 32), dtype=np.uint8)
    near = flip(bank[7], 1, rng)
    index = PdqIndex(bank)
    assert index.search(np.stack([bank[7], near]), radius=0) == [[(7, 0)], []]


def test_duplicates_are_each_returned():
    rng = np.random.default_rng(6)
    bank = rng.integers(0, 256, (4000, 32), dtype=np.uint8)
    bank[100] = bank[200] = bank[3000] = bank[42]
    for layout in (None, BRUTE, Plan(12, 21)):
        hits = PdqIndex(bank, layout).search(bank[42:43])[0]
        assert hits == [(42, 0), (100, 0), (200, 0), (3000, 0)]


def test_distance_256_does_not_wrap_to_zero():
    """Four per-word counts of 64 add up to 256, which a byte would hold as 0."""
    bank = np.zeros((3, 32), dtype=np.uint8)
    bank[1] = 0xFF
    index = PdqIndex(bank, BRUTE)
    assert index.search(np.full((1, 32), 0xFF, dtype=np.uint8), radius=255) == [[(1, 0)]]
    assert index.search(np.zeros((1, 32), dtype=np.uint8), radius=256) == [
        [(0, 0), (2, 0), (1, 256)]
    ]


def test_hex_round_trip_and_bad_shapes():
    hexes = ["f" * 64, "0123456789abcdef" * 4]
    codes = hex_to_codes(hexes)
    assert codes.shape == (2, 32) and codes_to_hex(codes) == hexes
    assert hex_to_codes([]).shape == (0, 32)
    with pytest.raises(ValueError):
        PdqIndex(np.zeros((2, 31), dtype=np.uint8))
    with pytest.raises(ValueError):
        PdqIndex(np.zeros((2, 32), dtype=np.uint8)).search(np.zeros((1, 32), np.uint8), -1)


def test_plans_stay_within_memory_and_cover_the_radius():
    for size in (0, 10, 1000, 100_000, 1_000_000, 5_000_000):
        chosen = plan(size)
        if chosen.brute:
            continue
        assert chosen.tables * chosen.bits <= 256
        assert (chosen.nflip(RADIUS) + 1) * chosen.tables - 1 >= RADIUS
        assert chosen.table_bytes(size) <= max(8 << 20, 192 * size)


@pytest.mark.parametrize("bits", [8, 11, 16, 19, 21, 23])
def test_substrings_cut_the_same_bits_one_table_at_a_time_or_all_at_once(bits: int):
    from arbiter.banks.index import _substring, _substrings

    words = np.random.default_rng(bits).integers(0, 256, (50, 32), dtype=np.uint8).view(np.uint64)
    tables = 256 // bits
    together = _substrings(words, tables, bits)
    for t in range(tables):
        assert (together[:, t] == _substring(words, t, bits)).all()
    # And they are the hash's bits t·b .. t·b+b-1, least significant first within each word.
    bit_string = "".join(f"{int(w):064b}"[::-1] for w in words[0])
    for t in range(tables):
        expected = int(bit_string[t * bits : (t + 1) * bits][::-1], 2)
        assert together[0, t] == expected
