"""Needle v2: a seeded haystack plan over looped real footage, and four kinds of questions about it.

`draw_haystack` plans the video from a seed. Needles are facts drawn from `vidscout.eval.devset`'s templates
with random slots (names, places, numbers, word pairs): spoken by espeak-ng voices, or drawn on screen in
varied styles, plus full-screen photos. One spoken and one on-screen template are planted 2-4 times (for the
count questions). Distractors run through the rest of the haystack: LibriVox readings (Debian's
pocketsphinx-testdata) and neutral espeak-ng chatter, so speech alone does not give a needle away, and
neutral captions, so on-screen text does not either. The footage's own soundtrack plays everywhere else and
is lowered under every speech clip, needle or not.

`haystack_questions` asks four-option questions about the plan, each in the form of one kind of needle:

- *what* was said / written / shown: paraphrased from the template (never the planted sentence); the wrong
  options redraw the answer's slots, so no planted value is a wrong option;
- *when*: paraphrased ("At what time in the video is the secret password mentioned?"); the wrong times are
  the start times of other planted events, other events of the same kind first (for speech: other spoken
  needles and distractor speech), never random times;
- *order*: which of four needles of one kind comes first;
- *count*: how many different facts of the repeated template (or photos) there are, four numbers as options.

Every answer follows from the plan by construction, and the same seed gives the same plan and questions.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from vidscout._io import write_atomic
from vidscout.choices import LETTERS
from vidscout.errors import ConfigError
from vidscout.eval.devset import SPEECH_FACTS, TEXT_FACTS, FactTemplate, draw_slots, fact_template, fill_slots
from vidscout.media import samples
from vidscout.media.needles import Photo, Sound, plant_haystack
from vidscout.media.planted import (
    ESPEAK_VOICES,
    PHOTO_DIR,
    SpeechPlant,
    TextPlant,
    fit_size,
    speech_seconds,
    voice_span,
)
from vidscout.types import format_hms
from vidscout.video.decode import SAMPLE_RATE, load_audio, probe

VERSION = 2
"""The needle benchmark version this module writes (recorded in needle.json and in run metadata)."""

PlantKind = Literal["speech", "text", "photo"]
Form = Literal["what", "when", "order", "count"]
FORMS: tuple[Form, ...] = ("what", "when", "order", "count")
KINDS: tuple[PlantKind, ...] = ("speech", "text", "photo")

PHOTOS: dict[str, str] = {
    "baboon.jpg": "a baboon", "orange.jpg": "an orange", "HappyFish.jpg": "a cartoon fish",
    "messi5.jpg": "football players on a pitch", "starry_night.jpg": "a painting of a starry night",
    "smarties.png": "coloured sweets on a table", "building.jpg": "a tall office building",
    "chicky_512.png": "a small dog", "aero1.jpg": "an aerial view of a town",
}  # fmt: skip
"""Photos of Debian's ``opencv-doc`` a needle may show, and how questions name them. Nothing like them appears in
Big Buck Bunny (its butterflies, squirrels and apples are why those photos are left out)."""
NEVER_SHOWN = ("a red sports car", "a lighthouse", "a grand piano", "a sailing boat", "a bicycle",
               "a laptop computer", "a snowy mountain", "a bowl of soup")  # fmt: skip
"""Wrong options of "which photo" questions, besides the photos a video does not show."""
CHATTER = (
    "I think it might rain a little later this afternoon.", "Could you hand me that folder on the shelf, please?",
    "We should probably take a short break soon.", "Honestly, I have never seen anything quite like it.",
    "Let me know when you are ready to begin.", "That reminds me, I still have to answer a few emails.",
    "The coffee here is much better than I expected.", "Sorry, I did not quite catch what you just said.",
    "It has been a long week for everyone in the office.", "Remind me to call my sister when we get home.",
)  # fmt: skip
"""Distractor sentences for espeak-ng: no names, places, numbers or anything a question asks about."""
CAPTIONS = ("Stay tuned", "Thank you for watching", "Coming up next", "Quiet please", "Welcome back",
            "Please keep this area clear", "Now playing", "Light rain later today")  # fmt: skip
"""Distractor captions: nothing a question asks about."""
PASSAGE_PAUSE_S = 0.4
"""Silence between the LibriVox clips of one distractor passage (they are consecutive sentences of one chapter)."""

_WHEN = {
    "speech": ("At what time in the video does someone mention {}?", "When does someone talk about {}?"),
    "text": ("At what time does {} appear on screen?", "When is {} visible on screen?"),
    "photo": ("At what time is a photograph of {} shown full screen?",
              "When does a full-screen photograph of {} appear?"),
}  # fmt: skip
_WHICH_PHOTO = ("Which of these is shown as a full-screen photograph?",
                "Which of these appears full screen as a still photograph?")  # fmt: skip
_ORDER = {
    "speech": "Which of these is mentioned first in the video?",
    "text": "Which of these appears on screen first?",
    "photo": "Which of these photographs is shown first?",
}
_PHOTO_COUNT = "How many different photographs are shown full screen in the video?"


class HaystackOptions(BaseModel, frozen=True):
    """How many needles and distractors a v2 haystack holds, and how far apart they are."""

    speech: int = Field(default=6, ge=0, description="Spoken facts asked about (one template each, at most 9).")
    text: int = Field(default=6, ge=0, description="On-screen facts asked about (one template each, at most 8).")
    photos: int | None = Field(default=None, ge=0, description="Full-screen photos; None: 4-6, drawn from the seed.")
    repeats: tuple[int, int] = Field(default=(2, 4), description="A spoken and an on-screen template are planted "
                                     "between this many times (inclusive), for the count questions.")  # fmt: skip
    chatter_per_speech: float = Field(default=1.5, ge=0, description="Distractor speech events per spoken needle.")
    captions_per_text: float = Field(default=0.4, ge=0, description="Distractor captions per on-screen needle.")
    passage_clips: int = Field(default=3, ge=1, le=5, description="Most LibriVox clips read in a row (1-5).")
    order_per_kind: int = Field(default=2, ge=0, description="Order questions per kind (each over four needles).")
    gap_s: float = Field(default=30.0, gt=0, description="Least distance between the starts of two planted events.")
    option_gap_s: float = Field(default=60.0, gt=0, description="Least distance between two options of a when.")
    edge_s: float = Field(default=30.0, ge=0, description="Nothing is planted this close to either end.")


def default_options(minutes: float) -> HaystackOptions:
    """The haystack for a video of ``minutes``: 20 minutes and longer get the benchmark's, shorter a smoke test's.

    From 20 minutes: round(minutes / 5) spoken facts (at most 9) and on-screen facts (at most 8), 4-6 photos,
    repeats of 2-4, about 1.5 distractor speech events per spoken needle, 30 s between events, when options 60 s
    apart. Shorter videos (quick checks) get 4 facts of each kind and 4 photos (2 and 3 under 6 minutes), repeats
    of 2, one distractor per spoken needle and tighter spacing (10 s between events, options 20 s apart).
    """
    if minutes >= 20:
        n = round(minutes / 5)
        return HaystackOptions(speech=min(n, len(SPEECH_FACTS) - 1), text=min(n, len(TEXT_FACTS) - 1),
                               order_per_kind=2 if minutes >= 30 else 1)  # fmt: skip
    n = 4 if minutes >= 6 else 2
    return HaystackOptions(speech=n, text=n, photos=4 if minutes >= 6 else 3, repeats=(2, 2), chatter_per_speech=1.0,
                           captions_per_text=0.25, passage_clips=1, order_per_kind=1, gap_s=10.0, option_gap_s=20.0,
                           edge_s=8.0)  # fmt: skip


class Plant(BaseModel, frozen=True):
    """One planted event: a needle (questions ask about it) or a distractor."""

    id: str = Field(description="n00, n01... for needles, d00, d01... for distractors, in time order.")
    kind: PlantKind
    needle: bool
    template: str = Field(default="", description="The devset fact template; 'photo'; '' for a distractor.")
    text: str = Field(description="What is said or written; for a photo, its file name.")
    label: str = Field(default="", description="How questions name it (a paraphrase, or what the photo shows).")
    slots: dict[str, str] = Field(default_factory=dict[str, str])
    start_s: float
    duration_s: float = Field(description="On screen (text, photo), or about how long it is heard (speech).")
    speaker: str = Field(default="", description="'espeak:<voice>' or 'librivox:<clip>[+<clip>...]'.")
    clips: list[str] = Field(default_factory=list[str], description="LibriVox files read in a row.")
    style: TextPlant | None = Field(default=None, description="How on-screen text is drawn.")


class HaystackPlan(BaseModel, frozen=True):
    """Everything planted in a v2 needle video, in time order."""

    seed: int
    duration_s: float
    option_gap_s: float
    order_per_kind: int
    plants: list[Plant]

    @property
    def needles(self) -> list[Plant]:
        """The planted facts and photos."""
        return [p for p in self.plants if p.needle]

    def repeated(self, kind: PlantKind) -> list[Plant]:
        """The needles of the template of ``kind`` planted more than once (photos: every photo)."""
        mine = [p for p in self.needles if p.kind == kind]
        if kind == "photo":
            return mine
        counts = {t: sum(p.template == t for p in mine) for t in dict.fromkeys(p.template for p in mine)}
        return [p for p in mine if counts[p.template] > 1]

    def singles(self, kind: PlantKind) -> list[Plant]:
        """The needles of ``kind`` whose template is planted once (and every photo): the ones a name identifies."""
        repeated = {p.id for p in self.repeated(kind)} if kind != "photo" else set[str]()
        return [p for p in self.needles if p.kind == kind and p.id not in repeated]


def planned_spans(plan: HaystackPlan) -> dict[str, tuple[float, float]]:
    """``(start_s, end_s)`` of every plant as planned (speech: its estimated length)."""
    return {p.id: (p.start_s, round(p.start_s + p.duration_s, 3)) for p in plan.plants}


# --- planning ------------------------------------------------------------------------------------------


def _text_style(text: str, start_s: float, duration_s: float, rng: random.Random, width: int) -> TextPlant:
    """Readable but varied: 24-40 px, boxed or outlined or bare, white, at the top or the bottom."""
    boxed = rng.random() < 0.6
    return TextPlant(text=text, start_s=start_s, duration_s=duration_s,
                     size_px=fit_size(text, rng.choice((24, 28, 32, 40)), width), boxed=boxed, light=True,
                     outline=not boxed and rng.random() < 0.7, position=rng.choice(("top", "bottom")))  # fmt: skip


def _starts(n: int, duration_s: float, rng: random.Random, options: HaystackOptions) -> list[float]:
    """``n`` start times, one per equal slot of the usable range, jittered, at least ``gap_s`` apart."""
    usable = duration_s - 2 * options.edge_s
    if n and usable / n < options.gap_s:
        raise ConfigError(
            f"{n} planted events {options.gap_s:g} s apart need at least {n * options.gap_s + 2 * options.edge_s:.0f}"
            f" s of video; this one has {duration_s:.0f} s. Plant fewer needles or make the video longer."
        )
    slot = usable / max(n, 1)
    return [round(options.edge_s + i * slot + rng.uniform(0, slot - options.gap_s), 1) for i in range(n)]


def draw_haystack(
    seed: int, *, duration_s: float, options: HaystackOptions | None = None, width: int = 640
) -> HaystackPlan:
    """Plan a v2 needle video of ``duration_s`` seconds from ``seed`` (see the module docstring).

    Args:
        seed: Draws the facts and their values, the photos, the distractors, the times and the text styles.
        duration_s: Length of the haystack footage.
        options: Counts and spacing (`HaystackOptions`).
        width: Frame width in pixels (text sizes are fitted to it).

    Raises:
        ConfigError: More needles than templates or photos, or too many events for the length.
        MediaError: The LibriVox clips (pocketsphinx-testdata) are not installed.
    """
    opts = options or HaystackOptions()
    rng = random.Random(seed)
    librivox = samples.librivox_clips()
    kinds: list[tuple[PlantKind, tuple[FactTemplate, ...], int]] = [("speech", SPEECH_FACTS, opts.speech),
                                                                    ("text", TEXT_FACTS, opts.text)]  # fmt: skip
    chosen: list[FactTemplate] = []
    for kind, pool, n in kinds:
        repeated = rng.choice(pool)
        if n > len(pool) - 1:
            raise ConfigError(f"{n} {kind} needles asked for; there are {len(pool) - 1} {kind} templates to ask about.")
        chosen += rng.sample([t for t in pool if t.key != repeated.key], n)
        chosen += [repeated] * rng.randint(*opts.repeats)
    n_photos = opts.photos if opts.photos is not None else rng.randint(4, 6)
    if n_photos > len(PHOTOS):
        raise ConfigError(f"{n_photos} photos asked for; the pool has {len(PHOTOS)} (vidscout.eval.needle_v2.PHOTOS).")
    events: list[dict[str, Any]] = []
    taken: set[str] = set()
    for t in chosen:
        slots = draw_slots(rng, t.pattern, taken)
        text = fill_slots(t.pattern, slots)
        event: dict[str, Any] = {"kind": t.kind, "needle": True, "template": t.key, "text": text,
                                 "label": fill_slots(t.desc, slots), "slots": slots}  # fmt: skip
        if t.kind == "speech":
            voice = rng.choice(ESPEAK_VOICES)
            event.update(speaker=f"espeak:{voice}", duration_s=speech_seconds(SpeechPlant(text=text, start_s=0,
                                                                                          speaker=voice)))  # fmt: skip
        else:
            event.update(duration_s=round(rng.uniform(5.0, 8.0), 2))
        events.append(event)
    for photo in rng.sample(sorted(PHOTOS), n_photos):
        events.append({"kind": "photo", "needle": True, "template": "photo", "text": photo, "label": PHOTOS[photo],
                       "duration_s": round(rng.uniform(4.0, 6.0), 2)})  # fmt: skip
    n_speech = sum(e["kind"] == "speech" for e in events)
    n_text = sum(e["kind"] == "text" for e in events)
    for _ in range(round(opts.chatter_per_speech * n_speech)):
        if rng.random() < 2 / 3:  # a LibriVox passage: consecutive sentences read by one reader
            n = rng.randint(1, min(opts.passage_clips, len(librivox)))
            first = rng.randrange(len(librivox) - n + 1)
            part = librivox[first : first + n]
            length = sum(speech_seconds(SpeechPlant(text=x, start_s=0, speaker="", wav=str(w))) for w, x in part)
            events.append({"kind": "speech", "needle": False, "text": " ".join(x for _, x in part),
                           "speaker": "librivox:" + "+".join(w.stem for w, _ in part),
                           "clips": [str(w) for w, _ in part],
                           "duration_s": round(length + PASSAGE_PAUSE_S * (n - 1), 3)})  # fmt: skip
        else:
            line, voice = rng.choice(CHATTER), rng.choice(ESPEAK_VOICES)
            events.append({"kind": "speech", "needle": False, "text": line, "speaker": f"espeak:{voice}",
                           "duration_s": speech_seconds(SpeechPlant(text=line, start_s=0, speaker=voice))})  # fmt: skip
    for _ in range(round(opts.captions_per_text * n_text)):
        events.append({"kind": "text", "needle": False, "text": rng.choice(CAPTIONS),
                       "duration_s": round(rng.uniform(5.0, 8.0), 2)})  # fmt: skip
    longest = max((float(e["duration_s"]) for e in events), default=0.0)
    if longest >= opts.gap_s:
        raise ConfigError(f"gap_s={opts.gap_s:g} must exceed the longest planted event ({longest:.1f} s); "
                          "raise gap_s or lower passage_clips.")  # fmt: skip
    rng.shuffle(events)
    starts = _starts(len(events), duration_s, rng, opts)
    plants: list[Plant] = []
    n_needle = n_other = 0
    for event, start in zip(events, starts, strict=True):
        if event["needle"]:
            pid, n_needle = f"n{n_needle:02d}", n_needle + 1
        else:
            pid, n_other = f"d{n_other:02d}", n_other + 1
        style = (_text_style(event["text"], start, event["duration_s"], rng, width) if event["kind"] == "text"
                 else None)  # fmt: skip
        plants.append(Plant(id=pid, start_s=start, style=style, **event))
    return HaystackPlan(seed=seed, duration_s=duration_s, option_gap_s=opts.option_gap_s,
                        order_per_kind=opts.order_per_kind, plants=plants)  # fmt: skip


# --- questions -----------------------------------------------------------------------------------------

_SLOT = re.compile(r"\{(\w+)\}")


def _answer_pattern(template: FactTemplate, words: Sequence[str]) -> str | None:
    """The part of the pattern an ask's expected words span (``"{n3}-{n4}"``); None unless they are slots, in order."""
    pattern, pos, first = template.pattern, 0, None
    for w in words:
        at = pattern.find(w, pos)
        if at < 0 or not _SLOT.search(w):
            return None
        first = at if first is None else first
        pos = at + len(w)
    return pattern[first:pos] if first is not None else None


