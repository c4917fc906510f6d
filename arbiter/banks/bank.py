"""A hash bank: every reference hash of a policy's entities, indexed for matching.

`build_bank` reads each entity's `reference_media` (photo and video files, or
folders of them, searched recursively) and `reference_hashes` (hash lists in the
ThreatExchange text form), with paths relative to the policy file's folder, and
the policy's benign banks the same way (their entries are *negative*: a match
there cancels a designated entity's match on the same media item).

- A photo contributes `pdq.reference_hashes`: the whole photo, its content
  without borders and a grid of sub-crops (regions "full", "trimmed", "crop:…").
- A video contributes its vPDQ (`video.hash_video`): one PDQ a second. Its
  distinct frame hashes are indexed too (entries of kind "frame"), so a posted
  photo that is a still of a banked video matches, and the videos a posted
  video may match are found without comparing it with every banked video.
- A hash list contributes its `pdq` lines as photo entries and its `vpdq` lines
  as videos, each with its source "list.txt:12".

Hashes of low quality (under `pdq.MIN_QUALITY`; PDQ's authors advise ignoring
them) are left out and counted; so are low-quality query hashes at match time.
Each file's hashes are cached by the sha256 of its content, so building again
does not hash again. Files that cannot be read are reported in `problems`, not
fatal.

A bank is saved as one `.npz` file (arrays, and the tables of names as JSON in
it), so `arbiter bank build` runs once and scans reuse its output.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from arbiter.banks.hashlist import HashListEntry, HashListProblem, read_hashlist
from arbiter.banks.index import DEFAULT_RADIUS, PdqIndex, codes_to_hex, hex_to_codes
from arbiter.media.model import VARIANTS, FrameHash, MediaError, MediaLimits, PdqHash, VideoHash

FORMAT = "arbiter-bank"
FORMAT_VERSION = 1
KINDS = ("photo", "frame", "video")
PHOTO, FRAME = 0, 1  # codes of the indexed kinds
UNKNOWN_QUALITY = -1  # a hash list's PDQ lines carry no quality
LIST_REGION = "list"  # the region of a hash list's PDQ entries
IMAGE_SUFFIXES = frozenset(
    (".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff")
)
VIDEO_SUFFIXES = frozenset(
    (".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi", ".mpg", ".mpeg", ".3gp", ".ts", ".wmv")
)
# Bumped when what a cached file's hashes mean changes (regions, sampling).
_CACHE_VERSION = 1

Problem = HashListProblem  # (source, reason): a file or a line that gave nothing
Progress = Callable[[int, int, str], None]  # (files done, files in all, the file being read)


class HashCache(Protocol):
    """What the bank needs of `arbiter.media.cache.Cache`."""

    def get(self, kind: str, sha256: str) -> bytes | None: ...

    def put(self, kind: str, sha256: str, value: bytes) -> None: ...


class References(Protocol):
    """An entity or a benign bank: an id and what to read its hashes from."""

    @property
    def id(self) -> str: ...

    @property
    def reference_media(self) -> tuple[str, ...]: ...

    @property
    def reference_hashes(self) -> tuple[str, ...]: ...


@dataclass(frozen=True, slots=True)
class BankEntry:
    """One hash of the bank, or one banked video."""

    entity: str
    kind: str  # photo | frame | video
    source: str  # "media/qs/a.jpg", or "banks/qs.txt:12"
    region: str  # photo: full | trimmed | crop:… | list; frame: frame:<seconds>s; video: ""
    variant: str  # "original" (queries bring the dihedral variants)
    hash: str  # 64 hex digits; a video's is "" (see `Bank.videos`)
    quality: int  # 0-100, or -1 when a hash list did not say
    negative: bool  # from a benign bank
    seconds: float | None = None  # a frame's time in its video


@dataclass(frozen=True, slots=True)
class BankVideo:
    """A banked video: its vPDQ, for matching posted videos by shares of frames."""

    entity: str
    source: str
    negative: bool
    video: VideoHash


@dataclass(frozen=True, slots=True)
class PhotoMatch:
    """A posted photo matching a bank entry of `entity`."""

    entity: str
    source: str  # the bank entry's source
    distance: int
    variant: str  # the posted photo's variant that matched (original, rot90, flip-h …)
    region: str  # the reference region that matched (full, trimmed, crop:…, frame:…)
    quality: int  # the query hash's quality
    negative: bool = False
    suppressed_by: str = ""  # "<benign bank>:<source>" when a benign entry matched too
    seconds: float | None = None  # the banked video's frame, when the entry is one


@dataclass(frozen=True, slots=True)
class VideoMatch:
    """A posted video matching a banked video (shares) or a banked photo (a frame, seconds)."""

    entity: str
    source: str
    shares: tuple[float, float] | None = None  # vPDQ: (query share, reference share)
    distance: int | None = None  # a frame matching a banked photo: its distance
    seconds: float | None = None  # ... and the frame's time in the posted video
    region: str = ""  # ... and the photo's region that matched
    negative: bool = False
    suppressed_by: str = ""

    @property
    def query_share(self) -> float | None:
        return None if self.shares is None else self.shares[0]

    @property
    def reference_share(self) -> float | None:
        return None if self.shares is None else self.shares[1]


@dataclass
class EntityStats:
    """What one entity (or benign bank) has in the bank."""

    entity: str
    negative: bool
    photos: int = 0  # photo files and hash list PDQ lines
    frames: int = 0  # indexed frame hashes of its videos
    videos: int = 0
    hashes: int = 0  # indexed hashes (photo and frame entries)
    low_quality: int = 0  # reference hashes left out for low quality
    sources: int = 0  # files and hash lists read


class Bank:
    """Entries (entity, kind, source, region, variant, hash, quality, negative), a PdqIndex
    over the photo and frame hashes, and the videos' vPDQ for share matching.

    Entries are held as arrays, not objects, so a million hashes take tens of MB
    beside the index; `entry(i)` and `entries()` give them one by one.
    """

    def __init__(
        self,
        *,
        entities: list[tuple[str, bool]],
        sources: list[str],
        regions: list[str],
        codes: npt.NDArray[np.uint8],
        columns: dict[str, npt.NDArray[Any]],
        videos: list[_Video],
        problems: list[Problem],
        low_quality: dict[int, int],
        files: dict[int, int],
    ):
        self._entities = entities  # (id, negative)
        self._sources = sources
        self._regions = regions
        self._columns = columns
        self._videos = videos
        self.problems = problems
        self._low_quality = low_quality  # entity number -> reference hashes left out
        self._files = files  # entity number -> files and lists read
        self.index = PdqIndex(codes)
        self.low_quality_queries = 0  # query hashes skipped at match time

    # -- what is in it -------------------------------------------------------------------

    def __len__(self) -> int:
        """Indexed hashes (photo and frame entries)."""
        return len(self.index)

    @property
    def entity_ids(self) -> list[str]:
        return [name for name, _ in self._entities]

    @property
    def low_quality(self) -> int:
        """Reference hashes left out for low quality."""
        return sum(self._low_quality.values())

    @property
    def videos(self) -> list[BankVideo]:
        return [
            BankVideo(
                self._entities[v.entity][0], self._source(v.source, v.line), v.negative, v.hash
            )
            for v in self._videos
        ]

    def entry(self, number: int) -> BankEntry:
        """Indexed entry `number` (the index's row)."""
        c = self._columns
        entity, negative = self._entities[int(c["entity"][number])]
        kind = int(c["kind"][number])
        seconds = float(c["seconds"][number]) if kind == FRAME else None
        return BankEntry(
            entity=entity,
            kind=KINDS[kind],
            source=self._source(int(c["source"][number]), int(c["line"][number])),
            region=_frame_region(seconds)
            if seconds is not None
            else self._regions[int(c["region"][number])],
            variant=VARIANTS[int(c["variant"][number])],
            hash=self.index.codes[number].tobytes().hex(),
            quality=int(c["quality"][number]),
            negative=negative,
            seconds=seconds,
        )

    def entries(self, entity: str | None = None) -> Iterator[BankEntry]:
        """Every indexed entry, then every video (kind "video"), optionally of one entity."""
        wanted = None if entity is None else self.entity_ids.index(entity)
        numbers = (
            range(len(self))
            if wanted is None
            else np.flatnonzero(self._columns["entity"] == wanted).tolist()
        )
        for number in numbers:
            yield self.entry(number)
        for video in self._videos:
            if wanted is None or video.entity == wanted:
                name, negative = self._entities[video.entity]
                yield BankEntry(
                    entity=name,
                    kind="video",
                    source=self._source(video.source, video.line),
                    region="",
                    variant="original",
                    hash="",
                    quality=min((f.quality for f in video.hash.frames), default=0),
                    negative=negative,
                )

    def stats(self) -> list[EntityStats]:
        """Per entity (benign banks last): photos, frames, videos, hashes, low quality, sources."""
        c = self._columns
        out = []
        for number, (name, negative) in enumerate(self._entities):
            mine = c["entity"] == number
            photo = mine & (c["kind"] == PHOTO)
            photo_sources = np.unique(
                c["source"][photo].astype(np.int64) << 32 | c["line"][photo].astype(np.int64)
            )
            out.append(
                EntityStats(
                    entity=name,
                    negative=negative,
                    photos=int(photo_sources.shape[0]),
                    frames=int(np.count_nonzero(mine & (c["kind"] == FRAME))),
                    videos=sum(1 for v in self._videos if v.entity == number),
                    hashes=int(np.count_nonzero(mine)),
                    low_quality=self._low_quality.get(number, 0),
                    sources=self._files.get(number, 0),
                )
            )
        return sorted(out, key=lambda s: s.negative)

    def export(self, entity: str | None = None) -> list[HashListEntry]:
        """The bank as hash list entries: every distinct photo hash, then every video.

        Frames are part of their video's vPDQ line, not listed on their own.
        """
        wanted = None if entity is None else self.entity_ids.index(entity)
        c = self._columns
        chosen = c["kind"] == PHOTO
        if wanted is not None:
            chosen &= c["entity"] == wanted
        numbers = np.flatnonzero(chosen)
        seen: set[str] = set()
        out = []
        for number, hex_digits in zip(
            numbers.tolist(), codes_to_hex(self.index.codes[numbers]), strict=True
        ):
            if hex_digits not in seen:
                seen.add(hex_digits)
                out.append(
                    HashListEntry.photo(
                        hex_digits, self._source(int(c["source"][number]), int(c["line"][number]))
                    )
                )
        for video in self._videos:
            if wanted is None or video.entity == wanted:
                out.append(
                    HashListEntry.of_video(video.hash, self._source(video.source, video.line))
                )
        return out

    # -- matching ------------------------------------------------------------------------

    def match_photo(
        self,
        query_hashes: Sequence[PdqHash],
        radius: int = DEFAULT_RADIUS,
        include_negative: bool = False,
    ) -> list[PhotoMatch]:
        """The entities a posted photo matches, given its query hashes (`pdq.query_hashes`).

        One match per (entity, source): the closest hash, the original variant
        and the full region first among equals. A designated entity's match is
        kept but marked `suppressed_by` when a benign entry matched the photo too;
        benign matches themselves are returned only with `include_negative`.
        """
        min_quality = _min_quality()
        usable = [h for h in query_hashes if h.quality >= min_quality]
        self.low_quality_queries += len(query_hashes) - len(usable)
        if not usable or not len(self):
            return []
        hits = self.index.search(hex_to_codes([h.hex for h in usable]), radius)
        best: dict[tuple[int, int, int], tuple[tuple[int, int, int], PdqHash, int]] = {}
        c = self._columns
        for query, found in zip(usable, hits, strict=True):
            for number, distance in found:
                key = (int(c["entity"][number]), int(c["source"][number]), int(c["line"][number]))
                entry_region = self._regions[int(c["region"][number])]
                rank = (distance, _variant_rank(query.variant), _region_rank(entry_region))
                if key not in best or rank < best[key][0]:
                    best[key] = (rank, query, number)
        matches = []
        for (entity, source, line), (rank, query, number) in best.items():
            name, negative = self._entities[entity]
            seconds = float(c["seconds"][number]) if int(c["kind"][number]) == FRAME else None
            matches.append(
                PhotoMatch(
                    entity=name,
                    source=self._source(source, line),
                    distance=rank[0],
                    variant=query.variant,
                    region=_frame_region(seconds)
                    if seconds is not None
                    else self._regions[int(c["region"][number])],
                    quality=query.quality,
                    negative=negative,
                    seconds=seconds,
                )
            )
        return _suppress(matches, include_negative)

    def match_video(
        self,
        video: VideoHash,
        radius: int = DEFAULT_RADIUS,
        include_negative: bool = False,
    ) -> list[VideoMatch]:
        """The entities a posted video matches.

        - Banked videos, by vPDQ: the banked videos sharing a frame hash within
          `radius` with this one are found through the index, then compared
          with `video.match_video` and kept when their shares pass
          `video.VIDEO_THRESHOLDS` (`video.is_match`).
        - Banked photos, frame by frame (a slideshow or a clip showing a banked
          photo): one match per photo source, its closest frame, with the
          frame's time in `seconds`.
        """
        min_quality = _min_quality()
        frames: dict[str, FrameHash] = {}
        for frame in video.frames:
            if frame.quality < min_quality:
                self.low_quality_queries += 1
            elif frame.hex not in frames:
                frames[frame.hex] = frame
        if not frames or not len(self):
            return []
        queried = list(frames.values())
        hits = self.index.search(hex_to_codes([f.hex for f in queried]), radius)
        c = self._columns
        photos: dict[tuple[int, int, int], tuple[tuple[int, float, int], FrameHash, int]] = {}
        candidates: set[int] = set()
        for frame, found in zip(queried, hits, strict=True):
            for number, distance in found:
                if int(c["kind"][number]) == FRAME:
                    candidates.add(int(c["video"][number]))
                    continue
                key = (int(c["entity"][number]), int(c["source"][number]), int(c["line"][number]))
                region = self._regions[int(c["region"][number])]
                rank = (distance, frame.seconds, _region_rank(region))
                if key not in photos or rank < photos[key][0]:
                    photos[key] = (rank, frame, number)
        matches = []
        for (entity, source, line), (rank, frame, number) in photos.items():
            name, negative = self._entities[entity]
            matches.append(
                VideoMatch(
                    entity=name,
                    source=self._source(source, line),
                    distance=rank[0],
                    seconds=frame.seconds,
                    region=self._regions[int(c["region"][number])],
                    negative=negative,
                )
            )
        if candidates:
            from arbiter.media.video import is_match, match_video

            for number in sorted(candidates):
                banked = self._videos[number]
                shares = match_video(video, banked.hash, distance=radius, quality=min_quality)
                if is_match(shares):
                    name, negative = self._entities[banked.entity]
                    matches.append(
                        VideoMatch(
                            entity=name,
                            source=self._source(banked.source, banked.line),
                            shares=(float(shares[0]), float(shares[1])),
                            negative=negative,
                        )
                    )
        return _suppress(matches, include_negative)

    # -- saving --------------------------------------------------------------------------

    def save(self, path: Path) -> None:
        """Write the bank to `path` (one .npz file), atomically."""
        frames = [f for v in self._videos for f in v.hash.frames]
        meta = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "entities": [[name, negative] for name, negative in self._entities],
            "sources": self._sources,
            "regions": self._regions,
            "variants": list(VARIANTS),  # entry_variant holds positions in this list
            "problems": [[p.source, p.reason] for p in self.problems],
            "low_quality": {str(k): v for k, v in self._low_quality.items()},
            "files": {str(k): v for k, v in self._files.items()},
            "videos": [
                [v.entity, v.source, v.line, v.hash.duration, v.hash.frames_per_second_sampled]
                for v in self._videos
            ],
        }
        arrays: dict[str, npt.NDArray[Any]] = {
            "meta": np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8),
            "codes": self.index.codes,
            **{f"entry_{name}": column for name, column in self._columns.items()},
            "video_frames": np.array([len(v.hash.frames) for v in self._videos], dtype=np.int64),
            "frame_codes": hex_to_codes([f.hex for f in frames]),
            "frame_quality": np.array([f.quality for f in frames], dtype=np.int16),
            "frame_seconds": np.array([f.seconds for f in frames], dtype=np.float64),
            "frame_index": np.array([f.index for f in frames], dtype=np.int64),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, scratch = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as stream:
                np.savez(stream, allow_pickle=False, **arrays)
            os.replace(scratch, path)
        except BaseException:
            Path(scratch).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path) -> Bank:
        """Read a bank `save` wrote; ValueError if the file is not one (FileNotFoundError
        if there is none)."""
        try:
            return cls._load(path)
        except KeyError as missing:
            raise ValueError(f"{path}: not a bank file ({missing} is missing)") from None

    @classmethod
    def _load(cls, path: Path) -> Bank:
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {name: data[name] for name in data.files}
        except FileNotFoundError:
            raise
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
            raise ValueError(f"{path}: not a bank file ({error})") from None
        try:
            meta = json.loads(arrays.pop("meta").tobytes().decode("utf-8"))
        except (KeyError, ValueError):
            raise ValueError(f"{path}: not a bank file (no description)") from None
        if meta.get("format") != FORMAT:
            raise ValueError(f"{path}: not a bank file")
        if meta.get("version") != FORMAT_VERSION:
            raise ValueError(
                f"{path}: bank format version {meta.get('version')}, this Arbiter reads "
                f"{FORMAT_VERSION}: build the bank again"
            )
        frame_hex = codes_to_hex(arrays["frame_codes"])
        videos, start = [], 0
        for (entity, source, line, duration, rate), count in zip(
            meta["videos"], arrays["video_frames"].tolist(), strict=True
        ):
            frames = tuple(
                FrameHash(int(i), float(s), h, int(q))
                for i, s, h, q in zip(
                    arrays["frame_index"][start : start + count].tolist(),
                    arrays["frame_seconds"][start : start + count].tolist(),
                    frame_hex[start : start + count],
                    arrays["frame_quality"][start : start + count].tolist(),
                    strict=True,
                )
            )
            start += count
            negative = bool(meta["entities"][entity][1])
            videos.append(_Video(entity, source, line, negative, VideoHash(frames, duration, rate)))
        columns = {
            name.removeprefix("entry_"): array
            for name, array in arrays.items()
            if name.startswith("entry_")
        }
        if meta["variants"] != list(VARIANTS):  # written when variants were listed otherwise
            renumber = np.array([VARIANTS.index(v) for v in meta["variants"]], dtype=np.uint8)
            columns["variant"] = renumber[columns["variant"]]
        return cls(
            entities=[(str(name), bool(negative)) for name, negative in meta["entities"]],
            sources=list(meta["sources"]),
            regions=list(meta["regions"]),
            codes=arrays["codes"],
            columns=columns,
            videos=videos,
            problems=[Problem(source, reason) for source, reason in meta["problems"]],
            low_quality={int(k): int(v) for k, v in meta["low_quality"].items()},
            files={int(k): int(v) for k, v in meta["files"].items()},
        )

    def _source(self, source: int, line: int) -> str:
        name = self._sources[source]
        return f"{name}:{line}" if line else name


