"""Question sets drawn from a seed, and the one rule that grades every answering strategy alike.

Planted videos with facts in speech, on screen and in photos, and the questions a long-video benchmark
asks about them.

`draw_qa_video` plants 8-10 spoken facts and 8-10 on-screen facts (each from a template with random slots:
names, places, numbers, word pairs) and two full-screen photos over real footage, arranged so that some
questions need more than one lookup: a sign shown *while* a fact is said (cross-modal), a sign shown right
*after* one (multi-hop), one kind of fact repeated 2-4 times (count). `draw_questions` then asks, per video,
about what was said (speech), shown (text) or pictured (photo), when (a time), in which order (two options),
how many, what was on screen while, and what came right after. Questions paraphrase the facts rather than
quote them.

`grade` is the one rule for every strategy: an answer (its first `ANSWER_WORDS` words) is right when it
contains, as whole words after normalisation ("seven" = "7", "B22" = "B 22"), every word of one expected
alternative; a "when" answer is right when a time it states, or one span it cites no wider than
`WHEN_MAX_SPAN_S`, lies within `WHEN_TOLERANCE_S` of the event; a question with options is right when its
letter is.
"""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from vidscout.choices import LETTERS
from vidscout.media.planted import (
    ESPEAK_VOICES,
    PHOTO_DIR,
    PlantedSpec,
    PlantedVideo,
    SpeechPlant,
    TextPlant,
    build_planted,
    draw_pieces,
    fit_size,
)
from vidscout.text import normalise_words
from vidscout.types import Answer, format_hms, parse_time

QuestionKind = Literal["speech", "text", "photo", "when", "order", "count", "crossmodal", "multihop", "at_time",
                       "said_next", "said_before", "stated_time", "choice", "said_while", "first_last",
                       "choice_all"]  # fmt: skip
KINDS: tuple[QuestionKind, ...] = ("speech", "text", "photo", "when", "order", "count", "crossmodal", "multihop")
"""The kinds a set holds by default; every number reported before `LATER_KINDS` existed is over these."""
LATER_KINDS: tuple[QuestionKind, ...] = ("at_time", "said_next", "said_before", "stated_time", "choice", "said_while",
                                         "first_last", "choice_all")  # fmt: skip
"""Kinds added later, drawn after (and independently of) the others so the first 14 questions stay the same:
what is said or shown at a given time, what is said next after a line, and what is said right before one (added
after the first two, and drawn after them); when something the speech dates happens ("When will Doctor Rossi
arrive?": the day said, not the time in the video; from its own random stream); then, from another stream, a
spoken fact's and a sign's question with four options, what is said while a sign is on screen, and what is said
first or last (`_newer_questions`); last, from a stream of its own, every question of every fact said or shown once,
with four options ("choice_all", about 20 a video: `_every_choice_questions`). Asked for by name."""

ANSWER_WORDS = 40
"""Only an answer's first words are graded, for every strategy alike (a long passage cannot win by length)."""
WHEN_MAX_SPAN_S = 30.0
"""A cited span counts for a "when" question only when it is at most this wide."""
WHEN_TOLERANCE_S = 5.0
"""A stated time or cited span within this of the event counts."""

_WORDS = ("amber", "harbor", "velvet", "summit", "copper", "lantern", "meadow", "falcon", "granite", "willow",
          "orbit", "canyon", "marble", "pepper", "thunder", "violet", "walnut", "cobalt", "maple", "saffron",
          "glacier", "pebble", "raven", "tundra", "indigo", "juniper", "quartz", "sierra", "topaz")  # fmt: skip
_NAMES = ("Alvarez", "Brennan", "Castillo", "Dubois", "Eriksen", "Fujita", "Gallagher", "Haddad", "Ivanova",
          "Jensen", "Kowalski", "Lindqvist", "Moreau", "Nakamura", "Okafor", "Petrov", "Quinlan", "Rossi")  # fmt: skip
_PLACES = ("Lisbon", "Oslo", "Nairobi", "Denver", "Kyoto", "Dublin", "Quebec", "Seville", "Tallinn", "Perth",
           "Madrid", "Vienna", "Cairo", "Lima")  # fmt: skip
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_NUMS = ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")
_COLOURS = ("red", "blue", "green", "yellow", "purple", "orange", "black", "white")


