"""All Rich rendering for the CLI lives here, so output is consistent and testable by capture."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from vidscout.agent.trace import AnswerStep, ObservationStep, Step, ThoughtStep, ToolCallStep
from vidscout.memory.build import IngestReport
from vidscout.types import Answer, format_hms


def ingest_summary(console: Console, report: IngestReport) -> None:
    """A table of layers with status, time and statistics, then the overall ratio."""
    table = Table(title=f"Ingested {report.video.path}", title_justify="left")
    for col in ("layer", "status", "seconds", "result"):
        table.add_column(col)
    for layer in report.layers:
        stats = ", ".join(f"{k}={v}" for k, v in layer.stats.items())
        table.add_row(layer.name, layer.status, f"{layer.seconds:.1f}", stats)
    console.print(table)
    ratio = report.wall_s / max(report.video.duration_s, 1e-9)
    console.print(
        f"video {format_hms(report.video.duration_s)} ({report.video.duration_s:.1f}s), "
        f"wall {report.wall_s:.1f}s, ratio {ratio:.3f}x real time; store {report.store}"
    )
    if report.covered_s < report.video.duration_s - 1.0:
        console.print(
            f"[yellow]warning:[/] only {report.covered_s:.1f}s of {report.video.duration_s:.1f}s could be "
            "decoded; the database covers the decodable part."
        )
    for name, why in report.repaired.items():
        console.print(f"[yellow]repaired:[/] {name} ({why})")
    if report.moved_aside:
        console.print(f"the previous database was moved to {report.moved_aside}")


def store_info(console: Console, info: dict[str, Any], *, max_rows: int = 40) -> None:
    """Human view of `describe_store` output."""
    v = info["video"]
    size = f"{v.get('width')}x{v.get('height')}"
    console.print(
        f"[bold]{info['source_path']}[/]  {format_hms(v.get('duration_s', 0))}  {size}"
        f" @ {v.get('fps', 0):.2f} fps  audio: {v.get('audio_codec') or 'none'}"
    )
    console.print(f"store {info['store']}  complete: {info['complete']}  indexes: {info['indexes']}")
    for name, why in info.get("damaged", {}).items():
        console.print(f"[yellow]damaged:[/] {name}: {why}; `vidscout ingest` rebuilds it")
    layers = Table(title="Layers", title_justify="left")
    for col in ("layer", "backend", "done", "seconds", "stats"):
        layers.add_column(col)
    for layer in info["layers"]:
        done = "yes" if layer["done"] else f"{layer['progress']:.0%}"
        stats = ", ".join(f"{k}={val}" for k, val in layer["stats"].items())
        layers.add_row(layer["name"], layer["spec"], done, f"{layer['seconds']:.1f}", stats)
    console.print(layers)
    _spans(console, "Chapters", info["chapters"], max_rows)
    _spans(console, "Shots", info["shots"], max_rows)
    sp = info["speech"]
    console.print(f"[bold]Speech[/] {sp['seconds']:.0f}s ({sp['coverage']:.0%} of the video)")
    for s in sp["segments"][:max_rows]:
        console.print(f"  {format_hms(s['start_s'])}-{format_hms(s['end_s'])}  {s['text']}")
    console.print(f"[bold]On-screen text[/] {len(info['ocr'])} lines")
    for o in info["ocr"][:max_rows]:
        console.print(f"  {format_hms(o['t_s'])}  {o['text']}")


def _spans(console: Console, title: str, spans: list[dict[str, Any]], max_rows: int) -> None:
    table = Table(title=f"{title} ({len(spans)})", title_justify="left")
    for col in ("#", "start", "end", "start_s", "end_s"):
        table.add_column(col, justify="right")
    for s in spans[:max_rows]:
        table.add_row(str(s["index"]), format_hms(s["start_s"]), format_hms(s["end_s"]),
                      f"{s['start_s']:.2f}", f"{s['end_s']:.2f}")  # fmt: skip
    if len(spans) > max_rows:
        table.add_row("…", "", "", "", "")
    console.print(table)


def agent_step(console: Console, step: Step, *, observation_lines: int = 6) -> None:
    """One streamed agent step: thoughts dim, calls cyan, observations cut to a few lines."""
    if isinstance(step, ThoughtStep):
        console.print(f"[dim]{step.step:>2} thought:[/] {escape(step.text)}")
    elif isinstance(step, ToolCallStep):
        args = step.arguments if isinstance(step.arguments, str) else json.dumps(step.arguments, ensure_ascii=False)
        console.print(f"[cyan]{step.step:>2} → {escape(step.name)}[/]({escape(args)})")
    elif isinstance(step, ObservationStep):
        lines = step.text.splitlines()
        shown = "\n".join(lines[:observation_lines]) + (
            f"\n… ({len(lines) - observation_lines} more lines)" if len(lines) > observation_lines else ""
        )
        style = "dim" if step.ok else "yellow"
        console.print(f"[{style}]{escape(shown)}[/]")
    elif isinstance(step, AnswerStep):
        pass  # the final answer is rendered once, by `answer`
    else:
        console.print(f"[bold red]error:[/] {escape(step.message)}")


def answer(console: Console, result: Answer) -> None:
    """The final answer with its option letter, evidence spans and provenance.

    An answer the self-check refuted, or one the loop substituted, is labelled as such, never shown plain.
    """
    if result.error:
        console.print(f"[bold red]No answer:[/] {escape(result.error)}")
        return
    head = f"({result.option}) " if result.option else ""
    label, style = "Answer", "bold green"
    if result.verified is False:
        label, style = "Unverified answer", "bold yellow"
    elif result.forced:
        label, style = "Best-effort answer", "bold yellow"
    console.print(f"[{style}]{label}:[/] {escape(head + result.answer)}")
    for ev in result.evidence:
        console.print(f"  [green]evidence[/] {escape(ev.label())}")
    console.print(f"[dim]{escape(', '.join(provenance_notes(result)))}[/]")


def provenance_notes(result: Answer) -> list[str]:
    """Plain-words provenance of an answer: strategy, calls, self-check verdict, where the letter came from."""
    notes = [f"{result.strategy}", f"{result.steps} tool calls"]
    if result.verified is True:
        notes.append("self-check: supported")
    elif result.verified is False:
        notes.append("self-check: NOT supported" + (f" ({result.check_reason})" if result.check_reason else ""))
    elif result.strategy == "agent":
        notes.append("self-check: " + (result.check_reason or "not run"))
    if result.forced:
        notes.append("no accepted finish: best effort")
    if result.option_source == "answer_text":
        notes.append("option read from the answer text")
    elif result.option_source == "retrieval" and result.strategy != "retrieval":
        notes.append("option from the retrieval fallback")
    return notes


def search_hits(console: Console, hits: list[Any]) -> None:
    """Numbered search results with their spans, sources and snippets."""
    if not hits:
        console.print("[yellow]No matching segments.[/]")
        return
    table = Table(title_justify="left")
    for col in ("#", "start", "end", "kind", "score", "text"):
        table.add_column(col, overflow="fold")
    for i, h in enumerate(hits, 1):
        table.add_row(
            str(i), format_hms(h.span.start_s), format_hms(h.span.end_s), h.kind, f"{h.score:.3f}", escape(h.text[:160])
        )
    console.print(table)


def image_hits(console: Console, hits: list[Any]) -> None:
    """Numbered appearances of a picture: span, best keyframe, similarity."""
    if not hits:
        console.print("[yellow]The picture does not appear in the video (no keyframe is similar enough).[/]")
        return
    table = Table(title_justify="left")
    for col in ("#", "start", "end", "best frame", "similarity", "keyframes"):
        table.add_column(col)
    for i, h in enumerate(hits, 1):
        table.add_row(str(i), format_hms(h.span.start_s), format_hms(h.span.end_s), format_hms(h.best_t_s),
                      f"{h.score:.3f}", str(h.frames))  # fmt: skip
    console.print(table)


def chapter_list(console: Console, chapters: list[Any]) -> None:
    """``HH:MM:SS-HH:MM:SS  title`` per chapter."""
    for ch in chapters:
        console.print(f"[bold]{format_hms(ch.span.start_s)}-{format_hms(ch.span.end_s)}[/]  {escape(ch.title)}")


def ingest_rows(console: Console, rows: list[Any], *, title: str) -> None:
    """One row per video of a batch ingest: status, seconds, length, documents, keyframes, and any error."""
    table = Table(title=title, title_justify="left")
    for col in ("video", "status", "seconds", "length", "docs", "keyframes", "error"):
        table.add_column(col, overflow="fold")
    style = {"failed": "red", "removed": "yellow", "duplicate": "yellow"}
    for r in rows:
        status = f"[{style[r.status]}]{r.status}[/]" if r.status in style else r.status
        length = format_hms(r.duration_s) if r.duration_s else ""
        docs, frames = (str(r.documents), str(r.keyframes)) if r.status in ("ingested", "cached") else ("", "")
        table.add_row(escape(r.name), status, f"{r.seconds:.1f}", length, docs, frames, escape(r.error or ""))
    console.print(table)


def library_update(console: Console, update: Any) -> None:
    """The per-video table of `vidscout ingest --library`, then the library and its index in one line each."""
    ingest_rows(console, update.rows, title=f"Library {update.library}")
    counts: dict[str, int] = {}
    for r in update.rows:
        counts[r.status] = counts.get(r.status, 0) + 1
    done = ", ".join(f"{n} {status}" for status, n in counts.items())
    how = "on Ray" if update.runner == "ray" else f"with {update.workers} worker{'s' if update.workers != 1 else ''}"
    console.print(f"{done}; wall {update.wall_s:.1f}s {how}")
    ix = update.index
    change = f"+{len(ix.added)} -{len(ix.removed)} videos" + (f" (rebuilt: {ix.why_rebuilt})" if ix.rebuilt else "")
    console.print(
        f"library {update.library}: {update.members} videos, index {ix.docs} documents + {ix.frames} keyframes "
        f"({change}); {update.root}"
    )


def library_hits(console: Console, hits: list[Any]) -> None:
    """Numbered hits across a library: video, span, kind, score and snippet."""
    if not hits:
        console.print("[yellow]No matching segments in the library.[/]")
        return
    table = Table(title_justify="left")
    for col in ("#", "video", "start", "end", "kind", "score", "text"):
        table.add_column(col, overflow="fold")
    for i, h in enumerate(hits, 1):
        table.add_row(str(i), escape(h.video_name), format_hms(h.span.start_s), format_hms(h.span.end_s), h.kind,
                      f"{h.score:.3f}", escape(h.text[:160]))  # fmt: skip
    console.print(table)
