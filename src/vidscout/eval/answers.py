"""Turn a model's free-text reply into an option letter (pure functions).

`parse_choice` is vidscout's own lenient parser (``--extractor lenient``). The ``extract_*_official``
functions reproduce each benchmark's own answer handling, quirks included, so that scores compare
with its leaderboard; they are the default (``--extractor official``). Each returns an option letter,
or None where the official code could never count the reply as right.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

LETTERS = "ABCDEF"
"""Option letters in order; benchmarks here have 4 (6 in MLVU-Test) options."""

_MARKUP = re.compile(r"<[^>]{0,40}>|[*`#]")
# A reply that is nothing but a letter: "B", "(b)", "[C].", "d:".
_BARE = re.compile(r"^\s*[(\[]?\s*([A-Fa-f])\s*[)\]]?\s*[.:]?\s*$")
# A reply that starts with a lettered option: "B. The man", "(C) red", "d) two", "A: yes".
_START = re.compile(r"^\s*(?:\(([A-Fa-f])\)|\[([A-Fa-f])\]|([A-Fa-f])[.):])(?=\s|$)")
# "answer is (D)", "Best option: C", "I choose b.", "the correct choice would be option B".
_PHRASE = re.compile(
    r"\b(?:answer|option|choice|choose|select|pick)\b(?:\s+(?:is|would\s+be|should\s+be|will\s+be))?"
    r"\s*:?\s*(?:option\s+|choice\s+)?(\()?([A-Fa-f])(\))?(?=$|[^A-Za-z0-9'])",
    re.IGNORECASE,
)
_PAREN = re.compile(r"\(([A-F])\)")
# A final lone letter: "... so it is C." / "... the best fit is (B)".
_END = re.compile(r"(?:^|\s)\(?([A-F])\)?\s*[.!]?\s*$")
# "A" before a lower-case word is the article ("A man walks"), unless the word links letters ("A or C").
_ARTICLE = re.compile(r"\s+(?!(?:or|and|nor|but|is|was|seems|looks|because|since|then)\b)[a-z]")
_TOKEN = re.compile(r"(?<![A-Za-z0-9'])([A-F])(?![A-Za-z0-9'])")
_NON_WORD = re.compile(r"[^0-9a-z]+")


def option_letters(n_options: int) -> str:
    """The letters naming ``n_options`` options (``"ABCD"`` for 4)."""
    return LETTERS[:n_options]


def _normalise(text: str) -> str:
    return " ".join(_NON_WORD.split(text.casefold())).strip()


def _by_option_text(reply: str, options: Sequence[str]) -> str | None:
    """The letter whose option text the reply is, or contains; None when no or several options fit."""
    key = reply.strip().casefold()
    verbatim = [i for i, o in enumerate(options) if o.strip() and o.strip().casefold() == key]
    if len(verbatim) == 1:  # before normalising, which merges "$100" and "¥100"
        return LETTERS[verbatim[0]]
    said = _normalise(reply)
    texts = [_normalise(o) for o in options]
    exact = {LETTERS[i] for i, t in enumerate(texts) if t and t == said}
    if exact:
        return exact.pop() if len(exact) == 1 else None
    padded = f" {said} "
    inside = {i for i, t in enumerate(texts) if t and f" {t} " in padded}
    # "Catching the drone" inside a reply also containing "the drone": keep the most specific options.
    maximal = {i for i in inside if not any(j != i and texts[i] != texts[j] and texts[i] in texts[j] for j in inside)}
    distinct = {texts[i] for i in maximal}
    if len(maximal) == 1 and len(distinct) == 1:
        return LETTERS[maximal.pop()]
    return None


def _starts_an_option(text: str, options: Sequence[str]) -> bool:
    said = _normalise(text)
    return any(t and (said == t or said.startswith(t + " ")) for t in map(_normalise, options))


def parse_choice(reply: str | None, options: Sequence[str]) -> str | None:
    """Find which option a free-text reply chose.

    Formats are tried from least to most ambiguous and the first that yields a valid letter wins:
    a bare letter (``"B"``, ``"(b)"``), a lettered start (``"C. red"``), an answer phrase
    (``"Best option: C"``, ``"The answer is (D) because..."``, last one counts), a single distinct
    ``"(X)"``, a final lone letter, the text of exactly one option, then a single distinct capital
    letter standing alone. After the answer phrases, a reply that mentions two letters outside the
    option texts ("(A) or (C)?") is ambiguous. Lower-case letters count only where they cannot be
    English words (alone, in parentheses or followed by ``.``/``)``).

    Args:
        reply: The model's reply; None (no reply) parses to None.
        options: Option texts in letter order; only their letters are valid answers.

    Returns:
        An upper-case letter among the first ``len(options)`` of A–F, or None when the reply names
        no option, several, or one that does not exist.
    """
    if not reply or not options:
        return None
    valid = option_letters(len(options))
    text = _MARKUP.sub("", reply).strip()
    if not text:
        return None

    if m := _BARE.match(text):
        letter = m.group(1).upper()
        return letter if letter in valid else None
    # Weaker evidence below counts only when the reply mentions no other letter ("(A) or (C)?"); letters
    # inside quoted option texts ("(D) A McDonald's") are not mentions.
    bare_text = text
    for option in sorted((o for o in options if len(o.strip()) >= 3), key=len, reverse=True):
        bare_text = re.sub(re.escape(option.strip()), " ", bare_text, flags=re.IGNORECASE)
    lone = {
        m.group(1)
        for m in _TOKEN.finditer(bare_text)
        if m.group(1) in valid and not (m.group(1) == "A" and _ARTICLE.match(bare_text, m.end()))
    }
    if m := _START.match(text):
        letter = next(g for g in m.groups() if g).upper()
        if letter not in valid:
            return None
        if lone <= {letter}:
            return letter

    phrased: list[str] = []
    for m in _PHRASE.finditer(text):
        paren_open, letter, paren_close = m.group(1), m.group(2), m.group(3)
        after = text[m.end() : m.end() + 1]
        if not (paren_open and paren_close):
            if letter.islower() and after not in ("", ".", ")", ":"):
                continue  # "the answer is a man in red": an article, not an option
            article = letter == "A" and _ARTICLE.match(text, m.end())
            if article or _starts_an_option(text[m.start(2) :], options):
                continue  # "the answer is A bed made of cheese": the text of an option, maybe not A's
        if letter.upper() in valid:
            phrased.append(letter.upper())
    if phrased:
        return phrased[-1]

    if len(lone) > 1:
        return None
    parens = {m.group(1) for m in _PAREN.finditer(text)} & set(valid)
    if len(parens) == 1:
        return parens.pop()
    if (m := _END.search(text)) and m.group(1) in valid:
        return m.group(1)
    if (by_text := _by_option_text(text, options)) is not None:
        return by_text
    return lone.pop() if lone else None


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
    return said if len(said) == 1 and said in option_letters(n_options) else None


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
    return said if len(said) == 1 and said in option_letters(n_options) else None


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
    return first if first and first in option_letters(n_options) else None