@dataclass
class _Video:
    entity: int
    source: int
    line: int
    negative: bool
    hash: VideoHash


# -- building -------------------------------------------------------------------------------


def build_bank(
    entities: Sequence[References],
    base: Path,
    cache: HashCache,
    limits: MediaLimits | None = None,
    progress: Progress | None = None,
    benign: Sequence[References] = (),
    seconds_per_hash: float = 1.0,
) -> Bank:
    """Hash every entity's and benign bank's references and index them (see the module doc)."""
    builder = _Builder(base, cache, limits or MediaLimits(), seconds_per_hash)
    work: list[tuple[int, str, Path, str]] = []  # (entity number, kind, path, source name)
    for group, negative in ((entities, False), (benign, True)):
        for designation in group:
            number = builder.entity(designation.id, negative)
            for reference in designation.reference_media:
                for path, name in builder.media_files(reference):
                    work.append((number, "media", path, name))
            for reference in designation.reference_hashes:
                work.append((number, "list", base / reference, reference))
    for done, (number, kind, path, name) in enumerate(work):
        if progress is not None:
            progress(done, len(work), name)
        if kind == "list":
            builder.add_list(number, path, name)
        else:
            builder.add_media(number, path, name)
    if progress is not None:
        progress(len(work), len(work), "")
    return builder.finish()


