"""A store holds up under concurrent ingests and readers, damaged files and older schemas (real ingest, real files)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.db import db_rows
from vidscout.api import Video
from vidscout.cli.app import app
from vidscout.errors import StoreError
from vidscout.media import samples
from vidscout.memory.build import IngestOptions, ingest, store_dir
from vidscout.memory.index import VectorIndex
from vidscout.memory.store import SCHEMA_VERSION, StoreLock, VideoStore
from vidscout.memory.summary import describe_store
from vidscout.models.base import SpeechSegment
from vidscout.models.registry import Backends
from vidscout.settings import Settings

OPTS = IngestOptions(commit_every_s=2.0, asr_chunk_s=20.0, batch=4)

# Ingest in a child process and print each layer's status. A second argument "kill-at-frames-index" kills
# the child with SIGKILL just as it writes frames.faiss: the moment a crash used to leave a finished layer
# without its index.
_CHILD = """
import json, os, signal, sys
from pathlib import Path
from vidscout.memory import index
from vidscout.memory.build import IngestOptions, ingest
from vidscout.models.registry import Backends
from vidscout.settings import Settings

video, videos, weights, options, mode = sys.argv[1:6]
if mode == "kill-at-frames-index":
    save = index.VectorIndex.save
    def killing_save(self, path):
        if path.name == "frames.faiss":
            os.kill(os.getpid(), signal.SIGKILL)
        save(self, path)
    index.VectorIndex.save = killing_save
report = ingest(Path(video), Path(videos), Backends(Settings(data_dir=Path(weights))),
                options=IngestOptions.model_validate_json(options))