class FactTemplate(BaseModel, frozen=True):
    """A kind of planted fact: its wording, how a question names it, and what can be asked about it."""

    key: str
    kind: Literal["speech", "text"]
    pattern: str  # with {slots}
    desc: str  # a noun phrase naming the fact in questions, with {slots}
    noun: str  # what a sign of this kind is called ("the gate number"); speech facts: what is said
    asks: tuple[tuple[str, tuple[str, ...]], ...]  # (question, expected words) with {slots}
    count_q: str  # "How many ... ?" when this kind is repeated


SPEECH_FACTS = (
    FactTemplate(key="password", kind="speech", pattern="The secret password is {a} {b}.", desc="the secret password",
                 noun="password", asks=(("What password does the speaker give?", ("{a}", "{b}")),),
                 count_q="How many different secret passwords are mentioned in the video?"),
    FactTemplate(key="train", kind="speech", pattern="Our next train to {place} leaves from platform {num}.",
                 desc="the train to {place}", noun="train",
                 asks=(("Which platform does the train to {place} depart from?", ("{num}",)),
                       ("What is the destination of the train leaving from platform {num}?", ("{place}",))),
                 count_q="How many different train departures are announced in the video?"),
    FactTemplate(key="doctor", kind="speech", pattern="Doctor {name} will arrive on {day} morning.",
                 desc="Doctor {name}'s arrival", noun="arrival",
                 asks=(("On what day is Doctor {name} expected?", ("{day}",)),
                       ("Which doctor is due to arrive on {day}?", ("{name}",))),
                 count_q="How many doctors' arrivals are announced in the video?"),
    FactTemplate(key="fountain", kind="speech", pattern="Please meet me at the {a} fountain at {num} o'clock.",
                 desc="the meeting at the {a} fountain", noun="meeting",
                 asks=(("At what hour is the meeting by the {a} fountain?", ("{num}",)),),
                 count_q="How many different meetings at fountains are arranged in the video?"),
    FactTemplate(key="package", kind="speech", pattern="The package was left under the {a} table in room {num}.",
                 desc="the package under the {a} table", noun="package",
                 asks=(("In which room can the package be found?", ("{num}",)),),
                 count_q="How many packages are mentioned in the video?"),
    FactTemplate(key="museum", kind="speech", pattern="The museum closes early on {day} because of the storm.",
                 desc="the museum closing early", noun="closing",
                 asks=(("On which day will the museum close early?", ("{day}",)),),
                 count_q="How many times is the museum's early closing announced?"),
    FactTemplate(key="captain", kind="speech", pattern="Captain {name} found the map near the old {a} bridge.",
                 desc="the map found by Captain {name}", noun="map",
                 asks=(("Who discovered the map by the old {a} bridge?", ("{name}",)),
                       ("By which bridge did Captain {name} find the map?", ("{a}",))),
                 count_q="How many maps are said to have been found in the video?"),
    FactTemplate(key="tickets", kind="speech", pattern="Tickets for the {a} concert cost {num} dollars.",
                 desc="the {a} concert tickets", noun="tickets",
                 asks=(("What is the price of a ticket for the {a} concert?", ("{num}",)),),
                 count_q="How many different concerts are mentioned in the video?"),
    FactTemplate(key="umbrella", kind="speech", pattern="I lost my {colour} umbrella at the {place} station.",
                 desc="the lost umbrella", noun="umbrella",
                 asks=(("What colour is the umbrella that was lost?", ("{colour}",)),
                       ("At which station was the {colour} umbrella lost?", ("{place}",))),
                 count_q="How many umbrellas are reported lost in the video?"),
    FactTemplate(key="bakery", kind="speech", pattern="The {a} bakery opens every morning at {num} thirty.",
                 desc="the {a} bakery's opening time", noun="opening time",
                 asks=(("When does the {a} bakery open in the morning?", ("{num}", "30")),),
                 count_q="How many bakeries' opening times are given in the video?"),
)  # fmt: skip

