"""The MCP server: tools over a `VideoLibrary`, and the ingested videos' chapters as resources.

Run ``vidscout mcp --allow ~/Videos`` (stdio) or ``vidscout mcp --allow ~/Videos --http 8765`` (streamable HTTP at
``http://127.0.0.1:8765/mcp``). ``search``, ``transcript``, ``browse``, ``occurrences``, ``shown_while``, ``order``,
``recurrences`` and ``zoom_in`` are the agent's own tools
(`vidscout.tools`): their arguments are validated by the same models and their mistakes answered with the same
fix-it text, through `ToolRegistry.call`. ``ingest``, ``chapters`` and ``ask`` call the Python API.
"""

from __future__ import annotations

import base64
import functools
import json
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import anyio
import anyio.from_thread
import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError
from mcp_types import CallToolResult, ContentBlock, ImageContent, InputRequiredResult, TextContent, ToolAnnotations
from mcp_types import Resource as MCPResource
from mcp_types import Tool as MCPTool
from pydantic import BaseModel, Field, ValidationError

from vidscout.agent.trace import AnswerStep, ErrorStep, ObservationStep, Step, ThoughtStep, ToolCallStep, final_answer
from vidscout.api import Video
from vidscout.errors import VidScoutError
from vidscout.library import VideoLibrary
from vidscout.memory.build import ProgressFn
from vidscout.memory.chapters import ChapterSummary, chapter_summaries, contact_sheet
from vidscout.memory.store import VideoStore
from vidscout.tools.default import default_tools
from vidscout.tools.registry import invalid_arguments
from vidscout.types import Answer, format_hms, format_span

_VIDEO_HELP = (
    "The video file: an absolute path, or a path relative to an allowed directory "
    "(the vidscout://videos resource lists them)."
)
# `finish` belongs to the agent's own loop.
_AGENT_TOOLS = ("browse", "search", "transcript", "occurrences", "shown_while", "order", "recurrences", "zoom_in")


class VideoArgs(BaseModel):
    """Arguments of `ingest`."""

    video: str = Field(min_length=1, description=_VIDEO_HELP)


class ChaptersArgs(VideoArgs):
    """Arguments of `chapters`."""

    sheet: bool = Field(default=True, description="Also return a contact sheet image of each chapter's keyframes.")


class AskArgs(VideoArgs):
    """Arguments of `ask`."""

    question: str = Field(min_length=1, description="The question about the video, in plain words.")
    options: list[str] = Field(
        default_factory=list[str],
        description='Multiple-choice options, e.g. ["A. red", "B. blue"] (or bare texts); omit for an open question.',
    )
    strategy: Literal["agent", "retrieval", "kv", "frames"] = Field(
        default="agent",
        description="agent: a planner calls the tools and a self-check verifies the answer (tens of seconds on a "
        "CPU); retrieval: search alone, no language model (instant); kv and frames: see the vidscout docs.",
    )
    max_steps: int = Field(default=8, ge=1, le=30, description="Tool calls the agent may make.")


Handler = Callable[[dict[str, Any], Context], Awaitable[CallToolResult]]


@dataclass(frozen=True)
class _ToolSpec:
    name: str
    description: str
    schema: dict[str, Any]
    handler: Handler
    read_only: bool = True