def _min_quality() -> int:
    from arbiter.media.pdq import MIN_QUALITY

    return MIN_QUALITY


class _Builder:
    def __init__(self, base: Path, cache: HashCache, limits: MediaLimits, seconds_per_hash: float):
        self.base = base
        self.cache = cache
        self.limits = limits
        self.seconds_per_hash = seconds_per_hash
        self.min_quality = _min_quality()
        self.entities: list[tuple[str, bool]] = []
        self.sources: dict[str, int] = {}
        self.regions: dict[str, int] = {}
        self.hexes: list[str] = []
        self.rows: dict[str, list[Any]] = {
            name: [] for name in ("entity", "kind", "source", "line", "region", "variant")
        }
        self.rows.update(quality=[], seconds=[], video=[])
        self.videos: list[_Video] = []
        self.problems: list[Problem] = []
        self.low_quality: dict[int, int] = {}
        self.files: dict[int, int] = {}
        self.seen: set[tuple[int, str]] = set()  # (entity, source): a file named twice

    def entity(self, name: str, negative: bool) -> int:
        self.entities.append((name, negative))
        return len(self.entities) - 1

    def media_files(self, reference: str) -> list[tuple[Path, str]]:
        """The files a reference_media item names: itself, or a folder's media files."""
        path = self.base / reference
        if path.is_file():
            return [(path, self._name(path))]
        if not path.is_dir():
            self.problems.append(Problem(reference, "no such file or folder"))
            return []
        found, skipped = [], []
        for root, folders, names in os.walk(path):
            folders[:] = sorted(f for f in folders if not f.startswith("."))
            for name in sorted(names):
                if name.startswith("."):
                    continue
                file = Path(root) / name
                suffix = file.suffix.lower()
                if suffix in IMAGE_SUFFIXES or suffix in VIDEO_SUFFIXES:
                    found.append((file, self._name(file)))
                else:
                    skipped.append(self._name(file))
        if skipped:
            listed = ", ".join(skipped[:5]) + (
                f" and {len(skipped) - 5} more" if len(skipped) > 5 else ""
            )
            self.problems.append(
                Problem(
                    reference,
                    f"{len(skipped)} file(s) skipped, not photos or videos by their name: {listed}",
                )
            )
        if not found and not skipped:
            self.problems.append(Problem(reference, "an empty folder"))
        return found

    def _name(self, path: Path) -> str:
        """A file's source: relative to the policy's folder when it is inside it."""
        try:
            return path.relative_to(self.base).as_posix()
        except ValueError:
            return path.as_posix()

    def _source(self, name: str) -> int:
        return self.sources.setdefault(name, len(self.sources))

    def _region(self, name: str) -> int:
        return self.regions.setdefault(name, len(self.regions))

    def add_list(self, entity: int, path: Path, name: str) -> None:
        found = read_hashlist(path, name)
        self.problems.extend(found.problems)
        if not found.entries and any(p.source == name for p in found.problems):
            return  # the file itself could not be read
        self.files[entity] = self.files.get(entity, 0) + 1
        source = self._source(name)
        # A list may hold a million PDQ lines: their rows are added column by column.
        photos = [entry for entry in found.entries if entry.kind == "pdq"]
        rows, count = self.rows, len(photos)
        rows["entity"].extend([entity] * count)
        rows["kind"].extend([PHOTO] * count)
        rows["source"].extend([source] * count)
        rows["line"].extend(_line(entry.source) for entry in photos)
        rows["region"].extend([self._region(LIST_REGION)] * count)
        rows["variant"].extend([0] * count)
        rows["quality"].extend([UNKNOWN_QUALITY] * count)
        rows["seconds"].extend([math.nan] * count)
        rows["video"].extend([-1] * count)
        self.hexes.extend(entry.pdq for entry in photos)
        for entry in found.entries:
            if entry.video is not None:
                self._video(entity, source, _line(entry.source), entry.video)

    def add_media(self, entity: int, path: Path, name: str) -> None:
        if (entity, name) in self.seen:
            return
        self.seen.add((entity, name))
        video = path.suffix.lower() in VIDEO_SUFFIXES
        try:
            size = path.stat().st_size
            limit = self.limits.max_video_bytes if video else self.limits.max_image_bytes
            if size > limit:
                raise MediaError("too_large", f"{size:,} bytes, over the limit of {limit:,}")
            data = path.read_bytes()
        except OSError as error:
            self.problems.append(Problem(name, f"cannot read: {error.strerror or error}"))
            return
        except MediaError as error:
            self.problems.append(Problem(name, f"{error.kind}: {error.reason}"))
            return
        sha = hashlib.sha256(data).hexdigest()
        try:
            if video:
                hashed_video = self._hash_video(path, sha)
                self.files[entity] = self.files.get(entity, 0) + 1
                self._video(entity, self._source(name), 0, hashed_video)
            else:
                hashes = self._hash_photo(data, sha)
                self.files[entity] = self.files.get(entity, 0) + 1
                source = self._source(name)
                for h in hashes:
                    self._photo(entity, source, 0, h)
        except MediaError as error:
            self.problems.append(Problem(name, f"{error.kind}: {error.reason}"))

    def _hash_photo(self, data: bytes, sha: str) -> list[PdqHash]:
        kind = f"bank-photo/{_CACHE_VERSION}"
        cached = self.cache.get(kind, sha)
        if cached is not None:
            return [PdqHash(h, q, v, r) for h, q, v, r in json.loads(cached)]
        from arbiter.media.load import open_image
        from arbiter.media.pdq import reference_hashes

        hashes = reference_hashes(open_image(data, self.limits))
        value = [[h.hex, h.quality, h.variant, h.region] for h in hashes]
        self.cache.put(kind, sha, json.dumps(value).encode("utf-8"))
        return hashes

    def _hash_video(self, path: Path, sha: str) -> VideoHash:
        kind = f"bank-video/{_CACHE_VERSION}/{self.seconds_per_hash:g}s"
        cached = self.cache.get(kind, sha)
        if cached is not None:
            data = json.loads(cached)
            frames = tuple(FrameHash(i, s, h, q) for i, s, h, q in data["frames"])
            return VideoHash(frames, data["duration"], data["rate"])
        from arbiter.media.video import hash_video

        hashed: VideoHash = hash_video(path, self.limits, seconds_per_hash=self.seconds_per_hash)
        value = {
            "frames": [[f.index, f.seconds, f.hex, f.quality] for f in hashed.frames],
            "duration": hashed.duration,
            "rate": hashed.frames_per_second_sampled,
        }
        self.cache.put(kind, sha, json.dumps(value).encode("utf-8"))
        return hashed

    def _photo(self, entity: int, source: int, line: int, h: PdqHash) -> None:
        if h.quality != UNKNOWN_QUALITY and h.quality < self.min_quality:
            self.low_quality[entity] = self.low_quality.get(entity, 0) + 1
            return
        self._row(entity, PHOTO, source, line, self._region(h.region), h, math.nan, -1)

    def _video(self, entity: int, source: int, line: int, video: VideoHash) -> None:
        number = len(self.videos)
        self.videos.append(_Video(entity, source, line, self.entities[entity][1], video))
        seen: set[str] = set()
        for frame in video.frames:
            if frame.quality < self.min_quality:
                self.low_quality[entity] = self.low_quality.get(entity, 0) + 1
            elif frame.hex not in seen:
                seen.add(frame.hex)
                h = PdqHash(frame.hex, frame.quality)
                self._row(entity, FRAME, source, line, self._region(""), h, frame.seconds, number)

    def _row(
        self,
        entity: int,
        kind: int,
        source: int,
        line: int,
        region: int,
        h: PdqHash,
        seconds: float,
        video: int,
    ) -> None:
        rows = self.rows
        rows["entity"].append(entity)
        rows["kind"].append(kind)
        rows["source"].append(source)
        rows["line"].append(line)
        rows["region"].append(region)
        rows["variant"].append(VARIANTS.index(h.variant) if h.variant in VARIANTS else 0)
        rows["quality"].append(h.quality)
        rows["seconds"].append(seconds)
        rows["video"].append(video)
        self.hexes.append(h.hex)

    def finish(self) -> Bank:
        rows = self.rows
        columns: dict[str, npt.NDArray[Any]] = {
            "entity": np.array(rows["entity"], dtype=np.int32),
            "kind": np.array(rows["kind"], dtype=np.uint8),
            "source": np.array(rows["source"], dtype=np.int32),
            "line": np.array(rows["line"], dtype=np.int32),
            "region": np.array(rows["region"], dtype=np.int32),
            "variant": np.array(rows["variant"], dtype=np.uint8),
            "quality": np.array(rows["quality"], dtype=np.int8),
            "seconds": np.array(rows["seconds"], dtype=np.float32),
            "video": np.array(rows["video"], dtype=np.int32),
        }
        return Bank(
            entities=self.entities,
            sources=list(self.sources),
            regions=list(self.regions),
            codes=hex_to_codes(self.hexes),
            columns=columns,
            videos=self.videos,
            problems=self.problems,
            low_quality=self.low_quality,
            files=self.files,
        )