TEXT_FACTS = (
    FactTemplate(key="gate", kind="text", pattern="GATE {L}{n2}", desc="the gate sign", noun="gate number",
                 asks=(("Which gate is written on the sign shown on screen?", ("{L}{n2}",)),),
                 count_q="How many different gate signs appear on screen?"),
    FactTemplate(key="room", kind="text", pattern="ROOM {n3}", desc="the room sign", noun="room number",
                 asks=(("What room number is displayed on screen?", ("{n3}",)),),
                 count_q="How many different room signs appear on screen?"),
    FactTemplate(key="flight", kind="text", pattern="Flight {L}{M} {n4} to {place}", desc="the flight to {place} sign",
                 noun="flight",
                 asks=(("What is the number of the flight to {place} shown on screen?", ("{n4}",)),
                       ("Where is flight {L}{M} {n4} bound, according to the screen?", ("{place}",))),
                 count_q="How many different flights are listed on screen?"),
    FactTemplate(key="sale", kind="text", pattern="SALE {n2}% OFF", desc="the sale sign", noun="discount",
                 asks=(("How big is the discount advertised on screen?", ("{n2}",)),),
                 count_q="How many different sale signs appear on screen?"),
    FactTemplate(key="phone", kind="text", pattern="Call {n3}-{n4}", desc="the phone number", noun="phone number",
                 asks=(("What number does the on-screen text ask viewers to call?", ("{n3}", "{n4}")),),
                 count_q="How many different phone numbers appear on screen?"),
    FactTemplate(key="card", kind="text", pattern="Dr. {name} - {place}", desc="Dr. {name}'s name card",
                 noun="name card",
                 asks=(("Which city is written next to Dr. {name}'s name on screen?", ("{place}",)),),
                 count_q="How many name cards of doctors appear on screen?"),
    FactTemplate(key="chapter", kind="text", pattern="Chapter {n1}: The {A} {B}", desc="the chapter {n1} title",
                 noun="chapter title", asks=(("What is chapter {n1} called?", ("{A}", "{B}")),),
                 count_q="How many chapter titles are shown on screen?"),
    FactTemplate(key="code", kind="text", pattern="CODE {n4}", desc="the code on screen", noun="code",
                 asks=(("Which code is displayed on screen?", ("{n4}",)),),
                 count_q="How many different codes are displayed on screen?"),
    FactTemplate(key="exit", kind="text", pattern="EXIT {n2} {A} STREET", desc="the exit sign", noun="exit sign",
                 asks=(("Which street does the exit sign on screen point to?", ("{A}",)),),
                 count_q="How many different exit signs appear on screen?"),
)  # fmt: skip

PHOTO_LABELS: dict[str, tuple[str, ...]] = {
    "baboon.jpg": ("baboon", "monkey", "mandrill", "ape", "primate"), "butterfly.jpg": ("butterfly",),
    "fruits.jpg": ("fruit", "fruits", "orange", "lemon", "kiwi"), "orange.jpg": ("orange",), "apple.jpg": ("apple",),
    "HappyFish.jpg": ("fish",), "messi5.jpg": ("football", "soccer", "ball"), "starry_night.jpg": ("painting",),
    "squirrel_cls.jpg": ("squirrel",), "smarties.png": ("candy", "candies", "sweets", "smarties"),
}  # fmt: skip
"""Photos a question can ask about, and the words that name what they show."""


class Fact(BaseModel, frozen=True):
    """One planted fact with its slot values and where it is in the video."""

    template: str
    kind: Literal["speech", "text"]
    text: str
    slots: dict[str, str]
    start_s: float
    end_s: float

    def fill(self, pattern: str) -> str:
        """``pattern`` with this fact's slot values."""
        out = pattern
        for k, v in self.slots.items():
            out = out.replace("{" + k + "}", v)
        return out


class QAItem(BaseModel, frozen=True):
    """One question about one video, with what a right answer must contain."""

    id: str
    video: str = Field(description="File name of the video (in the set's folder).")
    kind: QuestionKind
    question: str
    options: list[str] = Field(default_factory=list[str], description="Option texts (A first); empty: open.")
    answer: str | None = Field(default=None, description="The true letter for a question with options.")
    expect: list[list[str]] = Field(default_factory=list[list[str]], description="Alternatives of words to find.")
    time_s: tuple[float, float] | None = Field(default=None, description="The event's span ('when' questions).")


