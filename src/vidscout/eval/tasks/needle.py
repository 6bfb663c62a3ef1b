"""Needle in a haystack: a synthetic smoke benchmark any machine can build from real footage and run.

`make_needle_benchmark` loops real footage (Big Buck Bunny by default) to the requested length and
plants needles at known, seeded times. It writes two versions:

- **version 2** (the default; `vidscout.eval.needle_v2`): facts drawn from templates with random values,
  spoken by espeak-ng voices, drawn on screen in varied styles, or shown as full-screen photos, in a
  haystack where LibriVox readings, espeak-ng chatter and neutral captions run too. Questions of four
  forms (what, when, order, count) paraphrase the facts; wrong times are other events' times.
- **version 1** (``version=1``): 13 needles from a fixed pool of 16 facts over the soundtrack, each asked
  *what* (distractors written per fact) and *when* (the quoted sentence or caption; wrong times drawn at
  random at least `MIN_TIME_GAP_S` apart). Kept byte for byte, so earlier numbers stay reproducible.

The annotation file (``needle.json``: a JSON list for v1, an object with ``"version": 2`` for v2) is what
`NeedleTask` loads, so a needle run goes through the same runner as MLVU or LVBench; the version (and for
v2 the seed) is the task's `setting`, recorded in ``run.json`` and ``metrics.json``.

Replies are graded with vidscout's own lettered parse (`vidscout.choices.parse_choice`: a letter, "B. text",
an answer phrase, or the text of exactly one option): the task is vidscout's, so that parse is its official
extractor and ``--extractor official`` and ``lenient`` score the same.

```python
ann = make_needle_benchmark(Path("needle"), minutes=30, seed=1)   # needle/needle.json + needle/videos/*.mp4
task = NeedleTask.load(ann, videos_dir=ann.parent / "videos")
```
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal, Self, cast

from pydantic import BaseModel, Field, ValidationError

from vidscout._io import write_atomic
from vidscout.choices import LETTERS
from vidscout.errors import ConfigError
from vidscout.eval.needle_v2 import FORMS, HaystackOptions, build_needle_v2, default_options
from vidscout.eval.scoring import Graded, Metrics, counted, micro_row, rows_by
from vidscout.eval.task import (
    Example,
    Extractor,
    Record,
    Task,
    check_split,
    duration_bucket,
    field,
    read_records,
    str_list,
)
from vidscout.media import samples
from vidscout.media.needles import Needle, NeedleKind, plant_needles
from vidscout.types import TimeSpan, format_hms
from vidscout.video.decode import probe

PHOTO_DIR = Path("/usr/share/doc/opencv-doc/examples/data")
"""Photos of Debian's ``opencv-doc`` (a set-up dependency), shown by image needles."""
MIN_TIME_GAP_S = 90.0
"""Smallest distance between the options of a "when" question, and between two needles."""
EDGE_S = 30.0
"""No needle in the first or last seconds of the video."""

Form = Literal["what", "when"]


class Fact(BaseModel, frozen=True):
    """A plantable fact and its "what" question: the true answer and three wrong ones."""

    kind: NeedleKind
    planted: str = Field(description="The sentence spoken, the caption drawn, or the photo file name.")
    question: str
    answer: str
    distractors: tuple[str, str, str]
    label: str = Field(default="", description="For photos: what the photo shows, in words.")


