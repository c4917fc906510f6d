"""Hash lists: the ThreatExchange text form read and written, problems reported by file:line."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from arbiter.banks.hashlist import (
    HashListEntry,
    parse_hashlist,
    read_hashlist,
    write_hashlist,
)
from arbiter.media.model import FrameHash, VideoHash

A = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
B = "0123456789abcdef" * 4


def test_pdq_bare_and_vpdq_lines_with_their_sources():
    text = "\n".join(
        [
            "# banked portraits",
            "",
            f"pdq {A}",
            f"  {B.upper()}  ",
            f'vpdq ["{A},100,0.0", "{B},87,1.0", "{A},40,2.5"]',
            f"PDQ {B}  # the poster",
        ]
    )
    found = parse_hashlist(text, "banks/qs.txt")
    assert found.problems == []
    assert [(e.kind, e.source) for e in found.entries] == [
        ("pdq", "banks/qs.txt:3"),
        ("pdq", "banks/qs.txt:4"),
        ("vpdq", "banks/qs.txt:5"),
        ("pdq", "banks/qs.txt:6"),
    ]
    assert found.entries[0].pdq == A and found.entries[1].pdq == B
    video = found.entries[2].video
    assert video is not None
    assert [(f.index, f.hex, f.quality, f.seconds) for f in video.frames] == [
        (0, A, 100, 0.0),
        (1, B, 87, 1.0),
        (2, A, 40, 2.5),
    ]
    assert video.frames_per_second_sampled == pytest.approx(0.8)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (f"pdq {A[:-1]}", "64 hex digits, this one has 63"),
        (A[:-2], "bare PDQ hash has 64 hex digits, this one has 62"),
        (f"pdq {A[:-1]}g", "'g' is not a hex digit"),
        (f"pdq {A} 100", "unexpected text after the PDQ hash: '100'"),
        ("pdq", "'pdq' with no hash after it"),
        ("md5 d41d8cd98f00b204e9800998ecf8427e", "signal type 'md5' is not used"),
        ("sha1 abc", "unknown signal type 'sha1'"),
        ("hello world", "unknown signal type 'hello'"),
        ("vpdq [", "not valid JSON"),
        ("vpdq []", "no frames"),
        ('vpdq {"a": 1}', "frame a: expected hash, quality and timestamp"),
        (f'vpdq ["{A},100"]', 'frame 1: expected "hex,quality,seconds"'),
        (f'vpdq ["{A},101,0.0"]', "quality 101 is not within 0-100"),
        (f'vpdq ["{A},100,-1"]', "seconds -1 is not a time"),
        (f'vpdq ["{A},high,0"]', "must be numbers"),
        (f'vpdq ["{A[:10]},100,0"]', "frame 1: a PDQ hash has 64 hex digits"),
        ("vpdq 3", "JSON array"),
    ],
)
def test_malformed_lines_are_reported_and_the_rest_loads(line: str, reason: str):
    found = parse_hashlist(f"pdq {A}\n{line}\n{B}\n", "list.txt")
    assert [e.pdq for e in found.entries] == [A, B]
    assert len(found.problems) == 1
    problem = found.problems[0]
    assert problem.source == "list.txt:2"
    assert reason in problem.reason, problem.reason
    assert str(problem).startswith("list.txt:2: ")


def test_the_older_vpdq_object_form_is_read():
    legacy = {
        "0": {"quality": 100, "hash": A, "timestamp": 0.0},
        "1": {"quality": 90, "hash": B, "timestamp": 1.0},
    }
    found = parse_hashlist("vpdq " + json.dumps(legacy), "old.txt")
    video = found.entries[0].video
    assert video is not None and [f.hex for f in video.frames] == [A, B]


def test_round_trip():
    video = VideoHash(
        frames=(
            FrameHash(0, 0.0, A, 100),
            FrameHash(1, 1.5, B, 64),
            FrameHash(2, 123.456, A, 3),
        ),
        duration=125.0,
        frames_per_second_sampled=1.0,
    )
    entries = [HashListEntry.photo(A), HashListEntry.of_video(video), HashListEntry.photo(B)]
    stream = io.StringIO()
    assert write_hashlist(entries, stream, header=["exported by arbiter", ""]) == 3
    text = stream.getvalue()
    assert text.startswith("# exported by arbiter\n#\npdq ")
    again = parse_hashlist(text, "x.txt")
    assert again.problems == []
    assert [e.line() for e in again.entries] == [e.line() for e in entries]
    read_video = again.entries[1].video
    assert read_video is not None
    assert [(f.hex, f.quality, f.seconds) for f in read_video.frames] == [
        (f.hex, f.quality, f.seconds) for f in video.frames
    ]
    # And written again, byte for byte the same.
    restream = io.StringIO()
    write_hashlist(again.entries, restream, header=["exported by arbiter", ""])
    assert restream.getvalue() == text


def test_threatexchange_reads_what_we_write_and_we_read_what_it_writes():
    pytest.importorskip("threatexchange")
    from threatexchange.extensions.vpdq.vpdq import VPDQSignal
    from threatexchange.signal_type.pdq.signal import PdqSignal

    # Its example signals, written the way `threatexchange hash` prints them.
    lines = [f"{PdqSignal.get_name()} {h}" for h in PdqSignal.get_examples()]
    lines += [f"{VPDQSignal.get_name()} {s}" for s in VPDQSignal.get_examples()]
    found = parse_hashlist("\n".join(lines), "tx.txt")
    assert found.problems == []
    assert len(found.entries) == len(lines)
    # Ours, validated and compared by its own code.
    for entry, original in zip(found.entries, lines, strict=True):
        kind, signal = entry.line().split(" ", 1)
        if kind == "pdq":
            assert PdqSignal.validate_signal_str(signal) == signal
            assert original.split(" ", 1)[1].lower() == signal
        else:
            assert VPDQSignal.validate_signal_str(signal) == signal
            result = VPDQSignal.compare_hash(signal, original.split(" ", 1)[1])
            assert result.match
            assert result.distance.query_match_percent == 100.0


def test_unreadable_files_are_one_problem(tmp_path: Path):
    assert [str(p) for p in read_hashlist(tmp_path / "none.txt", "none.txt").problems] == [
        "none.txt: no such file"
    ]
    assert "folder" in read_hashlist(tmp_path).problems[0].reason
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"pdq \xff\xfe")
    assert "not UTF-8" in read_hashlist(binary, "bin.txt").problems[0].reason
    good = tmp_path / "good.txt"
    good.write_text(f"\ufeffpdq {A}\r\n{B}\r\n", encoding="utf-8")
    found = read_hashlist(good, "good.txt")
    assert found.problems == [] and [e.pdq for e in found.entries] == [A, B]
