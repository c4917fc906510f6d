"""Hash lists in the text form the ThreatExchange / Hasher-Matcher-Actioner tools exchange.

One hash a line, as `threatexchange hash` prints them: the signal type's name,
a space, and its signal string.

    pdq f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22
    vpdq ["f8f8f0ce…9b22,100,0.0", "f8f8f0ce…9b22,98,1.0"]
    f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22

- `pdq`: 64 hex digits (256 bits). A line of 64 hex digits alone is a PDQ hash
  too: that is how lists of bare hashes are usually shared.
- `vpdq`: a JSON array with one string per sampled frame,
  "<pdq hex>,<quality 0-100>,<seconds>", as python-threatexchange's vPDQ
  signal type serializes it (its `VpdqCompactFeature`). The older form, a JSON
  object keyed by frame number with "hash", "quality" and "timestamp", is read
  too; lists are always written in the array form.
- Blank lines and lines starting with `#` are ignored; so is a `#` comment
  after a hash when a space precedes it.

Every entry keeps where it came from ("list.txt:12"), and a malformed line is
reported with its file:line and the reason while the rest of the list loads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from arbiter.media.model import FrameHash, VideoHash

PDQ_HEX_DIGITS = 64
KINDS = ("pdq", "vpdq")
# Other ThreatExchange signal types: recognized, so the report can say what they are.
OTHER_SIGNAL_TYPES = frozenset(
    ("md5", "video_md5", "photo_md5", "raw_text", "url", "url_md5", "tlsh", "trend_query")
)
_HEX = re.compile(r"[0-9a-fA-F]+")
_PLAIN_PDQ = re.compile(r"(?:[pP][dD][qQ][ \t]+)?([0-9a-fA-F]{64})")  # the usual line, fast
_TRAILING_COMMENT = re.compile(r"\s+#.*$")


@dataclass(frozen=True, slots=True)
class HashListEntry:
    """One hash of a list: a photo's PDQ hash, or a video's vPDQ (its frames' PDQ hashes)."""

    kind: str  # "pdq" | "vpdq"
    pdq: str = ""  # kind "pdq": 64 lowercase hex digits
    video: VideoHash | None = None  # kind "vpdq"
    source: str = ""  # "list.txt:12"

    @classmethod
    def photo(cls, hex_digits: str, source: str = "") -> HashListEntry:
        return cls("pdq", pdq=_pdq(hex_digits), source=source)

    @classmethod
    def of_video(cls, video: VideoHash, source: str = "") -> HashListEntry:
        return cls("vpdq", video=video, source=source)

    def line(self) -> str:
        """The entry as one line of a hash list (without the newline)."""
        if self.kind == "pdq":
            return f"pdq {self.pdq}"
        assert self.video is not None
        return "vpdq " + json.dumps([_feature(frame) for frame in self.video.frames])


@dataclass(frozen=True, slots=True)
class HashListProblem:
    """A line that could not be read, or a list that could not be opened."""

    source: str  # "list.txt:12", or "list.txt" for the whole file
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: {self.reason}"


@dataclass
class HashList:
    """What a list gave: its entries, in order, and its problems."""

    entries: list[HashListEntry] = field(default_factory=list)
    problems: list[HashListProblem] = field(default_factory=list)


class _Malformed(ValueError):
    pass


def parse_hashlist(text: str, name: str) -> HashList:
    """Read a hash list's text; `name` is what sources say it is ("banks/qs.pdq.txt")."""
    found = HashList()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip().lstrip("\ufeff") if number == 1 else raw.strip()
        source = f"{name}:{number}"
        if not line or line.startswith("#"):
            continue
        plain = _PLAIN_PDQ.fullmatch(line)
        if plain is not None:
            found.entries.append(HashListEntry("pdq", pdq=plain[1].lower(), source=source))
            continue
        try:
            found.entries.append(_parse_line(line, source))
        except _Malformed as error:
            found.problems.append(HashListProblem(source, str(error)))
    return found


def read_hashlist(path: Path, name: str | None = None) -> HashList:
    """Read a hash list file; a file that cannot be read is one problem, not an exception."""
    name = name if name is not None else str(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return HashList(problems=[HashListProblem(name, "no such file")])
    except IsADirectoryError:
        return HashList(problems=[HashListProblem(name, "a folder, not a hash list file")])
    except OSError as error:
        return HashList(problems=[HashListProblem(name, f"cannot read: {error.strerror}")])
    except UnicodeDecodeError as error:
        return HashList(problems=[HashListProblem(name, f"not UTF-8 text (byte {error.start})")])
    return parse_hashlist(text, name)


def write_hashlist(
    entries: Iterable[HashListEntry], stream: TextIO, header: Sequence[str] = ()
) -> int:
    """Write entries one a line in the form `parse_hashlist` reads; return how many.

    `header` lines are written first as `#` comments (tools that take bare
    signal lines may not skip comments: leave it empty for them).
    """
    for line in header:
        stream.write(f"# {line}\n" if line else "#\n")
    count = 0
    for entry in entries:
        stream.write(entry.line() + "\n")
        count += 1
    return count


def _parse_line(line: str, source: str) -> HashListEntry:
    line = _TRAILING_COMMENT.sub("", line)
    kind, _, rest = line.partition(" ")
    rest = rest.strip()
    lowered = kind.lower()
    if not rest:
        if len(kind) == PDQ_HEX_DIGITS and _HEX.fullmatch(kind):
            return HashListEntry.photo(kind, source)
        if lowered in KINDS:
            raise _Malformed(f"'{kind}' with no hash after it")
        if _HEX.fullmatch(kind):
            raise _Malformed(
                f"a bare PDQ hash has {PDQ_HEX_DIGITS} hex digits, this one has {len(kind)}"
            )
        raise _Malformed(f"not a hash: {_clip(line)!r} (expected 'pdq <64 hex>' or 'vpdq [...]')")
    if lowered == "pdq":
        return HashListEntry("pdq", pdq=_pdq(rest), source=source)
    if lowered == "vpdq":
        return HashListEntry("vpdq", video=_vpdq(rest), source=source)
    if lowered in OTHER_SIGNAL_TYPES:
        raise _Malformed(f"signal type '{lowered}' is not used by Arbiter (it reads pdq and vpdq)")
    raise _Malformed(f"unknown signal type {_clip(kind)!r} (expected 'pdq' or 'vpdq')")


def _pdq(text: str) -> str:
    if " " in text or "\t" in text:
        raise _Malformed(f"unexpected text after the PDQ hash: {_clip(text.split()[1])!r}")
    if not _HEX.fullmatch(text):
        bad = next(ch for ch in text if not _HEX.fullmatch(ch))
        raise _Malformed(f"a PDQ hash is hexadecimal; {bad!r} is not a hex digit")
    if len(text) != PDQ_HEX_DIGITS:
        raise _Malformed(f"a PDQ hash has {PDQ_HEX_DIGITS} hex digits, this one has {len(text)}")
    return text.lower()


def _vpdq(text: str) -> VideoHash:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        message = f"the vPDQ hash is not valid JSON: {error.msg} at its character {error.pos + 1}"
        raise _Malformed(message) from None
    if isinstance(data, dict):
        features = [_legacy_feature(key, value) for key, value in data.items()]
    elif isinstance(data, list):
        features = [_compact_feature(item, number) for number, item in enumerate(data, 1)]
    else:
        raise _Malformed('a vPDQ hash is a JSON array of "hex,quality,seconds" strings')
    if not features:
        raise _Malformed("the vPDQ hash has no frames")
    features.sort(key=lambda feature: feature[2])
    frames = tuple(
        FrameHash(index=index, seconds=seconds, hex=hex_digits, quality=quality)
        for index, (hex_digits, quality, seconds) in enumerate(features)
    )
    return VideoHash(frames=frames, **_timing([frame.seconds for frame in frames]))


def _compact_feature(item: Any, number: int) -> tuple[str, int, float]:
    """One frame as VpdqCompactFeature serializes it: "hex,quality,seconds"."""
    where = f"frame {number}"
    if not isinstance(item, str):
        raise _Malformed(f'{where}: expected a "hex,quality,seconds" string')
    parts = item.split(",")
    if len(parts) != 3:
        raise _Malformed(f'{where}: expected "hex,quality,seconds", got {_clip(item)!r}')
    return _frame(parts[0].strip(), parts[1].strip(), parts[2].strip(), where)


def _legacy_feature(key: str, value: Any) -> tuple[str, int, float]:
    """One frame of the older serialization: {"<frame>": {"hash", "quality", "timestamp"}}."""
    where = f"frame {key}"
    if not isinstance(value, dict) or not {"hash", "quality", "timestamp"} <= value.keys():
        raise _Malformed(f"{where}: expected hash, quality and timestamp")
    return _frame(str(value["hash"]), str(value["quality"]), str(value["timestamp"]), where)


def _frame(hex_digits: str, quality: str, seconds: str, where: str) -> tuple[str, int, float]:
    try:
        hex_digits = _pdq(hex_digits)
    except _Malformed as error:
        raise _Malformed(f"{where}: {error}") from None
    try:
        quality_value = int(quality)
        seconds_value = float(seconds)
    except ValueError:
        raise _Malformed(f"{where}: quality and seconds must be numbers") from None
    if not 0 <= quality_value <= 100:
        raise _Malformed(f"{where}: quality {quality_value} is not within 0-100")
    if not seconds_value >= 0 or seconds_value == float("inf"):
        raise _Malformed(f"{where}: seconds {seconds} is not a time in the video")
    return hex_digits, quality_value, seconds_value


def _timing(seconds: list[float]) -> dict[str, float]:
    """A video's duration and sampling rate, as far as its frames' times tell them."""
    if len(seconds) < 2 or seconds[-1] <= seconds[0]:
        return {"duration": seconds[-1] + 1.0, "frames_per_second_sampled": 1.0}
    rate = (len(seconds) - 1) / (seconds[-1] - seconds[0])
    return {"duration": seconds[-1] + 1.0 / rate, "frames_per_second_sampled": rate}


def _feature(frame: FrameHash) -> str:
    return f"{frame.hex},{frame.quality},{round(frame.seconds, 3)!r}"


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