def _what_ask(plant: Plant, rng: random.Random) -> tuple[str, str] | None:
    """(question, answer pattern) for a fact; asks whose answer the fact's own name gives away are avoided."""
    template = fact_template(plant.template)
    named = set(_SLOT.findall(template.desc))
    asks: list[tuple[str, str]] = []
    for question, words in template.asks:
        sub = _answer_pattern(template, words)
        if sub is not None and not set(_SLOT.findall(sub)) & named:
            asks.append((question, sub))
    return rng.choice(asks) if asks else None


def _wrong_answers(sub: str, slots: Mapping[str, str], taken: set[str], rng: random.Random) -> list[str]:
    """Three wrong answers: ``sub`` with its slots redrawn.

    They avoid every value planted in the video where the pools allow (number words may run short), and always
    the true values and each other.
    """
    avoid, drawn, out = set(taken), set(slots.values()), list[str]()
    for _ in range(3):
        try:
            values = draw_slots(rng, sub, avoid)
        except RuntimeError:
            values = draw_slots(rng, sub, set(drawn))
        drawn |= set(values.values())
        avoid |= drawn
        out.append(fill_slots(sub, values))
    return out


def _name(plant: Plant) -> str:
    """How a question names a plant ("the code", not "the code on screen", which the question already says)."""
    return plant.label.removesuffix(" on screen")