FACTS: tuple[Fact, ...] = (
    Fact(kind="speech", planted="The launch code for the satellite is seven seven alpha.",
         question="What is the launch code for the satellite?", answer="seven seven alpha",
         distractors=("four four bravo", "nine nine delta", "two two echo")),
    Fact(kind="speech", planted="Grandmother's secret ingredient is a spoon of honey.",
         question="What is grandmother's secret ingredient?", answer="a spoon of honey",
         distractors=("a pinch of cinnamon", "lemon zest", "maple syrup")),
    Fact(kind="speech", planted="The meeting has moved to the blue conference room.",
         question="Where has the meeting moved to?", answer="the blue conference room",
         distractors=("the red conference room", "the cafeteria", "the rooftop terrace")),
    Fact(kind="speech", planted="Captain Alvarez will lead the second expedition.",
         question="Who will lead the second expedition?", answer="Captain Alvarez",
         distractors=("Captain Morgan", "Doctor Chen", "Professor Ibsen")),
    Fact(kind="speech", planted="The missing key was hidden inside the piano.",
         question="Where was the missing key hidden?", answer="inside the piano",
         distractors=("under the doormat", "in the garden shed", "behind the clock")),
    Fact(kind="speech", planted="Our quarterly revenue grew by twelve percent.",
         question="By how much did the quarterly revenue grow?", answer="twelve percent",
         distractors=("three percent", "twenty percent", "forty percent")),
    Fact(kind="speech", planted="The violin lesson is on Thursday afternoon.",
         question="When is the violin lesson?", answer="Thursday afternoon",
         distractors=("Monday morning", "Saturday evening", "Friday at noon")),
    Fact(kind="text", planted="Museum closes at 17:30",
         question="According to the sign, when does the museum close?", answer="17:30",
         distractors=("16:00", "18:45", "20:15")),
    Fact(kind="text", planted="Gate B22 boarding now",
         question="Which gate is boarding, according to the screen?", answer="B22",
         distractors=("A7", "C14", "D31")),
    Fact(kind="text", planted="Wi-Fi password: PANDA2024",
         question="What is the Wi-Fi password shown on screen?", answer="PANDA2024",
         distractors=("TIGER1999", "KOALA2023", "OTTER2025")),
    Fact(kind="text", planted="Bus 47 to Harbour Road",
         question="Where does bus 47 go, according to the sign?", answer="Harbour Road",
         distractors=("Mill Lane", "Station Square", "the airport")),
    Fact(kind="text", planted="Room 214: Chemistry Lab",
         question="Which room is the chemistry lab in, according to the sign?", answer="Room 214",
         distractors=("Room 101", "Room 330", "Room 412")),
    Fact(kind="text", planted="Next stop: Central Station",
         question="What is the next stop shown on screen?", answer="Central Station",
         distractors=("Harbour Front", "City Museum", "North Park")),
    Fact(kind="image", planted="baboon.jpg", label="a baboon",
         question="Which of these is shown full screen for a few seconds?", answer="a baboon",
         distractors=("a red sports car", "a lighthouse", "a grand piano")),
    Fact(kind="image", planted="orange.jpg", label="an orange",
         question="Which of these is shown full screen for a few seconds?", answer="an orange",
         distractors=("a sailing boat", "a bicycle", "a laptop computer")),
    Fact(kind="image", planted="messi5.jpg", label="football players on a pitch",
         question="Which of these is shown full screen for a few seconds?", answer="football players on a pitch",
         distractors=("a city skyline at night", "a bowl of soup", "a snowy mountain")),
)  # fmt: skip
"""The fact pool. Distractors never name another planted fact, and none of them appears in Big Buck Bunny."""

_EXPECTED = (
    "a needle annotation file written by make_needle_benchmark (v1: a JSON list of needle questions; "
    'v2: an object with "version": 2 and its "questions")'
)


def _when_question(fact: Fact) -> str:
    if fact.kind == "speech":
        return f'When does someone say: "{fact.planted}"?'
    if fact.kind == "text":
        return f'When is the caption "{fact.planted}" shown on screen?'
    return f"When is {fact.label} shown full screen?"


def _place(n: int, duration_s: float, rng: random.Random, gap_s: float) -> list[float]:
    """``n`` start times: one per equal slot of the usable range, jittered, at least ``gap_s`` apart."""
    usable = duration_s - 2 * EDGE_S
    if n and usable / n < gap_s:
        raise ConfigError(
            f"{n} needles {gap_s:g} s apart need at least {n * gap_s + 2 * EDGE_S:.0f} s of video; "
            f"this one has {duration_s:.0f} s."
        )
    slot = usable / max(n, 1)
    jitter = slot - gap_s
    return [round(EDGE_S + i * slot + rng.uniform(0, jitter), 1) for i in range(n)]


def _time_options(true_s: float, duration_s: float, rng: random.Random, gap_s: float) -> tuple[list[str], str]:
    """Four ``HH:MM:SS`` options in time order (the true one among them) and the true letter.

    Raises:
        ConfigError: The video is too short to fit four times ``gap_s`` apart.
    """
    grid = [float(t) for t in range(int(EDGE_S), int(duration_s - EDGE_S) + 1)]
    for _ in range(100):  # random greedy picks; a dead end (no room left) starts over
        times = [true_s]
        while len(times) < 4:
            free = [t for t in grid if all(abs(t - u) >= gap_s for u in times)]
            if not free:
                break
            times.append(rng.choice(free))
        if len(times) == 4:
            ordered = sorted(times)
            return [format_hms(t) for t in ordered], LETTERS[ordered.index(true_s)]
    raise ConfigError(f"A {duration_s:.0f} s video has no room for four time options {gap_s:g} s apart.")


