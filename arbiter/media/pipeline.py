"""A post's media, start to finish: load safely, hash, match the banks, and read text if needed.

The engine calls `MediaPipeline.examine(post)` for every post with media and gets
matches (signal `image` or `video`), errors and notes; OCR is a second, costlier
step the engine asks for only when text read from the images could still change
the decision. A media item that fails becomes an error on that item; the post is
still decided on everything else.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import av
from PIL.Image import Image

from arbiter.banks.bank import Bank
from arbiter.media.cache import Cache
from arbiter.media.load import Loaded, open_image, read_media
from arbiter.media.model import MediaError, MediaLimits
from arbiter.media.ocr import OcrUnavailable, cached_read_text
from arbiter.media.pdq import MIN_QUALITY, query_hashes
from arbiter.media.video import TruncatedVideo, hash_video
from arbiter.model import Match, MediaEvidence, Post
from arbiter.text.matcher import TextMatcher

OCR_LANGUAGES = "fas+ara+eng"
VIDEO_STILLS = 4  # frames of a video read by OCR (captions, name cards)


@dataclass(frozen=True)
class MediaSettings:
    """How a scan treats media; plain data, so worker processes can rebuild the pipeline."""

    bank: Path | None  # a bank file (`arbiter bank build`), or None: no media matching
    base: Path = Path(".")  # media paths in posts are relative to this folder
    limits: MediaLimits = field(default_factory=MediaLimits)
    fetch: bool = False  # download media[].url
    cache_dir: Path | None = None  # hashes and OCR text by content; None keeps them in memory
    ocr: bool = True


@dataclass
class Examined:
    """What a post's media gave: matches, errors, notes, and what OCR may read next."""

    matches: list[Match] = field(default_factory=list)
    errors: list[tuple[str, str, str]] = field(default_factory=list)  # (media id, kind, reason)
    notes: list[str] = field(default_factory=list)
    readable: list[tuple[str, str, Image]] = field(default_factory=list)  # (media id, key, image)


class MediaPipeline:
    """Bank matching and OCR for one policy's engine."""

    def __init__(
        self,
        bank: Bank | None,
        cache: Cache,
        limits: MediaLimits | None = None,
        base: Path = Path("."),
        fetch: bool = False,
        ocr: bool = True,
    ):
        self.bank = bank
        self.cache = cache
        self.limits = limits or MediaLimits()
        self.base = base
        self.fetch = fetch
        self.ocr_enabled = ocr
        self.settings: MediaSettings | None = None  # set when built from settings

    @classmethod
    def from_settings(cls, settings: MediaSettings) -> MediaPipeline:
        """The pipeline `settings` describe, its bank loaded from disk."""
        bank = Bank.load(settings.bank) if settings.bank else None
        pipeline = cls(
            bank,
            Cache(settings.cache_dir),
            settings.limits,
            settings.base,
            settings.fetch,
            settings.ocr,
        )
        pipeline.settings = settings
        return pipeline

    def examine(self, post: Post) -> Examined:
        """Load, hash and match each media item of `post`."""
        found = Examined()
        for item in post.media:
            try:
                loaded = read_media(item, self.base, self.limits, self.fetch)
                if loaded.kind == "image":
                    self._photo(item.id, loaded, found)
                else:
                    self._video(item.id, loaded, found)
            except MediaError as error:
                found.errors.append((item.id, error.kind, error.reason))
        return found

    def _photo(self, media_id: str, loaded: Loaded, found: Examined) -> None:
        image = open_image(loaded.data, self.limits)
        found.readable.append((media_id, loaded.sha256, image))
        if self.bank is None:
            return
        hashes = query_hashes(image)
        best = max((h.quality for h in hashes), default=0)
        if best < MIN_QUALITY:
            found.notes.append(_too_plain(media_id, best))
            return
        for match in self.bank.match_photo(hashes):
            found.matches.append(
                Match(
                    entity=match.entity,
                    signal="image",
                    span=(0, 0),
                    matched=match.source,
                    via="pdq",
                    score=_closeness(match.distance),
                    media=MediaEvidence(
                        media_id,
                        entry=match.source,
                        distance=match.distance,
                        variant=match.variant,
                        region=match.region,
                        quality=match.quality,
                        suppressed_by=match.suppressed_by,
                    ),
                )
            )

    def _video(self, media_id: str, loaded: Loaded, found: Examined) -> None:
        with _on_disk(loaded) as path:
            if self.ocr_enabled:
                found.readable += [
                    (media_id, f"{loaded.sha256}@{second:g}", still)
                    for second, still in _stills(path)
                ]
            if self.bank is None:
                return
            try:
                video = hash_video(path, self.limits)
            except TruncatedVideo as broken:
                video = broken.partial
                found.errors.append((media_id, broken.kind, broken.reason))
        if not any(frame.quality >= MIN_QUALITY for frame in video.frames):
            found.notes.append(
                _too_plain(media_id, max((f.quality for f in video.frames), default=0))
            )
            return
        for match in self.bank.match_video(video):
            frame = match.shares is None
            score = _closeness(match.distance or 0) if frame else min(match.shares or (0.0,))
            found.matches.append(
                Match(
                    entity=match.entity,
                    signal="video",
                    span=(0, 0),
                    matched=match.source,
                    via="pdq_frame" if frame else "vpdq",
                    score=round(score, 3),
                    media=MediaEvidence(
                        media_id,
                        entry=match.source,
                        distance=match.distance,
                        shares=match.shares,
                        region=match.region,
                        seconds=match.seconds,
                        suppressed_by=match.suppressed_by,
                    ),
                )
            )

    def read_text(self, examined: Examined, matcher: TextMatcher) -> list[Match]:
        """OCR each readable image (and video still) and find the policy's entities in it."""
        matches: list[Match] = []
        for media_id, key, image in examined.readable:
            try:
                result = cached_read_text(self.cache, key, image, OCR_LANGUAGES)
            except MediaError as error:
                examined.errors.append((media_id, error.kind, error.reason))
                continue
            except OcrUnavailable as error:
                examined.errors.append((media_id, "unsupported", f"OCR is unavailable: {error}"))
                continue
            # Match the whole text, so a name broken over two lines is still found.
            text, starts = "", []
            for region in result.regions:
                starts.append(len(text))
                text += region.text + "\n"
            for found in matcher.find_exhaustive(text):
                lines = [
                    region
                    for region, start in zip(result.regions, starts, strict=True)
                    if start < found.span[1] and found.span[0] < start + len(region.text)
                ]
                matches.append(
                    Match(
                        entity=found.entity,
                        signal="ocr",
                        span=found.span,
                        matched=found.matched,
                        via=found.via,
                        score=found.score,
                        media=MediaEvidence(
                            media_id,
                            box=_union([line.box for line in lines]),
                            text=" / ".join(line.text for line in lines),
                            seconds=_second(key),
                        ),
                    )
                )
        return matches


