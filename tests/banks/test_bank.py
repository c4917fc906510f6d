"""Banks: built from entities' hash lists and media, matched, saved and loaded."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from arbiter.banks.bank import Bank, PhotoMatch, build_bank
from arbiter.banks.hashlist import HashListEntry
from arbiter.media.model import VARIANTS, FrameHash, MediaLimits, PdqHash, VideoHash
from arbiter.policy.model import BenignBank, Entity
from tests.media.photos import load_photo

rng = np.random.default_rng(2024)


def random_hex() -> str:
    return rng.integers(0, 256, 32, dtype=np.uint8).tobytes().hex()


def near(hex_digits: str, bits: int) -> str:
    """A hash `bits` bits away from `hex_digits`."""
    value = int(hex_digits, 16)
    for bit in rng.choice(256, bits, replace=False):
        value ^= 1 << int(bit)
    return f"{value:064x}"


class DictCache:
    """A stand-in for arbiter.media.cache.Cache that counts what it is asked."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], bytes] = {}
        self.gets = self.puts = 0

    def get(self, kind: str, sha256: str) -> bytes | None:
        self.gets += 1
        return self.values.get((kind, sha256))

    def put(self, kind: str, sha256: str, value: bytes) -> None:
        self.puts += 1
        self.values[(kind, sha256)] = value


def entity(entity_id: str, media: tuple[str, ...] = (), hashes: tuple[str, ...] = ()) -> Entity:
    return Entity(entity_id, "person", (entity_id,), reference_media=media, reference_hashes=hashes)


def query(hex_digits: str, variant: str = "original", quality: int = 100) -> PdqHash:
    return PdqHash(hex_digits, quality, variant, "full")


@pytest.fixture
def lists(tmp_path: Path) -> dict[str, str]:
    hashes = {name: random_hex() for name in ("qs1", "qs2", "ab1", "wire")}
    (tmp_path / "banks").mkdir()
    (tmp_path / "banks" / "qs.txt").write_text(
        f"# Qassem Soleimani portraits\npdq {hashes['qs1']}\n\n{hashes['qs2']}\nnot a hash\n"
    )
    (tmp_path / "banks" / "ab.txt").write_text(f"pdq {hashes['ab1']}\n")
    (tmp_path / "wire.txt").write_text(f"pdq {hashes['wire']}\n")
    return hashes


def build(tmp_path: Path, entities: list[Entity], **kwargs: object) -> Bank:
    return build_bank(entities, tmp_path, DictCache(), **kwargs)  # type: ignore[arg-type]


def test_hash_lists_build_a_bank_with_sources_and_problems(tmp_path: Path, lists: dict[str, str]):
    bank = build(
        tmp_path,
        [entity("qs", hashes=("banks/qs.txt",)), entity("ab", hashes=("banks/ab.txt", "gone.txt"))],
    )
    assert len(bank) == 3
    assert [(e.entity, e.kind, e.source, e.hash, e.quality) for e in bank.entries()] == [
        ("qs", "photo", "banks/qs.txt:2", lists["qs1"], -1),
        ("qs", "photo", "banks/qs.txt:4", lists["qs2"], -1),
        ("ab", "photo", "banks/ab.txt:1", lists["ab1"], -1),
    ]
    assert [str(p) for p in bank.problems] == [
        "banks/qs.txt:5: unknown signal type 'not' (expected 'pdq' or 'vpdq')",
        "gone.txt: no such file",
    ]
    stats = {s.entity: s for s in bank.stats()}
    assert (stats["qs"].photos, stats["qs"].hashes, stats["qs"].sources) == (2, 2, 1)
    assert (stats["ab"].photos, stats["ab"].sources) == (1, 1)


def test_match_photo_reports_entity_source_distance_and_variant(
    tmp_path: Path, lists: dict[str, str]
):
    bank = build(
        tmp_path, [entity("qs", hashes=("banks/qs.txt",)), entity("ab", hashes=("banks/ab.txt",))]
    )
    found = bank.match_photo(
        [
            query(random_hex()),
            query(near(lists["qs2"], 12), "flip-h"),
            query(near(lists["qs2"], 3), "rot90"),
        ]
    )
    assert found == [
        PhotoMatch("qs", "banks/qs.txt:4", 3, "rot90", "list", 100),
    ]
    assert bank.match_photo([query(near(lists["ab1"], 32))]) == []
    assert bank.match_photo([query(near(lists["ab1"], 31))])[0].entity == "ab"
    assert bank.match_photo([query(near(lists["ab1"], 40))], radius=45)[0].distance == 40


