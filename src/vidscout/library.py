"""The videos a server may serve: files under the directories it was started with, each opened once and kept open.

`VideoLibrary` is what ``vidscout mcp`` and ``vidscout ui`` share: it turns a path a client sent into a file inside
an allowed directory (refusing ``..``, symlinks that lead out and everything else, without saying where they lead),
lists the videos there, and keeps one `Video` per file so a question costs no ingest check.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Generator, Sequence
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel

from vidscout.api import Video
from vidscout.errors import AccessError, ConfigError
from vidscout.memory.build import IngestOptions, ProgressFn, store_dir
from vidscout.memory.store import VideoStore, content_key
from vidscout.models.registry import Backends
from vidscout.settings import Settings

VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".wmv", ".flv"})
"""File name endings listed as videos (any file under an allowed directory may still be opened by path)."""


class LibraryVideo(BaseModel, frozen=True):
    """One video file under an allowed directory."""

    path: Path  # resolved, inside ``root``
    root: Path  # the allowed directory it is under
    name: str  # its path relative to ``root``, with / separators
    size_bytes: int


class VideoLibrary:
    """Videos under allowed directories, with one open `Video` per file and one lock for the models.

    Args:
        roots: The directories whose files may be read (each must exist).
        settings: Where databases live and which models answer.
        backends: The models (shared by every video; loaded on first use). Default: built from ``settings``.
        ingest_options: Knobs of the ingest that opening a video runs.
        max_listed: At most this many videos are listed (a bound on walking large trees).

    Raises:
        ConfigError: No directories, or one that does not exist.
    """

    def __init__(
        self,
        roots: Sequence[Path],
        settings: Settings,
        *,
        backends: Backends | None = None,
        ingest_options: IngestOptions | None = None,
        max_listed: int = 2000,
    ) -> None:
        if not roots:
            raise ConfigError("No video directories allowed: pass --allow DIR (repeatable).")
        resolved: list[Path] = []
        for root in roots:
            real = Path(root).expanduser().resolve()
            if not real.is_dir():
                raise ConfigError(f"--allow {root}: no such directory.")
            if real not in resolved:
                resolved.append(real)
        self.roots: tuple[Path, ...] = tuple(resolved)
        self.settings = settings
        self.backends = backends or Backends(settings)
        self.ingest_options = ingest_options
        self.max_listed = max_listed
        self.lock = threading.RLock()
        """Held while models run (ingest, answering, the tools): one job at a time, since the embedded models
        are neither thread-safe nor faster in parallel on a few cores."""
        self._open: dict[Path, tuple[tuple[int, int], Video]] = {}

    # --- paths ----------------------------------------------------------------------------------

    def resolve(self, video: str | Path) -> Path:
        """The file ``video`` names, absolute or relative to an allowed directory, if it is under one.

        Raises:
            AccessError: Empty, with ``..``, not a file, or (after following symlinks) outside every allowed
                directory. The message repeats what was given, never where it resolved to.
        """
        text = str(video).strip()
        where = ", ".join(str(r) for r in self.roots)
        if not text or "\x00" in text:
            raise AccessError(f"Give the path of a video file under the allowed directories ({where}).")
        shown = repr(text if len(text) <= 200 else text[:200] + "…")
        given = Path(text).expanduser()
        if ".." in given.parts:
            raise AccessError(f"{shown}: '..' is not allowed in video paths; give a path under {where}.")
        candidates = [given] if given.is_absolute() else [root / given for root in self.roots]
        for candidate in candidates:
            real = self._inside(candidate, strict=True)
            if real is not None and real.is_file():
                return real
        if any(self._inside(c, strict=False) is not None for c in candidates):
            raise AccessError(f"{shown}: no such video file under {where}; list them with the videos resource.")
        raise AccessError(f"{shown} is not under the allowed directories ({where}); only their videos can be read.")

    def _inside(self, path: Path, *, strict: bool) -> Path | None:
        """``path`` with symlinks followed, when that lands in an allowed directory; else None."""
        try:
            real = path.resolve(strict=strict)
        except (OSError, RuntimeError):  # missing, unreadable, or a symlink loop
            return None
        return real if any(real.is_relative_to(root) for root in self.roots) else None

    def _root_of(self, path: Path) -> Path:
        return next(root for root in self.roots if path.is_relative_to(root))

    def videos(self) -> list[LibraryVideo]:
        """The video files under the allowed directories (hidden ones and symlinks that lead out skipped)."""
        found: dict[Path, LibraryVideo] = {}
        for root in self.roots:
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for name in sorted(filenames):
                    if name.startswith(".") or Path(name).suffix.lower() not in VIDEO_SUFFIXES:
                        continue
                    real = self._inside(Path(dirpath) / name, strict=True)
                    if real is None or real in found or not real.is_file():
                        continue
                    home = self._root_of(real)
                    found[real] = LibraryVideo(
                        path=real, root=home, name=real.relative_to(home).as_posix(), size_bytes=real.stat().st_size
                    )
                    if len(found) >= self.max_listed:
                        return list(found.values())
        return list(found.values())

    # --- databases ------------------------------------------------------------------------------

    def key(self, video: str | Path) -> str:
        """The id of the video's database (from its content; see `vidscout.memory.store.content_key`)."""
        return content_key(self.resolve(video))

    def is_ingested(self, video: str | Path) -> bool:
        """Whether the video's database is complete (as of its last ingest)."""
        path = self.resolve(video)
        if path in self._open:
            return True
        root = store_dir(self.settings.videos_dir, path)
        if not (root / "db.sqlite").is_file():
            return False
        with VideoStore.open(root) as store:
            return bool(store.get_meta("ingest_complete"))

    def by_key(self, key: str) -> Path:
        """The allowed video file whose database has id ``key``.

        Raises:
            AccessError: No such database, or its video is no longer under the allowed directories (or changed).
        """
        for path, (_, video) in list(self._open.items()):
            if video.store.root.name == key:
                return path
        root = self.settings.videos_dir / key
        unknown = AccessError(f"No ingested video has id {key!r}; list them with the videos resource.")
        if not key.isalnum() or not (root / "db.sqlite").is_file():
            raise unknown
        with VideoStore.open(root) as store:
            source = store.get_meta("source_path")
        try:
            path = self.resolve(str(source))
        except AccessError:
            raise unknown from None
        if content_key(path) != key:
            raise unknown
        return path

    # --- open videos ----------------------------------------------------------------------------

    def open(self, video: str | Path, *, progress: ProgressFn | None = None) -> Video:
        """The open `Video` of ``video``, ingesting (or finishing the ingest) first when needed.

        A handle is kept per file and reused while the file's size and modification time stay the same.

        Raises:
            AccessError: ``video`` is not under the allowed directories.
            MediaError: It is not a video that can be ingested.
        """
        path = self.resolve(video)
        stat = path.stat()
        stamp = (stat.st_size, stat.st_mtime_ns)
        with self.lock:
            cached = self._open.get(path)
            if cached is not None and cached[0] == stamp:
                return cached[1]
            if cached is not None:
                cached[1].close()
                del self._open[path]
            handle = Video.open(
                path, settings=self.settings, backends=self.backends, ingest_options=self.ingest_options,
                progress=progress,
            )  # fmt: skip
            self._open[path] = (stamp, handle)
            return handle

    def opened(self, video: str | Path) -> Video | None:
        """The open `Video` of ``video`` if it was opened before (never ingests).

        Raises:
            AccessError: ``video`` is not under the allowed directories.
        """
        cached = self._open.get(self.resolve(video))
        return cached[1] if cached is not None else None

    @contextmanager
    def using(self, video: str | Path, *, progress: ProgressFn | None = None) -> Generator[Video]:
        """Open ``video`` and hold the models' lock while the caller uses it."""
        with self.lock:
            yield self.open(video, progress=progress)

    def close(self) -> None:
        """Close every open video."""
        with self.lock:
            for _, handle in self._open.values():
                handle.close()
            self._open.clear()