class QAVideo(BaseModel, frozen=True):
    """A drawn video: its plan, its facts and its photos."""

    name: str
    spec: PlantedSpec
    facts: list[Fact]
    photos: list[tuple[float, float, str]]


def _slot_makers(rng: random.Random) -> dict[str, Callable[[], str]]:
    """A drawer of one value per slot name."""
    return {
        "a": lambda: rng.choice(_WORDS), "b": lambda: rng.choice(_WORDS), "A": lambda: rng.choice(_WORDS).capitalize(),
        "B": lambda: rng.choice(_WORDS).capitalize(), "place": lambda: rng.choice(_PLACES),
        "name": lambda: rng.choice(_NAMES), "day": lambda: rng.choice(_DAYS), "num": lambda: rng.choice(_NUMS),
        "colour": lambda: rng.choice(_COLOURS), "L": lambda: rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ"),
        "M": lambda: rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ"), "n1": lambda: str(rng.randint(1, 9)),
        "n2": lambda: str(rng.randint(10, 99)), "n3": lambda: str(rng.randint(100, 999)),
        "n4": lambda: str(rng.randint(1000, 9999)),
    }  # fmt: skip


def draw_slots(rng: random.Random, pattern: str, taken: set[str]) -> dict[str, str]:
    """Values for the ``{slots}`` of ``pattern``, distinct and not in ``taken`` (which they are added to)."""
    makers = _slot_makers(rng)
    keys = re.findall(r"\{(\w+)\}", pattern)
    for _ in range(50):
        values = {k: makers[k]() for k in dict.fromkeys(keys)}
        if not set(values.values()) & taken and len(set(values.values())) == len(values):
            taken.update(values.values())
            return values
    raise RuntimeError(f"could not draw distinct slot values for {pattern!r}")


