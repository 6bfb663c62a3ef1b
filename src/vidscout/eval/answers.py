"""Turn a model's free-text reply into an option letter (pure functions).

`vidscout.choices.parse_choice` is vidscout's own lenient parser (``--extractor lenient``). The ``extract_*_official``
functions reproduce each benchmark's own answer handling, quirks included, so that scores compare
with its leaderboard; they are the default (``--extractor official``). Each returns an option letter,
or None where the official code could never count the reply as right.
"""

from __future__ import annotations

import re

from vidscout.choices import LETTERS, letters, parse_choice

__all__ = [
    "LETTERS", "extract_lvbench_official", "extract_mlvu_official", "extract_mlvu_test_official",
    "extract_videomme_official", "letters", "parse_choice",
]  # fmt: skip

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


def extract_mlvu_official(reply: str | None, n_options: int) -> str | None:
    """MLVU's ``check_ans`` (JUNJIE99/MLVU evaluation/multiple_choice_evaluation/choice_bench.py @fd060c1).

    The official prompt ends in "Best Option: (", so a reply reads "B) ...". If the reply holds a ")",
    the one character before the *first* ")" is the answer ("B) x" and "(B) x" give "B", ")B" gives
    nothing); otherwise the whole reply must be the letter, with no space, dot or lower case ("B" but
    not " B", "B." or "b"). The comparison is case-sensitive.

    Args:
        reply: The model's reply; None (no reply) is never right.
        n_options: How many options the question has.

    Returns:
        The letter the official code compares with the answer key, or None when what it compares is
        no option letter (the question then counts as wrong).
    """
    if reply is None:
        return None
    said = reply
    if ")" in reply:
        at = reply.index(")")
        said = reply[at - 1 : at] if at > 0 else ""  # official: reply[-1:0] == "" for a leading ")"
    return said if len(said) == 1 and said in letters(n_options) else None


def extract_mlvu_test_official(reply: str | None, n_options: int) -> str | None:
    """The answer MLVU-Test's official script submits (JUNJIE99/MLVU evaluation_test/test_bench.py @fd060c1).

    The reply is stripped and, if it holds a ")", cut before the first one and stripped again; that
    text is the ``option`` sent to MLVU's evaluation server ("B) x" and " B " give "B", "(B) x" gives
    "(B"). The server's comparison is not published; this assumes it is equality with the letter.

    Returns:
        The submitted text when it is an option letter, else None (the question counts as wrong).
    """
    if reply is None:
        return None
    said = reply.strip()
    if ")" in said:
        said = said[: said.index(")")].strip()
    return said if len(said) == 1 and said in letters(n_options) else None


def extract_lvbench_official(reply: str | None, n_options: int) -> str | None:
    """LVBench's ``polish_answer`` (THUDM/LVBench lvbench/utils/answer_util.py @f998d95).

    Cuts the reply at its first ")", keeps what follows a "(" in that part (up to any second "("),
    then returns the first character of its first space-separated word. So "(C) text", "C) text",
    "C" and "Answer: (C" give "C", but "Based on the video, C" gives "B" and "The answer is C" gives
    "T" (no option). The official ``compute_accuracy`` then compares that character with the answer
    letter, case-sensitively.

    Args:
        reply: The model's reply; None (no reply) is never right.
        n_options: How many options the question has.

    Returns:
        That character when it is an option letter, else None (the question counts as wrong).
    """
    if reply is None:
        return None
    text = reply.strip().split(")")[0].strip()
    if "(" in text:
        text = text.split("(")[1].strip()
    first = text.split(" ")[0][:1]
    return first if first and first in letters(n_options) else None