def test_low_quality_queries_are_skipped_and_counted(tmp_path: Path, lists: dict[str, str]):
    bank = build(tmp_path, [entity("qs", hashes=("banks/qs.txt",))])
    assert bank.match_photo([query(lists["qs1"], quality=10)]) == []
    assert bank.low_quality_queries == 1
    assert bank.match_photo([query(lists["qs1"], quality=10), query(lists["qs1"])])[0].distance == 0
    assert bank.low_quality_queries == 2


def test_a_benign_match_suppresses_the_designated_one(tmp_path: Path, lists: dict[str, str]):
    shared = lists["qs1"]
    (tmp_path / "wire.txt").write_text(f"pdq {near(shared, 4)}\npdq {lists['wire']}\n")
    bank = build(
        tmp_path,
        [entity("qs", hashes=("banks/qs.txt",))],
        benign=[BenignBank("wire-photos", reference_hashes=("wire.txt",))],
    )
    [match] = bank.match_photo([query(shared)])
    assert (match.entity, match.suppressed_by) == ("qs", "wire-photos:wire.txt:1")
    both = bank.match_photo([query(shared)], include_negative=True)
    assert [(m.entity, m.negative) for m in both] == [("qs", False), ("wire-photos", True)]
    # A benign match alone gives nothing to act on.
    assert bank.match_photo([query(lists["wire"])]) == []
    assert [s.entity for s in bank.stats()] == ["qs", "wire-photos"]
    assert bank.stats()[1].negative


def test_save_and_load_round_trip(tmp_path: Path, lists: dict[str, str]):
    bank = build(
        tmp_path,
        [entity("qs", hashes=("banks/qs.txt",)), entity("ab", hashes=("banks/ab.txt",))],
        benign=[BenignBank("wire", reference_hashes=("wire.txt",))],
    )
    path = tmp_path / "out" / "bank.npz"
    bank.save(path)
    loaded = Bank.load(path)
    assert list(loaded.entries()) == list(bank.entries())
    assert loaded.problems == bank.problems
    assert [vars(s) for s in loaded.stats()] == [vars(s) for s in bank.stats()]
    q = [query(near(lists["ab1"], 9), "rot180")]
    assert loaded.match_photo(q) == bank.match_photo(q)
    assert [p.name for p in path.parent.iterdir()] == ["bank.npz"]  # no scratch file left