def needle_questions(
    planted: Sequence[tuple[Fact, Needle]], *, video: str, duration_s: float, seed: int, gap_s: float = MIN_TIME_GAP_S
) -> list[Record]:
    """The annotation records (a "what" and a "when" question per needle), deterministic in ``seed``."""
    rng = random.Random(seed)
    records: list[Record] = []
    for i, (fact, needle) in enumerate(planted):
        end_s = needle.start_s + (needle.duration_s if needle.on_screen else 0.4 * len(fact.planted.split()) + 0.5)
        where = {"planted": fact.planted, "start": needle.start_s, "end": round(end_s, 1)}
        common: Record = {"video": video, "kind": fact.kind, "duration": duration_s, "needle": where}
        options = [fact.answer, *fact.distractors]
        rng.shuffle(options)
        records.append({**common, "id": f"{i:02d}-{fact.kind}-what", "form": "what", "question": fact.question,
                        "options": options, "answer": LETTERS[options.index(fact.answer)]})  # fmt: skip
        when_options, letter = _time_options(needle.start_s, duration_s, rng, gap_s)
        records.append({**common, "id": f"{i:02d}-{fact.kind}-when", "form": "when",
                        "question": _when_question(fact), "options": when_options, "answer": letter})  # fmt: skip
    return records


def make_needle_benchmark(
    out_dir: Path,
    *,
    version: int = 2,
    minutes: float = 30.0,
    footage: Path | None = None,
    per_kind: dict[NeedleKind, int] | None = None,
    seed: int = 0,
    size: tuple[int, int] = (640, 360),
    media_cache: Path | None = None,
    min_gap_s: float | None = None,
    options: HaystackOptions | None = None,
) -> Path:
    """Build a needle benchmark: the video under ``out_dir/videos`` and ``out_dir/needle.json``.

    Args:
        out_dir: Where to write; reruns with the same arguments reuse the cached video.
        version: 2 (the default) or 1 (today's v1 files, byte for byte).
        minutes: Length of the haystack (real footage looped).
        footage: The footage to loop; None for Big Buck Bunny (fetched and cached).
        per_kind: How many needles of each kind. v1: default 5 speech, 5 text, 3 image. v2: spoken and on-screen
            facts asked about and photos ("image"); default `vidscout.eval.needle_v2.default_options`.
        seed: Picks the facts, their times and the option order.
        size: Output frame size.
        media_cache: Where Big Buck Bunny and the looped footage are cached (default ``out_dir/cache``).
        min_gap_s: Smallest distance between two options of a "when" question (v1: also between two needles;
            default 90 s for v1; for v2 see `default_options`).
        options: v2 only: every knob of the haystack (`HaystackOptions`); ``per_kind`` and ``min_gap_s``
            override its fields.

    Returns:
        The annotation file's path.

    Raises:
        ConfigError: Unknown version, more needles than facts of a kind, or too many needles for the length.
    """
    if version == 2:
        base = options or default_options(minutes)
        update: dict[str, Any] = {}
        if per_kind is not None:
            update.update(speech=per_kind.get("speech", base.speech), text=per_kind.get("text", base.text),
                          photos=per_kind.get("image", base.photos))  # fmt: skip
        if min_gap_s is not None:
            update["option_gap_s"] = min_gap_s
        haystack = HaystackOptions.model_validate({**base.model_dump(), **update})
        return build_needle_v2(out_dir, minutes=minutes, footage=footage, seed=seed, options=haystack, size=size,
                               media_cache=media_cache)  # fmt: skip
    if version != 1:
        raise ConfigError(f"Unknown needle benchmark version {version}; available: 1, 2.")
    if options is not None:
        raise ConfigError("options (HaystackOptions) apply to needle version 2 only.")
    min_gap_s = MIN_TIME_GAP_S if min_gap_s is None else min_gap_s
    counts: dict[NeedleKind, int] = per_kind or {"speech": 5, "text": 5, "image": 3}
    rng = random.Random(seed)
    chosen: list[Fact] = []
    for kind, n in counts.items():
        pool = [f for f in FACTS if f.kind == kind]
        if not 0 <= n <= len(pool):
            raise ConfigError(f"per_kind[{kind!r}] = {n}; the fact pool has {len(pool)} {kind} needles.")
        chosen += rng.sample(pool, n)
    rng.shuffle(chosen)
    cache = media_cache or out_dir / "cache"
    source = footage or samples.big_buck_bunny(cache)
    loop = samples.long_video(source, minutes, cache / f"{source.stem}_{minutes:g}min{source.suffix}")
    duration_s = probe(loop).duration_s
    starts = _place(len(chosen), duration_s, rng, min_gap_s)
    needles = [
        Needle(kind=f.kind, text=f.label or f.planted, start_s=t,
               duration_s=5.0 if f.kind == "image" else 6.0,
               image=str(PHOTO_DIR / f.planted) if f.kind == "image" else None)
        for f, t in zip(chosen, starts, strict=True)
    ]  # fmt: skip
    (out_dir / "videos").mkdir(parents=True, exist_ok=True)
    name = f"needle_{source.stem}_{minutes:g}min_s{seed}.mp4"
    video = plant_needles(loop, needles, out_dir / "videos" / name, size=size, crf=28)
    records = needle_questions(list(zip(chosen, needles, strict=True)), video=name,
                               duration_s=probe(video).duration_s, seed=seed, gap_s=min_gap_s)  # fmt: skip
    ann = out_dir / "needle.json"
    write_atomic(ann, json.dumps(records, indent=1, ensure_ascii=False))
    return ann