def _numbers(true: int, rng: random.Random) -> tuple[list[str], str]:
    """Four consecutive counts (at least 1) that include ``true``, and the true letter."""
    low = rng.randint(max(1, true - 3), true)
    options = [str(n) for n in range(low, low + 4)]
    return options, LETTERS[true - low]


def _when_options(
    plant: Plant, plan: HaystackPlan, spans: Mapping[str, tuple[float, float]], rng: random.Random
) -> tuple[list[str], str, list[str]]:
    """Four ``HH:MM:SS`` options in time order, the true letter, and the plants the wrong ones are the starts of.

    Wrong times are the starts of other events of the same kind first (for speech: other spoken needles and
    distractor speech), then of any other event, all at least ``option_gap_s`` apart.
    """
    true_s = spans[plant.id][0]
    same = [p for p in plan.plants if p.id != plant.id and p.kind == plant.kind]
    other = [p for p in plan.plants if p.id != plant.id and p.kind != plant.kind]
    rng.shuffle(same)
    rng.shuffle(other)
    picked: list[Plant] = []
    for p in [*same, *other]:
        if len(picked) == 3:
            break
        t = spans[p.id][0]
        if all(abs(t - spans[q.id][0]) >= plan.option_gap_s for q in [plant, *picked]):
            picked.append(p)
    if len(picked) < 3:
        raise ConfigError(f"No three planted events lie {plan.option_gap_s:g} s from each other and from {plant.id} "
                          f"({true_s:.0f} s); lower option_gap_s or make the video longer.")  # fmt: skip
    ordered = sorted([plant, *picked], key=lambda p: spans[p.id][0])
    letter = LETTERS[ordered.index(plant)]
    return [format_hms(spans[p.id][0]) for p in ordered], letter, [p.id for p in picked]


