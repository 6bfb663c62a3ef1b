"""Typed tools: a Pydantic args model, an injected `ToolContext`, a result that renders itself.

The context (the video's `VideoDeps` plus the question's state) never appears in the LLM-facing schema. A tool's
docstring and its args' ``Field`` descriptions *are* the spec the model reads. Invalid arguments,
unknown tools and `ToolRetry` become fix-it observations; real bugs propagate.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Protocol

from pydantic import BaseModel, BeforeValidator, ValidationError, WithJsonSchema

from vidscout.choices import option_letters
from vidscout.errors import ToolRetry
from vidscout.settings import Settings
from vidscout.tools.options import ToolOptions
from vidscout.types import format_hms, parse_time

if TYPE_CHECKING:
    from vidscout.memory.store import VideoStore
    from vidscout.models.registry import Backends
    from vidscout.retrieval.hybrid import SegmentSearcher
    from vidscout.retrieval.library import LibraryHit
    from vidscout.retrieval.search import HitKind
    from vidscout.video.decode import VideoInfo


# The schema advertises HH:MM:SS strings (the format of every observation), so a grammar-constrained
# planner can copy the times it reads; validation still accepts seconds from unconstrained models.
Seconds = Annotated[
    float,
    BeforeValidator(parse_time),
    WithJsonSchema({"type": "string", "pattern": "^[0-9]{1,2}:[0-5][0-9]:[0-5][0-9]$"}),
]
"""A time argument: the LLM may write HH:MM:SS or seconds; tools always get float seconds."""


class Observation(Protocol):
    """A tool result: renders the text the LLM sees (the single place times become HH:MM:SS)."""

    def to_observation(self) -> str:
        """Text for the LLM."""
        ...


@dataclass(frozen=True)
class VideoDeps:
    """One opened video's dependencies: what tools and answering strategies read, for every question alike."""

    path: Path
    info: VideoInfo
    store: VideoStore
    searcher: SegmentSearcher
    backends: Backends
    settings: Settings

    @classmethod
    def open(
        cls,
        path: Path,
        store: VideoStore,
        backends: Backends,
        *,
        info: VideoInfo | None = None,
        searcher: SegmentSearcher | None = None,
    ) -> VideoDeps:
        """The deps of an ingested video whose store is open (probing the file and opening search if not given)."""
        from vidscout.retrieval.hybrid import SegmentSearcher
        from vidscout.video.decode import probe

        if searcher is None:
            searcher = SegmentSearcher.open(
                store, text_embedder=backends.text_embedder, image_text_embedder=backends.image_text
            )
        return cls(
            path=path, info=info or probe(path), store=store, searcher=searcher, backends=backends,
            settings=backends.settings,
        )  # fmt: skip

    @property
    def duration_s(self) -> float:
        """Length of the indexed part of the video, seconds."""
        covered = self.store.get_meta("covered_s")
        return float(covered) if covered else self.info.duration_s


class LibraryScope(Protocol):
    """The videos of a library, for tools in library mode: search across them, then zoom into one."""

    def search(self, query: str, *, top_k: int = 8, kinds: Collection[HitKind] | None = None) -> list[LibraryHit]:
        """Hits across every video of the library, each naming its video."""
        ...

    def deps(self, video: str) -> VideoDeps:
        """The dependencies of one video, by its name in the library (or its path).

        Raises:
            ToolRetry: No video of the library has that name (the message lists them).
        """
        ...


