"""The media cache: kept across instances and processes, forgotten when its format changes."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from arbiter.media.cache import CACHE_VERSION, FILE_NAME, Cache, default_cache_dir


@pytest.mark.parametrize("on_disk", [True, False])
def test_put_then_get(tmp_path: Path, on_disk: bool):
    cache = Cache(tmp_path if on_disk else None)
    assert cache.get("pdq", "ab" * 32) is None
    cache.put("pdq", "ab" * 32, b"\x00\x01binary\xff")
    assert cache.get("pdq", "ab" * 32) == b"\x00\x01binary\xff"
    assert cache.get("ocr", "ab" * 32) is None  # kinds are separate
    cache.put("pdq", "ab" * 32, b"replaced")
    assert cache.get("pdq", "ab" * 32) == b"replaced"
    assert len(cache) == 1
    assert (tmp_path / FILE_NAME).exists() is on_disk


def test_entries_persist_across_instances(tmp_path: Path):
    with Cache(tmp_path) as first:
        first.put("ocr/1/fas+ara+eng", "k1", b'{"text":"x"}')
    second = Cache(tmp_path)
    assert second.get("ocr/1/fas+ara+eng", "k1") == b'{"text":"x"}'
    assert second.version == CACHE_VERSION


def test_the_file_is_in_wal_mode(tmp_path: Path):
    Cache(tmp_path).put("k", "v", b"1")
    with sqlite3.connect(tmp_path / FILE_NAME) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def _writer(folder: str, worker: int, count: int, start: Any) -> None:
    cache = Cache(Path(folder))
    start.wait(30)  # both begin together, so their writes interleave
    for n in range(count):
        cache.put("pdq", f"{worker}-{n}", f"value {worker} {n}".encode())
        if n % 50 == 0:
            cache.get("pdq", f"{1 - worker}-{n}")  # reads mixed in with the other's writes
    cache.close()


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path):
    count = 2000
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    workers = [
        context.Process(target=_writer, args=(str(tmp_path), w, count, start)) for w in (0, 1)
    ]
    for process in workers:
        process.start()
    start.set()
    for process in workers:
        process.join(60)
        assert process.exitcode == 0
    cache = Cache(tmp_path)
    assert len(cache) == 2 * count
    for worker in (0, 1):
        for n in range(count):
            assert cache.get("pdq", f"{worker}-{n}") == f"value {worker} {n}".encode()


def test_a_version_change_invalidates_old_entries(tmp_path: Path):
    Cache(tmp_path, version=1).put("pdq", "k", b"old format")
    assert Cache(tmp_path, version=1).get("pdq", "k") == b"old format"

    newer = Cache(tmp_path, version=2)
    assert newer.get("pdq", "k") is None
    newer.put("pdq", "k", b"new format")
    assert newer.get("pdq", "k") == b"new format"
    assert len(newer) == 1
    with sqlite3.connect(tmp_path / FILE_NAME) as connection:
        versions = [v for (v,) in connection.execute("SELECT version FROM entries")]
    assert versions == [2]  # the old entry was removed, not only hidden


def test_an_unusable_folder_falls_back_to_memory(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    cache = Cache(blocker / "cache")
    cache.put("pdq", "k", b"v")
    assert cache.get("pdq", "k") == b"v"
    assert cache.path is None
    assert "keeping results in memory" in caplog.text


def test_a_corrupt_file_falls_back_to_memory(tmp_path: Path):
    (tmp_path / FILE_NAME).write_bytes(b"this is not a SQLite database" * 100)
    cache = Cache(tmp_path)
    cache.put("pdq", "k", b"v")
    assert cache.get("pdq", "k") == b"v"


def test_default_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("ARBITER_CACHE_DIR", str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("ARBITER_CACHE_DIR")
    assert default_cache_dir() == tmp_path / "xdg" / "arbiter"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "arbiter"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "arbiter"