def needle_example(item: Record, *, where: str) -> Example:
    """Normalise one record of a v1 needle annotation file.

    Raises:
        ConfigError: A field is missing or has the wrong type.
    """
    needle = cast(dict[str, Any], field(item, "needle", dict, where=where))
    duration = float(field(item, "duration", (int, float), where=where))
    try:
        return Example(
            id=cast(str, field(item, "id", str, where=where)),
            video=cast(str, field(item, "video", str, where=where)),
            question=cast(str, field(item, "question", str, where=where)),
            options=str_list(item, "options", where=where),
            answer=cast(str, field(item, "answer", str, where=where)),
            category=[cast(str, field(item, "kind", str, where=where))],
            duration_s=duration,
            duration_bucket=duration_bucket(duration),
            time_reference=TimeSpan(
                start_s=float(field(needle, "start", (int, float), where=where)),
                end_s=float(field(needle, "end", (int, float), where=where)),
            ),
            extra={"form": cast(str, field(item, "form", str, where=where)), "planted": needle.get("planted", "")},
        )
    except ValidationError as e:
        raise ConfigError(f"{where} is not a valid needle question: {e.errors()[0]['msg']}") from e


def needle_v2_example(item: Record, *, where: str) -> Example:
    """Normalise one question of a v2 needle annotation file (``needle.json``'s ``questions``).

    Raises:
        ConfigError: A field is missing or has the wrong type.
    """
    duration = float(field(item, "duration", (int, float), where=where))
    time = item.get("time")
    if time is not None and not (isinstance(time, list) and len(cast(list[Any], time)) == 2):
        raise ConfigError(f"{where}: 'time' must be [start, end] or null.")
    try:
        return Example(
            id=cast(str, field(item, "id", str, where=where)),
            video=cast(str, field(item, "video", str, where=where)),
            question=cast(str, field(item, "question", str, where=where)),
            options=str_list(item, "options", where=where),
            answer=cast(str, field(item, "answer", str, where=where)),
            category=[cast(str, field(item, "kind", str, where=where))],
            duration_s=duration,
            duration_bucket=duration_bucket(duration),
            time_reference=None if time is None else TimeSpan(start_s=float(time[0]), end_s=float(time[1])),
            extra={
                "form": cast(str, field(item, "form", str, where=where)),
                "needles": str_list(item, "needles", where=where),
            },
        )
    except (ValidationError, TypeError, ValueError) as e:
        msg = e.errors()[0]["msg"] if isinstance(e, ValidationError) else str(e)
        raise ConfigError(f"{where} is not a valid needle question: {msg}") from e


