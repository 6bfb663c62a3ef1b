"""What kind of thing a line of text holds (a phone number, a price, a discount), in words a question uses.

A sign reading "Call 822-7294" answers "what phone number is shown?", and "SALE 97% OFF" answers "how big is the
discount?", but neither shares a word with its question: search ranks them by words, and the agent's reader keeps
an answer only from a line that shares a word with the question. The kinds found by pattern count as words of the
line (`search_words`) for word search (`vidscout.retrieval.hybrid.SegmentSearcher`, the library's FTS5 terms) and for
the reader's test (`vidscout.agent.reader.read`); the text shown and embedded stays as read, so no answer copies
"(phone number)".
"""

from __future__ import annotations

import re

from vidscout.text import tokenize

_MONTHS = (
    "jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|january|february|march|april|june|july|august|"
    "september|october|november|december"
)
_DAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"

KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    # 822-7294, 555 0134, (020) 7946 0958, +44 20 7946 0958; not times (10:30), dates (2024-05-01), years (1990-2000)
    ("phone number", re.compile(
        r"(?<![\w$£€.,:/-])(?:\+\d{1,3}[ .-]?)?(?:(?:\(\d{2,5}\) ?|\d{2,5}[ .-])\d{3,4}|\d{3})[ .-]\d{4}(?![\w%.,:/-])"
    )),
    # 97% OFF, 20 % off, "sale" or "discount" beside a number
    ("discount", re.compile(r"\d\s?%\s?off\b|\b(?:sale|discount)\b(?=.*\d)|\d.*\b(?:sale|discount)\b", re.I)),
    # $8, €12.50, 8 dollars, 12 euros
    ("price", re.compile(r"[$£€]\s?\d|\b\d+(?:[.,]\d{2})?\s?(?:dollars?|euros?|pounds?|usd|eur|gbp)\b", re.I)),
    # 12 May, May 12th, 12/05/2024, 2024-05-12
    ("date", re.compile(
        rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s(?:{_MONTHS})\b|\b(?:{_MONTHS})\.?\s\d{{1,2}}(?:st|nd|rd|th)?\b|"
        r"\b\d{1,2}/\d{1,2}/\d{2,4}\b|\b\d{4}-\d{2}-\d{2}\b",
        re.I,
    )),
    ("day", re.compile(rf"\b(?:{_DAYS})\b", re.I)),
    ("email address", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    ("website", re.compile(r"\bhttps?://|\bwww\.|(?<![@\w.-])[\w-]+\.(?:com|org|net|io|edu|gov|co\.uk)\b", re.I)),
)  # fmt: skip
"""Each kind and the pattern that finds it, most specific first. Clock times are not a kind: "at what time" asks for
a time in the video far more often than for a clock time, and "time" after every "7:30" would draw those questions to
lines that merely hold one."""


def kinds_in(text: str) -> list[str]:
    """The kinds of thing ``text`` holds, in `KINDS` order: ``kinds_in("Call 822-7294")`` is ``["phone number"]``."""
    return [name for name, pattern in KINDS if pattern.search(text)]


def with_kinds(text: str) -> str:
    """``text`` with the kinds it holds after it in brackets ("SALE 97% OFF (discount)"); unchanged when none."""
    kinds = kinds_in(text)
    return f"{text} ({', '.join(kinds)})" if kinds else text


def search_words(text: str) -> list[str]:
    """The words a line is found by: its `tokenize` tokens, then those of the kinds it holds (`with_kinds`)."""
    return tokenize(with_kinds(text))
