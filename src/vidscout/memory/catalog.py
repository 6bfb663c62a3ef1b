"""Named video libraries: ``<data dir>/libraries/<name>/library.json`` lists the members; `update_library` keeps it.

A member is a video file with the content key of its database (`vidscout.memory.store.content_key`) and a
slot in the library index (`vidscout.memory.library_index`). `update_library` ingests the files and
directories it is given together with those recorded before (`vidscout.memory.batch.ingest_many`), drops the
members whose file is gone, re-ingests changed ones, and brings the index in line.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from vidscout._io import write_atomic
from vidscout.errors import ConfigError, StoreError
from vidscout.memory.batch import Runner, VideoOutcome, ingest_many, outcome_status
from vidscout.memory.build import IngestOptions
from vidscout.memory.library_index import IndexSync, sync_index
from vidscout.memory.store import StoreLock
from vidscout.models.registry import Backends
from vidscout.settings import Settings

MANIFEST = "library.json"

VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".wmv", ".flv"})
"""File name endings taken as videos when a directory is scanned (a file given by name is always tried)."""

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class Member(BaseModel, frozen=True):
    """One video of a library."""

    path: Path  # absolute
    name: str = Field(description="How listings and the planner name it: its path under the directory it was found in.")
    key: str = Field(description="Content key of its database (the store directory's name).")
    slot: int = Field(ge=0, description="The high bits of its rows' ids in the library index.")
    size_bytes: int
    mtime_ns: int
    duration_s: float


class FailedVideo(BaseModel, frozen=True):
    """A file of the library's sources that could not be ingested in the last update."""

    path: Path
    error: str


class LibraryManifest(BaseModel):
    """``library.json``: the library's name, where its videos come from, and its members."""

    name: str
    format: int = 1
    sources: list[Path] = Field(default_factory=list[Path], description="Files and directories, rescanned on update.")
    members: list[Member] = Field(default_factory=list[Member])
    failed: list[FailedVideo] = Field(default_factory=list[FailedVideo])
    options: IngestOptions | None = Field(default=None, description="The ingest knobs its videos were built with.")
    next_slot: int = 0
    updated_at: float = 0.0


RowStatus = Literal["ingested", "cached", "failed", "removed", "duplicate"]


class LibraryRow(BaseModel):
    """What an update did with one video."""

    path: Path
    name: str
    status: RowStatus
    key: str | None = None
    seconds: float = 0.0  # ingest wall time
    duration_s: float = 0.0
    documents: int = 0
    keyframes: int = 0
    error: str | None = None


class LibraryUpdate(BaseModel):
    """The result of `update_library`: one row per video, and what the index did."""

    library: str
    root: Path
    runner: Runner
    workers: int
    rows: list[LibraryRow]
    index: IndexSync
    members: int
    wall_s: float

    @property
    def failed(self) -> list[LibraryRow]:
        """The videos that could not be ingested."""
        return [r for r in self.rows if r.status == "failed"]


def library_dir(libraries_dir: Path, name: str) -> Path:
    """The directory of library ``name``.

    Raises:
        ConfigError: The name is not 1-64 letters, digits, ``.``, ``_`` or ``-`` (starting with a letter or digit).
    """
    if not _NAME.match(name):
        raise ConfigError(
            f"Library name {name!r} is not allowed: use 1-64 letters, digits, '.', '_' or '-', starting with a "
            "letter or digit (e.g. --library lectures-2024)."
        )
    return libraries_dir / name


def library_names(libraries_dir: Path) -> list[str]:
    """The libraries under ``libraries_dir``, sorted."""
    if not libraries_dir.is_dir():
        return []
    return sorted(p.name for p in libraries_dir.iterdir() if (p / MANIFEST).is_file())


def load_manifest(root: Path) -> LibraryManifest | None:
    """The manifest at ``root``, or None when there is none.

    Raises:
        StoreError: It is not a valid manifest.
    """
    path = root / MANIFEST
    if not path.is_file():
        return None
    try:
        return LibraryManifest.model_validate_json(path.read_bytes())
    except ValidationError as e:
        raise StoreError(f"{path} is not a valid library manifest ({e.error_count()} problems); move it aside.") from e


def save_manifest(root: Path, manifest: LibraryManifest) -> None:
    """Write the manifest so that readers see the old one or the new one, never a partial one."""
    root.mkdir(parents=True, exist_ok=True)
    write_atomic(root / MANIFEST, manifest.model_dump_json(indent=2))


def find_videos(sources: Sequence[Path]) -> list[tuple[Path, str]]:
    """The video files of ``sources`` as (absolute path, name), each once, in order.

    A file is taken as it is; a directory is walked (hidden entries skipped) for `VIDEO_SUFFIXES`. The name is
    the path under the directory the file was found in, or the file name; a name taken by another file
    becomes the full path. Sources that do not exist are skipped.
    """
    found: dict[Path, str] = {}
    names: set[str] = set()

    def take(path: Path, name: str) -> None:
        real = path.resolve()
        if real in found:
            return
        found[real] = name if name not in names else str(real)
        names.add(found[real])

    for source in sources:
        if source.is_file():
            take(source, source.name)
        elif source.is_dir():
            for dirpath, dirnames, filenames in os.walk(source):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for name in sorted(filenames):
                    path = Path(dirpath) / name
                    if not name.startswith(".") and path.suffix.lower() in VIDEO_SUFFIXES and path.is_file():
                        take(path, path.relative_to(source).as_posix())
    return list(found.items())