class VidscoutMCP(MCPServer):
    """An `MCPServer` whose tools and resources come from a `VideoLibrary`.

    The tools are listed and called here rather than through ``@tool`` functions so that the agent's tools keep
    their own argument models and fix-it messages (the SDK would validate against a signature first).
    """

    def __init__(self, library: VideoLibrary) -> None:
        roots = ", ".join(str(r) for r in library.roots)
        super().__init__(
            name="vidscout",
            title="vidscout",
            instructions=(
                "Answers questions about long videos with timestamped evidence. Videos must be under: "
                f"{roots}. Call ingest once per new video (minutes for an hour of video; progress is reported), "
                "then browse, search, transcript, occurrences (how many times), shown_while (what was on screen while "
                "something was said, what is said while something is on screen, what is said next, what is said and "
                "shown at a time, the first or last words), order (which event comes "
                "first), recurrences (where a picture comes back) and zoom_in to look, or ask for an answer with "
                "evidence spans. "
                "Times are HH:MM:SS."
            ),
            log_level="WARNING",
        )
        self.library = library
        self._specs = {spec.name: spec for spec in self._tool_specs()}
        self._add_resources()

    # --- tools ----------------------------------------------------------------------------------

    def _tool_specs(self) -> list[_ToolSpec]:
        agent_tools = {t.name: t for t in default_tools()}  # what `Video.tools()` gives
        specs = [
            _ToolSpec("ingest", _doc(self._ingest), _schema(VideoArgs), self._ingest, read_only=False),
            _ToolSpec("chapters", _doc(self._chapters), _schema(ChaptersArgs), self._chapters),
        ]
        for name in _AGENT_TOOLS:
            tool = agent_tools[name]
            params = tool.parameters()
            schema = {
                **params,
                "properties": {"video": {"type": "string", "description": _VIDEO_HELP}, **params["properties"]},
                "required": ["video", *params.get("required", [])],
            }
            specs.append(_ToolSpec(name, tool.description, schema, functools.partial(self._agent_tool, name)))
        specs.append(_ToolSpec("ask", _doc(self._ask), _schema(AskArgs), self._ask))
        return specs

    async def list_tools(self) -> list[MCPTool]:
        """The vidscout tools (the SDK's own registry stays empty)."""
        return [
            MCPTool(
                name=spec.name,
                description=spec.description,
                input_schema=spec.schema,
                annotations=ToolAnnotations(read_only_hint=spec.read_only, idempotent_hint=True, open_world_hint=False),
            )
            for spec in self._specs.values()
        ]

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context | None = None
    ) -> CallToolResult | InputRequiredResult:
        """Run one tool; wrong arguments, refused paths and other `VidScoutError` come back as error results."""
        spec = self._specs.get(name)
        if spec is None:
            return _error(f"Error: there is no tool {name!r}. Call one of: {', '.join(self._specs)}.")
        try:
            return await spec.handler(dict(arguments), context or Context(mcp_server=self))
        except VidScoutError as e:
            return _error(f"Error: {e}")

    async def _agent_tool(self, name: str, arguments: dict[str, Any], ctx: Context) -> CallToolResult:
        video = arguments.pop("video", None)
        if not isinstance(video, str):
            return _error(f"Error: invalid arguments for {name}: video: a path is required ({_VIDEO_HELP})")

        def run() -> CallToolResult:
            with self.library.using(video) as handle:
                outcome = handle.tools().call(name, arguments, handle.context())
            structured = outcome.result.model_dump(mode="json") if outcome.ok and outcome.result is not None else None
            return CallToolResult(
                content=[TextContent(type="text", text=outcome.observation)],
                structured_content=structured,
                is_error=not outcome.ok,
            )

        return await anyio.to_thread.run_sync(run)

    async def _ingest(self, arguments: dict[str, Any], ctx: Context) -> CallToolResult:
        """Index a video (shots, chapters, speech, on-screen text, tags, embeddings) so the other tools can use it.

        Takes minutes for an hour of video on a CPU and reports progress per layer; a video already ingested
        returns at once. The other tools ingest on first use too, without progress.
        """
        args = _validate("ingest", VideoArgs, arguments)
        if isinstance(args, CallToolResult):
            return args
        report = _progress_reporter(ctx)

        def run() -> CallToolResult:
            with self.library.using(args.video, progress=ingest_progress(report)) as handle:
                key, duration_s = handle.store.root.name, handle.deps.duration_s
                clips, chapters = len(handle.store.segments("clip")), len(handle.chapters())
            text = (
                f"Ready: {handle.path} ({format_hms(duration_s)}), {chapters} chapters, {clips} clips. "
                "Use browse, search, transcript, occurrences, shown_while, order, recurrences, zoom_in or ask with "
                "this video."
            )
            info = {
                "video": str(handle.path), "id": key, "duration_s": duration_s, "clips": clips, "chapters": chapters,
                "resources": [f"vidscout://videos/{key}/chapters", f"vidscout://videos/{key}/chapters.png"],
            }  # fmt: skip
            return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=info)

        return await anyio.to_thread.run_sync(run)

    async def _chapters(self, arguments: dict[str, Any], ctx: Context) -> CallToolResult:
        """The video's chapters with times and short titles, and a contact sheet of their keyframes (an image)."""
        args = _validate("chapters", ChaptersArgs, arguments)
        if isinstance(args, CallToolResult):
            return args

        def run() -> CallToolResult:
            with self.library.using(args.video) as handle:
                summaries = chapter_summaries(handle.store)
                content: list[ContentBlock] = [TextContent(type="text", text=_chapter_text(summaries))]
                if args.sheet and summaries:
                    content.append(_png(_sheet_png(handle.store, summaries)))
            structured = {"chapters": [s.model_dump(mode="json") for s in summaries]}
            return CallToolResult(content=content, structured_content=structured)

        return await anyio.to_thread.run_sync(run)

    async def _ask(self, arguments: dict[str, Any], ctx: Context) -> CallToolResult:
        """Answer a question about the video with timestamped evidence and its provenance.

        Progress notifications carry the agent's steps as they happen. The result says whether the answer was
        verified by the self-check, whether it was forced (no accepted answer within the step budget), who chose
        a multiple-choice letter, and which strategy answered.
        """
        args = _validate("ask", AskArgs, arguments)
        if isinstance(args, CallToolResult):
            return args
        report = _progress_reporter(ctx)

        def run() -> Answer:
            with self.library.using(args.video) as handle:
                return _answer(handle, args, report)

        answer = await anyio.to_thread.run_sync(run)
        return CallToolResult(
            content=[TextContent(type="text", text=answer_text(answer))],
            structured_content=answer.model_dump(mode="json"),
            is_error=answer.error is not None,
        )

    # --- resources ------------------------------------------------------------------------------

    def _add_resources(self) -> None:
        @self.resource("vidscout://videos", name="videos", mime_type="application/json")
        def videos() -> str:  # pyright: ignore[reportUnusedFunction]
            """The video files under the allowed directories, with the id of those ingested."""
            return json.dumps(self.video_list(), indent=1)

        @self.resource("vidscout://videos/{key}/chapters", name="chapters", mime_type="application/json")
        def chapters(key: str) -> str:  # pyright: ignore[reportUnusedFunction]
            """The chapters of an ingested video: spans, titles, and the speech, text and tags they come from."""
            with self._store(key) as store:
                return json.dumps([s.model_dump(mode="json") for s in chapter_summaries(store)], indent=1)

        @self.resource("vidscout://videos/{key}/chapters.png", name="contact sheet", mime_type="image/png")
        def sheet(key: str) -> bytes:  # pyright: ignore[reportUnusedFunction]
            """A contact sheet of an ingested video: one row per chapter, its times, title and keyframes."""
            with self._store(key) as store:
                return _sheet_png(store, chapter_summaries(store))

        @self.resource("vidscout://videos/{key}/chapters/{index}.png", name="chapter sheet", mime_type="image/png")
        def chapter_sheet(key: str, index: str) -> bytes:  # pyright: ignore[reportUnusedFunction]
            """The keyframes of one chapter (numbered from 0) with its times and title."""
            with self._store(key) as store:
                chosen = [s for s in chapter_summaries(store) if str(s.index) == index]
                if not chosen:
                    raise ResourceError(f"The video has no chapter {index}; see vidscout://videos/{key}/chapters.")
                return _sheet_png(store, chosen)

    def _store(self, key: str) -> VideoStore:
        """The database ``key``, if its video is (still) under the allowed directories."""
        try:
            self.library.by_key(key)
        except VidScoutError as e:
            raise ResourceError(str(e)) from None
        return VideoStore.open(self.library.settings.videos_dir / key)

    def video_list(self) -> dict[str, Any]:
        """What the ``vidscout://videos`` resource holds: the allowed directories and their videos."""
        ingested = self._ingested()
        return {
            "allowed": [str(r) for r in self.library.roots],
            "videos": [
                {"video": str(v.path), "name": v.name, "size_bytes": v.size_bytes, "id": ingested.get(v.path)}
                for v in self.library.videos()
            ],
        }

    def _ingested(self) -> dict[Path, str]:
        """Database id per allowed video that has a complete database (from the databases, no hashing)."""
        found: dict[Path, str] = {}
        videos_dir = self.library.settings.videos_dir
        for db in sorted(videos_dir.glob("*/db.sqlite")) if videos_dir.is_dir() else []:
            with VideoStore.open(db.parent) as store:
                source, done = store.get_meta("source_path"), store.get_meta("ingest_complete")
            if not source or not done:
                continue
            try:
                found[self.library.resolve(str(source))] = db.parent.name
            except VidScoutError:
                continue
        return found

    async def list_resources(self) -> list[MCPResource]:
        """The static resources, then each ingested video's chapters and contact sheet."""
        static = await super().list_resources()
        found = await anyio.to_thread.run_sync(self._ingested)
        per_video: list[MCPResource] = []
        for path, key in found.items():
            per_video += [
                MCPResource(uri=f"vidscout://videos/{key}/chapters", name=f"{path.name} chapters",
                            description=f"Chapters of {path}", mime_type="application/json"),
                MCPResource(uri=f"vidscout://videos/{key}/chapters.png", name=f"{path.name} contact sheet",
                            description=f"Chapter keyframes of {path}", mime_type="image/png"),
            ]  # fmt: skip
        return [*static, *per_video]


