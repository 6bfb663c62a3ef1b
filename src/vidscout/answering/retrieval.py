"""The ``retrieval`` strategy: the database's search alone answers, no LLM.

The baseline every agent run is compared with. Multiple choice: `vidscout.retrieval.choice.choose` scores
each option against the evidence of the question's top hits. Open questions: the top hit's evidence text is
the answer and its span the time.
"""

from __future__ import annotations

from collections.abc import Iterator

from vidscout.agent.trace import AnswerStep, ObservationStep, Step, ToolCallStep
from vidscout.answering.question import Question
from vidscout.choices import LETTERS
from vidscout.retrieval.choice import choose
from vidscout.tools.registry import VideoDeps
from vidscout.tools.search import SearchResult
from vidscout.types import Evidence


class RetrievalStrategy:
    """Search picks the answer: the best-supported option, or the top hit's evidence for an open question."""

    name = "retrieval"

    def __init__(self, *, top_k: int = 5) -> None:
        """Read the evidence of the question's ``top_k`` hits."""
        self.top_k = top_k

    def iter_answer(self, deps: VideoDeps, question: Question) -> Iterator[Step]:
        """One search, then the answer it supports."""
        args = {"query": question.text, "top_k": self.top_k}
        yield ToolCallStep(step=0, name="search", arguments=args, call_id="retrieval")
        hits = deps.searcher.search(question.text, top_k=self.top_k)
        text = SearchResult(query=question.text, hits=hits).to_observation() if hits else "Nothing matches."
        yield ObservationStep(step=0, name="search", text=text, ok=bool(hits))
        if question.options:
            choice = choose(question.text, question.options, deps.searcher, deps.store,
                            text_embedder=deps.backends.text_embedder, top_k=self.top_k, hits=hits)  # fmt: skip
            yield AnswerStep(
                step=0,
                answer=question.options[choice.index],
                option=LETTERS[choice.index],
                evidence=tuple(Evidence(span=s) for s in choice.evidence),
                option_source="retrieval",
                check_reason="not checked: retrieval has no self-check",
            )
            return
        if not hits:
            yield AnswerStep(step=0, answer="Nothing in the video's database matches the question.", forced=True)
            return
        top = hits[0]
        yield AnswerStep(
            step=0,
            answer=top.text,
            evidence=(Evidence(span=top.at or top.span, note=top.kind),),
            check_reason="not checked: retrieval has no self-check",
        )
