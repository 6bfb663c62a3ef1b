"""The ``kv`` strategy: answer from retrieved per-clip KV caches (`vidscout.kv`, ReKV-style)."""

from __future__ import annotations

from collections.abc import Iterator

from vidscout.agent.trace import AnswerStep, ErrorStep, Step
from vidscout.answering.question import Question
from vidscout.errors import BackendError, ConfigError
from vidscout.tools.registry import VideoDeps


class KVStrategy:
    """Retrieve clips, splice their cached keys/values after the prompt prefix, prefill only the question."""

    name = "kv"

    def __init__(self) -> None:
        """Import the KV package now (torch, transformers), so a missing one fails before any video is opened."""
        try:
            from vidscout.kv import answer_with_kv
        except ImportError as e:
            raise ConfigError(f"The kv strategy needs vidscout.kv, which failed to import: {e}") from e
        self._answer = answer_with_kv

    def iter_answer(self, deps: VideoDeps, question: Question) -> Iterator[Step]:
        """One step: the decoded answer with its clips as evidence."""
        try:
            a = self._answer(deps, question.text, question.options)
        except BackendError as e:
            yield ErrorStep(step=0, message=str(e))
            return
        yield AnswerStep(
            step=0, answer=a.answer, option=a.option, evidence=a.evidence, option_source=a.option_source,
            check_reason="not checked: the kv strategy has no self-check",
        )  # fmt: skip
