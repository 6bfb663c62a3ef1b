"""``vidscout bench`` (run a benchmark, resumable) and ``vidscout make-needle`` (build the needle benchmark)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from vidscout.cli.options import BaseUrlOpt, DataDirOpt, ProfileOpt, build_settings
from vidscout.errors import ConfigError

if TYPE_CHECKING:
    from vidscout.eval.runner import RunEvent
    from vidscout.media.needles import NeedleKind

console = Console(stderr=True)
out = Console()


def bench(
    task: Annotated[str, typer.Argument(help="Benchmark: mlvu, lvbench, videomme, videomme_w_subs or needle.")],
    annotations: Annotated[Path, typer.Option(help="The benchmark's annotation file or folder.")],
    videos: Annotated[Path | None, typer.Option(help="Folder holding the benchmark's videos.")] = None,
    split: Annotated[str | None, typer.Option(help="Split (default: the task's first).")] = None,
    strategy: Annotated[str, typer.Option(help="agent, retrieval, direct or kv.")] = "agent",
    limit: Annotated[int | None, typer.Option(help="Only the first N questions.", min=1)] = None,
    workers: Annotated[int, typer.Option(help="Videos answered in parallel (each loads its models).", min=1)] = 1,
    ray: Annotated[bool, typer.Option("--ray", help="Distribute videos over Ray (extra: ray).")] = False,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Run folder (default runs/TASK-SPLIT-STRAT).")] = None,
    max_steps: Annotated[int | None, typer.Option(help="Agent tool calls per question.", min=1, max=50)] = None,
    frames: Annotated[
        int | None, typer.Option(help="Direct strategy frames (default: lmms-eval's for the task).", min=1, max=768)
    ] = None,
    fps: Annotated[
        float | None, typer.Option(help="Direct strategy: at most this many frames per second of video.", min=0.001)
    ] = None,
    extractor: Annotated[
        str,
        typer.Option(
            help="How replies become letters: 'official' (each benchmark's own answer extraction, so scores compare "
            "with its leaderboard) or 'lenient' (vidscout's own parse_choice; ours, more forgiving, not comparable)."
        ),
    ] = "official",
    retry_errors: Annotated[bool, typer.Option(help="Re-run questions stored with an error.")] = False,
    profile: ProfileOpt = None,
    data_dir: DataDirOpt = None,
    base_url: BaseUrlOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print metrics.json on stdout.")] = False,
) -> None:
    """Run a strategy on a benchmark; rerun the same command to resume an interrupted run."""
    from vidscout.cli import serve_cmd
    from vidscout.eval.runner import run_benchmark
    from vidscout.eval.task import EXTRACTORS
    from vidscout.eval.tasks import load_task

    settings = build_settings(profile, data_dir, base_url=base_url)
    if extractor not in EXTRACTORS:
        raise ConfigError(f"Unknown extractor {extractor!r}; available: {', '.join(EXTRACTORS)}")
    loaded = load_task(task, annotations, videos_dir=videos, split=split, extractor=extractor)
    if loaded.videos_dir is None:
        raise ConfigError(f"{task}: give the videos folder with --videos.")
    run_dir = out_dir or Path("runs") / f"{task}-{loaded.split}-{strategy}"
    if strategy in ("agent", "direct"):
        serve_cmd.preflight(settings)
    with _RunProgress(enabled=not as_json) as progress:
        result = run_benchmark(
            loaded, strategy, out_dir=run_dir, settings=settings, limit=limit, workers=workers, use_ray=ray,
            strategy_options={"max_steps": max_steps, "frames": frames, "fps": fps}, retry_errors=retry_errors,
            progress=progress,
        )  # fmt: skip
    if as_json:
        out.print_json((run_dir / "metrics.json").read_text(encoding="utf-8"))
    else:
        from vidscout.cli.render import bench_result

        bench_result(out, result)


class _RunProgress:
    """A Rich progress bar over the run's questions."""

    def __init__(self, *, enabled: bool) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=console, disable=not enabled,
        )  # fmt: skip
        self._task = self._progress.add_task("questions", total=None)
        self._enabled = enabled

    def __enter__(self) -> _RunProgress:
        self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.__exit__(None, None, None)

    def __call__(self, event: RunEvent) -> None:
        if event.kind == "start":
            self._progress.update(self._task, total=event.total, completed=event.done)
        elif event.kind == "video":
            self._progress.update(self._task, description=f"{event.video[:40]}")
        elif event.kind == "missing" and self._enabled:
            self._progress.console.print(f"[yellow]missing video[/] {event.video} ({event.done} questions)")
        elif event.kind == "answer" and event.prediction is not None:
            p = event.prediction
            self._progress.update(self._task, completed=event.done)
            if self._enabled:
                mark = "[green]✓[/]" if p.correct else "[red]✗[/]" if p.correct is False else "·"
                self._progress.console.print(
                    f"{mark} {p.id:<24} {p.parsed or '-'} (true {p.answer or '-'})  {p.answer_s:6.1f} s"
                    + (f"  [red]{p.error}[/]" if p.error else "")
                )