def draw_qa_video(seed: int, *, name: str, size: tuple[int, int] = (640, 360), duration_s: float = 240.0) -> QAVideo:
    """Plan one question-answering video from ``seed`` (see the module docstring)."""
    rng = random.Random(seed)
    pieces = draw_pieces(rng, duration_s, photos=2)
    photos: list[tuple[float, float, str]] = []
    t = 0.0
    pool = [p for p in PHOTO_LABELS if (PHOTO_DIR / p).exists()]
    for i, p in enumerate(pieces):
        if p.source == "photo":
            # Only photos a question can name: swap in one from the labelled pool.
            photo = rng.choice([x for x in pool if x not in {q for _, _, q in photos}])
            pieces[i] = p.model_copy(update={"photo": photo})
            photos.append((t, t + p.duration_s, photo))
        t += p.duration_s
    total = t
    taken: set[str] = set()
    repeat = rng.choice([*SPEECH_FACTS, *TEXT_FACTS])
    n_repeat = rng.randint(2, 4)
    speech_templates = rng.sample([f for f in SPEECH_FACTS if f.key != repeat.key], k=8)
    text_templates = rng.sample([f for f in TEXT_FACTS if f.key != repeat.key], k=7)
    chosen = [*speech_templates, *text_templates, *([repeat] * n_repeat)]
    lines: list[tuple[FactTemplate, dict[str, str]]] = []
    signs: list[tuple[FactTemplate, dict[str, str]]] = []
    for template in chosen:
        values = draw_slots(rng, template.pattern, taken)
        (lines if template.kind == "speech" else signs).append((template, values))
    rng.shuffle(lines)
    rng.shuffle(signs)
    # Speech: evenly spread with random jitter; each line ~0.38 s per word at espeak's 140 wpm.
    speech: list[SpeechPlant] = []
    facts: list[Fact] = []
    slot = (total - 12.0) / len(lines)
    for i, (template, values) in enumerate(lines):
        text = fill_slots(template.pattern, values)
        start = round(4.0 + i * slot + rng.uniform(0.0, max(0.0, slot - 6.0)), 2)
        voice = rng.choice(ESPEAK_VOICES)
        speech.append(SpeechPlant(text=text, start_s=start, speaker=f"espeak:{voice}"))
        facts.append(Fact(template=template.key, kind="speech", text=text, slots=values, start_s=start,
                          end_s=start + 0.45 * len(text.split()) + 0.6))  # fmt: skip
    # Signs: one shown while a line is said (cross-modal), one shown right after another line (multi-hop),
    # the rest in free time; never two at once.
    texts: list[TextPlant] = []
    busy: list[tuple[float, float]] = []

    def place(template: FactTemplate, values: dict[str, str], start: float, dur: float) -> None:
        text = fill_slots(template.pattern, values)
        px = fit_size(text, rng.choice((24, 32, 40, 48)), size[0])
        texts.append(TextPlant(text=text, start_s=round(start, 2), duration_s=round(dur, 2), size_px=px,
                               boxed=rng.random() < 0.6, light=True, outline=rng.random() < 0.5,
                               position=rng.choice(("top", "bottom"))))  # fmt: skip
        facts.append(Fact(template=template.key, kind="text", text=text, slots=values, start_s=round(start, 2),
                          end_s=round(start + dur, 2)))  # fmt: skip
        busy.append((start - 1.0, start + dur + 1.0))

    spoken = [f for f in facts if f.kind == "speech"]
    while_line, after_line = rng.sample(spoken, k=2)
    queue = list(signs)
    template, values = queue.pop()
    place(template, values, while_line.start_s, max(4.0, while_line.end_s - while_line.start_s + 2.5))
    template, values = queue.pop()
    place(template, values, after_line.end_s + rng.uniform(2.0, 5.0), rng.uniform(4.0, 6.0))
    for template, values in queue:
        dur = rng.uniform(4.0, 7.0)
        for _ in range(200):
            start = rng.uniform(2.0, total - dur - 2.0)
            # Keep the multi-hop sign the first one after its line.
            gap = (after_line.end_s, after_line.end_s + 12.0)
            if not any(start < b and start + dur > a for a, b in busy) and not gap[0] <= start <= gap[1]:
                place(template, values, start, dur)
                break
    spec = PlantedSpec(seed=seed, size=size, pieces=pieces, bed=rng.choice(("silence", "soundtrack")),
                       texts=sorted(texts, key=lambda x: x.start_s), speech=speech)  # fmt: skip
    return QAVideo(name=name, spec=spec, facts=sorted(facts, key=lambda f: f.start_s), photos=photos)


def fill_slots(pattern: str, values: dict[str, str]) -> str:
    """``pattern`` with its ``{slots}`` replaced by ``values``."""
    out = pattern
    for k, v in values.items():
        out = out.replace("{" + k + "}", v)
    return out


def fact_template(key: str) -> FactTemplate:
    """The template named ``key`` (in `SPEECH_FACTS` or `TEXT_FACTS`)."""
    return next(t for t in (*SPEECH_FACTS, *TEXT_FACTS) if t.key == key)