def _closeness(distance: int) -> float:
    """A PDQ distance as a score: 1.0 identical, 0.88 at the usual match radius of 31."""
    return round(1 - distance / 256, 3)


def _too_plain(media_id: str, quality: int) -> str:
    return (
        f"media {media_id}: too plain to match reliably (PDQ quality {quality} < {MIN_QUALITY}, "
        "as the PDQ authors advise); not compared with the banks"
    )


def _second(key: str) -> float | None:
    _, at, second = key.partition("@")
    return float(second) if at else None


def _union(boxes: list[tuple[int, int, int, int]]) -> tuple[int, int, int, int] | None:
    if not boxes:
        return None
    left = min(b[0] for b in boxes)
    top = min(b[1] for b in boxes)
    right = max(b[0] + b[2] for b in boxes)
    bottom = max(b[1] + b[3] for b in boxes)
    return (left, top, right - left, bottom - top)


@contextmanager
def _on_disk(loaded: Loaded) -> Iterator[Path]:
    """The video as a file: decoders read files; a downloaded one is spooled to disk."""
    if loaded.path is not None:
        yield loaded.path
        return
    with tempfile.NamedTemporaryFile(suffix=".video") as spooled:
        spooled.write(loaded.data)
        spooled.flush()
        yield Path(spooled.name)


def _stills(path: Path, count: int = VIDEO_STILLS) -> list[tuple[float, Image]]:
    """A few frames spread over the video, for OCR; a video that will not decode gives none
    (hashing reports why)."""
    stills: list[tuple[float, Image]] = []
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            base = stream.time_base
            if base is None or not stream.duration:
                return stills
            duration = float(stream.duration * base)
            for index in range(count):
                second = duration * (index + 0.5) / count
                container.seek(int(second / base), stream=stream)
                frame = next(container.decode(stream), None)
                if frame is not None:
                    image: Image = frame.to_image()  # type: ignore[no-untyped-call]
                    stills.append((round(second, 1), image))
    except (av.FFmpegError, IndexError, StopIteration, ValueError, ZeroDivisionError):
        return stills
    return stills