def build_server(library: VideoLibrary) -> VidscoutMCP:
    """The MCP server for ``library``; run it with ``.run()`` (stdio) or ``.run("streamable-http", port=...)``."""
    return VidscoutMCP(library)


# --- helpers ----------------------------------------------------------------------------------


def _doc(fn: Callable[..., Any]) -> str:
    return " ".join((fn.__doc__ or "").split())


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    schema.pop("title", None)
    schema.pop("description", None)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)
    return schema


_M = TypeVar("_M", bound=BaseModel)


def _validate(name: str, model: type[_M], arguments: dict[str, Any]) -> _M | CallToolResult:
    try:
        return model.model_validate(arguments)
    except ValidationError as e:
        return _error(invalid_arguments(name, e))


def _error(text: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)


def _png(data: bytes) -> ImageContent:
    return ImageContent(type="image", data=base64.b64encode(data).decode("ascii"), mime_type="image/png")


def _sheet_png(store: VideoStore, summaries: list[ChapterSummary]) -> bytes:
    with tempfile.TemporaryDirectory(prefix="vidscout-sheet-") as tmp:
        return contact_sheet(store, summaries, Path(tmp) / "sheet.png").read_bytes()


def _progress_reporter(ctx: Context) -> Callable[[float, str], None]:
    """``report(progress, message)`` for worker threads: an MCP progress notification, when the client asked."""
    try:
        _ = ctx.request_context
    except ValueError:  # called in-process, outside a request
        return lambda progress, message: None

    def report(progress: float, message: str) -> None:
        anyio.from_thread.run(ctx.report_progress, progress, None, message)

    return report


