"""Words as search and option matching see them: one tokenizer for BM25, option overlap and chapters."""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Collection, Sequence

import numpy as np
import snowballstemmer  # pyright: ignore[reportMissingTypeStubs]

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

_UNIT_WORDS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
)  # fmt: skip
_UNITS = {w: i for i, w in enumerate(_UNIT_WORDS)}
_TENS = {w: 10 * i for i, w in enumerate(
    ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
) if w}  # fmt: skip
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
TOKENS_VERSION = 4
"""Raised whenever `tokenize`'s output changes: token lists stored by another version (a library index's FTS5
terms) are made again (`vidscout.memory.library_index.sync_index`). 2: letter and digit runs split. 3: an amount's
cents follow its currency ("$8.50": 8 dollars 50), and no cents are said ("$8.00": 8 dollars). 4: scripts split, and
each kana or ideograph is a token of its own (`_RUN`); the library's terms hold the kinds of thing a line holds
(`vidscout.memory.library_index.fts_terms`)."""
_WORD = re.compile(r"[^\W_]+|[^\w\s]+|\s+", re.UNICODE)


def _spell_numbers(words: list[str]) -> list[str]:
    """Number words as digits: "twenty five" -> "25", "seven thirty" -> "7 30", "two hundred" -> "200".

    A number continues while the words can extend it (a ten after a unit cannot: "seven thirty" is two).
    """
    out: list[str] = []
    total, current, active, last = 0, 0, False, ""

    def flush() -> None:
        nonlocal total, current, active, last
        if active:
            out.append(str(total + current))
        total, current, active, last = 0, 0, False, ""

    for w in words:
        extends = (
            (w in _UNITS and not (active and last in ("unit", "teen")) and not (last == "ten" and _UNITS[w] >= 10))
            or (w in _TENS and not (active and last in ("unit", "teen", "ten")))
            or (w in _SCALES and active)
            or (w == "and" and active and last == "scale")
        )
        if not extends:
            flush()
            if w not in _UNITS and w not in _TENS:
                out.append(w)
                continue
        if w in _UNITS:
            current += _UNITS[w]
            active, last = True, "teen" if _UNITS[w] >= 10 else "unit"
        elif w in _TENS:
            current += _TENS[w]
            active, last = True, "ten"
        elif w in _SCALES:
            if _SCALES[w] == 100:
                current = max(current, 1) * 100
            else:
                total, current = total + max(current, 1) * _SCALES[w], 0
            last = "scale"
    flush()
    return out


_SNOWBALL = snowballstemmer.stemmer("english")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
_CURRENCY = {"$": "dollars", "£": "pounds", "€": "euros"}
_MONEY = re.compile(r"([$£€])\s?(\d[\d,]*)(?:\s?\.(\d+))?")
"""An amount; Whisper's word list splits its cents off ("$8", ".00")."""
_PERCENT = re.compile(r"(\d)\s?%")
_CLITIC = re.compile(r"\s+'(?=[a-z])")  # Whisper's word list writes "o'clock" as "o" + "'clock"
_NUMBER_TAIL = re.compile(r"[.,:]\d|%")
_IDEOGRAPHS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
"""Kana and CJK ideographs: scripts written without spaces between words, so each character is a token."""
_HANGUL = "\uac00-\ud7af"
_RUN = re.compile(
    rf"\d+(?:st|nd|rd|th|s)\b|\d+|[{_IDEOGRAPHS}]|[{_HANGUL}]+|[^\W\d_{_IDEOGRAPHS}{_HANGUL}]+", re.UNICODE
)
"""Runs of one word: letters and digits apart ("code9745" -> "code", "9745"; ordinals and decades such as "3rd" and
"1990s" stay whole), kana, ideographs and Hangul apart from other letters ("八Code" -> "八", "code"), and each kana or
ideograph alone ("北京站" -> "北", "京", "站"): Chinese and Japanese put no spaces between words, so a query's
characters meet a sign's wherever they stand."""
SPELLING: dict[str, str] = {
    "favourite": "favorite", "colour": "color", "colours": "colors", "harbour": "harbor", "centre": "center",
    "theatre": "theater", "metre": "meter", "metres": "meters", "litre": "liter", "grey": "gray",
    "neighbour": "neighbor", "honour": "honor", "labour": "labor", "flavour": "flavor", "behaviour": "behavior",
    "humour": "humor", "rumour": "rumor", "armour": "armor", "organise": "organize", "realise": "realize",
    "travelled": "traveled", "cancelled": "canceled", "jewellery": "jewelry", "aeroplane": "airplane",
    "programme": "program", "defence": "defense", "licence": "license", "catalogue": "catalog",
    "cheque": "check", "tyre": "tire", "kerb": "curb", "mum": "mom", "practise": "practice",
}  # fmt: skip
"""British spellings and their US forms, so a transcript and a question written either way meet."""
TITLES: dict[str, str] = {"mr": "mister", "mrs": "missus", "dr": "doctor", "prof": "professor"}
"""Titles Whisper and signs abbreviate ("Dr. Haddad", "Mr. Dashwood"), spelled out as people say them."""