@dataclass
class ToolContext:
    """What tools may use: the video's dependencies and this question's state. Never part of a tool's schema.

    In library mode (``library`` set) ``deps`` is the video the tools currently look at; `focus` changes it.
    """

    deps: VideoDeps
    question: str = ""
    options: tuple[str, ...] = ()
    tool_options: ToolOptions = field(default_factory=ToolOptions)
    library: LibraryScope | None = None

    def focus(self, video: str) -> None:
        """Library mode: look at ``video`` from now on (later calls without a video, and the answer's evidence).

        Raises:
            ToolRetry: Not in library mode, or no such video.
        """
        if self.library is None:
            raise ToolRetry("There is only one video here; leave out video.")
        self.deps = self.library.deps(video)

    @property
    def store(self) -> VideoStore:
        """The video's database."""
        return self.deps.store

    @property
    def searcher(self) -> SegmentSearcher:
        """Hybrid search over the video's clips."""
        return self.deps.searcher

    @property
    def backends(self) -> Backends:
        """The models."""
        return self.deps.backends

    @property
    def video(self) -> Path:
        """The video file."""
        return self.deps.path

    @property
    def info(self) -> VideoInfo:
        """What probing the video file found."""
        return self.deps.info

    @property
    def lettered_options(self) -> list[tuple[str, str]]:
        """The question's options as (letter, text) pairs; empty for an open question."""
        return option_letters(self.options)

    @property
    def duration_s(self) -> float:
        """Length of the indexed part of the video, seconds."""
        return self.deps.duration_s

    def check_span(self, start_s: float, end_s: float) -> tuple[float, float]:
        """Clamp a requested span to the video, or raise `ToolRetry` saying what is valid."""
        dur = self.duration_s
        if start_s < 0 or start_s >= dur:
            raise ToolRetry(f"start {format_hms(start_s)} is outside the video (00:00:00 to {format_hms(dur)}).")
        if end_s <= start_s:
            raise ToolRetry(f"end {format_hms(end_s)} must be after start {format_hms(start_s)}.")
        return start_s, min(end_s, dur)


ToolFn = Callable[[ToolContext, Any], Observation]


