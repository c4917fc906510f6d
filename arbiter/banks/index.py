"""An exact radius search over PDQ hashes: multi-index hashing in NumPy.

A PDQ hash is 256 bits; two photos match when their hashes differ in at most 31
bits. Comparing a query with every hash of a million-hash bank costs a million
popcounts; multi-index hashing looks at a few thousand instead, and misses none.

The scheme (Norouzi, Punjani and Fleet, "Fast search in Hamming space with
multi-index hashing", CVPR 2012):

- Cut the hash into `m` disjoint substrings of `b` bits (m·b ≤ 256; bits past
  m·b are simply not indexed). Each substring gets a table: the bank's hashes
  sorted by the value of that substring, with an offset array of 2^b + 1
  entries giving where each value's run starts (a CSR layout, uint32).
- Pigeonhole: if two hashes differ in at most r bits, the differing bits fall
  in m substrings, so at least one substring differs in at most ⌊r/m⌋ bits.
  Probing every table with every value within `nflip = ⌊r/m⌋` flips of the
  query's substring therefore finds every hash within r. Said the other way
  round: with m tables of b bits and nflip flips per table, every hash within
  (nflip+1)·m − 1 bits is found. For r = 31 and the usual m = 12, b = 21:
  nflip = 2 covers up to 3·12 − 1 = 35 ≥ 31 bits.
- Each candidate found that way is then checked against the full 256 bits, so
  the answer is exactly the set of hashes within r: recall 1.0, no false hits.

Cost per query hash: m·Σ_{k≤nflip} C(b, k) probes (each two reads of the offset
array), and about probes·N/2^b candidates (each a 32-byte read and a popcount).
`plan` picks (m, b) for the bank's size from that cost model, within a memory
budget; for small banks, or a radius so large that probing would cost more
than reading everything, it compares against every hash instead (exact too).

Why not FAISS's `IndexBinaryMultiHash`? It is the same idea, but its hash maps
(16 tables of 16 bits, nflip 1, as python-threatexchange configures it) took
~335 MB for a million hashes, ~560 MB with threatexchange's id map, and
0.7-1 ms per query hash, about the speed of FAISS's own brute force at that
size; the sorted tables here take ~170 MB with the hashes and ~0.1 ms a query
hash. `arbiter bench media` measures all three side by side.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import numpy.typing as npt

HASH_BYTES = 32
HASH_BITS = 256
DEFAULT_RADIUS = 31  # PDQ's usual match threshold

# Cost model, in nanoseconds, measured on a 2-core x86-64 build box with NumPy 2.
_NS_PER_PROBE = 12.0
_NS_PER_CANDIDATE = 25.0
_NS_PER_BRUTE_COMPARE = 5.0
_NS_PER_CALL = 40_000.0  # NumPy call overhead of one probing pass
_BRUTE_CHUNK = 1 << 18  # hashes compared per step of a brute-force pass
_QUERY_CHUNK = 256  # query hashes probed per step (bounds temporary memory)

U64Array = npt.NDArray[np.uint64]
U32Array = npt.NDArray[np.uint32]
Codes = npt.NDArray[np.uint8]
Hit = tuple[int, int]  # (entry index, distance)


@dataclass(frozen=True, slots=True)
class Plan:
    """How an index is laid out: m tables of b bits, or none (compare with everything)."""

    tables: int
    bits: int

    @property
    def brute(self) -> bool:
        return self.tables == 0

    def nflip(self, radius: int) -> int:
        """Flips per table that make the pigeonhole cover `radius`: (nflip+1)·m − 1 ≥ radius."""
        return radius // self.tables

    def probes(self, radius: int) -> int:
        """Table look-ups per query hash."""
        return self.tables * sum(math.comb(self.bits, k) for k in range(self.nflip(radius) + 1))

    def table_bytes(self, size: int) -> int:
        """Memory of the tables (ids and offsets), on top of the hashes themselves."""
        return self.tables * (4 * size + 4 * ((1 << self.bits) + 1))

    def cost_ns(self, size: int, radius: int) -> float:
        """Modelled time of one query hash."""
        if self.brute:
            return size * _NS_PER_BRUTE_COMPARE
        probes = self.probes(radius)
        candidates = probes * size / (1 << self.bits)
        return _NS_PER_CALL / 8 + probes * _NS_PER_PROBE + candidates * _NS_PER_CANDIDATE


BRUTE = Plan(0, 0)


def plan(size: int, radius: int = DEFAULT_RADIUS, memory_bytes: int | None = None) -> Plan:
    """The cheapest layout for `size` hashes searched within `radius`.

    Tables may take at most `memory_bytes` (default 192 bytes per hash, at least
    8 MB): with b bits a table costs 4·2^b bytes of offsets plus 4 bytes per hash.
    """
    if size == 0:
        return BRUTE
    budget = memory_bytes if memory_bytes is not None else max(8 << 20, 192 * size)
    best, best_cost = BRUTE, BRUTE.cost_ns(size, radius)
    for bits in range(8, 25):
        tables = HASH_BITS // bits
        candidate = Plan(tables, bits)
        if candidate.table_bytes(size) > budget or candidate.probes(radius) > 200_000:
            continue
        cost = candidate.cost_ns(size, radius)
        if cost < best_cost:
            best, best_cost = candidate, cost
    return best


def hex_to_codes(hexes: list[str] | tuple[str, ...]) -> Codes:
    """PDQ hashes as 64-digit hex strings -> an N×32 uint8 array."""
    if not hexes:
        return np.zeros((0, HASH_BYTES), dtype=np.uint8)
    return np.frombuffer(bytes.fromhex("".join(hexes)), dtype=np.uint8).reshape(-1, HASH_BYTES)


def codes_to_hex(codes: Codes) -> list[str]:
    """The inverse of `hex_to_codes`."""
    return [row.tobytes().hex() for row in np.asarray(codes, dtype=np.uint8)]


def _words(codes: Codes) -> U64Array:
    """An N×32 uint8 array seen as N×4 uint64 (a copy only when it is not contiguous)."""
    codes = np.ascontiguousarray(codes, dtype=np.uint8)
    if codes.ndim != 2 or codes.shape[1] != HASH_BYTES:
        raise ValueError(f"PDQ codes must be an N×{HASH_BYTES} uint8 array, not {codes.shape}")
    return codes.view(np.uint64)


def _substring(words: U64Array, table: int, bits: int) -> U32Array:
    """Substring `table` of each hash: `bits` bits from bit table·b of the 256 (uint32).

    Bit i is bit i % 64 (from the least significant) of word i // 64; any fixed
    partition of the bits into disjoint substrings serves the pigeonhole.
    """
    word, shift = divmod(table * bits, 64)
    value = words[:, word] >> np.uint64(shift)
    if shift + bits > 64:  # the substring runs on into the next word
        value = value | (words[:, word + 1] << np.uint64(64 - shift))
    return (value & np.uint64((1 << bits) - 1)).astype(np.uint32)


def _cuts(
    tables: int, bits: int
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], U64Array, U64Array, U64Array, np.uint64]:
    """Where each table's substring lies: the word holding its low part and the shift
    down, the next word and the shift up for a part that runs on into it (masked
    off where none does), and the substring's mask."""
    starts = np.arange(tables) * bits
    runs_on = (starts % 64) + bits > 64
    low_shift = (starts % 64).astype(np.uint64)
    high_shift = np.where(runs_on, 64 - starts % 64, 0).astype(np.uint64)
    high_mask = np.where(runs_on, np.uint64(2**64 - 1), np.uint64(0)).astype(np.uint64)
    low_word = (starts // 64).astype(np.intp)
    high_word = np.minimum(low_word + 1, 3).astype(np.intp)
    return low_word, high_word, low_shift, high_shift, high_mask, np.uint64((1 << bits) - 1)


def _substrings(words: U64Array, tables: int, bits: int) -> U32Array:
    """Every substring of each hash (N×m uint32), as `_substring` cuts them."""
    low_word, high_word, low_shift, high_shift, high_mask, mask = _cuts(tables, bits)
    low = words.take(low_word, axis=1) >> low_shift
    high = (words.take(high_word, axis=1) << high_shift) & high_mask
    return ((low | high) & mask).astype(np.uint32)


def _flip_masks(bits: int, nflip: int) -> U32Array:
    masks = [0]
    for k in range(1, nflip + 1):
        masks.extend(sum(1 << i for i in chosen) for chosen in combinations(range(bits), k))
    return np.array(masks, dtype=np.uint32)


class PdqIndex:
    """Exact Hamming-radius search over N PDQ hashes (an N×32 uint8 array).

    `search(queries, radius)` returns, for each query, every (entry index,
    distance) within `radius`, sorted by distance then index: the same set as
    comparing with every hash. Identical hashes in the bank are each returned.
    """

    def __init__(self, codes: Codes, layout: Plan | None = None):
        self._words = _words(codes)
        self.size = int(self._words.shape[0])
        self.plan = layout if layout is not None else plan(self.size)
        if self.plan.bits * self.plan.tables > HASH_BITS:
            raise ValueError(f"{self.plan} covers more than {HASH_BITS} bits")
        self._masks: dict[int, U32Array] = {}
        self._brute: dict[int, bool] = {}  # per radius: is reading everything cheaper?
        self._cuts = _cuts(max(self.plan.tables, 1), max(self.plan.bits, 1))
        self._ids = np.zeros(0, dtype=np.uint32)
        self._offsets = np.zeros(0, dtype=np.uint32)
        self._bases = np.zeros(0, dtype=np.intp)
        if not self.plan.brute and self.size:
            self._build()

    def _build(self) -> None:
        tables, bits = self.plan.tables, self.plan.bits
        if tables * self.size >= 1 << 32:
            raise ValueError("too many hashes for one index")
        buckets = 1 << bits
        ids = np.empty((tables, self.size), dtype=np.uint32)
        offsets = np.empty((tables, buckets + 1), dtype=np.uint32)
        step = 1 << 20  # substrings computed a million hashes at a time: bounded scratch memory
        for t in range(tables):
            keys = np.concatenate(
                [_substring(self._words[i : i + step], t, bits) for i in range(0, self.size, step)]
            )
            # Sorted by (key, id) at once: the key in the high half of a uint64, the id low.
            packed = (keys.astype(np.uint64) << np.uint64(32)) | np.arange(
                self.size, dtype=np.uint64
            )
            packed.sort()
            ids[t] = packed.astype(np.uint32)  # the low half: ids in key order
            offsets[t, 0] = t * self.size
            np.cumsum(np.bincount(keys, minlength=buckets), out=offsets[t, 1:])
            offsets[t, 1:] += np.uint32(t * self.size)
        self._ids = ids.reshape(-1)
        self._offsets = offsets.reshape(-1)
        self._bases = (np.arange(tables, dtype=np.intp) * (buckets + 1))[:, None]

    def __len__(self) -> int:
        return self.size

    @property
    def codes(self) -> Codes:
        """The indexed hashes, N×32 uint8 (a view, not a copy)."""
        return self._words.view(np.uint8).reshape(self.size, HASH_BYTES)

    @property
    def nbytes(self) -> int:
        """Memory held: the hashes and the tables."""
        return int(self._words.nbytes + self._ids.nbytes + self._offsets.nbytes)

    def search(self, queries: Codes, radius: int = DEFAULT_RADIUS) -> list[list[Hit]]:
        """Every indexed hash within `radius` bits of each query (an M×32 uint8 array)."""
        if radius < 0:
            raise ValueError("radius must be at least 0")
        query_words = _words(queries)
        results: list[list[Hit]] = [[] for _ in range(query_words.shape[0])]
        if not self.size or not results:
            return results
        brute = self._brute.get(radius)
        if brute is None:
            brute = self._brute[radius] = self.plan.brute or BRUTE.cost_ns(
                self.size, radius
            ) < self.plan.cost_ns(self.size, radius)
        for start in range(0, len(results), _QUERY_CHUNK):
            chunk = query_words[start : start + _QUERY_CHUNK]
            if brute:
                rows, ids, distances = self._scan(chunk, radius)
            else:
                rows, ids, distances = self._probe(chunk, radius)
            order = np.lexsort((ids, distances, rows))
            for row, entry, distance in zip(
                rows[order].tolist(), ids[order].tolist(), distances[order].tolist(), strict=True
            ):
                results[start + row].append((entry, distance))
        return results

    def _probe(
        self, queries: U64Array, radius: int
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.intp]]:
        # (NumPy's array methods rather than its functions: a query is often one hash,
        # and the functions' dispatch would cost as much as the work.)
        nflip = self.plan.nflip(radius)
        masks = self._masks.get(nflip)
        if masks is None:
            masks = self._masks[nflip] = _flip_masks(self.plan.bits, nflip)
        # Every (query, table, flip) look-up, as a position in the concatenated offsets.
        keys = self._keys(queries)
        probes = ((keys[:, :, None] ^ masks) + self._bases).ravel()
        starts = self._offsets.take(probes).astype(np.intp)
        counts = self._offsets.take(probes + 1).astype(np.intp)
        counts -= starts
        hit = counts.nonzero()[0]
        starts, counts = starts.take(hit), counts.take(hit)
        rows = (hit // (probes.shape[0] // queries.shape[0])).repeat(counts)
        # Expand each run [start, start + count) into its positions in the id arrays.
        first = counts.cumsum() - counts  # where each run begins among the candidates
        positions = (starts - first).repeat(counts).astype(np.intp)
        positions += np.arange(positions.shape[0], dtype=np.intp)
        candidates = self._ids.take(positions).astype(np.intp)
        distances = self._distances(queries, rows, candidates)
        keep = (distances <= radius).nonzero()[0]
        rows, candidates, distances = rows.take(keep), candidates.take(keep), distances.take(keep)
        if keep.shape[0] > 1:
            # A hash close in several substrings is found in several tables: keep it once.
            unique = np.unique(rows * self.size + candidates, return_index=True)[1]
            rows, candidates, distances = rows[unique], candidates[unique], distances[unique]
        return rows, candidates, distances

    def _keys(self, words: U64Array) -> U32Array:
        """`_substrings` with the layout's shifts worked out once, at build time."""
        low_word, high_word, low_shift, high_shift, high_mask, mask = self._cuts
        low = words.take(low_word, axis=1) >> low_shift
        high = (words.take(high_word, axis=1) << high_shift) & high_mask
        return ((low | high) & mask).astype(np.uint32)

    def _distances(
        self, queries: U64Array, rows: npt.NDArray[np.intp], candidates: npt.NDArray[np.intp]
    ) -> npt.NDArray[np.intp]:
        xor = np.take(self._words, candidates, axis=0) ^ np.take(queries, rows, axis=0)
        return _popcount(xor)

    def _scan(
        self, queries: U64Array, radius: int
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.intp]]:
        """Compare with every hash, a block at a time."""
        found_rows, found_ids, found_distances = [], [], []
        for row in range(queries.shape[0]):
            for start in range(0, self.size, _BRUTE_CHUNK):
                block = self._words[start : start + _BRUTE_CHUNK]
                distances = _popcount(block ^ queries[row])
                near = np.flatnonzero(distances <= radius)
                found_rows.append(np.full(near.shape[0], row, dtype=np.intp))
                found_ids.append(near + start)
                found_distances.append(distances[near])
        if not found_rows:
            empty = np.zeros(0, dtype=np.intp)
            return empty, empty, empty
        return (
            np.concatenate(found_rows),
            np.concatenate(found_ids),
            np.concatenate(found_distances),
        )


def _popcount(xor: U64Array) -> npt.NDArray[np.intp]:
    """The number of set bits of each row of a K×4 uint64 array.

    The four per-word counts (bytes, each ≤ 64) are summed with one multiply:
    as a uint32 b0 + b1·2^8 + b2·2^16 + b3·2^24, times 0x01010101, the top byte
    is b0+b1+b2+b3 mod 256 (the lower partial sums stay under 256, so nothing
    carries into it). Only 256 wraps, to 0: rows whose xor is not zero but whose
    sum reads 0 are every bit set.
    """
    counts = np.bitwise_count(xor)
    packed = counts.view(np.uint32).reshape(-1)
    total = ((packed * np.uint32(0x01010101)) >> np.uint32(24)).astype(np.intp)
    wrapped = np.flatnonzero(total == 0)
    if wrapped.shape[0]:
        total[wrapped[xor[wrapped].any(axis=1)]] = HASH_BITS
    return total
