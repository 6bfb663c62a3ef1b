"""A Rich progress display with one bar per ingest layer."""

from __future__ import annotations

import threading
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn


class StageProgress:
    """Callable as an ingest `ProgressFn`: (layer, done, total) → updates that layer's bar."""

    def __init__(self, console: Console, *, enabled: bool = True) -> None:
        self._progress = Progress(
            TextColumn("{task.description:<14}"), BarColumn(), TextColumn("{task.percentage:>5.1f}%"),
            TimeElapsedColumn(), console=console, disable=not enabled, transient=False,
        )  # fmt: skip
        self._tasks: dict[str, TaskID] = {}
        self._lock = threading.Lock()  # ingest reports the audio layers from a second thread

    def __enter__(self) -> StageProgress:
        self._progress.__enter__()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._progress.__exit__(exc_type, exc, tb)

    def __call__(self, stage: str, done: float, total: float) -> None:
        """Update (or add) the bar of ``stage``."""
        with self._lock:
            if stage not in self._tasks:
                self._tasks[stage] = self._progress.add_task(stage, total=max(total, 1e-9))
        self._progress.update(self._tasks[stage], completed=done, total=max(total, 1e-9))
