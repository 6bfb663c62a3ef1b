"""Spaces the recogniser lost between words: "CHARACTERMODELING" is read back as "CHARACTER MODELING".

RapidOCR's recogniser drops the space between capitalised words now and then, the same line at one frame and not
the next: Big Buck Bunny's credits come out as "CHARACTERMODELING", "FILMTRANSFER" and "SPECIALTHANKS TO" on some
keyframes, and a planted "GATE F70" as "GATEF70" on every frame it was shown. Search then has no "modeling" and no
"gate". Re-reading the crop wider or narrower does not bring the space back reliably (it loses others), and the
gaps between glyphs do not tell a word space from a wide letter, so the words are split by a dictionary instead:
pyspellchecker's English word frequencies (MIT), read from its package data without importing it.

A run of letters is split only when it is written in capitals (the recogniser keeps the spaces between
lower-case words; split there, names come apart: "Carsten" is not "Cars ten", nor "Hassan" "Has san"), is not a
word itself nor a word with an ending ("STORYBOARDING"), and splits into two or three common words of three letters
or more (`COMMON_COUNT`). A run of letters followed by digits ("GATEF70") whose letters are not a
word keeps its last letter or two with the digits when the rest is a word or splits as above ("GATE F70").
"""

from __future__ import annotations

import functools
import gzip
import itertools
import json
import re
from importlib import resources

from vidscout.models._env import missing_package

COMMON_COUNT = 500
"""A part of a split must be at least this frequent in the dictionary (about the 25,000 commonest words): rarer
parts would cut names ("Kleinophorst" is not "klein op horst")."""

_MIN_PART = 3
_MAX_RUN = 30
_RUN = re.compile(r"\b([^\W\d_]{4,})(\d*)\b")


@functools.cache
def _counts() -> dict[str, int]:
    try:
        data = resources.files("spellchecker").joinpath("resources/en.json.gz").read_bytes()
    except (ModuleNotFoundError, FileNotFoundError) as e:
        raise missing_package("pyspellchecker", "pyspellchecker") from e
    counts: dict[str, int] = json.loads(gzip.decompress(data))
    return counts


def _common(word: str) -> int:
    """The word's count when it can be a part of a split, else 0."""
    count = _counts().get(word, 0)
    return count if len(word) >= _MIN_PART and count >= COMMON_COUNT else 0


def _parts(word: str) -> list[int] | None:
    """Cut points splitting lower-case ``word`` into two or three common words, or None.

    Of several splits, the one whose rarest part is the most frequent.
    """
    n = len(word)
    best: tuple[int, list[int]] | None = None
    for i in range(_MIN_PART, n - _MIN_PART + 1):
        a, b = _common(word[:i]), _common(word[i:])
        if a and b and (best is None or min(a, b) > best[0]):
            best = (min(a, b), [i])
    if best is not None:
        return best[1]
    for i in range(_MIN_PART, n - 2 * _MIN_PART + 1):
        a = _common(word[:i])
        if not a:
            continue
        for j in range(i + _MIN_PART, n - _MIN_PART + 1):
            b, c = _common(word[i:j]), _common(word[j:])
            if b and c and (best is None or min(a, b, c) > best[0]):
                best = (min(a, b, c), [i, j])
    return None if best is None else best[1]


_ENDINGS = ("ing", "ed", "er", "ers", "s", "es")


def _word(low: str) -> bool:
    """Whether lower-case ``low`` is in the dictionary, as it is or with one of `_ENDINGS` taken off."""
    counts = _counts()
    return low in counts or any(low.endswith(e) and low[: -len(e)] in counts for e in _ENDINGS)


def _split_letters(run: str) -> str | None:
    """``run`` with spaces where its words meet, or None when it is a word or does not split surely."""
    low = run.lower()
    if len(run) > _MAX_RUN or not run.isupper() or _word(low):
        return None
    cuts = _parts(low)
    if cuts is None:
        return None
    edges = [0, *cuts, len(run)]
    return " ".join(run[a:b] for a, b in itertools.pairwise(edges))


def _split(m: re.Match[str]) -> str:
    letters, digits = m.group(1), m.group(2)
    if not digits:
        return _split_letters(letters) or m.group(0)
    if not letters.isupper() or _word(letters.lower()):
        return m.group(0)
    for keep in (1, 2):  # "GATEF70": the code is "F70"
        head = letters[:-keep]
        if len(head) < _MIN_PART:
            break
        words = head if _common(head.lower()) else _split_letters(head)
        if words:
            return f"{words} {letters[-keep:]}{digits}"
    return m.group(0)


def split_glued(text: str) -> str:
    """``text`` with a space put back wherever a run of letters is two or three common words glued together.

    >>> split_glued("CHARACTERMODELING")
    'CHARACTER MODELING'
    >>> split_glued("GATEF70 · Sacha Goedegebure")
    'GATE F70 · Sacha Goedegebure'
    """
    return _RUN.sub(_split, text)
