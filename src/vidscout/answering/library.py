"""Answering a question about a library: pick the videos by library search, then answer with evidence naming them.

``retrieval``: the library's top hits are the answer and its evidence (multiple choice: the options are scored
in the best-matching video). ``agent``: the planner runs with the library tools (`vidscout.tools.library`) over
the videos the search picked, starting in the best one; its evidence is in the video it looked at last.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from typing import Protocol

from vidscout.agent.loop import AgentOptions, iter_steps
from vidscout.agent.trace import AnswerStep, ObservationStep, Step, ToolCallStep
from vidscout.answering.question import Question
from vidscout.answering.retrieval import RetrievalStrategy
from vidscout.errors import ConfigError, ToolRetry
from vidscout.retrieval.library import LibraryHit
from vidscout.retrieval.search import HitKind
from vidscout.tools.library import LibrarySearchResult, library_tools
from vidscout.tools.options import ToolOptions
from vidscout.tools.registry import LibraryScope, ToolContext, VideoDeps
from vidscout.types import Evidence

LIBRARY_STRATEGIES = ("agent", "retrieval")


class AnswerLibrary(LibraryScope, Protocol):
    """A library as answering sees it: search across, the videos by name, and each video's dependencies."""

    def video_names(self) -> list[str]:
        """Every video's name, in the library's order."""
        ...

    def video_name(self, video: str) -> str:
        """The library's name of ``video`` (a name, a path or a file name).

        Raises:
            ToolRetry: No video of the library is called that (the message lists them).
        """
        ...

    def pick_videos(self, query: str, *, top_k: int) -> list[str]:
        """The names of the videos whose clips match ``query`` best, best first (none when nothing matches)."""
        ...


class _Picked:
    """A library narrowed to the videos picked for a question: the agent searches and opens only those."""

    def __init__(self, library: AnswerLibrary, names: Sequence[str]) -> None:
        self._library = library
        self._names = list(names)

    def search(self, query: str, *, top_k: int = 8, kinds: Collection[HitKind] | None = None) -> list[LibraryHit]:
        # Over-fetch: hits in videos that were not picked are dropped.
        hits = self._library.search(query, top_k=top_k * 3, kinds=kinds)
        return [h for h in hits if h.video_name in self._names][:top_k]

    def deps(self, video: str) -> VideoDeps:
        name = self._library.video_name(video)
        if name not in self._names:
            raise ToolRetry(f"{video!r} is not one of the videos picked for this question: {', '.join(self._names)}.")
        return self._library.deps(name)


def iter_library_answer(
    library: AnswerLibrary,
    question: Question,
    *,
    strategy: str = "agent",
    videos: int = 3,
    top_k: int = 5,
    agent: AgentOptions | None = None,
    max_steps: int | None = None,
    tool_options: ToolOptions | None = None,
) -> Iterator[Step]:
    """Stream the steps of answering ``question`` about the library; every evidence span names its video.

    Args:
        library: The library.
        question: The question.
        strategy: ``agent`` or ``retrieval``.
        videos: How many of the best-matching videos the agent may look at.
        top_k: Hits read by the library search.
        agent: Knobs of the agent (``max_steps`` overrides theirs).
        max_steps: Tool calls the agent may make.
        tool_options: Knobs of the tools.

    Raises:
        ConfigError: Another strategy, or a library without videos.
    """
    if strategy not in LIBRARY_STRATEGIES:
        raise ConfigError(f"A library is answered by {' or '.join(LIBRARY_STRATEGIES)}, not {strategy!r}.")
    names = library.video_names()
    if not names:
        raise ConfigError("The library has no videos; add some with `vidscout ingest DIR --library NAME`.")
    if strategy == "retrieval":
        yield from _retrieval(library, question, top_k=top_k)
        return
    picked = library.pick_videos(question.text, top_k=videos) or names[:videos]
    opts = agent or AgentOptions()
    if max_steps is not None:
        opts = opts.model_copy(update={"max_steps": max_steps})
    deps = library.deps(picked[0])
    ctx = ToolContext(deps, question=question.text, options=question.options,
                      tool_options=tool_options or ToolOptions(), library=_Picked(library, picked))  # fmt: skip
    for step in iter_steps(question.text, ctx, deps.backends.llm, library_tools(), options=opts):
        yield _in_video(step, str(ctx.deps.path)) if isinstance(step, AnswerStep) else step


def _retrieval(library: AnswerLibrary, question: Question, *, top_k: int) -> Iterator[Step]:
    args = {"query": question.text, "top_k": top_k}
    yield ToolCallStep(step=0, name="search", arguments=args, call_id="library")
    hits = library.search(question.text, top_k=top_k)
    text = LibrarySearchResult(query=question.text, hits=hits).to_observation() if hits else "Nothing matches."
    yield ObservationStep(step=0, name="search", text=text, ok=bool(hits))
    if question.options:
        # Options are scored against one video's evidence: the one the question matches best.
        best = hits[0].video_name if hits else library.video_names()[0]
        deps = library.deps(best)
        for step in RetrievalStrategy(top_k=top_k).iter_answer(deps, question):
            yield _in_video(step, str(deps.path)) if isinstance(step, AnswerStep) else step
        return
    if not hits:
        yield AnswerStep(step=0, answer="Nothing in the library's videos matches the question.", forced=True)
        return
    yield AnswerStep(
        step=0,
        answer=hits[0].text,
        evidence=tuple(Evidence(span=h.span, note=h.kind, video=str(h.video)) for h in hits[:3]),
        check_reason="not checked: retrieval has no self-check",
    )


def _in_video(step: AnswerStep, video: str) -> AnswerStep:
    """The answer with its evidence marked as being in ``video``."""
    evidence = tuple(e if e.video else e.model_copy(update={"video": video}) for e in step.evidence)
    return step.model_copy(update={"evidence": evidence})
