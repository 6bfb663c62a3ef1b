"""`vidscout ingest DIR --library NAME` and `VideoLibrary.update`: failures, changed and removed videos, the index."""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.library.conftest import copy_videos
from vidscout.errors import StoreError
from vidscout.library import VideoLibrary
from vidscout.memory.build import IngestOptions
from vidscout.memory.catalog import load_manifest
from vidscout.memory.library_index import LibraryIndex, split_id
from vidscout.models.registry import Backends
from vidscout.settings import Settings
from vidscout.text import tokenize

OPTIONS = IngestOptions(sample_every_s=3.0)


@pytest.fixture(scope="module")
def backends(tmp_path_factory: pytest.TempPathFactory) -> Backends:
    return Backends(Settings(data_dir=tmp_path_factory.mktemp("weights")))


def _vidscout(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VIDSCOUT_DATA_DIR": str(data_dir), "COLUMNS": "160"}
    return subprocess.run([sys.executable, "-m", "vidscout.cli.app", *args], env=env, capture_output=True, text=True,
                          timeout=600)  # fmt: skip


def _broken(good: Path, out: Path) -> Path:
    """``good`` with its first 4 KiB (the faststart header) overwritten: no decoder can open it."""
    data = good.read_bytes()
    out.write_bytes(random.Random(1).randbytes(4096) + data[4096:])
    return out


def test_a_corrupt_file_among_good_ones_is_reported_and_the_exit_status_says_partial(
    short_set: list[Path], tmp_path: Path
) -> None:
    folder = tmp_path / "talks"
    copy_videos(short_set[:2], folder)
    _broken(short_set[2], folder / "broken.mp4")
    data = tmp_path / "data"
    r = _vidscout(data, "ingest", str(folder), "--library", "talks", "--sample-every", "3", "--json")
    assert r.returncode == 3, r.stderr  # some failed, the others are in
    report = json.loads(r.stdout)
    status = {row["name"]: row["status"] for row in report["rows"]}
    assert status == {"broken.mp4": "failed", "video_00.mp4": "ingested", "video_01.mp4": "ingested"}
    error = next(row["error"] for row in report["rows"] if row["name"] == "broken.mp4")
    assert "not a readable media file" in error
    assert report["members"] == 2 and report["index"]["docs"] > 0
    manifest = load_manifest(data / "libraries" / "talks")
    assert manifest is not None and [f.path.name for f in manifest.failed] == ["broken.mp4"]
    assert {m.name for m in manifest.members} == {"video_00.mp4", "video_01.mp4"}
    # A rerun finds the good ones done and still reports the bad one, in a table.
    again = _vidscout(data, "ingest", "--library", "talks", "--sample-every", "3")
    assert again.returncode == 3, again.stderr
    assert "broken.mp4" in again.stdout and "failed" in again.stdout and "2 cached" in again.stdout
    assert "Traceback" not in again.stderr
    # Nothing usable at all: exit 1.
    only_bad = tmp_path / "bad"
    only_bad.mkdir()
    _broken(short_set[2], only_bad / "broken.mp4")
    r = _vidscout(data, "ingest", str(only_bad), "--sample-every", "3")
    assert r.returncode == 1 and "failed" in r.stdout


def test_changed_and_removed_videos_are_followed_by_the_index(
    short_set: list[Path], backends: Backends, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "season"
    videos = copy_videos(short_set[:3], folder)
    settings = Settings(data_dir=tmp_path / "data")
    with VideoLibrary.named("season", settings, backends=backends, ingest_options=OPTIONS) as lib:
        first = lib.update([folder])
        assert [r.status for r in first.rows] == ["ingested"] * 3 and first.index.added == [0, 1, 2]
        before = {m.name: m for m in lib.members()}
        # video_00 becomes another video: a spoken sentence (video_05) that no other member has.
        shutil.copyfile(short_set[5], videos[0])
        sentence = json.loads(short_set[5].with_name(short_set[5].name + ".json").read_text())["needles"][0]["text"]
        videos[1].unlink()
        second = lib.update()
        status = {r.name: r.status for r in second.rows}
        assert status == {"video_00.mp4": "ingested", "video_01.mp4": "removed", "video_02.mp4": "cached"}
        after = {m.name: m for m in lib.members()}
        assert set(after) == {"video_00.mp4", "video_02.mp4"}
        assert after["video_00.mp4"].key != before["video_00.mp4"].key and after["video_00.mp4"].slot == 3
        assert after["video_02.mp4"].slot == before["video_02.mp4"].slot  # untouched videos keep their rows
        assert sorted(second.index.removed) == [0, 1] and second.index.added == [3] and not second.index.rebuilt
        hits = lib.search(sentence, top_k=3)
        assert hits[0].video_name == "video_00.mp4" and hits[0].kind == "speech", hits
        with LibraryIndex.open(lib.root) as index:
            assert sorted(v.name for v in index.videos.values()) == ["video_00.mp4", "video_02.mp4"]
            slots = {split_id(i)[0] for i, _ in index.all_doc_texts()}
            assert slots == {after["video_00.mp4"].slot, after["video_02.mp4"].slot}
            assert index.count("docs") == second.index.docs and index.text_index is not None
            assert index.text_index.size == index.count("docs")
            assert index.frame_index is not None and index.frame_index.size == index.count("frames")
        # A lost index file is noticed by readers and rebuilt by the next update.
        next(lib.root.glob("text-*.faiss")).unlink()
    with pytest.raises(StoreError, match="ingest --library season"):
        LibraryIndex.open(settings.libraries_dir / "season")
    with VideoLibrary.named("season", settings, backends=backends) as lib:
        third = lib.update()
        assert third.index.rebuilt and "missing" in third.index.why_rebuilt
        assert {r.status for r in third.rows} == {"cached"}  # the recorded knobs: nothing is re-ingested
        assert lib.search(sentence, top_k=1)[0].video_name == "video_00.mp4"
    # Search terms left by an older tokenizer (here: none at all, and no version) are noticed by readers and
    # made again by the next update, without copying any video again.
    root, terms = settings.libraries_dir / "season", tokenize(sentence)
    conn = sqlite3.connect(root / "index.sqlite")
    with conn:
        conn.execute("UPDATE docs_fts SET terms = ''")
        conn.execute("DELETE FROM meta WHERE key = 'tokens'")
    conn.close()
    with caplog.at_level(logging.WARNING, logger="vidscout"), LibraryIndex.open(root) as index:
        assert index.bm25(terms, 3) == []
    assert "made by another vidscout version" in caplog.text
    with VideoLibrary.named("season", settings, backends=backends) as lib:
        fourth = lib.update()
        assert fourth.index.retokenized == fourth.index.docs > 0 and not fourth.index.added and not fourth.index.rebuilt
    with LibraryIndex.open(root) as index:
        hits = index.bm25(terms, 3)
        assert hits and index.videos[split_id(hits[0][0])[0]].name == "video_00.mp4", hits