def draw_questions(video: QAVideo, planted: PlantedVideo, seed: int) -> list[QAItem]:
    """About 14 questions on ``video`` of every kind in `KINDS`, then up to 10 of `LATER_KINDS`.

    Speech facts are timed by the rendered audio.
    """
    rng = random.Random(seed * 7919 + 1)
    onset = {line.text: (line.onset_s, line.offset_s) for line in planted.spoken}
    facts = [f.model_copy(update={"start_s": onset[f.text][0], "end_s": onset[f.text][1]}) if f.kind == "speech"
             else f for f in video.facts]  # fmt: skip
    items: list[QAItem] = []

    def add(kind: QuestionKind, question: str, **kw: object) -> None:
        items.append(QAItem(id=f"{video.name}-{len(items) + 1:02d}-{kind}", video=video.name, kind=kind,
                            question=question, **kw))  # type: ignore[arg-type]  # fmt: skip

    counts: dict[str, int] = {}
    for f in facts:
        counts[f.template] = counts.get(f.template, 0) + 1
    repeated = next(k for k, n in counts.items() if n >= 2)
    single = [f for f in facts if counts[f.template] == 1]
    lines = [f for f in facts if f.kind == "speech"]
    # Cross-modal: the sign planted to be on screen while a line is said.
    crossmodal: tuple[Fact, Fact] | None = None
    for f in lines:
        during = [g for g in single if g.kind == "text" and g.start_s <= f.start_s + 0.5 and g.end_s >= f.end_s - 0.5]
        if during:
            crossmodal = (f, during[0])
            break
    # Multi-hop: the first sign to appear within 15 s after a line ends (none on screen as it ends).
    multihop: tuple[Fact, Fact] | None = None
    for f in rng.sample(lines, k=len(lines)):
        after = sorted((g for g in facts if g.kind == "text" and f.end_s < g.start_s <= f.end_s + 15.0),
                       key=lambda g: g.start_s)  # fmt: skip
        on_screen = any(g.kind == "text" and g.start_s <= f.end_s < g.end_s for g in facts)
        if (
            after
            and not on_screen
            and counts[after[0].template] == 1
            and (crossmodal is None or after[0] != crossmodal[1])
        ):
            multihop = (f, after[0])
            break
    reserved = {pair[1].text for pair in (crossmodal, multihop) if pair is not None}
    speech = [f for f in single if f.kind == "speech"]
    signs = [f for f in single if f.kind == "text" and f.text not in reserved]
    for f in rng.sample(speech, k=4):
        q, words = rng.choice(fact_template(f.template).asks)
        add("speech", f.fill(q), expect=[[f.fill(w) for w in words]])
    for f in rng.sample(signs, k=3):
        q, words = rng.choice(fact_template(f.template).asks)
        add("text", f.fill(q), expect=[[f.fill(w) for w in words]])
    which = rng.randrange(len(video.photos))
    photo = video.photos[which]
    ordinal = ("first", "second")[which]
    add("photo", f"What does the {ordinal} full-screen photograph in the video show?",
        expect=[[w] for w in PHOTO_LABELS[photo[2]]])  # fmt: skip
    s, x = rng.choice(speech), rng.choice(signs)
    add("when", f"At what time in the video is {s.fill(fact_template(s.template).desc)} mentioned?",
        time_s=(s.start_s, s.end_s))  # fmt: skip
    shown = x.fill(fact_template(x.template).desc)
    add("when", f"At what time does {shown} appear on screen?", time_s=(x.start_s, x.end_s))
    a, b = sorted(rng.sample([f for f in speech + signs if f not in (s, x)], k=2), key=lambda f: f.start_s)
    descs = [a.fill(fact_template(a.template).desc), b.fill(fact_template(b.template).desc)]
    first = rng.randrange(2)
    options = descs if first == 0 else descs[::-1]
    add("order", f"Which comes first in the video: {options[0]} or {options[1]}?", options=options,
        answer=LETTERS[first])  # fmt: skip
    add("count", fact_template(repeated).count_q, expect=[[str(counts[repeated])]])
    if crossmodal is not None:
        f, g = crossmodal
        _, words = fact_template(g.template).asks[0]
        said = f.fill(fact_template(f.template).desc)
        question = f"What {fact_template(g.template).noun} is shown on screen while {said} is being mentioned?"
        add("crossmodal", question, expect=[[g.fill(w) for w in words]])
    if multihop is not None:
        f, g = multihop
        _, words = fact_template(g.template).asks[0]
        said = f.fill(fact_template(f.template).desc)
        question = f"Right after {said} is mentioned, which {fact_template(g.template).noun} appears on screen?"
        add("multihop", question, expect=[[g.fill(w) for w in words]])
    _later_questions(facts, random.Random(seed * 7919 + 2), add)
    _stated_time_questions(facts, random.Random(seed * 7919 + 3), add)
    _newer_questions(facts, random.Random(seed * 7919 + 4), add)
    _every_choice_questions(facts, random.Random(seed * 7919 + 5), add)
    return items


