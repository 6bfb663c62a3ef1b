"""``vidscout direct``: a storyboard file or a one-line story → an mp4, a JSON sidecar and a storyboard strip.

Run ``vidscout direct storyboard.yaml -o out.mp4`` or ``vidscout direct "a red circle drifts left, then
a blue square falls" -o out.mp4`` (a story is planned by the embedded planner first).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from vidscout.errors import ConfigError
from vidscout.settings import Settings

if TYPE_CHECKING:
    from vidscout.generation.base import FrameChunk, GeneratorCapabilities
    from vidscout.generation.director import DirectorResult

console = Console(stderr=True)
out = Console()


def _plan(source: str, caps: GeneratorCapabilities, settings: Settings, llm_spec: str | None) -> DirectorResult:
    """A storyboard file is validated (and repaired with notes); anything else is a story for the planner."""
    from vidscout.generation.director import direct_story, load_storyboard, plan_storyboard
    from vidscout.models.registry import make_llm, resolve_specs

    path = Path(source)
    if path.suffix.lower() in (".yaml", ".yml", ".json"):
        if not path.is_file():
            raise ConfigError(f"No such storyboard: {path}")
        data = load_storyboard(path.read_text())
        llm = make_llm(llm_spec, settings) if llm_spec else None
        return plan_storyboard(data, caps, llm=llm)
    llm = make_llm(llm_spec or resolve_specs(settings)["llm"], settings)
    with console.status("planning the story…"):
        return direct_story(source, llm, caps)


def direct(
    source: Annotated[str, typer.Argument(help="A storyboard .yaml/.json file, or a one-line story in quotes.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The mp4 to write (JSON and PNG go beside it).")] = (
        Path("direct.mp4")
    ),
    generator: Annotated[str, typer.Option(help="Generator spec: embedded, longlive:<repo>?config=...")] = "embedded",
    llm: Annotated[str | None, typer.Option(help="Planner spec for stories and storyboard repairs.")] = None,
    seed: Annotated[int, typer.Option(help="Sampling seed.")] = 0,
    steps: Annotated[int | None, typer.Option(help="Denoising steps per block (default: the model's).")] = None,
    window: Annotated[int | None, typer.Option(help="Attention window in frames (default: the model's).")] = None,
    sink: Annotated[int | None, typer.Option(help="Attention sink in frames (default: the model's).")] = None,
    recache: Annotated[bool, typer.Option(help="Recompute the KV cache at a prompt switch.")] = True,
    verify: Annotated[bool, typer.Option(help="Inspect each shot and regenerate failing ones.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the sidecar JSON on stdout.")] = False,
) -> None:
    """Direct a video: plan shots, render them with an autoregressive generator, check the result."""
    from vidscout.generation.base import GeneratorKnobs
    from vidscout.generation.generate import OracleInspector, ShotInspector, VerifyOptions, VideoLLMInspector, render
    from vidscout.generation.registry import make_generator
    from vidscout.models.registry import Backends

    settings = Settings()
    gen = make_generator(generator, settings)
    result = _plan(source, gen.capabilities, settings, llm)
    for note in result.notes:
        console.print(f"[yellow]note[/]: {note}")
    knobs = GeneratorKnobs(steps=steps, window_frames=window, sink_frames=sink, recache=recache, seed=seed)
    # The embedded world has an exact oracle; other generators are checked by vidscout's own Video-LLM.
    inspector: ShotInspector | None = None
    if gen.capabilities.prompt_style == "grammar":
        inspector = OracleInspector()
    elif verify:
        inspector = VideoLLMInspector(Backends(settings).video_llm)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[info]}"))
    with Progress(*columns, TimeElapsedColumn(), console=console, disable=as_json) as progress:
        task = progress.add_task("blocks", total=result.timeline.n_blocks, info="")

        def on_block(chunk: FrameChunk, total: int) -> None:
            progress.update(task, advance=1, info=f"{chunk.latency_s * 1000:.0f} ms/block")

        report = render(result, gen, knobs, output, inspector=inspector,
                        verify=VerifyOptions() if verify else None, on_block=on_block)  # fmt: skip
    for note in report.notes[len(result.notes) :]:  # what the verify loop did
        console.print(f"[yellow]note[/]: {note}")
    if as_json:
        out.print_json(json.dumps(report.model_dump(mode="json")))
    else:
        from vidscout.cli.render import generation_summary

        out.print(generation_summary(report))