@dataclass(frozen=True)
class Tool:
    """One tool: name, LLM-facing description (the docstring), args model and function."""

    name: str
    description: str
    args_model: type[BaseModel]
    fn: ToolFn
    terminal: bool = False  # calling it ends the run (finish)

    def parameters(self, shape: ArgShape | None = None) -> dict[str, Any]:
        """JSON schema of the arguments, with refs inlined (grammar converters want that), adjusted by ``shape``."""
        params = _inline_refs(self.args_model.model_json_schema())
        return shape.apply(self.name, params) if shape is not None else params

    def openai_schema(self, shape: ArgShape | None = None) -> dict[str, Any]:
        """The OpenAI / vLLM ``tools`` entry."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters(shape)},
        }


class ArgShape(BaseModel, frozen=True):
    """Per-question adjustments of tool arguments, applied alike to the grammar, the tools list and the prompt.

    ``omit`` drops optional arguments that do not apply (finish's ``option`` on an open question), so a
    small model cannot fill them in; ``require`` makes arguments required with a narrower schema
    (finish's ``option`` as an enum of the question's letters), so it cannot leave them out.
    """

    omit: dict[str, tuple[str, ...]] = {}
    require: dict[str, dict[str, dict[str, Any]]] = {}

    def apply(self, tool: str, params: dict[str, Any]) -> dict[str, Any]:
        """``params`` of ``tool`` with this shape applied (a new dict)."""
        dropped = set(self.omit.get(tool, ()))
        pinned = self.require.get(tool, {})
        if not dropped and not pinned:
            return params
        props = {k: pinned.get(k, v) for k, v in params.get("properties", {}).items() if k not in dropped}
        props.update({k: v for k, v in pinned.items() if k not in props})
        required = [k for k in props if k in set(params.get("required", [])) | set(pinned)]
        return {**params, "properties": props, "required": required}


class ToolOutcome(BaseModel):
    """What one call produced: the observation text, and the result object when it succeeded."""

    name: str
    arguments: dict[str, Any] = {}
    observation: str
    ok: bool
    result: Any = None


class ToolRegistry:
    """An explicit, ordered table of tools."""

    def __init__(self, tools: Sequence[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for t in tools:
            self.add(t)

    def add(self, tool: Tool) -> None:
        """Register a tool; names are unique."""
        if tool.name in self._tools:
            raise ValueError(f"tool {tool.name!r} registered twice")
        self._tools[tool.name] = tool

    def tool(
        self, args_model: type[BaseModel], *, name: str | None = None, terminal: bool = False
    ) -> Callable[[ToolFn], ToolFn]:
        """Decorator: register ``fn(ctx, args)`` with its docstring as the description."""

        def wrap(fn: ToolFn) -> ToolFn:
            doc = " ".join((fn.__doc__ or "").split())
            self.add(Tool(name or fn.__name__, doc, args_model, fn, terminal))
            return fn

        return wrap

    def __iter__(self) -> Iterator[Tool]:
        return iter(self._tools.values())

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def get(self, name: str) -> Tool:
        """The tool called ``name`` (KeyError when unknown)."""
        return self._tools[name]

    @property
    def names(self) -> list[str]:
        """Tool names in registration order."""
        return list(self._tools)

    def subset(self, names: Sequence[str]) -> ToolRegistry:
        """A registry with only these tools (e.g. only `finish` on the last step)."""
        return ToolRegistry([self._tools[n] for n in names if n in self._tools])

    def openai_tools(self, shape: ArgShape | None = None) -> list[dict[str, Any]]:
        """All tools as OpenAI ``tools`` entries."""
        return [t.openai_schema(shape) for t in self]

    def call_schema(self, shape: ArgShape | None = None) -> dict[str, Any]:
        """One JSON schema for "a thought plus exactly one valid tool call" (constrained decoding)."""
        variants: list[dict[str, Any]] = [
            {
                "type": "object",
                "properties": {"tool": {"const": t.name}, "args": t.parameters(shape)},
                "required": ["tool", "args"],
            }
            for t in self
        ]
        return {
            "type": "object",
            "properties": {"thought": {"type": "string"}, "call": {"anyOf": variants}},
            "required": ["thought", "call"],
        }

    def call(self, name: str, arguments: str | dict[str, Any], ctx: ToolContext) -> ToolOutcome:
        """Validate and run one call; every model-side mistake becomes a fix-it observation."""
        if name not in self._tools:
            return ToolOutcome(
                name=name,
                ok=False,
                observation=f"Error: there is no tool {name!r}. Call one of: {', '.join(self.names)}.",
            )
        tool = self._tools[name]
        if isinstance(arguments, str):
            try:
                parsed = json.loads(arguments or "{}")
            except json.JSONDecodeError as e:
                return ToolOutcome(
                    name=name,
                    ok=False,
                    observation=f"Error: the arguments of {name} are not valid JSON ({e.msg}). "
                    f"Send a JSON object matching: {json.dumps(tool.parameters()['properties'])}",
                )
        else:
            parsed = arguments
        if not isinstance(parsed, dict):
            return ToolOutcome(
                name=name, ok=False, observation=f"Error: the arguments of {name} must be a JSON object."
            )
        try:
            args = tool.args_model.model_validate(parsed)
        except ValidationError as e:
            return ToolOutcome(name=name, arguments=parsed, ok=False, observation=invalid_arguments(name, e))
        try:
            result = tool.fn(ctx, args)
        except ToolRetry as e:
            return ToolOutcome(name=name, arguments=parsed, ok=False, observation=f"Error: {e}")
        return ToolOutcome(name=name, arguments=parsed, ok=True, observation=result.to_observation(), result=result)


def invalid_arguments(name: str, error: ValidationError) -> str:
    """The fix-it text for arguments of tool ``name`` that failed validation: each field and what is wrong."""
    problems = "; ".join(f"{'.'.join(str(p) for p in err['loc']) or 'args'}: {err['msg']}" for err in error.errors())
    return f"Error: invalid arguments for {name}: {problems}. Fix them and call again."


def _inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    defs = schema.get("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(defs[str(node["$ref"]).rsplit("/", 1)[-1]])
            return {k: resolve(v) for k, v in node.items() if k not in ("$defs", "title")}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    return resolve(schema)