print(json.dumps({layer.name: layer.status for layer in report.layers}))
"""


@pytest.fixture(scope="module")
def video(media_cache: Path) -> Path:
    """15 s of real footage (320x240) with two LibriVox utterances."""
    clips = samples.librivox_clips()[:2]
    path, _ = samples.speech_video(samples.vtest(media_cache), clips, media_cache / "speech_vtest_320.mp4",
                                   size=(320, 240))  # fmt: skip
    return path


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("weights-data")


@pytest.fixture(scope="module")
def backends(weights: Path) -> Backends:
    return Backends(Settings(data_dir=weights))


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory, video: Path, backends: Backends) -> Path:
    """A data dir with one uninterrupted ingest of ``video``; tests copy it before changing anything."""
    data = tmp_path_factory.mktemp("clean")
    ingest(video, data / "videos", backends, options=OPTS)
    return data


@pytest.fixture
def data(tmp_path: Path, clean: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(clean, copy)
    return copy


def _child(video: Path, videos: Path, weights: Path, stderr: Path, *, opts: IngestOptions = OPTS,
           mode: str = "") -> subprocess.Popen[str]:  # fmt: skip
    args = [sys.executable, "-c", _CHILD, str(video), str(videos), str(weights), opts.model_dump_json(), mode]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=stderr.open("w"), text=True)


def _wait_for(check: Callable[[], bool], what: str, *, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _snapshot(root: Path) -> dict[str, object]:
    with VideoStore.open(root) as s:
        return {
            "frames": db_rows(s, "SELECT id, t_s, file FROM frames ORDER BY t_s"),
            "cuts": s.cuts(),
            "segments": db_rows(s, "SELECT level, idx, start_s, end_s, parent FROM segments ORDER BY level, idx"),
            "speech": db_rows(s, "SELECT start_s, end_s, text FROM speech ORDER BY start_s, id"),
            "tags": db_rows(s, "SELECT frame_id, tags FROM tags ORDER BY frame_id"),
            "ocr": db_rows(s, "SELECT frame_id, text FROM ocr ORDER BY frame_id, id"),
            "ocr_frames": db_rows(s, "SELECT frame_id, was_read FROM ocr_frames ORDER BY frame_id"),
            "docs": db_rows(s, "SELECT segment_id, kind, text FROM docs ORDER BY id"),
            "layers": [(x.name, x.fingerprint, x.done) for x in s.layers()],
            "indexes": {f: VectorIndex.load(root / f).size for f in ("frames.faiss", "text.faiss")},
        }


def _info(data: Path, video: Path) -> dict[str, object]:
    r = CliRunner().invoke(app, ["info", str(video), "--data-dir", str(data), "--json"])
    assert r.exit_code == 0, (r.output, r.exception)
    return json.loads(r.stdout)


# --- concurrency ------------------------------------------------------------------------------


def test_two_concurrent_ingests_take_turns_and_give_the_store_of_one(
    tmp_path: Path, video: Path, weights: Path, clean: Path
) -> None:
    videos = tmp_path / "data" / "videos"
    root = store_dir(videos, video)
    # Hold the store until both children wait for it, so they contend for it whatever their start-up times.
    gate = StoreLock(root)
    gate.acquire(exclusive=True)
    errs = [tmp_path / "a.err", tmp_path / "b.err"]
    procs = [_child(video, videos, weights, err) for err in errs]
    try:
        _wait_for(lambda: all("waiting" in e.read_text() for e in errs), "both ingests to wait for the lock")
    finally:
        gate.release()
    outs = [p.communicate(timeout=240) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [e.read_text() for e in errs]
    statuses = sorted((json.loads(out) for out, _ in outs), key=lambda s: "cached" in s.values())
    assert set(statuses[0].values()) == {"computed"}, statuses
    assert set(statuses[1].values()) == {"cached"}, statuses  # the second found the first one's work done

    assert _snapshot(root) == _snapshot(store_dir(clean / "videos", video))
    with VideoStore.open(root) as s:
        speech = db_rows(s, "SELECT start_s, end_s, text FROM speech")
        assert speech and len(speech) == len(set(speech))


def test_open_waits_for_a_running_ingest_and_holds_off_a_rebuild_while_it_reads(
    tmp_path: Path, video: Path, weights: Path, backends: Backends, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    root = store_dir(settings.videos_dir, video)
    first = _child(video, settings.videos_dir, weights, tmp_path / "first.err")

    def scanning() -> bool:
        assert first.poll() is None, (tmp_path / "first.err").read_text()
        try:
            with sqlite3.connect(root / "db.sqlite", timeout=1.0) as c:
                row = c.execute("SELECT progress, done FROM layers WHERE name='scan'").fetchone()
        except sqlite3.Error:
            return False
        return row is not None and row[0] > 0 and not row[1]

    _wait_for(scanning, "the first ingest to start scanning")
    with Video.open(video, settings=settings, backends=backends, ingest_options=OPTS) as opened:
        assert "Another process is ingesting" in caplog.text
        described = describe_store(opened.store)
        assert described["complete"] and all(layer["done"] for layer in described["layers"])
        hits = opened.search("cloudy weather")
        tags_before = db_rows(opened.store, "SELECT frame_id, tags FROM tags ORDER BY frame_id")
        assert first.wait(timeout=60) == 0

        # While this handle reads, an ingest that must change the store (other tag count) waits for it ...
        other = OPTS.model_copy(update={"top_tags": 2})
        second = _child(video, settings.videos_dir, weights, tmp_path / "second.err", opts=other)
        _wait_for(lambda: "waiting" in (tmp_path / "second.err").read_text(), "the second ingest to wait")
        time.sleep(0.5)
        assert second.poll() is None
        assert db_rows(opened.store, "SELECT frame_id, tags FROM tags ORDER BY frame_id") == tags_before
        assert opened.search("cloudy weather") == hits
        # ... and in this process it is refused rather than left waiting for a handle it holds itself,
        with pytest.raises(StoreError, match="open for reading in this process"):
            ingest(video, settings.videos_dir, backends, options=other)
        # while one with nothing to do confirms that under the shared lock, beside the readers.
        again = ingest(video, settings.videos_dir, backends, options=OPTS)
        assert {x.status for x in again.layers} == {"cached"}
    out, _ = second.communicate(timeout=120)
    assert second.returncode == 0, (tmp_path / "second.err").read_text()
    assert json.loads(out)["tags"] == "computed"
    with VideoStore.open(root) as s:
        assert all(len(json.loads(t)) == 2 for (t,) in db_rows(s, "SELECT tags FROM tags"))


# --- damaged files ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("damage", "layer"),
    [
        ("delete text.faiss", "text_index"),
        ("truncate text.faiss", "text_index"),
        ("delete frames.faiss", "frame_vectors"),
        ("truncate frames.faiss", "frame_vectors"),
        ("delete a keyframe", "scan"),
    ],
)
def test_damaged_files_are_flagged_by_info_and_rebuilt_by_the_next_ingest(
    data: Path, clean: Path, video: Path, backends: Backends, damage: str, layer: str
) -> None:
    root = store_dir(data / "videos", video)
    action, _, target = damage.partition(" ")
    path = next(iter(sorted((root / "frames").iterdir()))) if target == "a keyframe" else root / target
    if action == "delete":
        path.unlink()
    else:
        path.write_bytes(path.read_bytes()[:100])

    info = _info(data, video)
    assert info["complete"] is False
    assert list(info["damaged"]) == [layer]  # type: ignore[call-overload]

    report = ingest(video, data / "videos", backends, options=OPTS)
    assert list(report.repaired) == [layer]
    status = {x.name: x.status for x in report.layers}
    assert status[layer] != "cached"
    assert {s for name, s in status.items() if name != layer} == {"cached"}
    assert _snapshot(root) == _snapshot(store_dir(clean / "videos", video))
    assert path.exists()
    assert _info(data, video)["complete"] is True
    # The rebuilt file is the one an uninterrupted ingest wrote (same rows, same vectors).
    assert path.read_bytes() == (store_dir(clean / "videos", video) / path.relative_to(root)).read_bytes()


def test_a_kill_between_the_frame_vectors_and_their_index_is_repaired(
    tmp_path: Path, clean: Path, video: Path, weights: Path, backends: Backends
) -> None:
    videos = tmp_path / "data" / "videos"
    root = store_dir(videos, video)
    proc = _child(video, videos, weights, tmp_path / "err", mode="kill-at-frames-index")
    proc.communicate(timeout=240)
    assert proc.returncode == -9, (tmp_path / "err").read_text()
    with VideoStore.open(root) as s:
        state = s.layer("frame_vectors")
        assert state is not None and s.count("frame_vectors") > 0
        assert not state.done  # the index is written before the layer is marked done
    assert not (root / "frames.faiss").exists()

    report = ingest(video, videos, backends, options=OPTS)
    assert {x.name: x.status for x in report.layers}["frame_vectors"] == "resumed"
    assert _snapshot(root) == _snapshot(store_dir(clean / "videos", video))


# --- damaged database -------------------------------------------------------------------------


def _truncate_half(db: Path) -> None:
    os.truncate(db, db.stat().st_size // 2)


def _garbage_header(db: Path) -> None:
    with db.open("r+b") as f:
        f.write(b"\x00garbage garbage gar")


@pytest.mark.parametrize("damage", [_truncate_half, _garbage_header], ids=["truncated", "garbage header"])
def test_a_damaged_database_is_one_clear_error_and_rebuild_recovers(
    data: Path, video: Path, damage: Callable[[Path], None]
) -> None:
    root = store_dir(data / "videos", video)
    damage(root / "db.sqlite")
    damaged_bytes = (root / "db.sqlite").read_bytes()
    runner = CliRunner()
    for args in (["info", str(video)], ["ingest", str(video)], ["search", str(video), "weather"]):
        r = runner.invoke(app, [*args, "--data-dir", str(data)])
        assert r.exit_code == 1, (args, r.output)
        assert isinstance(r.exception, StoreError), (args, repr(r.exception))
        message = str(r.exception)
        assert "\n" not in message and "Traceback" not in r.output
        assert str(root) in message and f'vidscout ingest "{video}" --rebuild' in message
    assert (root / "db.sqlite").read_bytes() == damaged_bytes  # nothing was changed behind the user's back

    r = runner.invoke(app, ["ingest", str(video), "--rebuild", "--data-dir", str(data), "--json"])
    assert r.exit_code == 0, (r.output, r.exception)
    report = json.loads(r.stdout)
    aside = Path(report["moved_aside"])
    assert aside.parent == root.parent and aside.name.startswith(f"{root.name}.damaged-")
    assert (aside / "db.sqlite").read_bytes() == damaged_bytes
    assert sorted(p.name for p in (aside / "frames").iterdir()) == sorted(p.name for p in (root / "frames").iterdir())
    assert _info(data, video)["complete"] is True


def test_info_check_reads_every_page(data: Path, video: Path) -> None:
    assert CliRunner().invoke(app, ["info", str(video), "--check", "--data-dir", str(data)]).exit_code == 0
    db = store_dir(data / "videos", video) / "db.sqlite"
    pages = db.stat().st_size // 4096
    with db.open("r+b") as f:  # garbage inside a page: the header and the size still look right
        f.seek(4096 * (pages // 2))
        f.write(bytes(range(256)) * 16)
    r = CliRunner().invoke(app, ["info", str(video), "--check", "--data-dir", str(data)])
    assert r.exit_code == 1 and isinstance(r.exception, StoreError), r.output
    assert "is damaged" in str(r.exception) and "--rebuild" in str(r.exception)


def test_an_empty_database_file_is_built_again(data: Path, video: Path, backends: Backends) -> None:
    root = store_dir(data / "videos", video)
    (root / "db.sqlite").write_bytes(b"")
    r = CliRunner().invoke(app, ["info", str(video), "--data-dir", str(data)])
    assert r.exit_code == 1 and "run `vidscout ingest VIDEO` first" in str(r.exception)
    report = ingest(video, data / "videos", backends, options=OPTS)
    assert {x.status for x in report.layers} == {"computed"}
    assert _info(data, video)["complete"] is True


def test_the_console_script_prints_one_line_for_a_damaged_database(data: Path, video: Path) -> None:
    root = store_dir(data / "videos", video)
    _truncate_half(root / "db.sqlite")
    env = {**os.environ, "VIDSCOUT_DATA_DIR": str(data), "COLUMNS": "1000"}
    r = subprocess.run([sys.executable, "-m", "vidscout.cli.app", "info", str(video)], env=env,
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 1
    assert r.stderr.strip().count("\n") == 0 and r.stderr.startswith("error: ")
    assert "db.sqlite is truncated" in r.stderr and "--rebuild" in r.stderr


# --- schema -----------------------------------------------------------------------------------


@pytest.fixture
def v1_store(data: Path, video: Path) -> Iterator[Path]:
    """The clean store turned into a schema v1 one (no unique rows) holding every utterance twice, as F1 left them."""
    root = store_dir(data / "videos", video)
    with sqlite3.connect(root / "db.sqlite") as c:
        c.execute("ALTER TABLE speech RENAME TO speech_v2")
        c.execute(
            "CREATE TABLE speech (id INTEGER PRIMARY KEY, start_s REAL NOT NULL, end_s REAL NOT NULL, "
            "text TEXT NOT NULL, words TEXT NOT NULL, avg_logprob REAL NOT NULL)"
        )
        for _ in range(2):
            c.execute("INSERT INTO speech (start_s, end_s, text, words, avg_logprob) "
                      "SELECT start_s, end_s, text, words, avg_logprob FROM speech_v2 ORDER BY id")  # fmt: skip
        c.execute("DROP TABLE speech_v2")
        c.execute("UPDATE meta SET value='1' WHERE key='schema_version'")
    yield root


def test_a_v1_store_reads_as_it_is_and_the_next_ingest_migrates_it(
    v1_store: Path, data: Path, clean: Path, video: Path, backends: Backends
) -> None:
    with VideoStore.open(v1_store) as s:  # readers do not write
        assert s.schema_version == 1
        n = s.count("speech")
    clean_root = store_dir(clean / "videos", video)
    assert n == 2 * len(_snapshot(clean_root)["speech"])  # type: ignore[arg-type]

    report = ingest(video, data / "videos", backends, options=OPTS)
    status = {x.name: x.status for x in report.layers}
    assert status["scan"] == status["segments"] == "cached"
    assert status["speech"] == status["text_index"] == "resumed"  # completed again from the deduplicated rows
    with VideoStore.open(v1_store) as s:
        assert s.schema_version == SCHEMA_VERSION
    assert _snapshot(v1_store) == _snapshot(clean_root)
    with VideoStore.open(v1_store, create=True) as s:  # duplicates are impossible now
        s.add_utterances([SpeechSegment(text=u.text, start_s=u.start_s, end_s=u.end_s, words=u.words)
                          for u in s.utterances()])  # fmt: skip
    assert _snapshot(v1_store) == _snapshot(clean_root)


def test_a_store_from_a_newer_vidscout_is_refused_with_the_fix(data: Path, video: Path) -> None:
    root = store_dir(data / "videos", video)
    with sqlite3.connect(root / "db.sqlite") as c:
        c.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    for create in (False, True):
        with pytest.raises(StoreError, match=r"newer vidscout \(schema v99.*--rebuild"):
            VideoStore.open(root, create=create)


_READ_META = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], timeout=5.0)
row = conn.execute("SELECT value FROM meta WHERE key = ?", (sys.argv[2],)).fetchone()
conn.close()
print(row[0] if row else "missing")
"""


def test_a_second_store_opened_in_one_process_keeps_the_first_ones_commits(tmp_path: Path) -> None:
    """A reader opened beside a writer (a server answering while it ingests) must not cost the writer's commits.

    Closing any descriptor of a file drops the process's POSIX locks on it. If opening the reader read the
    database's header while the writer's connection was open, another process closing its connection would
    checkpoint and delete the write-ahead log under the writer, and the writer's next commit would be lost.
    """
    root = tmp_path / "store"
    db = root / "db.sqlite"

    def read_elsewhere(key: str) -> str:
        out = subprocess.run([sys.executable, "-c", _READ_META, str(db), key], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    with VideoStore.open(root, create=True) as writer:
        writer.set_meta("first", 1)
        with VideoStore.open(root) as reader:
            assert reader.get_meta("first") == 1
            assert read_elsewhere("first") == "1"  # another process opens and closes a connection
            writer.set_meta("second", 2)
            assert read_elsewhere("second") == "2"
            assert reader.get_meta("second") == 2
    with VideoStore.open(root) as again:
        assert again.get_meta("second") == 2