def _load_v2(path: Path, doc: dict[str, Any]) -> tuple[list[Example], str]:
    """The examples of a v2 ``needle.json`` object and the setting that names it ("v2, seed 3, 30 min")."""
    version = doc.get("version")
    if version != 2:
        raise ConfigError(f"{path} is needle benchmark version {version!r}; this vidscout reads versions 1 and 2.")
    questions = doc.get("questions")
    if not isinstance(questions, list) or not questions:
        raise ConfigError(f"{path} holds no questions; expected {_EXPECTED}.")
    items = cast(list[Any], questions)
    if not all(isinstance(q, dict) for q in items):
        raise ConfigError(f"{path}: 'questions' must be a list of objects; expected {_EXPECTED}.")
    examples = [needle_v2_example(cast(Record, q), where=f"{path.name} question {i}") for i, q in enumerate(items)]
    minutes = doc.get("minutes")
    length = f", {minutes:g} min" if isinstance(minutes, int | float) else ""
    return examples, f"v2, seed {doc.get('seed')}{length}"


class NeedleTask(Task):
    """Needle questions: accuracy overall, per needle kind, per question form, per form and kind, and per position."""

    name: ClassVar[str] = "needle"
    splits: ClassVar[tuple[str, ...]] = ("test",)
    prompt_template: ClassVar[str] = "mlvu_mc"
    category_group: ClassVar[str] = "kind"
    category_order: ClassVar[tuple[str, ...]] = ("speech", "text", "image", "photo")
    official_extractor: ClassVar[str] = (
        "vidscout parse_choice: the needle task is vidscout's own, so its lettered parse is the official one "
        "(a letter, 'B. text', an answer phrase, or the text of exactly one option)"
    )

    @classmethod
    def load(
        cls,
        annotations: Path,
        *,
        split: str | None = None,
        videos_dir: Path | None = None,
        extractor: Extractor = "official",
    ) -> Self:
        """Load ``needle.json`` (or the folder holding it), version 1 or 2; videos default to its ``videos`` folder.

        The needle task is vidscout's own, so its official extractor is `parse_choice`: both
        ``extractor`` values score the same.
        """
        path = annotations / "needle.json" if annotations.is_dir() else annotations
        split = check_split(cls, split)
        if not path.is_file():
            raise ConfigError(f"Annotation file {path} does not exist; expected {_EXPECTED}.")
        try:
            doc: Any = json.loads(path.read_text(encoding="utf-8-sig"))
        except json.JSONDecodeError as e:
            raise ConfigError(f"{path} is not valid JSON ({e}); expected {_EXPECTED}.") from e
        if isinstance(doc, dict):
            examples, setting = _load_v2(path, cast(dict[str, Any], doc))
        else:
            records = read_records(path, expected=_EXPECTED)
            if not records:
                raise ConfigError(f"{path} holds no questions; expected {_EXPECTED}.")
            examples = [needle_example(r, where=f"{path.name} item {i}") for i, r in enumerate(records)]
            setting = "v1"
        task = cls(examples, split=split, videos_dir=videos_dir or path.parent / "videos", extractor=extractor)
        task.setting = setting
        return task

    def tags(self, example: Example) -> dict[str, str]:
        """The question form (what, when, order, count) and which third of the video holds the answer."""
        out = {"form": str(example.extra.get("form", ""))}
        if example.time_reference is not None and example.duration_s:
            third = min(2, int(3 * example.time_reference.start_s / example.duration_s))
            out["position"] = ("first third", "middle third", "last third")[third]
        return out

    def aggregate(self, graded: Sequence[Graded]) -> Metrics:
        """Overall, then per kind, per form, per form and kind ("when / speech") and per position."""
        scored = counted(graded, exclude_unparsed=False)
        rows = [micro_row("overall", "Overall", scored)]
        rows += rows_by("kind", scored, lambda g: g.category, order=self.category_order)
        rows += rows_by("form", scored, lambda g: [g.tags["form"]] if "form" in g.tags else [], order=FORMS)
        pairs = [f"{f} / {k}" for f in FORMS for k in self.category_order]
        rows += rows_by("form / kind", scored, lambda g: [f"{g.tags['form']} / {k}" for k in g.category]
                        if "form" in g.tags else [], order=pairs)  # fmt: skip
        rows += rows_by("position", scored, lambda g: [g.tags["position"]] if "position" in g.tags else [],
                        order=("first third", "middle third", "last third"))  # fmt: skip
        return self.metrics(graded, rows, headline="Overall")
