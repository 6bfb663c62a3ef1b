"""All Rich rendering for the CLI lives here, so output is consistent and testable by capture."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from vidscout.agent.trace import AnswerStep, ObservationStep, Step, ThoughtStep, ToolCallStep
from vidscout.memory.build import IngestReport
from vidscout.types import Answer, format_hms

if TYPE_CHECKING:
    from vidscout.eval.runner import RunResult
    from vidscout.generation.generate import RenderReport
    from vidscout.serve.vllm import Check


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
    """Numbered search results with their spans, sources and snippets; under each, its clip's other words found."""
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
        for o in getattr(h, "others", ()):
            at = o.at or o.span
            table.add_row("", format_hms(at.start_s), format_hms(at.end_s), f"also {o.kind}", "", escape(o.text[:160]))
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
    if ix.retokenized:
        change += f", search terms of {ix.retokenized} documents made again"
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


class BackendRow(BaseModel, frozen=True):
    """One role's backend in one profile, and whether it can run here (``detail`` says why not)."""

    profile: str
    role: str
    spec: str
    available: bool
    detail: str
    active: bool


def server_checks(console: Console, checks: Sequence[Check]) -> None:
    """One row per check of a running server: whether it passed, what was seen, how long it took."""
    table = Table("check", "ok", "detail", "s")
    for c in checks:
        table.add_row(c.name, "[green]yes[/]" if c.ok else "[red]no[/]", c.detail, f"{c.seconds:.2f}")
    console.print(table)


def backend_table(console: Console, rows: Sequence[BackendRow], *, profile: str) -> None:
    """The backend of every role in every profile, and whether it can run here."""
    table = Table(title=f"Backends (active profile: {profile})", title_justify="left")
    for col in ("profile", "role", "spec", "here", "detail"):
        table.add_column(col, overflow="fold")
    for r in rows:
        mark = "[green]yes[/]" if r.available else "[red]no[/]"
        table.add_row(r.profile, r.role, r.spec, mark, r.detail)
    console.print(table)


def bench_result(console: Console, result: RunResult) -> None:
    """The metrics table, the counts and where the files are."""
    m = result.metrics
    title = f"{m.task} ({m.split}{', ' + m.setting if m.setting else ''}) - {result.spec.strategy}"
    table = Table(title=title, title_justify="left")
    for col in m.TABLE_HEADER:
        table.add_column(col, justify="right" if col != "metric" and col != "group" else "left")
    for row in m.to_table_rows():
        table.add_row(*row, style="bold" if row[1] == m.headline else None)
    console.print(table)
    stderr = f" ± {m.stderr:.1f} (s.e., {m.stderr_method})" if m.stderr is not None else ""
    wrong = f"{m.n_errors} error(s) and {m.n_unparsed - m.n_errors} unparsed reply(ies), counted wrong"
    console.print(f"{m.headline}: [bold]{m.headline_value:.1f}%[/]{stderr} on {m.n_scored} questions; {wrong}")
    if m.extractor:
        console.print(f"extractor: {m.extractor}")
    med = f"{result.median_answer_s:.2f} s" if result.median_answer_s is not None else "-"
    console.print(f"answered now {result.answered_now}, resumed {result.resumed}, errors {result.errors}, "
                  f"missing {result.missing_questions} (of {result.selected}); median {med} per question")  # fmt: skip
    for miss in result.missing:
        console.print(f"[yellow]missing[/] {miss.video}: {miss.questions} question(s) - {miss.reason}")
    for note in m.notes:
        console.print(f"[dim]note:[/] {note}")
    console.print(f"files: {result.out_dir}/predictions.jsonl, metrics.json, metrics.png, lmms_eval/")


def generation_summary(report: RenderReport) -> Table:
    """A Rich table: one row per shot (prompt, frames, oracle), then the run's totals."""
    table = Table(title=f"{report.video}: {report.n_frames} frames, {report.duration_s:.1f} s ({report.backend})")
    for col in ("shot", "in", "frames", "prompt", "oracle"):
        table.add_column(col)
    shots = report.metrics.shots if report.metrics else ()
    for seg, shot in zip(report.segments, shots or [None] * len(report.segments), strict=False):
        score = f"{shot.oracle_score:.2f}" if shot is not None and shot.oracle_score is not None else "-"
        table.add_row(seg["shot_id"], seg["transition"], f"{seg['frames'][0]}-{seg['frames'][1]}", seg["prompt"], score)
    m = report.metrics
    if m is not None:
        extra = [f"flicker {m.flicker:.4f}", f"false cuts {m.false_cuts}"]
        if m.cut_recall is not None:
            extra.append(f"cuts found {m.cut_recall:.0%}")
        if m.continue_jump_px is not None:
            extra.append(f"sprite jump at continue {m.continue_jump_px:.1f} px")
        if m.oracle_score is not None:
            extra.append(f"oracle {m.oracle_score:.2f} (chance {m.oracle_chance:.2f})")
        table.caption = " · ".join(extra)
    table.caption = (table.caption or "") + (
        f"\n{report.achieved_fps:.1f} frames/s = {report.realtime_factor:.2f}x real time; "
        f"sidecar {Path(report.video).with_suffix('.json')}"
    )
    return table
