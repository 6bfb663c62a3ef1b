"""The strategies by name, built on demand, and `answer_question`, which runs one to its `Answer`."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vidscout.agent.trace import final_answer, write_trajectory
from vidscout.answering.question import Question, Strategy
from vidscout.errors import ConfigError
from vidscout.tools.registry import VideoDeps
from vidscout.types import Answer


def answer_question(
    strategy: Strategy, deps: VideoDeps, question: Question, *, trajectory: Path | None = None
) -> Answer:
    """Run ``strategy`` to the end; save its steps as JSONL to ``trajectory`` when given."""
    steps = list(strategy.iter_answer(deps, question))
    if trajectory is not None:
        write_trajectory(trajectory, question.text, steps)
    return final_answer(question.text, steps, strategy=strategy.name)


def _agent() -> type[Strategy]:
    from vidscout.answering.agent import AgentStrategy

    return AgentStrategy


def _retrieval() -> type[Strategy]:
    from vidscout.answering.retrieval import RetrievalStrategy

    return RetrievalStrategy


def _kv() -> type[Strategy]:
    from vidscout.answering.kv import KVStrategy

    return KVStrategy


def _frames() -> type[Strategy]:
    from vidscout.answering.frames import FramesStrategy

    return FramesStrategy


STRATEGIES: dict[str, Callable[[], type[Strategy]]] = {
    "agent": _agent,
    "retrieval": _retrieval,
    "kv": _kv,
    "frames": _frames,
}
"""Strategy classes by name, imported on first use (the kv strategy pulls in torch and transformers)."""

STRATEGY_NAMES = tuple(STRATEGIES)

_ALIASES = {"direct": "frames"}  # the frames strategy's earlier name in `vidscout bench --strategy`


def make_strategy(name: str, **options: Any) -> Strategy:
    """Build strategy ``name`` with the keyword options it accepts (others, and None values, are ignored).

    Raises:
        ConfigError: Unknown strategy (the message lists the known ones).
    """
    key = _ALIASES.get(name, name)
    if key not in STRATEGIES:
        raise ConfigError(f"Unknown strategy {name!r}; available: {', '.join(STRATEGIES)}")
    cls = STRATEGIES[key]()
    accepted = set(inspect.signature(cls).parameters)
    return cls(**{k: v for k, v in options.items() if k in accepted and v is not None})