def _later_questions(facts: list[Fact], rng: random.Random, add: Callable[..., None]) -> None:
    """The `LATER_KINDS` questions, from their own random stream: two at a time, then said next, said before.

    An anchored question names the middle of a line or sign, so the answer is what is said or on screen then
    (its key words, as its own questions expect them). "Said next" names a line said once by its description and
    expects the key words of the following line (no other speech is planted between them); "said before", those of
    the line before.
    """
    lines = [f for f in facts if f.kind == "speech"]
    signs = [f for f in facts if f.kind == "text"]
    for f, ask in ((rng.choice(lines), "What is being said at {t} in the video?"),
                   (rng.choice(signs), "What text is on screen at {t}?")):  # fmt: skip
        _, words = fact_template(f.template).asks[0]
        add("at_time", ask.format(t=format_hms((f.start_s + f.end_s) / 2)), expect=[[f.fill(w) for w in words]])
    counts = {t: sum(f.template == t for f in lines) for t in {f.template for f in lines}}
    f, g = rng.choice([(f, g) for f, g in itertools.pairwise(lines) if counts[f.template] == 1])
    _, words = fact_template(g.template).asks[0]
    said = f.fill(fact_template(f.template).desc)
    add("said_next", f"What is said next, after {said} is mentioned?", expect=[[g.fill(w) for w in words]])
    g, f = rng.choice([(g, f) for g, f in itertools.pairwise(lines) if counts[f.template] == 1])
    _, words = fact_template(g.template).asks[0]
    said = f.fill(fact_template(f.template).desc)
    add("said_before", f"What is said right before {said} is mentioned?", expect=[[g.fill(w) for w in words]])


STATED_TIME_ASKS = {
    "doctor": ("When will Doctor {name} arrive?", ("{day}",)),
    "museum": ("When does the museum close early?", ("{day}",)),
    "bakery": ("What time does the {a} bakery open?", ("{num}", "30")),
    "fountain": ("When is the meeting at the {a} fountain?", ("{num}",)),
}
"""A "when" question per spoken fact that states a day or an hour, in words its other questions do not use."""


def _stated_time_questions(facts: list[Fact], rng: random.Random, add: Callable[..., None]) -> None:
    """Up to two `STATED_TIME_ASKS` questions, about lines said once whose template states a day or an hour.

    The question says nothing of the video, so the answer is the day or hour the line states; a time in the video
    is not one.
    """
    lines = [f for f in facts if f.kind == "speech" and f.template in STATED_TIME_ASKS]
    once = [f for f in lines if sum(g.template == f.template for g in lines) == 1]
    for f in rng.sample(once, k=min(2, len(once))):
        question, words = STATED_TIME_ASKS[f.template]
        add("stated_time", f.fill(question), expect=[[f.fill(w) for w in words]])


CHOICES = 4
"""Options of a "choice" question: the true value and values drawn like it that no fact of its kind holds."""


def _newer_questions(facts: list[Fact], rng: random.Random, add: Callable[..., None]) -> None:
    """The kinds added last, from their own random stream: two with options, said while, first or last said.

    "choice" asks a spoken fact's and a sign's own question with `CHOICES` options (a benchmark's multiple-choice
    form). "said_while" names the sign planted while a line is said and expects that line's key words (the reverse
    of "crossmodal"); "first_last" asks what is said first or last and expects that line's key words.
    """
    lines = [f for f in facts if f.kind == "speech"]
    signs = [f for f in facts if f.kind == "text"]
    counts = {t: sum(f.template == t for f in facts) for t in {f.template for f in facts}}
    for pool in (lines, signs):
        f = rng.choice([f for f in pool if counts[f.template] == 1])
        question, words = rng.choice(fact_template(f.template).asks)
        options, letter = _options(f, words, facts, rng)
        add("choice", f.fill(question), options=options, answer=letter)
    said = [(f, g) for f in lines for g in signs if counts[g.template] == 1 and counts[f.template] == 1
            and g.start_s <= f.start_s + 0.5 and g.end_s >= f.end_s - 0.5]  # fmt: skip
    if said:
        f, g = said[0]
        _, words = fact_template(f.template).asks[0]
        add("said_while", f"What is said while {g.fill(fact_template(g.template).desc)} is on screen?",
            expect=[[f.fill(w) for w in words]])  # fmt: skip
    ordered = sorted(lines, key=lambda f: f.start_s)
    which = rng.randrange(2)
    f = (ordered[0], ordered[-1])[which]
    _, words = fact_template(f.template).asks[0]
    add("first_last", f"What is the {('first', 'last')[which]} thing said in the video?",
        expect=[[f.fill(w) for w in words]])  # fmt: skip