def test_load_refuses_what_is_not_a_bank(tmp_path: Path):
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(ValueError, match="not a bank file"):
        Bank.load(junk)
    other = tmp_path / "other.npz"
    np.savez(other, codes=np.zeros((1, 32), np.uint8))
    with pytest.raises(ValueError, match="not a bank file"):
        Bank.load(other)
    # A bank file with an array missing.
    build(tmp_path, [entity("qs")]).save(tmp_path / "bank.npz")
    with np.load(tmp_path / "bank.npz") as data:
        kept = {name: data[name] for name in data.files if name != "codes"}
    np.savez(tmp_path / "cut.npz", **kept)
    with pytest.raises(ValueError, match="'codes' is missing"):
        Bank.load(tmp_path / "cut.npz")
    meta = json.loads(kept["meta"].tobytes())
    meta["version"] = 99
    kept["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(tmp_path / "future.npz", codes=np.zeros((0, 32), np.uint8), **kept)
    with pytest.raises(ValueError, match="build the bank again"):
        Bank.load(tmp_path / "future.npz")


def test_export_writes_every_distinct_photo_hash(tmp_path: Path, lists: dict[str, str]):
    (tmp_path / "dup.txt").write_text(f"pdq {lists['qs1']}\n{lists['qs1']}\n")
    bank = build(
        tmp_path,
        [entity("qs", hashes=("banks/qs.txt", "dup.txt")), entity("ab", hashes=("banks/ab.txt",))],
    )
    assert [e.pdq for e in bank.export()] == [lists["qs1"], lists["qs2"], lists["ab1"]]
    assert [e.pdq for e in bank.export("ab")] == [lists["ab1"]]
    assert [e.source for e in bank.export("qs")] == ["banks/qs.txt:2", "banks/qs.txt:4"]


def test_an_empty_bank_matches_nothing(tmp_path: Path):
    bank = build(tmp_path, [entity("qs")])
    assert len(bank) == 0
    assert bank.match_photo([query(random_hex())]) == []
    bank.save(tmp_path / "empty.npz")
    assert len(Bank.load(tmp_path / "empty.npz")) == 0


def test_variants_rank_original_first_among_equals(tmp_path: Path, lists: dict[str, str]):
    bank = build(tmp_path, [entity("qs", hashes=("banks/qs.txt",))])
    same = [query(lists["qs1"], variant) for variant in reversed(VARIANTS)]
    assert bank.match_photo(same)[0].variant == "original"


def video_of(hexes: list[str], quality: int = 100) -> VideoHash:
    frames = tuple(FrameHash(i, float(i), h, quality) for i, h in enumerate(hexes))
    return VideoHash(frames, float(len(hexes)), 1.0)


def test_videos_match_by_shares_of_frames(tmp_path: Path):
    banked = [random_hex() for _ in range(20)]
    (tmp_path / "videos.txt").write_text(
        HashListEntry.of_video(video_of(banked)).line() + "\n", encoding="utf-8"
    )
    bank = build(tmp_path, [entity("qs", hashes=("videos.txt",))])
    assert len(bank) == 20 and [e.kind for e in bank.entries()][-1] == "video"
    assert {e.kind for e in bank.entries()} == {"frame", "video"}
    # A re-encoded clip: the middle ten seconds, each frame a few bits off, plus one unrelated.
    clip = [near(h, 6) for h in banked[5:15]] + [random_hex()]
    [match] = bank.match_video(video_of(clip))
    assert (match.entity, match.source, match.seconds) == ("qs", "videos.txt:1", None)
    assert match.shares == pytest.approx((10 / 11, 10 / 20))
    # Under vPDQ's 80% of the query's frames, no match.
    assert bank.match_video(video_of(clip[:3] + [random_hex() for _ in range(3)])) == []
    # A still of the banked video, posted as a photo, matches the frame it shows.
    [still] = bank.match_photo([query(near(banked[7], 2))])
    assert (still.source, still.region, still.seconds, still.distance) == (
        "videos.txt:1",
        "frame:7s",
        7.0,
        2,
    )


def test_a_video_showing_a_banked_photo_matches_at_that_second(
    tmp_path: Path, lists: dict[str, str]
):
    bank = build(tmp_path, [entity("qs", hashes=("banks/qs.txt",))])
    slideshow = [random_hex() for _ in range(6)]
    slideshow[4] = near(lists["qs2"], 5)
    slideshow[5] = near(lists["qs2"], 9)
    [match] = bank.match_video(video_of(slideshow))
    assert (match.entity, match.source, match.distance, match.seconds, match.shares) == (
        "qs",
        "banks/qs.txt:4",
        5,
        4.0,
        None,
    )


def test_low_quality_frames_are_left_out_on_both_sides(tmp_path: Path):
    good, poor = [random_hex() for _ in range(4)], [random_hex() for _ in range(3)]
    frames = tuple(
        FrameHash(i, float(i), h, 100 if h in good else 20) for i, h in enumerate(good + poor)
    )
    video = VideoHash(frames, 7.0, 1.0)
    (tmp_path / "v.txt").write_text(HashListEntry.of_video(video).line() + "\n")
    bank = build(tmp_path, [entity("qs", hashes=("v.txt",))])
    assert len(bank) == 4 and bank.low_quality == 3
    assert bank.stats()[0].low_quality == 3
    bank.match_video(VideoHash(frames, 7.0, 1.0))
    assert bank.low_quality_queries == 3
    # The banked video keeps every frame for the share computation (vPDQ filters there).
    [banked] = bank.videos
    assert len(banked.video.frames) == 7


def test_a_benign_video_suppresses_a_designated_photo_match_in_it(
    tmp_path: Path, lists: dict[str, str]
):
    wire = [random_hex() for _ in range(5)]
    wire[2] = lists["qs1"]  # the agency's footage shows the banked portrait
    (tmp_path / "wire.txt").write_text(HashListEntry.of_video(video_of(wire)).line() + "\n")
    bank = build(
        tmp_path,
        [entity("qs", hashes=("banks/qs.txt",))],
        benign=[BenignBank("agency", reference_hashes=("wire.txt",))],
    )
    [match] = bank.match_video(video_of(wire))
    assert (match.entity, match.seconds, match.suppressed_by) == ("qs", 2.0, "agency:wire.txt:1")


def test_videos_survive_save_and_load(tmp_path: Path):
    banked = [random_hex() for _ in range(8)]
    (tmp_path / "v.txt").write_text(HashListEntry.of_video(video_of(banked)).line() + "\n")
    bank = build(tmp_path, [entity("qs", hashes=("v.txt",))])
    bank.save(tmp_path / "b.npz")
    loaded = Bank.load(tmp_path / "b.npz")
    assert loaded.videos == bank.videos
    assert loaded.match_video(video_of(banked)) == bank.match_video(video_of(banked))
    assert [e.line() for e in loaded.export()] == [e.line() for e in bank.export()]


# -- from media files ------------------------------------------------------------------------


def write_clip(path: Path, pictures: list[Image.Image], seconds_each: float = 1.0) -> None:
    """A small H.264 clip showing each picture for `seconds_each`."""
    import av

    fps = 10
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for picture in pictures:
            frame = av.VideoFrame.from_image(picture.convert("RGB").resize((320, 240)))
            for _ in range(round(fps * seconds_each)):
                for packet in stream.encode(frame):
                    container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def save_jpeg(image: Image.Image, path: Path, quality: int = 92) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, "JPEG", quality=quality)
    return path


