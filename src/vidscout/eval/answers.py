"""Benchmarks' own answer extractors (pure functions), next to the project's `parse_choice`.

`vidscout.choices.parse_choice` is the project's robust parser; `extract_videomme_official` is
Video-MME's own extractor, kept verbatim in behaviour for numbers comparable with its leaderboard.
"""

from __future__ import annotations

import re

from vidscout.choices import LETTERS, letters, parse_choice

__all__ = ["LETTERS", "extract_videomme_official", "letters", "parse_choice"]

_VIDEOMME_PREFIXES = (
    "The best answer is",
    "The correct answer is",
    "The answer is",
    "The answer",
    # The official list misses two commas, so these pairs are concatenated and (almost) never match.
    "The best option isThe correct option is",
    "Best answer:Best option:",
)


def extract_videomme_official(reply: str | None) -> str | None:
    """Video-MME's ``extract_characters_regex`` (eval_your_results.py), bugs included.

    Strips a few answer prefixes, treats a reply of more than 10 words without any of A–D as
    unanswered, and otherwise takes the *first* capital A–D anywhere (so "Based on ..." gives "B").

    Args:
        reply: The model's reply.

    Returns:
        The extracted letter, or None where the official scorer counts the question as unanswered.
    """
    if reply is None:
        return None
    s = reply.strip()
    for prefix in _VIDEOMME_PREFIXES:
        s = s.replace(prefix, "")
    if len(s.split()) > 10 and not re.search(r"[ABCD]", s):
        return None
    m = re.search(r"[ABCD]", s)
    return m.group(0) if m else None
