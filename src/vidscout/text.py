"""Words as search and option matching see them: one tokenizer for BM25, option overlap and chapters."""

from __future__ import annotations

import re

STOPWORDS = frozenset(
    {
        "a", "about", "an", "and", "are", "as", "at", "be", "been", "but", "by", "can", "could",
        "did", "do", "does", "for", "from", "had", "has", "have", "he", "her", "here", "his", "how",
        "i", "if", "in", "into", "is", "it", "its", "me", "my", "of", "on", "or", "our", "she", "so",
        "than", "that", "the", "their", "them", "then", "there", "these", "they", "this", "those",
        "to", "us", "was", "we", "were", "what", "when", "where", "which", "while", "who", "why",
        "will", "with", "would", "you", "your",
    }
)  # fmt: skip
"""Function words dropped by `tokenize`: frequent in questions ("where do they ..."), never evidence."""

# Numbers with separators ("10:30", "3.5", "1,000") stay one token; other runs of letters/digits split.
_TOKEN = re.compile(r"\d+(?:[.,:]\d+)+|[^\W_]+", re.UNICODE)


def tokenize(text: str) -> list[str]:
    """Lower-cased word and number tokens of ``text`` without punctuation and `STOPWORDS`.

    Apostrophes are removed before splitting, so "don't" is "dont" and "chef's" is "chefs".

    >>> tokenize("Where's the 3.5 kg bag? Don't ask!")
    ['wheres', '3.5', 'kg', 'bag', 'dont', 'ask']
    """
    text = text.casefold().replace("'", "").replace("\u2019", "")
    return [t for t in _TOKEN.findall(text) if t not in STOPWORDS]


def overlap(option: str, evidence: str) -> float:
    """Share of the option's words (as `tokenize` splits them) that occur in ``evidence``; 0 for a wordless option."""
    words = set(tokenize(option))
    return len(words & set(tokenize(evidence))) / len(words) if words else 0.0
