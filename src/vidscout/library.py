"""Collections of videos: the files a server may serve, and named libraries searched and asked as one.

`VideoLibrary` is what ``vidscout mcp`` and ``vidscout ui`` share: it turns a path a client sent into a file inside
an allowed directory (refusing ``..``, symlinks that lead out and everything else, without saying where they lead),
lists the videos there, and keeps one `Video` per file so a question costs no ingest check.

A *named* library (``vidscout.library("lectures")``, `VideoLibrary.named`) also keeps a manifest of its members and
a cross-video index under the data dir (`vidscout.memory.catalog`): `VideoLibrary.update` ingests many videos at
once, `VideoLibrary.search` and `VideoLibrary.ask` work across them, with evidence that names each video.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import types
from collections.abc import Callable, Collection, Generator, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from vidscout.agent.trace import Step, final_answer, write_trajectory
from vidscout.answering import Question
from vidscout.answering.library import iter_library_answer
from vidscout.api import Video
from vidscout.errors import AccessError, ConfigError, ToolRetry
from vidscout.memory.batch import Runner, VideoOutcome
from vidscout.memory.build import IngestOptions, ProgressFn, store_dir
from vidscout.memory.catalog import VIDEO_SUFFIXES, LibraryUpdate, Member, library_dir, load_manifest, update_library
from vidscout.memory.library_index import LibraryIndex
from vidscout.memory.store import VideoStore, content_key
from vidscout.models.registry import Backends
from vidscout.retrieval.library import LibraryHit, LibrarySearcher
from vidscout.retrieval.search import HitKind
from vidscout.settings import Settings
from vidscout.tools.registry import VideoDeps
from vidscout.types import Answer

__all__ = ["VIDEO_SUFFIXES", "LibraryVideo", "VideoLibrary", "open_library"]

log = logging.getLogger(__name__)


class LibraryVideo(BaseModel, frozen=True):
    """One video file under an allowed directory."""

    path: Path  # resolved, inside ``root``
    root: Path  # the allowed directory it is under
    name: str  # its path relative to ``root``, with / separators
    size_bytes: int


class VideoLibrary:
    """Videos under allowed directories (or a named library's), with one open `Video` per file and one models lock.

    Args:
        roots: The directories whose files may be read (each must exist).
        settings: Where databases live and which models answer.
        backends: The models (shared by every video; loaded on first use). Default: built from ``settings``.
        ingest_options: Knobs of the ingest that opening a video runs.
        max_listed: At most this many videos are listed (a bound on walking large trees).
        name: A named library under the data dir (use `named`); its directories come from its manifest.

    Raises:
        ConfigError: No directories (and no name), or one that does not exist.
    """

    def __init__(
        self,
        roots: Sequence[Path],
        settings: Settings,
        *,
        backends: Backends | None = None,
        ingest_options: IngestOptions | None = None,
        max_listed: int = 2000,
        name: str | None = None,
    ) -> None:
        if not roots and name is None:
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
        self.name = name
        """The named library this is (`named`), or None for the videos under allowed directories."""
        self.lock = threading.RLock()
        """Held while models run (ingest, answering, the tools): one job at a time, since the embedded models
        are neither thread-safe nor faster in parallel on a few cores."""
        self._open: dict[Path, tuple[tuple[int, int], Video]] = {}
        self._members: list[Member] = []
        self._searcher: LibrarySearcher | None = None
        self._given_options = ingest_options
        if name is not None:
            self._load_members()

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
        """Close every open video (and a named library's index)."""
        with self.lock:
            for _, handle in self._open.values():
                handle.close()
            self._open.clear()
            if self._searcher is not None:
                self._searcher.index.close()
                self._searcher = None

    def __enter__(self) -> VideoLibrary:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- named libraries ------------------------------------------------------------------------

    @classmethod
    def named(
        cls,
        name: str,
        settings: Settings | None = None,
        *,
        backends: Backends | None = None,
        ingest_options: IngestOptions | None = None,
    ) -> VideoLibrary:
        """The library ``name`` kept under the data dir (empty until `update` adds videos to it).

        Its allowed directories are those its videos were found in, so `open` and `resolve` accept its members.

        Raises:
            ConfigError: The name is not a valid library name.
        """
        settings = settings or Settings()
        library_dir(settings.libraries_dir, name)  # validates the name
        return cls([], settings, backends=backends, ingest_options=ingest_options, name=name)

    @property
    def root(self) -> Path:
        """The named library's directory (manifest and index)."""
        return library_dir(self.settings.libraries_dir, self._named())

    def _named(self) -> str:
        if self.name is None:
            raise ConfigError("This is not a named library; open one with vidscout.library(NAME).")
        return self.name

    def _load_members(self) -> None:
        manifest = load_manifest(self.root)
        self._members = list(manifest.members) if manifest is not None else []
        if manifest is not None and manifest.options is not None and self._given_options is None:
            self.ingest_options = manifest.options  # open members as they were built, so opening changes nothing
        dirs = [s if s.is_dir() else s.parent for s in (manifest.sources if manifest is not None else [])]
        dirs += [m.path.parent for m in self._members]
        self.roots = tuple(dict.fromkeys(d.resolve() for d in dirs if d.is_dir()))

    def members(self) -> list[Member]:
        """The library's videos, in the order they were found."""
        self._named()
        return list(self._members)

    def update(
        self,
        sources: Sequence[Path] = (),
        *,
        workers: int = 1,
        runner: Runner = "local",
        on_done: Callable[[VideoOutcome], None] | None = None,
        rebuild_index: bool = False,
    ) -> LibraryUpdate:
        """Ingest ``sources`` (files and directories) into the library, with every source it had before.

        New and changed videos are ingested (resumable per video; one failure does not stop the rest), those
        whose file is gone are dropped, and the library index follows. See `vidscout.memory.catalog.update_library`.

        Args:
            sources: Video files and directories to add (none: rescan the library's own).
            workers: Videos ingested at once on this machine (process pool; 1 = in this process).
            runner: ``local``, or ``ray`` for one task per video on a Ray cluster (``RAY_ADDRESS`` or a local one).
            on_done: Called with each video's outcome as it finishes.
            rebuild_index: Rebuild the library index from the videos' databases.

        Raises:
            ConfigError: A source does not exist, or a new library was given no sources.
        """
        name = self._named()
        with self.lock:
            self.close()  # an open video would make an ingest that must rewrite its store wait forever
            report = update_library(name, sources, self.settings, options=self.ingest_options, workers=workers,
                                    runner=runner, backends=self.backends, on_done=on_done,
                                    rebuild_index=rebuild_index)  # fmt: skip
            self._load_members()
        return report

    @property
    def searcher(self) -> LibrarySearcher:
        """Search across the library's videos (the index opened on first use).

        Raises:
            ConfigError: The library has no videos yet.
            StoreError: Its index is missing or out of step (the message says to rerun ``ingest --library``).
        """
        name = self._named()
        if self._searcher is None:
            if not self._members:
                raise ConfigError(
                    f"Library {name!r} has no videos; add some with `vidscout ingest DIR --library {name}`."
                )
            self._warn_if_changed()
            index = LibraryIndex.open(self.root)
            self._searcher = LibrarySearcher(index, text_embedder=self.backends.text_embedder,
                                             image_text_embedder=self.backends.image_text)  # fmt: skip
        return self._searcher

    def _warn_if_changed(self) -> None:
        changed = [m.name for m in self._members if _stamp(m.path) != (m.size_bytes, m.mtime_ns)]
        if changed:
            log.warning(
                "%d video(s) of library %s changed or disappeared since it was indexed (%s); run `vidscout ingest "
                "--library %s` to update it.", len(changed), self.name, ", ".join(changed[:3]), self.name,
            )  # fmt: skip

    def search(self, query: str, *, top_k: int = 8, kinds: Collection[HitKind] | None = None) -> list[LibraryHit]:
        """Hybrid search across every video of the library; each hit names its video and time span.

        Raises:
            ConfigError: An empty query, or a library without videos.
        """
        if not query.strip():
            raise ConfigError("The search query is empty; describe what to look for in plain words.")
        with self.lock:
            return self.searcher.search(query, top_k=top_k, kinds=kinds)

    def video_names(self) -> list[str]:
        """Every video's name in the library."""
        return [m.name for m in self.members()]

    def member(self, video: str | Path) -> Member:
        """The member ``video`` names: its name in the library, its path, its file name or its database's key.

        Raises:
            ToolRetry: No member (or several) match; the message lists the names.
        """
        text = str(video).strip()
        members = self.members()
        for match in (
            lambda m: m.name == text,
            lambda m: str(m.path) == text or m.path == Path(text).expanduser().resolve(),
            lambda m: m.key == text,
            lambda m: m.path.name == text,
        ):
            found = [m for m in members if match(m)]
            if len(found) == 1:
                return found[0]
        shown = ", ".join(m.name for m in members[:20]) + (" ..." if len(members) > 20 else "")
        raise ToolRetry(f"No video of the library is called {text!r}; the videos are: {shown}.")

    def video_name(self, video: str) -> str:
        """The library's name of ``video`` (see `member`)."""
        return self.member(video).name

    def deps(self, video: str) -> VideoDeps:
        """The open video's dependencies (tools and answering read these), by name, path or key."""
        return self.open(self.member(video).path).deps

    def pick_videos(self, query: str, *, top_k: int) -> list[str]:
        """The names of the ``top_k`` videos whose clips match ``query`` best."""
        return [v.name for v, _ in self.searcher.rank_videos(query, top_k=top_k)]

    def iter_ask(
        self, question: str, *, options: Sequence[str] = (), strategy: str = "agent", videos: int = 3,
        **strategy_options: Any,
    ) -> Iterator[Step]:  # fmt: skip
        """Stream the steps of answering ``question`` about the library (see `vidscout.answering.library`).

        Args:
            question: The question, in plain words.
            options: Multiple-choice options; empty for an open question.
            strategy: ``agent`` or ``retrieval``.
            videos: How many best-matching videos the agent looks at.
            **strategy_options: ``max_steps``, ``top_k``, ``agent``, ``tool_options``.

        Raises:
            ConfigError: A bad question or strategy, or a library without videos.
        """
        q = Question.make(question, options)
        yield from iter_library_answer(self, q, strategy=strategy, videos=videos, **strategy_options)

    def ask(
        self, question: str, *, options: Sequence[str] = (), strategy: str = "agent", videos: int = 3,
        trajectory: Path | None = None, **strategy_options: Any,
    ) -> Answer:  # fmt: skip
        """Answer ``question`` from the library's videos; each evidence span names its video (see `iter_ask`)."""
        q = Question.make(question, options)
        steps = list(self.iter_ask(q.text, options=q.options, strategy=strategy, videos=videos, **strategy_options))
        if trajectory is not None:
            write_trajectory(trajectory, q.text, steps)
        return final_answer(q.text, steps, strategy=strategy)


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def open_library(name: str, *, settings: Settings | None = None) -> VideoLibrary:
    """The named library ``name`` under the data dir (``vidscout.library(name)``); see `VideoLibrary.named`."""
    return VideoLibrary.named(name, settings)


class _LibraryModule(types.ModuleType):
    """This module, callable: ``vidscout.library("lectures")`` opens a library, ``vidscout.library.X`` stays as is."""

    def __call__(self, name: str, *, settings: Settings | None = None) -> VideoLibrary:
        return open_library(name, settings=settings)


# Importing vidscout.library binds the package attribute `library` to this module (the import system does
# that after this code runs), so the API `vidscout.library(NAME)` works by making the module itself callable.
sys.modules[__name__].__class__ = _LibraryModule