def jpeg_bytes(image: Image.Image, quality: int = 80) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


@pytest.fixture
def media(tmp_path: Path) -> Path:
    """media/qs/: two photos (one in a subfolder), a clip, a note, a broken and a hidden file."""
    folder = tmp_path / "media" / "qs"
    save_jpeg(load_photo("bridge"), folder / "bridge.jpg")
    (folder / "sub").mkdir()
    load_photo("q0122-sea").save(folder / "sub" / "sea.png")
    write_clip(folder / "clip.mp4", [load_photo("q1050-houses"), load_photo("q2821-zebra")], 2.0)
    (folder / "notes.txt").write_text("where these came from")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg at all")
    save_jpeg(load_photo("desk"), folder / ".hidden.jpg")
    return tmp_path


def test_reference_media_folders_are_hashed_and_problems_reported(media: Path):
    bank = build_bank([entity("qs", media=("media/qs/", "media/gone.jpg"))], media, DictCache())
    sources = {e.source for e in bank.entries()}
    assert sources == {"media/qs/bridge.jpg", "media/qs/sub/sea.png", "media/qs/clip.mp4"}
    regions = {e.region for e in bank.entries() if e.source == "media/qs/bridge.jpg"}
    assert "full" in regions and any(r.startswith("crop:") for r in regions)
    [video] = bank.videos
    assert video.source == "media/qs/clip.mp4" and len(video.video.frames) >= 3
    problems = {p.source: p.reason for p in bank.problems}
    assert set(problems) == {"media/qs/broken.jpg", "media/qs/", "media/gone.jpg"}
    assert "notes.txt" in problems["media/qs/"]
    assert problems["media/gone.jpg"] == "no such file or folder"
    [stats] = bank.stats()
    assert (stats.photos, stats.videos, stats.sources) == (2, 1, 3)
    assert stats.hashes == len(bank) and stats.frames >= 2


def test_a_second_build_reuses_the_cache(media: Path, monkeypatch: pytest.MonkeyPatch):
    cache = DictCache()
    first = build_bank([entity("qs", media=("media/qs/",))], media, cache)
    assert cache.puts == 3  # two photos, one video

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("hashed again")

    import arbiter.media.pdq
    import arbiter.media.video

    monkeypatch.setattr(arbiter.media.pdq, "reference_hashes", refuse)
    monkeypatch.setattr(arbiter.media.video, "hash_video", refuse)
    second = build_bank([entity("qs", media=("media/qs/",))], media, cache)
    assert list(second.entries()) == list(first.entries())
    assert cache.puts == 3


