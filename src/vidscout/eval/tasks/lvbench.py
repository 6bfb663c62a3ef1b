"""LVBench (Wang et al., arXiv 2406.08035; github.com/THUDM/LVBench): hour-long videos, 4-option questions.

Loads VideoChat-Flash's flattened ``lvbench_clean.json`` or the official ``video_info.meta.jsonl``.
Scores overall accuracy and one accuracy per ability (ER, EU, KIR, TG, Rea, Sum); as in the official
``compute_accuracy``, a question counts in every ability it lists.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any, ClassVar, Self, cast

from pydantic import ValidationError

from vidscout.answering.sampling import FrameSampling
from vidscout.choices import LETTERS
from vidscout.errors import ConfigError
from vidscout.eval.answers import extract_lvbench_official
from vidscout.eval.scoring import Graded
from vidscout.eval.task import Example, Extractor, Record, Task, check_split, field, read_records, str_list
from vidscout.types import TimeSpan

ABILITIES: dict[str, str] = {
    "entity recognition": "ER",
    "event understanding": "EU",
    "key information retrieval": "KIR",
    "temporal grounding": "TG",
    "reasoning": "Rea",
    "summarization": "Sum",
}
"""``question_type`` values to the abbreviations of the official leaderboard (scripts/test_acc.py)."""

_EXPECTED = (
    "LVBench annotations: lvbench_clean.json (a list of {video, question, candidates, answer, "
    "question_type, time_reference}) or the official video_info.meta.jsonl, or a folder holding one"
)
_FILES = ("lvbench_clean.json", "video_info.meta.jsonl")
_MAPPING = "lvbench_index_to_youtube.json"
_LETTERED = re.compile(r"^\(([A-F])\)\s?(.*)$", re.DOTALL)
_OPTION_LINE = re.compile(r"\n\s*\(([A-F])\)\s?")


def parse_clock(text: str) -> float | None:
    """Seconds in ``"MM:SS"`` or ``"H:MM:SS"`` (minutes may exceed 99); None for "None" or garbage."""
    parts = text.strip().split(":")
    if not 2 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
        return None
    seconds = 0.0
    for p in parts:
        seconds = seconds * 60 + int(p)
    return seconds


def parse_time_reference(text: str | None) -> TimeSpan | None:
    """The span of an LVBench ``time_reference`` such as ``"00:15-00:19"`` or ``"99:00-118:34"``.

    A side that reads "None" makes a point span at the other side ("08:17-None"); both missing, or
    an end before the start (an annotation error), give None.
    """
    if not text or "-" not in text:
        return None
    start_text, _, end_text = text.partition("-")
    start, end = parse_clock(start_text), parse_clock(end_text)
    if start is None:
        if end is None:
            return None
        start = end
    if end is None:
        end = start
    return TimeSpan(start_s=start, end_s=end) if end >= start else None


def _lettered_options(candidates: list[str], where: str) -> list[str]:
    options: list[str] = []
    for letter, text in zip(LETTERS, candidates, strict=False):
        m = _LETTERED.match(text)
        if not m or m.group(1) != letter:
            raise ConfigError(f"{where}: candidate {text!r} should start with '({letter}) '.")
        options.append(m.group(2))
    return options


def _letter(answer: str, n_options: int, where: str) -> str:
    letter = answer.strip()[1:2] if answer.strip().startswith("(") else answer.strip()[:1]
    if letter not in LETTERS[:n_options]:
        raise ConfigError(f"{where}: answer {answer!r} names no option.")
    return letter


def _abilities(types: list[str], where: str) -> list[str]:
    unknown = [t for t in types if t.lower() not in ABILITIES]
    if unknown:
        raise ConfigError(f"{where}: unknown question_type {unknown}; known: {', '.join(ABILITIES)}.")
    return [ABILITIES[t.lower()] for t in types]


def _example(
    *,
    qid: str,
    video: str,
    question: str,
    options: list[str],
    answer: str,
    item: Record,
    where: str,
    extra: dict[str, Any],
) -> Example:
    raw_time = item.get("time_reference")
    try:
        return Example(
            id=qid,
            video=video,
            question=question,
            options=options,
            answer=_letter(answer, len(options), where),
            category=_abilities(str_list(item, "question_type", where=where), where),
            time_reference=parse_time_reference(raw_time if isinstance(raw_time, str) else None),
            extra={**extra, "time_reference_raw": raw_time},
        )
    except ValidationError as e:
        raise ConfigError(f"{where} is not a valid LVBench item: {e.errors()[0]['msg']}") from e


def clean_examples(items: list[Record], *, youtube: dict[str, str] | None = None, source: str = "") -> list[Example]:
    """Examples from ``lvbench_clean.json`` items; ids are ``"<video>-<n>"``, n counting per video."""
    seen: dict[str, int] = defaultdict(int)
    out: list[Example] = []
    for i, item in enumerate(items):
        where = f"{source} item {i}"
        video = cast(str, field(item, "video", str, where=where))
        n = seen[video]
        seen[video] += 1
        extra: dict[str, Any] = {"video_type": item.get("type"), "video_index": video}
        if youtube and video in youtube:
            extra["youtube_key"] = youtube[video]
        out.append(
            _example(
                qid=f"{video}-{n}",
                video=f"{video}.mp4",
                question=cast(str, field(item, "question", str, where=where)),
                options=_lettered_options(str_list(item, "candidates", where=where), where),
                answer=cast(str, field(item, "answer", str, where=where)),
                item=item,
                where=where,
                extra=extra,
            )
        )
    return out


def meta_examples(records: list[Record], *, source: str = "") -> list[Example]:
    """Examples from the official ``video_info.meta.jsonl``: one record per video with its ``qa`` list.

    Options are cut from the question text at its "(A) ...", "(B) ..." lines; ids are the official ``uid``.
    """
    out: list[Example] = []
    for r, record in enumerate(records):
        key = cast(str, field(record, "key", str, where=f"{source} record {r}"))
        for q, qa in enumerate(cast(list[Any], field(record, "qa", list, where=f"{source} record {r}"))):
            where = f"{source} video {key} question {q}"
            if not isinstance(qa, dict):
                raise ConfigError(f"{where} is not a JSON object.")
            item = cast(Record, qa)
            parts = _OPTION_LINE.split(cast(str, field(item, "question", str, where=where)))
            question, options = parts[0].strip(), [t.strip() for t in parts[2::2]]
            if parts[1::2] != list(LETTERS[: len(options)]) or not options:
                raise ConfigError(f"{where}: expected the options as '\\n(A) ...' lines after the question.")
            out.append(
                _example(
                    qid=str(item.get("uid", f"{key}-{q}")),
                    video=f"{key}.mp4",
                    question=question,
                    options=options,
                    answer=cast(str, field(item, "answer", str, where=where)),
                    item=item,
                    where=where,
                    extra={"video_type": record.get("type"), "youtube_key": key},
                )
            )
    return out


class LVBenchTask(Task):
    """LVBench; the headline is overall accuracy, with per-ability scores counted multi-label."""

    name: ClassVar[str] = "lvbench"
    splits: ClassVar[tuple[str, ...]] = ("test",)
    prompt_template: ClassVar[str] = "lvbench_mc"
    category_group: ClassVar[str] = "ability"
    category_order: ClassVar[tuple[str, ...]] = tuple(ABILITIES.values())
    official_extractor: ClassVar[str] = "LVBench polish_answer (THUDM/LVBench lvbench/utils/answer_util.py @f998d95)"
    frame_sampling: ClassVar[FrameSampling] = FrameSampling(
        frames=32,
        source="lmms-eval lvbench.yaml sets no frame count: the models' default max_num_frames (32)",
    )
    lmms_eval_metric: ClassVar[str] = "lvbench_score"

    @classmethod
    def load(
        cls,
        annotations: Path,
        *,
        split: str | None = None,
        videos_dir: Path | None = None,
        extractor: Extractor = "official",
    ) -> Self:
        """Load ``lvbench_clean.json`` or ``video_info.meta.jsonl`` (or a folder holding either).

        A ``lvbench_index_to_youtube.json`` next to ``lvbench_clean.json`` adds each video's YouTube
        key, so videos named ``<youtube_key>.mp4`` (lmms-eval's naming) are found too. ``extractor``:
        ``"official"`` (`extract_lvbench_official`) or ``"lenient"``.
        """
        split = check_split(cls, split)
        path = annotations
        if annotations.is_dir():
            found = [annotations / f for f in _FILES if (annotations / f).is_file()]
            if not found:
                raise ConfigError(f"Neither of {', '.join(_FILES)} is in {annotations}; expected {_EXPECTED}.")
            path = found[0]
        records = read_records(path, expected=_EXPECTED)
        if records and "qa" in records[0]:
            examples = meta_examples(records, source=path.name)
        else:
            youtube = _youtube_keys(path.parent / _MAPPING)
            examples = clean_examples(records, youtube=youtube, source=path.name)
        if not examples:
            raise ConfigError(f"{path} holds no questions; expected {_EXPECTED}.")
        return cls(examples, split=split, videos_dir=videos_dir, extractor=extractor)

    def extract_official(self, text: str | None, example: Example) -> str | None:
        """LVBench's ``polish_answer`` (`extract_lvbench_official`)."""
        return extract_lvbench_official(text, len(example.options))

    def lmms_eval_sample(self, example: Example, graded: Graded) -> Any:
        """lmms-eval's ``lvbench_score``: whether the letter is right (a bool, averaged to a fraction)."""
        return graded.correct

    def video_candidates(self, example: Example) -> list[str]:
        """``<index>.mp4`` (video2dataset naming), then ``<youtube_key>.mp4`` when the key is known."""
        key = example.extra.get("youtube_key")
        return [example.video] + ([f"{key}.mp4"] if key and f"{key}.mp4" != example.video else [])


def _youtube_keys(path: Path) -> dict[str, str] | None:
    """``lvbench_index_to_youtube.json`` as ``{index: youtube_key}``; None when the file is absent."""
    if not path.is_file():
        return None
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path} is not valid JSON ({e}); expected {{index: {{'youtube_key': ...}}}}.") from e
    if not isinstance(data, dict):
        raise ConfigError(f"{path} should map each video index to an object with a 'youtube_key'.")
    out: dict[str, str] = {}
    for index, entry in cast(dict[str, Any], data).items():
        if isinstance(entry, dict) and isinstance(key := cast(Record, entry).get("youtube_key"), str):
            out[index] = key
    return out