def haystack_questions(
    plan: HaystackPlan, *, video: str, duration_s: float, spans: Mapping[str, tuple[float, float]]
) -> list[dict[str, Any]]:
    """The question records of a planned (and rendered) haystack, deterministic in the plan's seed.

    Args:
        plan: What was planted.
        video: The video's file name (relative to the videos folder).
        duration_s: The rendered video's length.
        spans: ``(start_s, end_s)`` of every plant where it is seen or heard (measured on the render, or
            `planned_spans`); when options are the starts, rounded down to the second.

    Raises:
        ConfigError: A when question cannot get three wrong times far enough apart.
    """
    rng = random.Random(plan.seed * 7919 + 2)
    taken = {v for p in plan.plants for v in p.slots.values()}
    records: list[dict[str, Any]] = []

    def add(form: Form, kind: PlantKind, question: str, options: list[str], answer: str, needles: list[str],
            time: tuple[float, float] | None, **extra: Any) -> None:  # fmt: skip
        records.append({"id": f"{len(records):02d}-{form}-{kind}", "video": video, "duration": duration_s,
                        "kind": kind, "form": form, "question": question, "options": options, "answer": answer,
                        "needles": needles, "time": list(time) if time else None, **extra})  # fmt: skip

    shown = {p.text for p in plan.needles if p.kind == "photo"}
    singles = {p.id for kind in KINDS for p in plan.singles(kind)}
    for p in sorted(plan.needles, key=lambda p: p.start_s):
        if p.kind == "photo":
            wrong = rng.sample([*(v for k, v in sorted(PHOTOS.items()) if k not in shown), *NEVER_SHOWN], 3)
            options = [p.label, *wrong]
            rng.shuffle(options)
            add("what", p.kind, rng.choice(_WHICH_PHOTO), options, LETTERS[options.index(p.label)], [p.id],
                spans[p.id])  # fmt: skip
        elif p.id in singles and (ask := _what_ask(p, rng)) is not None:
            question, sub = ask
            answer = fill_slots(sub, p.slots)
            options = [answer, *_wrong_answers(sub, p.slots, taken, rng)]
            rng.shuffle(options)
            add("what", p.kind, fill_slots(question, p.slots), options, LETTERS[options.index(answer)], [p.id],
                spans[p.id])  # fmt: skip
        if p.id in singles:
            times, letter, wrong_ids = _when_options(p, plan, spans, rng)
            add("when", p.kind, rng.choice(_WHEN[p.kind]).format(_name(p)), times, letter, [p.id], spans[p.id],
                wrong_options_from=wrong_ids)  # fmt: skip
    for kind in KINDS:
        pool = plan.singles(kind)
        for _ in range(plan.order_per_kind if len(pool) >= 4 else 0):
            four = rng.sample(pool, 4)
            first = min(four, key=lambda p: spans[p.id][0])
            add("order", kind, _ORDER[kind], [_name(p) for p in four], LETTERS[four.index(first)],
                [p.id for p in four], spans[first.id])  # fmt: skip
    for kind in KINDS:
        repeated = plan.repeated(kind)
        if not repeated:
            continue
        distinct = len({p.text for p in repeated})
        question = _PHOTO_COUNT if kind == "photo" else fact_template(repeated[0].template).count_q
        options, letter = _numbers(distinct, rng)
        add("count", kind, question, options, letter, [p.id for p in repeated], None)
    return records