def make_needle(
    out_dir: Annotated[Path, typer.Argument(help="Folder for needle.json and videos/.")],
    minutes: Annotated[float, typer.Option(help="Length of the haystack.", min=3.0)] = 30.0,
    version: Annotated[
        int,
        typer.Option(
            help="2: paraphrased what/when/order/count questions over a haystack with distractor "
            "speech; 1: the original files, byte for byte (earlier numbers).",
            min=1,
            max=2,
        ),
    ] = 2,
    footage: Annotated[Path | None, typer.Option(help="Real footage to loop (default: Big Buck Bunny).")] = None,
    seed: Annotated[int, typer.Option(help="Draws facts, times, distractors and option order.")] = 0,
    speech: Annotated[
        int | None,
        typer.Option(
            help="Spoken needles asked about (v1 default 5; v2: minutes/5 from 20 minutes, at most 9).", min=0
        ),
    ] = None,
    text: Annotated[
        int | None,
        typer.Option(
            help="On-screen needles asked about (v1 default 5; v2: minutes/5 from 20 minutes, at most 8).", min=0
        ),
    ] = None,
    image: Annotated[
        int | None, typer.Option(help="Full-screen photos (v1 default 3; v2: 4-6 by seed).", min=0)
    ] = None,
    min_gap: Annotated[
        float | None,
        typer.Option(
            help="Seconds between the options of a when question (v1: and between needles; "
            "default 90 for v1, 60 for v2 from 20 minutes).",
            min=1,
        ),
    ] = None,
) -> None:
    """Build the needle-in-a-haystack benchmark from real footage, then print the command that runs it."""
    from vidscout.eval.tasks.needle import make_needle_benchmark

    given: dict[NeedleKind, int | None] = {"speech": speech, "text": text, "image": image}
    per_kind: dict[NeedleKind, int] | None = {k: v for k, v in given.items() if v is not None} or None
    if version == 1 and per_kind is not None:  # v1's defaults, in v1's order (it draws facts kind by kind)
        per_kind = {"speech": 5, "text": 5, "image": 3, **per_kind}
    with console.status("building the needle video (cached after the first time)..."):
        ann = make_needle_benchmark(
            out_dir, version=version, minutes=minutes, footage=footage, seed=seed,
            per_kind=per_kind, min_gap_s=min_gap,
        )  # fmt: skip
    doc = json.loads(ann.read_text(encoding="utf-8"))
    questions = doc["questions"] if isinstance(doc, dict) else doc
    forms: dict[str, int] = {}
    for q in questions:
        forms[q["form"]] = forms.get(q["form"], 0) + 1
    shape = ", ".join(f"{n} {form}" for form, n in forms.items())
    out.print(f"needle v{version}, seed {seed}: {len(questions)} questions ({shape}) in {ann}")
    out.print(f"run: vidscout bench needle --annotations {ann} --videos {ann.parent / 'videos'} --strategy retrieval")
