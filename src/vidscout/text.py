"""Words as search and option matching see them: one tokenizer for BM25, option overlap and chapters."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

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