# --- building --------------------------------------------------------------------------------------------


def _sounds(plan: HaystackPlan, cache: Path) -> tuple[list[Sound], dict[str, tuple[float, float]]]:
    """The speech clips to mix in (espeak-ng synthesised into ``cache/espeak``) and where each plant is.

    Speech spans run from its voice's measured onset to its offset; text and photos over their planned span.
    """
    sounds: list[Sound] = []
    spans = planned_spans(plan)
    for p in plan.plants:
        if p.kind != "speech":
            continue
        if p.clips:
            wavs = [Path(c) for c in p.clips]
        else:
            voice = p.speaker.removeprefix("espeak:")
            name = hashlib.sha256(f"{voice}|{p.text}".encode()).hexdigest()[:16]
            wavs = [samples.espeak_wav(p.text, cache / "espeak" / f"{name}.wav", voice=voice)]
        t = p.start_s
        heard: list[tuple[float, float]] = []
        for wav in wavs:
            length = len(load_audio(wav)) / SAMPLE_RATE
            on, off = voice_span(wav)
            sounds.append(Sound(wav=str(wav), start_s=round(t, 3), duration_s=round(length, 3)))
            heard.append((t + on, t + off))
            t += length + PASSAGE_PAUSE_S
        spans[p.id] = (round(heard[0][0], 3), round(heard[-1][1], 3))
    return sounds, spans