def ingest_progress(report: Callable[[float, str], None]) -> ProgressFn:
    """An ingest `ProgressFn` that reports one number that only grows: the layers' fractions done, summed.

    MCP progress must increase with every notification, while layers count in their own units (seconds,
    frames, clips), start from zero one after another, and some interleave. ``report(progress, message)``
    gets a message like ``"speech 40%"``.
    """
    fractions: dict[str, float] = {}
    last = -1.0

    def progress(layer: str, done: float, total: float) -> None:
        nonlocal last
        fractions[layer] = max(fractions.get(layer, 0.0), min(1.0, done / total) if total > 0 else 1.0)
        value = round(sum(fractions.values()), 4)
        if value > last:
            last = value
            report(value, f"{layer} {fractions[layer]:.0%}")

    return progress


def _answer(video: Video, args: AskArgs, report: Callable[[float, str], None]) -> Answer:
    """`Video.iter_ask`, reporting each step as progress; reduced to the `Answer` as `Video.ask` does."""
    steps: list[Step] = []
    for step in video.iter_ask(args.question, options=args.options, strategy=args.strategy, max_steps=args.max_steps):
        steps.append(step)
        report(float(len(steps)), step_line(step))
    return final_answer(args.question, steps, strategy=args.strategy)


def step_line(step: Step, *, limit: int = 300) -> str:
    """One line for a step of answering: a thought, a call, the first line of an observation, the answer."""
    match step:
        case ThoughtStep():
            text = f"thought: {step.text}"
        case ToolCallStep():
            args = step.arguments if isinstance(step.arguments, str) else json.dumps(step.arguments)
            text = f"call {step.name}({args})"
        case ObservationStep():
            first = step.text.strip().splitlines()[0] if step.text.strip() else ""
            text = f"{step.name} {'→' if step.ok else 'error →'} {first}"
        case AnswerStep():
            text = f"answer: {step.answer}"
        case ErrorStep():
            text = f"error: {step.message}"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def answer_text(answer: Answer) -> str:
    """The answer, its evidence spans and its provenance, as an MCP client's model reads them."""
    if answer.error is not None:
        return f"No answer: {answer.error}"
    lines = [f"Answer: {answer.answer}"]
    if answer.option is not None:
        source = f" (chosen by {answer.option_source})" if answer.option_source else ""
        lines.append(f"Option: {answer.option}{source}")
    if answer.evidence:
        lines.append("Evidence:")
        lines += [f"- {e.label()}" for e in answer.evidence]
    verified = {True: "verified by the self-check", False: "the self-check disagreed", None: "not verified"}
    lines.append(
        f"Provenance: strategy {answer.strategy}, {answer.steps} tool calls, {verified[answer.verified]}"
        + ("; forced (no accepted answer within the step budget)" if answer.forced else "")
        + (f"; check: {answer.check_reason}" if answer.check_reason else "")
    )
    return "\n".join(lines)


def _chapter_text(summaries: list[ChapterSummary]) -> str:
    if not summaries:
        return "The video has no chapters yet."
    lines = [f"{len(summaries)} chapters:"]
    lines += [f"{s.index}. {format_span(s.span)} {s.title}" for s in summaries]
    lines.append("Browse a chapter's range for its clips, or search for a moment.")
    return "\n".join(lines)