def test_posted_photos_match_their_banked_originals(media: Path):
    from arbiter.media.load import open_image
    from arbiter.media.pdq import query_hashes

    bank = build_bank([entity("qs", media=("media/qs/",))], media, DictCache())

    def matches(image: Image.Image) -> list[PhotoMatch]:
        return bank.match_photo(query_hashes(open_image(jpeg_bytes(image), MediaLimits())))

    bridge = load_photo("bridge")
    smaller = bridge.resize((bridge.width * 3 // 4, bridge.height * 3 // 4))
    [found] = matches(smaller)
    assert (found.entity, found.source, found.variant) == ("qs", "media/qs/bridge.jpg", "original")
    assert found.distance <= 31
    [mirrored] = matches(ImageOps.mirror(load_photo("q0122-sea")))
    assert (mirrored.source, mirrored.variant) == ("media/qs/sub/sea.png", "flip-h")
    # A still of the banked clip matches the clip, at the frame it shows.
    [still] = matches(load_photo("q2821-zebra").resize((320, 240)))
    assert still.source == "media/qs/clip.mp4" and still.region.startswith("frame:")
    assert still.seconds is not None and 2.0 <= still.seconds < 4.0
    assert matches(load_photo("q0746-stripes")) == []


def test_posted_videos_match_banked_videos_and_photos(media: Path, tmp_path: Path):
    from arbiter.media.video import hash_video

    bank = build_bank([entity("qs", media=("media/qs/",))], media, DictCache())
    limits = MediaLimits()
    repost = tmp_path / "repost.mp4"
    write_clip(repost, [load_photo("q1050-houses"), load_photo("q2821-zebra")], 2.0)
    [again] = bank.match_video(hash_video(repost, limits))
    assert (again.entity, again.source) == ("qs", "media/qs/clip.mp4")
    assert again.shares is not None and min(again.shares) >= 0.8
    slideshow = tmp_path / "slideshow.mp4"
    write_clip(slideshow, [load_photo("q0746-stripes"), load_photo("bridge")], 3.0)
    [shown] = bank.match_video(hash_video(slideshow, limits))
    assert (shown.source, shown.shares) == ("media/qs/bridge.jpg", None)
    assert shown.seconds is not None and 3.0 <= shown.seconds < 6.0


# -- the command -----------------------------------------------------------------------------

POLICY = """\
id: p
version: 1
title: test
grounds:
  type: incompatible_content
  terms: "4.2"
entities:
  - id: qs
    kind: person
    names: ["Qassem Soleimani"]
    reference_media: ["media/qs/"]
    reference_hashes: ["banks/qs.txt"]
  - id: amm
    kind: person
    names: ["Abu Mahdi al-Muhandis"]
    reference_hashes: ["banks/amm.txt"]
benign:
  - id: wire
    reference_hashes: ["banks/wire.txt"]
rules:
  - id: r
    when: "mentions('qs') || mentions('amm')"
    action: review
"""


def test_bank_build_info_and_export_from_the_command_line(media: Path):
    from typer.testing import CliRunner

    from arbiter.cli import app

    runner = CliRunner()
    banks = media / "banks"
    banks.mkdir()
    amm = random_hex()
    (banks / "qs.txt").write_text(f"pdq {random_hex()}\nbad line\n")
    (banks / "amm.txt").write_text(f"pdq {amm}\n")
    (banks / "wire.txt").write_text(f"pdq {random_hex()}\n")
    policy = media / "policy.yaml"
    policy.write_text(POLICY)
    output = media / "out" / "bank.npz"
    cache = ["--cache-dir", str(media / "cache")]
    built = runner.invoke(app, ["bank", "build", "-p", str(policy), "-o", str(output), *cache])
    assert built.exit_code == 0, built.output
    assert "qs" in built.stdout and "wire" in built.stdout and "benign" in built.stdout
    assert "banks/qs.txt:2: unknown signal type 'bad'" in built.stderr
    assert "media/qs/broken.jpg" in built.stderr
    assert "written" in built.stdout

    info = runner.invoke(app, ["bank", "info", str(output)])
    assert info.exit_code == 0
    bank = Bank.load(output)
    qs = next(s for s in bank.stats() if s.entity == "qs")
    assert f" {qs.hashes:,} " in info.stdout and "low quality" in info.stdout

    listed = media / "qs-export.txt"
    exported = runner.invoke(
        app, ["bank", "export", str(output), "-o", str(listed), "--entity", "qs"]
    )
    assert exported.exit_code == 0, exported.output
    lines = listed.read_text().splitlines()
    assert lines and all(line.startswith(("pdq ", "vpdq [")) for line in lines)
    assert sum(line.startswith("vpdq") for line in lines) == 1
    # What was exported rebuilds the same photo hashes through reference_hashes.
    rebuilt = build_bank([entity("again", hashes=("qs-export.txt",))], media, DictCache())
    original = {e.hash for e in bank.entries("qs") if e.kind == "photo"}
    assert {e.hash for e in rebuilt.entries() if e.kind == "photo"} == original
    assert [v.video.frames for v in rebuilt.videos] == [
        tuple(
            FrameHash(i, round(f.seconds, 3), f.hex, f.quality)
            for i, f in enumerate(v.video.frames)
        )
        for v in bank.videos
    ]

    stdout = runner.invoke(app, ["bank", "export", str(output), "--entity", "amm", "--header"])
    assert stdout.stdout.splitlines() == [
        "# exported by arbiter from bank.npz",
        "# entity amm",
        f"pdq {amm}",
    ]
    unknown = runner.invoke(app, ["bank", "export", str(output), "--entity", "nobody"])
    assert unknown.exit_code == 2 and "no entity 'nobody'" in unknown.stderr
    missing = runner.invoke(app, ["bank", "info", str(media / "none.npz")])
    assert missing.exit_code == 2 and "no such file" in missing.stderr