def _options(f: Fact, words: Sequence[str], facts: Sequence[Fact], rng: random.Random) -> tuple[list[str], str]:
    """`CHOICES` shuffled options for a question about ``f`` expecting ``words``, and the true one's letter.

    The wrong options fill the slots the expected words name with values drawn like the true ones (`_slot_makers`)
    that no fact of ``f``'s kind holds.
    """
    makers = _slot_makers(rng)
    keys = [k for w in words for k in re.findall(r"\{(\w+)\}", w)]
    taken = {g.slots[k] for g in facts for k in keys if g.template == f.template and k in g.slots}
    true = " ".join(f.fill(w) for w in words)
    options = [true]
    while len(options) < CHOICES:
        values = {**f.slots, **{k: makers[k]() for k in keys}}
        option = " ".join(fill_slots(w, values) for w in words)
        if option not in options and not {values[k] for k in keys} & taken:
            options.append(option)
    rng.shuffle(options)
    return options, LETTERS[options.index(true)]


def _every_choice_questions(facts: list[Fact], rng: random.Random, add: Callable[..., None]) -> None:
    """The "choice_all" kind: every question of every fact said or shown once, with `CHOICES` options.

    A benchmark asks most of its questions with options. This kind asks each fact's own questions that way, about
    20 a video, so option matching is measured on more than the two "choice" questions a video has.
    """
    counts = {t: sum(f.template == t for f in facts) for t in {f.template for f in facts}}
    for f in (f for f in facts if counts[f.template] == 1):
        for question, words in fact_template(f.template).asks:
            options, letter = _options(f, words, facts, rng)
            add("choice_all", f.fill(question), options=options, answer=letter)


def build_set(seeds: Sequence[int], out: Path, *, cache: Path, size: tuple[int, int] = (640, 360),
              duration_s: float = 240.0) -> tuple[list[PlantedVideo], list[QAItem]]:  # fmt: skip
    """Draw, render and question one video per seed into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    videos: list[PlantedVideo] = []
    items: list[QAItem] = []
    for seed in seeds:
        plan = draw_qa_video(seed, name=f"qa_{seed}.mp4", size=size, duration_s=duration_s)
        planted = build_planted(plan.spec, out / plan.name, cache=cache)
        videos.append(planted)
        items += draw_questions(plan, planted, seed)
    return videos, items


# --- grading -----------------------------------------------------------------------------------------

_CLOCK = re.compile(r"\b(?:\d{1,2}:)?\d{1,2}:\d{2}(?:\.\d+)?\b")


def _contains(answer: list[str], words: list[str]) -> bool:
    """Whether the normalised word list holds ``words`` contiguously, or as one joined token ("b22")."""
    if not words:
        return False
    n = len(words)
    return any(answer[i : i + n] == words for i in range(len(answer) - n + 1)) or "".join(words) in answer


def grade(item: QAItem, answer: Answer) -> bool:
    """Whether ``answer`` is right for ``item`` under the module's one rule (see the module docstring)."""
    if answer.error:
        return False
    if item.options:
        return answer.option == item.answer
    if item.kind == "when":
        assert item.time_s is not None
        a, b = item.time_s[0] - WHEN_TOLERANCE_S, item.time_s[1] + WHEN_TOLERANCE_S
        stated = [parse_time(m.group()) for m in _CLOCK.finditer(answer.answer)]
        if stated:  # the times an answer states are its answer
            return any(a <= t <= b for t in stated)
        span = answer.evidence[0].span if answer.evidence else None  # else its first cited span
        return span is not None and span.duration_s <= WHEN_MAX_SPAN_S and span.start_s <= b and span.end_s >= a
    words = normalise_words(" ".join(answer.answer.split()[:ANSWER_WORDS]))
    return any(all(_contains(words, normalise_words(w)) for w in alt) for alt in item.expect)