def _words(text: str) -> list[str]:
    text = text.casefold().replace("\u2019", "'")
    text = _MONEY.sub(_spoken_amount, _CLITIC.sub("'", text))
    text = _THOUSANDS.sub("", _PERCENT.sub(r"\1 percent ", text)).replace("'", "")
    words: list[str] = [run for w in _TOKEN.findall(text) for run in _RUN.findall(_zero_or_o(w))]
    return _spell_numbers([SPELLING.get(w) or TITLES.get(w, w) for w in words])


def _spoken_amount(m: re.Match[str]) -> str:
    """An amount as it is said: "$8.50" -> "8 dollars 50", "$8.00" -> "8 dollars" (nobody says no cents)."""
    cents = m.group(3)
    return f" {m.group(2)} {_CURRENCY[m.group(1)]}" + (f" {cents} " if cents and int(cents) else " ")


def _zero_or_o(word: str) -> str:
    """Undo OCR's commonest confusion: a zero among letters is "o" ("0ff"), an "o" among digits is 0 ("2o24").

    Only where at least two other characters say which the word is: "b0" and "o7" are left alone.
    """
    if "0" in word and word.replace("0", "").isalpha() and len(word.replace("0", "")) >= 2:
        return word.replace("0", "o")
    if "o" in word and word.replace("o", "").isdigit() and len(word.replace("o", "")) >= 2:
        return word.replace("o", "0")
    return word


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The word's English Snowball stem, with agent nouns folded onto their verb; numbers are kept as they are.

    "director" and "directed" -> "direct", "passwords" -> "password", "closing" -> "close". Snowball leaves
    "-or"/"-er" nouns alone, so a question asking who *directed* a film would miss a credit reading
    *Director*; words over six letters lose that ending too.
    """
    if not word.isalpha():
        return word
    out = str(_SNOWBALL.stemWord(word))
    if len(out) > 6 and out.endswith(("or", "er")):
        out = out[:-2]
    return out


def tokenize(text: str) -> list[str]:
    """Lower-cased word and number tokens of ``text`` without punctuation and `STOPWORDS`.

    Apostrophes are removed before splitting, so "don't" is "dont" and "chef's" is "chefs". Numbers meet
    however they are written: number words become digits and separators split, so "ten thirty", "10:30"
    and "10.30" all give ``["10", "30"]``; thousands separators join ("1,000" is "1000"), "$3" is "3 dollars"
    and "40%" is "40 percent" (also where OCR lost the space after it: "40%OFF"); a zero among letters is an
    "o" and an "o" among digits a zero, as OCR confuses them ("0FF", "2O24"). Letters and digits split where
    they meet, so "B12", "B-12" and "B 12" give the same tokens, and a line whose space OCR lost ("Code9745",
    "Score5") still has its words; ordinals and decades stay whole ("3rd", "1990s"). British spellings become US
    ones (`SPELLING`), abbreviated titles are spelled out (`TITLES`: "Dr." is "doctor"), plurals singular
    (`stem`).

    >>> tokenize("Where's the 3.5 kg bag? Don't ask!")
    ['where', '3', '5', 'kg', 'bag', 'dont', 'ask']
    >>> tokenize("The bakery opens at seven thirty")
    ['bakeri', 'open', '7', '30']
    >>> tokenize("Code9745 at gate B12")
    ['code', '9745', 'gate', 'b', '12']
    """
    return [stem(t) for t in _words(text) if t not in STOPWORDS]


def normalise_words(text: str) -> list[str]:
    """Every word of ``text`` (stopwords kept), normalised as `tokenize` does: the form WER is scored in."""
    return _words(text)


def join_words(words: Sequence[str]) -> str:
    """Recognised words as text, each piece ASR split off a word glued back.

    ("ill", "-disposed") -> "ill-disposed"; ("o", "'clock") -> "o'clock"; a number's decimals, minutes or percent
    sign: ("$8", ".00") -> "$8.00", ("7", ":30") -> "7:30", ("10", "%") -> "10%".
    """
    out: list[str] = []
    for piece in (w.strip() for w in words):
        if not piece:
            continue
        clitic = len(piece) > 1 and piece[0] in "-'"
        if out and (clitic or (_NUMBER_TAIL.match(piece) is not None and out[-1][-1].isdigit())):
            out[-1] += piece
        else:
            out.append(piece)
    return " ".join(out)


def overlap(option: str, evidence: str) -> float:
    """Share of the option's words (as `tokenize` splits them) that occur in ``evidence``; 0 for a wordless option."""
    words = set(tokenize(option))
    return len(words & set(tokenize(evidence))) / len(words) if words else 0.0