def update_library(
    name: str,
    sources: Sequence[Path],
    settings: Settings,
    *,
    options: IngestOptions | None = None,
    workers: int = 1,
    runner: Runner = "local",
    backends: Backends | None = None,
    on_done: Callable[[VideoOutcome], None] | None = None,
    rebuild_index: bool = False,
) -> LibraryUpdate:
    """Ingest ``sources`` (and every source recorded before) into library ``name`` and update its index.

    Each video is ingested on its own (resumable; one failure does not stop the rest). Members whose file is
    gone are dropped; a changed file is ingested again (a new content key) and replaces its old copy in the
    index; a file that fails while unchanged keeps its member. The manifest and index are written under the
    library's exclusive lock, after the ingests, so searches go on while videos are ingested.

    Args:
        name: The library (created when new).
        sources: Video files and directories to add.
        settings: Where stores and libraries live, and which models ingest.
        options: Ingest knobs (None: those the library was built with, else the defaults); recorded.
        workers: Videos ingested at once (see `vidscout.memory.batch.ingest_many`).
        runner: ``local`` or ``ray``.
        backends: Models to reuse for in-process ingests.
        on_done: Called with each video's outcome as it finishes.
        rebuild_index: Rebuild the library index from the stores, whatever it holds.

    Raises:
        ConfigError: A bad library name, a new library without sources, or a source that does not exist.
    """
    t0 = time.perf_counter()
    root = library_dir(settings.libraries_dir, name)
    before = load_manifest(root)
    given = [Path(s).expanduser().resolve() for s in sources]
    missing = [s for s in given if not s.exists()]
    if missing:
        raise ConfigError(f"{missing[0]}: no such file or directory; give video files or directories.")
    if before is None and not given:
        raise ConfigError(f"There is no library {name!r} yet; give the videos or directories to put in it.")
    recorded = before.sources if before is not None else []
    all_sources = list(dict.fromkeys([*recorded, *given]))
    files = find_videos(all_sources)
    # The library's videos keep the knobs they were built with unless new ones are given.
    options = options if options is not None else (before.options if before is not None else None)
    outcomes = ingest_many([f for f, _ in files], settings, options=options, workers=workers, runner=runner,
                           backends=backends, on_done=on_done)  # fmt: skip
    lock = StoreLock(root)
    lock.acquire(exclusive=True)
    try:
        # Read again under the lock: another update may have finished while these videos were ingested.
        manifest = load_manifest(root) or LibraryManifest(name=name)
        manifest, rows = _merge(manifest, files, outcomes)
        manifest = manifest.model_copy(
            update={"sources": [s for s in all_sources if s.exists()], "options": options, "updated_at": time.time()}
        )
        save_manifest(root, manifest)
        synced = sync_index(root, manifest.members, settings.videos_dir, rebuild=rebuild_index)
    finally:
        lock.release()
    return LibraryUpdate(
        library=name, root=root, runner=runner, workers=workers, rows=rows, index=synced,
        members=len(manifest.members), wall_s=time.perf_counter() - t0,
    )  # fmt: skip


def _merge(
    manifest: LibraryManifest, files: Sequence[tuple[Path, str]], outcomes: Sequence[VideoOutcome]
) -> tuple[LibraryManifest, list[LibraryRow]]:
    """The manifest after this update's outcomes, and a row per video (removed members included)."""
    old = {m.path: m for m in manifest.members}
    next_slot = manifest.next_slot
    members: list[Member] = []
    by_key: dict[str, Member] = {}
    rows: list[LibraryRow] = []
    failed: list[FailedVideo] = []
    for (path, name), outcome in zip(files, outcomes, strict=True):
        report = outcome.report
        row = outcome_row(path, name, outcome)
        if report is None:
            failed.append(FailedVideo(path=path, error=row.error or "failed"))
            rows.append(row)
            kept = old.get(path)
            if kept is not None and _unchanged(kept) and kept.key not in by_key:
                members.append(kept)  # the file did not change: its database and index rows still hold
                by_key[kept.key] = kept
            continue
        key = row.key or Path(report.store).name
        if key in by_key:
            rows.append(row.model_copy(update={"status": "duplicate", "error": f"same content as {by_key[key].name}"}))
            continue
        previous = old.get(path)
        if previous is not None and previous.key == key:
            slot = previous.slot
        else:
            slot, next_slot = next_slot, next_slot + 1
        st = path.stat()
        member = Member(path=path, name=name, key=key, slot=slot, size_bytes=st.st_size, mtime_ns=st.st_mtime_ns,
                        duration_s=report.covered_s)  # fmt: skip
        members.append(member)
        by_key[key] = member
        rows.append(row)
    kept_paths = {m.path for m in members} | {f for f, _ in files}
    for m in manifest.members:
        if m.path not in kept_paths:
            rows.append(LibraryRow(path=m.path, name=m.name, status="removed", key=m.key, duration_s=m.duration_s))
    updated = manifest.model_copy(update={"members": members, "failed": failed, "next_slot": next_slot})
    return updated, rows


def outcome_row(path: Path, name: str, outcome: VideoOutcome) -> LibraryRow:
    """The row of one video's ingest: its status, time, length and what its database holds (or its error)."""
    report = outcome.report
    if report is None:
        error = outcome.error or "failed"
        return LibraryRow(path=path, name=name, status="failed", seconds=outcome.seconds, error=error)
    stats = {layer.name: layer.stats for layer in report.layers}
    return LibraryRow(
        path=path,
        name=name,
        status=outcome_status(outcome),
        key=Path(report.store).name,
        seconds=outcome.seconds,
        duration_s=report.video.duration_s,
        documents=int(stats.get("text_index", {}).get("documents", 0)),
        keyframes=int(stats.get("scan", {}).get("keyframes", 0)),
    )


def _unchanged(member: Member) -> bool:
    try:
        st = member.path.stat()
    except OSError:
        return False
    return (st.st_size, st.st_mtime_ns) == (member.size_bytes, member.mtime_ns)
