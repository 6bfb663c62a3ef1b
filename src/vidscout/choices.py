"""Multiple choice, one module: option letters, pairing, validation, reply parsing, clock-time options.

Everything that knows what "option B" means lives here, on the ground floor, so the agent's ``finish``,
retrieval, the KV strategy and the benchmark tasks all read letters and options the same way.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Sequence
from typing import NamedTuple

from vidscout.errors import ConfigError
from vidscout.types import TimeSpan, parse_time

LETTERS = string.ascii_uppercase
"""Option letters in order: up to 26 options (benchmarks use 4-6)."""

MIN_OPTIONS = 2
"""Fewer options than this is not a choice."""

_LETTERED = re.compile(r"^\s*\(?([A-Za-z])[.):]\s*(.*)$", re.DOTALL)


def letters(n_options: int) -> str:
    """The letters naming ``n_options`` options (``"ABCD"`` for 4)."""
    return LETTERS[:n_options]


def option_letters(options: Sequence[str]) -> list[tuple[str, str]]:
    """Pair options with letters A, B, C, ...; an option already written "B. text" keeps its text."""
    pairs: list[tuple[str, str]] = []
    for letter, text in zip(LETTERS, options, strict=False):
        body = text.strip()
        if len(body) > 2 and body[0].upper() == letter and body[1] in ".):":
            body = body[2:].strip()
        pairs.append((letter, body))
    return pairs


def validate_options(options: Sequence[str]) -> list[str]:
    """The option texts without their letters, after checking the options make a question.

    Options may be given bare (``"red"``) or lettered (``"A. red"``, ``"(B) blue"``); lettered ones must
    run A, B, C, ... in order, and either all or none are lettered.

    Raises:
        ConfigError: Fewer than 2 or more than 26 options, an empty option, letters out of order,
            a mix of lettered and bare options, or two identical options.
    """
    if len(options) < MIN_OPTIONS:
        raise ConfigError(
            f"A multiple-choice question needs at least {MIN_OPTIONS} options (got {len(options)}); "
            "give each with -o, or drop -o for an open question."
        )
    if len(options) > len(LETTERS):
        raise ConfigError(f"At most {len(LETTERS)} options (A-Z) are supported; got {len(options)}.")
    matches = [_LETTERED.match(o) for o in options]
    lettered = [m is not None and m.group(1).upper() == LETTERS[i] for i, m in enumerate(matches)]
    texts: list[str] = []
    if any(lettered) and not all(lettered):
        bad = next(i for i, ok in enumerate(lettered) if not ok)
        raise ConfigError(
            f"Option {bad + 1} ({options[bad]!r}) is not lettered {LETTERS[bad]}. Write every option as "
            f'"{LETTERS[0]}. text", "{LETTERS[1]}. text", ... in order, or none of them with a letter.'
        )
    for i, option in enumerate(options):
        m = matches[i]
        text = (m.group(2) if lettered[i] and m is not None else option).strip()
        if not text:
            raise ConfigError(f"Option {LETTERS[i]} is empty; every option needs its text.")
        texts.append(" ".join(text.split()))
    folded = [t.casefold() for t in texts]
    if len(set(folded)) < len(folded):
        twice = next(t for t in texts if folded.count(t.casefold()) > 1)
        raise ConfigError(f"The option {twice!r} is given twice; options must differ.")
    return texts


# --- parsing a reply -----------------------------------------------------------------------------

_MARKUP = re.compile(r"<[^>]{0,40}>|[*`#]")
# "A" before a lower-case word is the article ("A man walks"), unless the word links letters ("A or C").
_ARTICLE = re.compile(r"\s+(?!(?:or|and|nor|but|is|was|seems|looks|because|since|then)\b)[a-z]")
_NON_WORD = re.compile(r"[^0-9a-z]+")


class _Patterns(NamedTuple):
    bare: re.Pattern[str]  # nothing but a letter: "B", "(b)", "[C].", "d:"
    start: re.Pattern[str]  # starts with a lettered option: "B. The man", "(C) red", "d) two", "A: yes"
    phrase: re.Pattern[str]  # "answer is (D)", "Best option: C", "I choose b.", "the correct choice would be option B"
    paren: re.Pattern[str]  # "(X)"
    end: re.Pattern[str]  # a final lone letter: "... so it is C." / "... the best fit is (B)"
    token: re.Pattern[str]  # a capital letter standing alone


@functools.lru_cache(maxsize=32)
def _patterns(n_options: int) -> _Patterns:
    """The reply patterns for letters A up to the n-th (at least A-F, so "E" with 4 options is seen, and refused)."""
    last = LETTERS[max(n_options, 6) - 1]
    up, both = f"A-{last}", f"A-{last}a-{last.lower()}"
    return _Patterns(
        bare=re.compile(rf"^\s*[(\[]?\s*([{both}])\s*[)\]]?\s*[.:]?\s*$"),
        start=re.compile(rf"^\s*(?:\(([{both}])\)|\[([{both}])\]|([{both}])[.):])(?=\s|$)"),
        phrase=re.compile(
            r"\b(?:answer|option|choice|choose|select|pick)\b(?:\s+(?:is|would\s+be|should\s+be|will\s+be))?"
            rf"\s*:?\s*(?:option\s+|choice\s+)?(\()?([{both}])(\))?(?=$|[^A-Za-z0-9'])",
            re.IGNORECASE,
        ),
        paren=re.compile(rf"\(([{up}])\)"),
        end=re.compile(rf"(?:^|\s)\(?([{up}])\)?\s*[.!]?\s*$"),
        token=re.compile(rf"(?<![A-Za-z0-9'])([{up}])(?![A-Za-z0-9'])"),
    )


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
        An upper-case letter among the first ``len(options)`` of A–Z, or None when the reply names
        no option, several, or one that does not exist.
    """
    if not reply or not options:
        return None
    valid = letters(len(options))
    rx = _patterns(len(options))
    text = _MARKUP.sub("", reply).strip()
    if not text:
        return None

    if m := rx.bare.match(text):
        letter = m.group(1).upper()
        return letter if letter in valid else None
    # Weaker evidence below counts only when the reply mentions no other letter ("(A) or (C)?"); letters
    # inside quoted option texts ("(D) A McDonald's") are not mentions.
    bare_text = text
    for option in sorted((o for o in options if len(o.strip()) >= 3), key=len, reverse=True):
        bare_text = re.sub(re.escape(option.strip()), " ", bare_text, flags=re.IGNORECASE)
    lone = {
        m.group(1)
        for m in rx.token.finditer(bare_text)
        if m.group(1) in valid and not (m.group(1) == "A" and _ARTICLE.match(bare_text, m.end()))
    }
    if m := rx.start.match(text):
        letter = next(g for g in m.groups() if g).upper()
        if letter not in valid:
            return None
        if lone <= {letter}:
            return letter

    phrased: list[str] = []
    for m in rx.phrase.finditer(text):
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
    parens = {m.group(1) for m in rx.paren.finditer(text)} & set(valid)
    if len(parens) == 1:
        return parens.pop()
    if (m := rx.end.search(text)) and m.group(1) in valid:
        return m.group(1)
    if (by_text := _by_option_text(text, options)) is not None:
        return by_text
    return lone.pop() if lone else None


# --- clock-time options ---------------------------------------------------------------------------

_TIME = re.compile(r"^\s*(\d{1,2}:)?\d{1,2}:\d{2}(\.\d+)?\s*$")


def time_options(options: Sequence[str]) -> list[float] | None:
    """The options as seconds when every one is a clock time, else None."""
    if not options or not all(_TIME.match(o) for o in options):
        return None
    return [parse_time(o.strip()) for o in options]


def span_distance(t_s: float, span: TimeSpan) -> float:
    """Seconds from ``t_s`` to ``span`` (0 inside it)."""
    return max(span.start_s - t_s, 0.0, t_s - span.end_s)


def option_distances(times: Sequence[float], spans: Sequence[TimeSpan]) -> list[float]:
    """Seconds from each clock-time option to the nearest of ``spans`` (``spans`` must not be empty)."""
    return [min(span_distance(t, s) for s in spans) for t in times]