def _plant_record(p: Plant, spans: Mapping[str, tuple[float, float]]) -> dict[str, Any]:
    start, end = spans[p.id]
    out: dict[str, Any] = {"id": p.id, "kind": p.kind, "text": p.text, "start": start, "end": end}
    if p.needle:
        out.update(template=p.template, label=p.label)
    if p.speaker:
        out["speaker"] = p.speaker
    return out


def build_needle_v2(
    out_dir: Path,
    *,
    minutes: float,
    footage: Path | None = None,
    seed: int = 0,
    options: HaystackOptions | None = None,
    size: tuple[int, int] = (640, 360),
    media_cache: Path | None = None,
) -> Path:
    """Build a v2 needle benchmark: the video under ``out_dir/videos`` and ``out_dir/needle.json``.

    ``needle.json`` is an object: ``version`` (2), ``seed``, ``minutes``, ``video``, ``duration``, every planted
    needle and distractor with where it is seen or heard (``needles``, ``distractors``), and ``questions``.

    Args:
        out_dir: Where to write; reruns with the same arguments reuse the cached video.
        minutes: Length of the haystack (real footage looped).
        footage: The footage to loop; None for Big Buck Bunny (fetched and cached).
        seed: Draws everything (`draw_haystack`) and the questions.
        options: Counts and spacing.
        size: Output frame size.
        media_cache: Where Big Buck Bunny, the looped footage and espeak-ng clips are cached (default
            ``out_dir/cache``).

    Returns:
        The annotation file's path.

    Raises:
        ConfigError: Too many needles for the pools or the length.
        MediaError: The sample media packages (opencv-doc, pocketsphinx-testdata) are not installed.
        BackendError: ffmpeg or espeak-ng failed.
    """
    cache = media_cache or out_dir / "cache"
    source = footage or samples.big_buck_bunny(cache)
    loop = samples.long_video(source, minutes, cache / f"{source.stem}_{minutes:g}min{source.suffix}")
    plan = draw_haystack(seed, duration_s=probe(loop).duration_s, options=options, width=size[0])
    sounds, spans = _sounds(plan, cache)
    photos = [Photo(path=str(PHOTO_DIR / p.text), start_s=p.start_s, duration_s=p.duration_s)
              for p in plan.plants if p.kind == "photo"]  # fmt: skip
    texts = [p.style for p in plan.plants if p.style is not None]
    name = f"needle2_{source.stem}_{minutes:g}min_s{seed}.mp4"
    video = plant_haystack(loop, out_dir / "videos" / name, photos=photos, texts=texts, sounds=sounds, size=size)
    duration_s = probe(video).duration_s
    doc: dict[str, Any] = {
        "benchmark": "needle", "version": VERSION, "seed": seed, "minutes": minutes, "video": name,
        "duration": duration_s, "footage": source.name, "size": list(size),
        "needles": [_plant_record(p, spans) for p in plan.plants if p.needle],
        "distractors": [_plant_record(p, spans) for p in plan.plants if not p.needle],
        "questions": haystack_questions(plan, video=name, duration_s=duration_s, spans=spans),
    }  # fmt: skip
    ann = out_dir / "needle.json"
    write_atomic(ann, json.dumps(doc, indent=1, ensure_ascii=False).encode("utf-8"))
    return ann
