"""Many videos at once: ``vidscout ingest DIR_OR_FILES... [--library NAME]``, ``search/ask --library NAME``.

A batch ingest prints a table with a row per video and exits 0 when every video is in, 3 when some failed
(the others are in), and 1 when none could be ingested. ``--workers N`` ingests N videos at once on this
machine; ``--ray`` runs one task per video on the Ray cluster ``RAY_ADDRESS`` names (or a local one).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from vidscout.settings import Settings

if TYPE_CHECKING:
    from vidscout.memory.batch import Runner, VideoOutcome
    from vidscout.memory.build import IngestOptions
    from vidscout.memory.catalog import LibraryRow, LibraryUpdate

LibraryOpt = Annotated[
    str | None,
    typer.Option("--library", "-L", help="A named library of videos, kept under the data dir (made by ingest)."),
]
WorkersOpt = Annotated[int, typer.Option(help="Videos ingested at once on this machine (a process pool).", min=1)]
RayOpt = Annotated[
    bool,
    typer.Option("--ray", help="One ingest task per video on Ray (the cluster RAY_ADDRESS names, or a local one)."),
]

PARTIAL_FAILURE = 3
"""Exit status of a batch ingest in which some videos failed and the others were ingested."""


def exit_status(rows: list[LibraryRow]) -> int:
    """0 when no video failed, 1 when every video failed, `PARTIAL_FAILURE` otherwise."""
    tried = [r for r in rows if r.status != "removed"]
    failed = [r for r in tried if r.status == "failed"]
    if not failed:
        return 0
    return 1 if len(failed) == len(tried) else PARTIAL_FAILURE


def _progress(console: Console, *, enabled: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, disable=not enabled, transient=False,
    )  # fmt: skip


def ingest_batch(
    paths: list[Path],
    *,
    library: str | None,
    settings: Settings,
    options: IngestOptions,
    workers: int,
    use_ray: bool,
    as_json: bool,
    out: Console,
    console: Console,
) -> int:
    """Ingest many videos (into a library when named); render the table or JSON; return the exit status."""
    from vidscout.cli import render
    from vidscout.memory.batch import ingest_many
    from vidscout.memory.catalog import find_videos, outcome_row

    runner: Runner = "ray" if use_ray else "local"
    files: list[tuple[Path, str]] = []
    if library is None:
        missing = [p for p in paths if not p.exists()]
        if missing:
            raise typer.BadParameter(f"{missing[0]}: no such file or directory.")
        files = find_videos([p.expanduser().resolve() for p in paths])
        if not files:
            raise typer.BadParameter("No video files found there (looked for " + ", ".join(_suffixes()) + ").")
    update: LibraryUpdate | None = None
    with _progress(console, enabled=not as_json) as bar:
        task = bar.add_task("videos", total=len(files) or None)

        def done(outcome: VideoOutcome) -> None:
            bar.advance(task)
            if not outcome.ok and not as_json:
                console.print(f"[red]failed:[/] {outcome.path}: {outcome.error}")

        if library is not None:
            from vidscout.library import VideoLibrary

            with VideoLibrary.named(library, settings, ingest_options=options) as lib:
                update = lib.update(paths, workers=workers, runner=runner, on_done=done)
            rows = update.rows
        else:
            outcomes = ingest_many([f for f, _ in files], settings, options=options, workers=workers, runner=runner,
                                   on_done=done)  # fmt: skip
            rows = [outcome_row(f, name, o) for (f, name), o in zip(files, outcomes, strict=True)]
    if as_json:
        payload = update.model_dump(mode="json") if update else {"rows": [r.model_dump(mode="json") for r in rows]}
        out.print_json(json.dumps(payload))
    elif update is not None:
        render.library_update(out, update)
    else:
        render.ingest_rows(out, rows, title=f"Ingested {len(rows)} videos")
    return exit_status(rows)


def _suffixes() -> list[str]:
    from vidscout.memory.catalog import VIDEO_SUFFIXES

    return sorted(VIDEO_SUFFIXES)


def library_argument(
    first: str | None, second: str | None, *, library: str | None, what: str
) -> tuple[str | None, str]:
    """(video, text) from the positional arguments: ``VIDEO TEXT``, or only ``TEXT`` with ``--library``.

    Raises:
        typer.BadParameter: Both with ``--library``, or a video without its ``what`` (query, question).
    """
    if library is not None:
        if second is not None or first is None:
            raise typer.BadParameter(f"With --library give only the {what} (the library's videos are searched).")
        return None, first
    if first is None or second is None:
        raise typer.BadParameter(f"Give the VIDEO and the {what}, or --library NAME and the {what}.")
    return first, second


def search_library(name: str, query: str, *, settings: Settings, top_k: int, as_json: bool, out: Console) -> None:
    """``vidscout search --library NAME QUERY``: hits across the library, each with its video and span."""
    from vidscout.cli import render
    from vidscout.library import VideoLibrary

    with VideoLibrary.named(name, settings) as lib:
        hits = lib.search(query, top_k=top_k)
    if as_json:
        out.print_json(json.dumps([h.model_dump(mode="json") for h in hits]))
    else:
        render.library_hits(out, hits)


def ask_library(
    name: str,
    question: str,
    options: list[str],
    *,
    settings: Settings,
    strategy: str,
    videos: int,
    max_steps: int,
    trajectory: Path | None,
    as_json: bool,
    out: Console,
    console: Console,
) -> bool:
    """``vidscout ask --library NAME QUESTION``: stream the steps, then the answer; returns whether it answered."""
    from vidscout.agent.trace import final_answer, write_trajectory
    from vidscout.cli import render
    from vidscout.library import VideoLibrary

    with VideoLibrary.named(name, settings) as lib:
        steps = []
        for step in lib.iter_ask(question, options=options, strategy=strategy, videos=videos, max_steps=max_steps):
            steps.append(step)
            if not as_json:
                render.agent_step(console, step)
    if trajectory is not None:
        write_trajectory(trajectory, question, steps)
    result = final_answer(question, steps, strategy=strategy)
    if as_json:
        out.print_json(result.model_dump_json())
    else:
        render.answer(out, result)
    return result.error is None
