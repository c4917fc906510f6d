"""vPDQ for videos: PDQ hashes of sampled frames, and matching two videos by their shares of frames.

`hash_video` decodes with PyAV one frame at a time (memory does not grow with the
length of the video: only the hashes are kept), takes the first frame at or after
every `seconds_per_hash` of presentation time (0: every frame), crops black bars
found consistently across the video, and hashes each kept frame with PDQ. With
`seconds_per_hash=0` and `crop_bars=False` it reproduces the `vpdq` package's
hashes (same decoder, same RGB conversion; see tests/media/test_pdq_conformance.py).

Frames are hashed as players show them: a rotation in the stream's display matrix
(phone videos) is applied, as EXIF orientation is for photos. The vPDQ samples have
none.

Black bars: a letterboxed or pillarboxed copy otherwise matches none of the
original's frames. Before hashing, up to nine frames spread over the video (by
seeking) are examined; rows and columns at the edges that are black (luma at most
32 in 99% of their pixels) in every examined frame that is not itself mostly black
are cut from every hashed frame, the same box for the whole video, so a dark scene
does not change the crop.

Broken input: a file FFmpeg cannot open (unknown format, truncated before its
index) raises MediaError("corrupt"); no video stream, "unsupported"; frames over
`limits.max_pixels`, "bomb"; a declared or decoded duration over
`limits.max_video_seconds`, "too_long"; decoding that takes longer than
`time_budget(limits)`, "timeout". A video that breaks after some frames were hashed
(a truncated upload: a decoding error, or decoded frames ending more than 10% and
1 s short of the duration the video stream declares) raises `TruncatedVideo`, a
MediaError of kind "corrupt" that carries what was hashed before the break in
`.partial`: callers that only want whole videos treat it as corrupt, callers that
can use a partial hash (a clip of a banned video is still a clip of it) take
`.partial` and say so in evidence.

`match_video` follows python-threatexchange's vPDQ brute-force matcher: each side's
frame hashes are deduplicated (unique hex), those of quality under `quality` are
dropped, and a frame counts as matched if any frame of the other side is within
`distance`. The shares are those counts over each side's remaining frames.
`VIDEO_THRESHOLDS` are vPDQ's defaults: 80% of the query's frames, 0% of the
reference's (a short clip of a long banned video matches it).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pdqhash  # type: ignore[import-untyped]

from arbiter.media.model import FrameHash, MediaError, MediaLimits, VideoHash

VIDEO_THRESHOLDS = (0.8, 0.0)  # vPDQ: query share >= 80%, reference share >= 0%
FRAME_DISTANCE = 31  # vPDQ's frame match distance
FRAME_QUALITY = 50  # vPDQ's frame quality threshold

# Black bars (luma, full range 0-255).
BAR_LEVEL = 32  # a bar pixel is at most this bright
BAR_SHARE = 0.99  # share of a bar row's or column's pixels that must be that dark
BAR_SAMPLES = 9  # frames examined, spread over the video
BAR_MIN_CONTENT = 0.25  # never crop to less than this share of a dimension

# Frames larger than this on the long side are reduced by a whole factor before hashing.
FRAME_WORK_SIDE = 2048


class TruncatedVideo(MediaError):
    """A video that broke after some frames were hashed; `.partial` holds their hashes."""

    def __init__(self, reason: str, partial: VideoHash):
        super().__init__("corrupt", reason)
        self.partial = partial


def time_budget(limits: MediaLimits) -> float:
    """Seconds `hash_video` may spend on one video before giving up with "timeout"."""
    return 60.0 + 2.0 * limits.max_video_seconds


def hash_video(
    path: Path,
    limits: MediaLimits,
    seconds_per_hash: float = 1.0,
    *,
    crop_bars: bool = True,
) -> VideoHash:
    """The vPDQ hash of the video at `path`: PDQ of one frame per `seconds_per_hash` (0: all)."""
    if seconds_per_hash < 0 or math.isnan(seconds_per_hash):
        raise ValueError(f"seconds_per_hash must be 0 or more, not {seconds_per_hash}")
    deadline = time.monotonic() + time_budget(limits)
    _check_file(path, limits)
    box = _bar_box(path, limits, deadline) if crop_bars else None
    with _open(path) as container:
        stream = _video_stream(container, limits)
        declared = _declared_duration(container, stream)
        if declared is not None and declared > limits.max_video_seconds:
            raise MediaError(
                "too_long",
                f"video lasts {declared:.1f} s, over the limit of {limits.max_video_seconds:g} s",
            )
        rate = _frame_rate(stream)
        stream.thread_type = "AUTO"
        frames: list[FrameHash] = []
        last_time = 0.0
        next_slot = 0.0
        try:
            for index, (seconds, frame) in enumerate(_frames(container, stream, rate)):
                if time.monotonic() > deadline:
                    raise MediaError(
                        "timeout", f"hashing took over {time_budget(limits):g} s; stopped"
                    )
                if seconds > limits.max_video_seconds:
                    raise MediaError(
                        "too_long",
                        f"video runs past {limits.max_video_seconds:g} s, the limit",
                    )
                if frame.width * frame.height > limits.max_pixels:
                    raise MediaError(
                        "bomb", f"a frame of {frame.width}x{frame.height} is over the pixel limit"
                    )
                last_time = seconds
                if seconds_per_hash > 0:
                    if seconds + 1e-6 < next_slot:
                        continue
                    next_slot = (
                        math.floor(seconds / seconds_per_hash + 1e-6) + 1
                    ) * seconds_per_hash
                hex_, quality = _hash_frame(frame, box)
                frames.append(FrameHash(index, round(seconds, 3), hex_, quality))
        except av.FFmpegError as error:
            reason = f"video breaks off after {last_time:.1f} s: {_message(error)}"
            if not frames:
                raise MediaError("corrupt", reason) from error
            partial = VideoHash(
                tuple(frames), last_time + 1 / rate, _sampled_rate(seconds_per_hash, rate)
            )
            raise TruncatedVideo(reason, partial) from error
        if not frames:
            raise MediaError("corrupt", "no frame could be decoded")
        decoded = last_time + 1 / rate
        sampled = _sampled_rate(seconds_per_hash, rate)
        # Frame-threaded decoding ends quietly where the data ends: compare with what the
        # video stream itself declares (a container's duration may be the audio's).
        track = _track_duration(stream)
        if track is not None and track - decoded > max(1.0, 0.1 * track):
            raise TruncatedVideo(
                f"video breaks off after {decoded:.1f} s of the {track:.1f} s it declares",
                VideoHash(tuple(frames), decoded, sampled),
            )
        return VideoHash(tuple(frames), declared if declared is not None else decoded, sampled)


def match_video(
    query: VideoHash,
    reference: VideoHash,
    distance: int = FRAME_DISTANCE,
    quality: int = FRAME_QUALITY,
) -> tuple[float, float]:
    """(query share, reference share): the shares of each side's frames matched by the other's.

    As vPDQ defines them: unique frame hashes of quality >= `quality` on each side;
    a frame is matched if a frame of the other side is within `distance`. A side with
    no usable frame gives (0.0, 0.0).
    """
    ours = _usable_frames(query.frames, quality)
    theirs = _usable_frames(reference.frames, quality)
    if len(ours) == 0 or len(theirs) == 0:
        return (0.0, 0.0)
    ours_matched = np.zeros(len(ours), dtype=bool)
    theirs_matched = np.zeros(len(theirs), dtype=bool)
    block = max(1, _PAIRS_AT_ONCE // len(theirs))
    for start in range(0, len(ours), block):
        part = ours[start : start + block]
        bits = _POPCOUNT[part[:, None, :] ^ theirs[None, :, :]].sum(axis=2, dtype=np.int32)
        close = bits <= distance
        ours_matched[start : start + block] = close.any(axis=1)
        theirs_matched |= close.any(axis=0)
    return (float(ours_matched.mean()), float(theirs_matched.mean()))


def is_match(
    shares: tuple[float, float], thresholds: tuple[float, float] = VIDEO_THRESHOLDS
) -> bool:
    """Whether both shares reach their thresholds (vPDQ compares with >=)."""
    return shares[0] >= thresholds[0] and shares[1] >= thresholds[1]


# --- decoding ------------------------------------------------------------------------


def _check_file(path: Path, limits: MediaLimits) -> None:
    if not path.exists():
        raise MediaError("missing", f"no such file: {path}")
    if not path.is_file():
        raise MediaError("unsupported", f"not a regular file: {path}")
    size = path.stat().st_size
    if size > limits.max_video_bytes:
        raise MediaError(
            "too_large", f"video is {size} bytes, over the limit of {limits.max_video_bytes}"
        )


def _open(path: Path) -> Any:
    try:
        return av.open(str(path), mode="r")
    except av.FFmpegError as error:
        raise MediaError("corrupt", f"cannot read the video: {_message(error)}") from error


def _video_stream(container: Any, limits: MediaLimits) -> Any:
    if not container.streams.video:
        raise MediaError("unsupported", "no video stream")
    stream = container.streams.video[0]
    width, height = stream.codec_context.width, stream.codec_context.height
    if width * height > limits.max_pixels:
        raise MediaError("bomb", f"frames of {width}x{height} are over the pixel limit")
    return stream


def _track_duration(stream: Any) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    return None


def _declared_duration(container: Any, stream: Any) -> float | None:
    track = _track_duration(stream)
    if track is not None:
        return track
    if container.duration is not None:
        return float(container.duration / av.time_base)
    return None


def _frame_rate(stream: Any) -> float:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate:
            return float(rate)
    return 30.0


def _sampled_rate(seconds_per_hash: float, rate: float) -> float:
    return 1 / seconds_per_hash if seconds_per_hash > 0 else rate


def _frames(container: Any, stream: Any, rate: float) -> Iterator[tuple[float, Any]]:
    """Decoded frames with their presentation time in seconds from the first frame."""
    start: float | None = None
    for index, frame in enumerate(container.decode(stream)):
        seconds = frame.time if frame.time is not None else index / rate
        if start is None:
            start = seconds
        yield seconds - start, frame


def _hash_frame(frame: Any, box: tuple[int, int, int, int] | None) -> tuple[str, int]:
    factor = max(frame.width, frame.height) // (FRAME_WORK_SIDE // 2)
    if max(frame.width, frame.height) > FRAME_WORK_SIDE and factor > 1:
        frame = frame.reformat(
            width=frame.width // factor, height=frame.height // factor, interpolation="AREA"
        )
        if box is not None:
            box = (box[0] // factor, box[1] // factor, box[2] // factor, box[3] // factor)
    rgb = frame.to_ndarray(format="rgb24")
    if box is not None:
        left, top, right, bottom = box
        rgb = rgb[top:bottom, left:right]
    quarter_turns = round((frame.rotation or 0) / 90) % 4
    if quarter_turns:
        rgb = np.rot90(rgb, quarter_turns)  # as players show it (counter-clockwise)
    bits, quality = pdqhash.compute(np.ascontiguousarray(rgb))
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes().hex(), int(quality)


def _message(error: Exception) -> str:
    return str(getattr(error, "strerror", None) or error)


# --- black bars ----------------------------------------------------------------------


def _bar_box(path: Path, limits: MediaLimits, deadline: float) -> tuple[int, int, int, int] | None:
    """The content box (left, top, right, bottom) inside black bars, or None if there are none."""
    with _open(path) as container:
        stream = _video_stream(container, limits)
        stream.thread_type = "AUTO"
        width, height = stream.codec_context.width, stream.codec_context.height
        dark_rows = np.ones(height, dtype=bool)
        dark_cols = np.ones(width, dtype=bool)
        seen = 0
        try:
            for gray in _sample_frames(container, stream):
                if time.monotonic() > deadline:
                    raise MediaError("timeout", "looking for black bars took too long")
                if gray.shape != (height, width):
                    return None  # the size changes mid-stream: leave the frames whole
                dark = gray <= BAR_LEVEL
                if dark.mean() > 0.9:
                    continue  # a black frame (a fade) says nothing about bars
                dark_rows &= dark.mean(axis=1) >= BAR_SHARE
                dark_cols &= dark.mean(axis=0) >= BAR_SHARE
                seen += 1
        except av.FFmpegError:
            pass  # a broken file: decide from the frames seen; the hashing pass reports it
    if seen == 0:
        return None
    top, bottom = _run(dark_rows), _run(dark_rows[::-1])
    left, right = _run(dark_cols), _run(dark_cols[::-1])
    if height - top - bottom < BAR_MIN_CONTENT * height:
        top = bottom = 0
    if width - left - right < BAR_MIN_CONTENT * width:
        left = right = 0
    # Bars of one or two lines are compression edges, not letterboxing.
    top, bottom, left, right = (v if v > 2 else 0 for v in (top, bottom, left, right))
    if top == bottom == left == right == 0:
        return None
    return (left, top, width - right, height - bottom)


def _sample_frames(container: Any, stream: Any) -> Iterator[np.ndarray[Any, Any]]:
    """Luma of up to BAR_SAMPLES frames spread over the video (the keyframe at or before each)."""
    duration = _declared_duration(container, stream)
    if duration is None or duration <= 0 or stream.time_base is None:
        # No seeking without a duration: the first frames, one a second.
        next_time = 0.0
        for count, (seconds, frame) in enumerate(_frames(container, stream, _frame_rate(stream))):
            if seconds >= next_time:
                yield frame.to_ndarray(format="gray")
                next_time += 1.0
            if next_time > BAR_SAMPLES or count > 100 * BAR_SAMPLES:
                return
        return
    start = stream.start_time or 0
    for i in range(BAR_SAMPLES):
        seconds = duration * (i + 0.5) / BAR_SAMPLES
        target = start + int(Fraction(seconds).limit_denominator(1000) / stream.time_base)
        container.seek(target, stream=stream)
        for frame in container.decode(stream):
            yield frame.to_ndarray(format="gray")
            break


def _run(flags: np.ndarray[Any, np.dtype[np.bool_]]) -> int:
    """Length of the leading run of True."""
    return len(flags) if flags.all() else int(np.argmin(flags))


# --- matching --------------------------------------------------------------------------

_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)
_PAIRS_AT_ONCE = 200_000  # frame pairs compared at once (32 bytes each)


def _usable_frames(frames: tuple[FrameHash, ...], quality: int) -> np.ndarray[Any, Any]:
    """Unique frame hashes (first occurrence), then those of quality >= `quality`, as bytes."""
    seen: set[str] = set()
    kept: list[bytes] = []
    for frame in frames:
        if frame.hex in seen:
            continue
        seen.add(frame.hex)
        if frame.quality >= quality:
            kept.append(bytes.fromhex(frame.hex))
    if not kept:
        return np.zeros((0, 32), dtype=np.uint8)
    return np.frombuffer(b"".join(kept), dtype=np.uint8).reshape(len(kept), 32)