_VOWELS = frozenset("aeiouy")
_VOWEL_CODES = np.array([ord(c) for c in sorted(_VOWELS)], dtype=np.uint32)
NEAR_LETTERS = 4
"""Words shorter than this are matched exactly only: a short word is close to too many stretches of any line."""
NEAR_MIN = 0.6
"""Least `near` of a word to what a line says for the line to hold it misheard: below it, any two words of a kind
come that close ("Friday" and "Monday" are 0.5)."""


def near(word: str, text: str) -> float:
    """How closely ``word`` matches a run of whole words of ``text``, spaces ignored: 1 - edits / its letters.

    Speech recognisers split and merge words they mishear ("walnut" -> "wall hut", "cobalt" -> "combed out",
    "Ivanova" -> "Imanova"), so the best stretch may cover parts of several words, but it starts where a word
    starts and ends where a word ends: letters skipped inside a word count as edits, so "lima" is far from
    "climate". One vowel for another costs half an edit: recognisers blur vowels more than consonants ("Quinlan"
    -> "Quaylin"). Both are normalised as `tokenize` sees them (case, numbers, spelling). 0 when ``word`` has no
    letters or ``text`` no words. Numpy over the text's letters, one pass per letter of ``word``.

    >>> round(near("walnut", "the password is summit wall hut"), 2)
    0.67
    >>> near("lima", "a climate report")
    0.25
    """
    w = "".join(_words(word))
    words = _words(text)
    if not w or not words:
        return 0.0
    line = np.frombuffer("".join(words).encode("utf-32-le"), dtype=np.uint32)
    vowel = np.isin(line, _VOWEL_CODES)
    n = len(line)
    cols = np.arange(n + 1, dtype=np.float64)
    start = np.zeros(n + 1, dtype=np.float64)
    start[list(itertools.accumulate((len(x) for x in words[:-1]), initial=0))] = 1
    # Semi-global edit distance: row[j] = edits to turn the word's first i letters into a stretch of the line that
    # ends before its letter j. A stretch may start at a word's start; elsewhere it pays for the letters it skips.
    row = cols - np.maximum.accumulate(np.where(start > 0, cols, 0.0))
    for i, letter in enumerate(w, start=1):
        swap = np.where(line == ord(letter), 0.0, np.where(vowel & (letter in _VOWELS), 0.5, 1.0))
        step = np.empty(n + 1)
        step[0] = i
        step[1:] = np.minimum(row[:-1] + swap, row[1:] + 1)  # a letter matched or swapped, or the word's dropped
        row = cols + np.minimum.accumulate(step - cols)  # letters of the line inserted: one edit each
    # A stretch ends where a word ends; elsewhere it pays for the letters left to that word's end.
    rest = np.array([len(x) - 1 - k for x in words for k in range(len(x))], dtype=np.float64)
    best = min(float(len(w)), float((row[1:] + rest).min()))
    return max(0.0, 1.0 - best / len(w))


def near_share(option: str, evidence: str, *, skip: Collection[str] = (), least: float = 0.0) -> float:
    """`overlap` that gives words heard amiss credit too: how close they come (`near`).

    The mean, over the option's distinct words, of 1 for a word the evidence holds and `near` for one it does not
    (only words of `NEAR_LETTERS` letters or more; numbers and short words count exactly), when that is at least
    ``least``. Words whose `tokenize` form is in ``skip`` (the question's own) are left out; 0 when none is left.

    >>> round(near_share("Doctor Quinlan", "Doctor Quaylin will arrive on Monday"), 2)
    0.86
    """
    held = set(tokenize(evidence))
    scores = []
    seen: set[str] = set()
    for word in _words(option):
        token = stem(word)
        if word in STOPWORDS or token in skip or token in seen:
            continue
        seen.add(token)
        if token in held:
            scores.append(1.0)
        else:
            close = near(word, evidence) if len(word) >= NEAR_LETTERS and word.isalpha() else 0.0
            scores.append(close if close >= least else 0.0)
    return sum(scores) / len(scores) if scores else 0.0
