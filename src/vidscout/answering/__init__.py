"""One answering layer: every way of answering a question about a video returns the same `Answer`.

``agent`` (the planner over typed tools), ``retrieval`` (search alone, no LLM), ``kv`` (spliced per-clip KV
caches) and ``frames`` (one Video-LLM call on frames sampled over the whole video, the lmms-eval-style
baseline). `vidscout.api.Video.ask`, the CLI, the benchmark runner and the LangChain adapter all answer
through `make_strategy(name).iter_answer(deps, question)`.
"""

from __future__ import annotations

from vidscout.answering.question import MAX_QUESTION_CHARS, Question, Strategy
from vidscout.answering.registry import STRATEGY_NAMES, answer_question, make_strategy

__all__ = ["MAX_QUESTION_CHARS", "STRATEGY_NAMES", "Question", "Strategy", "answer_question", "make_strategy"]