# -- helpers --------------------------------------------------------------------------------


def _line(source: str) -> int:
    """The line number of a hash list entry's source, "list.txt:12"."""
    return int(source.rpartition(":")[2])


def _frame_region(seconds: float) -> str:
    return f"frame:{seconds:g}s"


def _variant_rank(variant: str) -> int:
    return VARIANTS.index(variant) if variant in VARIANTS else len(VARIANTS)


def _region_rank(region: str) -> int:
    return {"full": 0, "trimmed": 1, LIST_REGION: 2}.get(region, 3)


_M = TypeVar("_M", PhotoMatch, VideoMatch)


def _suppress(matches: list[_M], include_negative: bool) -> list[_M]:
    """Mark designated matches cancelled by a benign match on the same item; order them."""
    benign = sorted(
        (m for m in matches if m.negative),
        key=lambda m: (m.distance if m.distance is not None else 0, m.entity, m.source),
    )
    by = f"{benign[0].entity}:{benign[0].source}" if benign else ""
    out = [
        m if m.negative or not by else _replace(m, by)
        for m in matches
        if include_negative or not m.negative
    ]
    return sorted(
        out,
        key=lambda m: (
            m.negative,
            m.distance if m.distance is not None else -1,
            m.entity,
            m.source,
        ),
    )


def _replace(match: _M, suppressed_by: str) -> _M:
    return replace(match, suppressed_by=suppressed_by)


__all__ = [
    "Bank",
    "BankEntry",
    "BankVideo",
    "EntityStats",
    "PhotoMatch",
    "Problem",
    "VideoMatch",
    "build_bank",
]
