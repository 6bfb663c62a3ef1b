"""The benchmark contract: an `Example` per question and a small `Task` base class per benchmark.

A task loads its benchmark's official annotation file, renders the official prompt, parses replies
and scores them; the runner drives any `Task` without knowing which benchmark it is.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal, Self, cast

from pydantic import BaseModel, Field, model_validator

from vidscout.answering.sampling import FrameSampling
from vidscout.choices import LETTERS, letters, parse_choice
from vidscout.errors import ConfigError, MediaError
from vidscout.eval.scoring import (
    Graded,
    MetricRow,
    Metrics,
    clustered_stderr,
    counted,
    micro_row,
    rows_by,
    stderr_method,
)
from vidscout.prompts.render import render
from vidscout.types import TimeSpan

Record = dict[str, Any]
"""One annotation item as decoded from JSON."""

Extractor = Literal["official", "lenient"]
"""How a reply becomes a letter: the benchmark's own code, or vidscout's `parse_choice`."""
EXTRACTORS: tuple[Extractor, ...] = ("official", "lenient")

NO_OPTION = "@"
"""Answer key of a closed question whose true answer is none of its options, so that no reply is right.

MLVU's official ``qa_template`` leaves the answer index at -1 when no candidate equals the answer
text, and ``chr(ord("A") - 1)`` makes the key "(@)" (2 MLVU dev items); "@" mirrors that.
"""


class Example(BaseModel, frozen=True):
    """One benchmark question, normalised from its benchmark's own format."""

    id: str = Field(description="Unique within the task and stable across runs (the runner resumes by it).")
    video: str = Field(description="Video file name or key, relative to the task's videos_dir.")
    question: str = Field(description="The question without its options.")
    options: list[str] = Field(default_factory=list[str], description="Option texts without letters, A first.")
    answer: str | None = Field(
        description="Letter of the true option; None for an open-ended question; `NO_OPTION` when no option is true."
    )
    category: list[str] = Field(description="Task types / abilities; a question counts in each one.")
    duration_bucket: str | None = Field(default=None, description='"short", "medium" or "long" where known.')
    duration_s: float | None = Field(default=None, ge=0.0)
    time_reference: TimeSpan | None = Field(default=None, description="Where in the video the answer lies.")
    extra: dict[str, Any] = Field(default_factory=dict[str, Any], description="Benchmark-specific fields.")

    @model_validator(mode="after")
    def _answer_is_an_option(self) -> Example:
        if len(self.options) > len(LETTERS):
            raise ValueError(f"{len(self.options)} options; at most {len(LETTERS)} are supported")
        if self.answer == NO_OPTION and self.options:
            return self
        if self.answer is not None and self.answer not in letters(len(self.options)):
            raise ValueError(f"answer {self.answer!r} is not one of the {len(self.options)} option letters")
        return self

    @property
    def answer_text(self) -> str | None:
        """Text of the true option; None for an open question or when no option is true (`NO_OPTION`)."""
        return None if self.answer in (None, NO_OPTION) else self.options[LETTERS.index(self.answer)]


def duration_bucket(duration_s: float) -> str:
    """Video-MME's duration classes, made total: short < 4 min <= medium < 30 min <= long.

    Video-MME's own classes (short < 2 min, medium 4-15 min, long 30-60 min) leave gaps; these
    boundaries close them while putting every Video-MME video in its own class.
    """
    if duration_s < 240.0:
        return "short"
    return "medium" if duration_s < 1800.0 else "long"


def read_records(path: Path, *, expected: str) -> list[Record]:
    """Read a JSON list of objects, or JSON Lines of objects.

    Args:
        path: A ``.json`` file holding a list, or a ``.jsonl`` file with one object per line.
        expected: What the file should be, for error messages ("the MLVU dev JSON files").

    Raises:
        ConfigError: The file is missing, is not valid JSON, or does not hold objects.
    """
    if not path.is_file():
        raise ConfigError(f"Annotation file {path} does not exist; expected {expected}.")
    text = path.read_text(encoding="utf-8-sig")
    try:
        if path.suffix.lower() == ".jsonl":
            data: Any = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path} is not valid JSON ({e}); expected {expected}.") from e
    if not isinstance(data, list) or not all(isinstance(x, dict) for x in cast(list[Any], data)):
        raise ConfigError(f"{path} does not hold a list of JSON objects; expected {expected}.")
    return cast(list[Record], data)


def field(item: Record, key: str, kind: type[Any] | tuple[type[Any], ...], *, where: str) -> Any:
    """``item[key]`` checked to be of ``kind``, with a ConfigError naming the item otherwise."""
    if key not in item:
        raise ConfigError(f"{where} has no {key!r} field (fields: {', '.join(sorted(item))}).")
    value = item[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _kinds(kind)):
        names = " or ".join(k.__name__ for k in _kinds(kind))
        raise ConfigError(f"{where}: {key!r} is {type(value).__name__}, expected {names}.")
    return value


def _kinds(kind: type[Any] | tuple[type[Any], ...]) -> tuple[type[Any], ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def str_list(item: Record, key: str, *, where: str) -> list[str]:
    """``item[key]`` checked to be a list of strings."""
    value = cast(list[Any], field(item, key, list, where=where))
    if not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: {key!r} must be a list of strings.")
    return cast(list[str], value)


class Task(ABC):
    """A benchmark: its examples, its prompt, its answer parsing and its scoring.

    Subclasses set the class variables and implement `load`; the defaults score micro accuracy
    overall and per category. Scoring is split like lmms-eval: `grade` handles one reply
    (``process_results``), `aggregate` turns stored grades into `Metrics` (the aggregation), and
    `score` does both.
    """

    name: ClassVar[str]
    """Registry name, e.g. ``"mlvu"``."""
    splits: ClassVar[tuple[str, ...]]
    """Known splits; the first is the default."""
    prompt_template: ClassVar[str]
    """Template under ``vidscout/prompts`` (without ``.j2``)."""
    cluster_key: ClassVar[str] = "video"
    """Example field whose value groups correlated questions (lmms-eval ``cluster_key``)."""
    exclude_unparsed: ClassVar[bool] = False
    """Official rule: unparsable replies leave the denominator (True) or count as wrong (False)."""
    category_group: ClassVar[str] = "category"
    """Name of the per-category rows ("task", "ability"...)."""
    category_order: ClassVar[tuple[str, ...]] = ()
    """Categories to list first, in this order."""
    setting: str | None = None
    """Variant reported with the metrics ("w/ subs"); None for a benchmark with one setting."""
    official_extractor: ClassVar[str] = "vidscout parse_choice (the benchmark defines no other)"
    """What ``--extractor official`` runs for this benchmark, with the file it reproduces."""
    frame_sampling: ClassVar[FrameSampling] = FrameSampling(
        source="lmms-eval's video models' default max_num_frames (qwen2_5_vl, qwen3_vl, llava_onevision: 32)"
    )
    """The ``direct`` strategy's frames: lmms-eval's sample for this benchmark."""
    lmms_eval_metric: ClassVar[str] = "acc"
    """Per-sample metric key of the lmms-eval task (its ``metric_list``)."""
    lmms_eval_scale: ClassVar[float] = 1.0
    """Units of the lmms-eval metric: 1.0 for a fraction, 100.0 for percent."""

    def __init__(
        self,
        examples: Iterable[Example],
        *,
        split: str | None = None,
        videos_dir: Path | None = None,
        extractor: Extractor = "official",
    ):
        """Wrap already-normalised examples (loading from files is `load`'s job).

        Raises:
            ConfigError: Unknown split or extractor, or two examples share an id.
        """
        self.split = check_split(type(self), split)
        if extractor not in EXTRACTORS:
            raise ConfigError(f"Unknown extractor {extractor!r}; available: {', '.join(EXTRACTORS)}")
        self.extractor: Extractor = extractor
        self.videos_dir = videos_dir
        self._examples = list(examples)
        ids = [e.id for e in self._examples]
        if len(set(ids)) != len(ids):
            dup = next(i for i in ids if ids.count(i) > 1)
            raise ConfigError(f"{self.name}: example id {dup!r} occurs more than once in the annotations.")

    @classmethod
    @abstractmethod
    def load(
        cls,
        annotations: Path,
        *,
        split: str | None = None,
        videos_dir: Path | None = None,
        extractor: Extractor = "official",
    ) -> Self:
        """Read the benchmark's official annotation file(s).

        Args:
            annotations: The annotation file or folder, in the benchmark's published format.
            split: One of `splits`; None for the first.
            videos_dir: Folder the examples' ``video`` names are relative to.
            extractor: ``"official"`` (the benchmark's own answer extraction, `extract_official`) or
                ``"lenient"`` (vidscout's `parse_choice`).

        Raises:
            ConfigError: The annotations are missing or not in the expected format.
        """

    def num_examples(self) -> int:
        """How many questions the task has."""
        return len(self._examples)

    def get_example(self, i: int) -> Example:
        """The ``i``-th question (in annotation-file order)."""
        return self._examples[i]

    def __len__(self) -> int:
        return len(self._examples)

    def __iter__(self) -> Iterator[Example]:
        return iter(self._examples)

    def video_candidates(self, example: Example) -> list[str]:
        """Relative paths under ``videos_dir`` where the example's video may be, most likely first."""
        return [example.video]

    def video_path(self, example: Example) -> Path:
        """The example's video file under ``videos_dir``.

        Raises:
            ConfigError: The task was loaded without a videos folder.
            MediaError: None of `video_candidates` exists.
        """
        if self.videos_dir is None:
            raise ConfigError(f"{self.name}: no videos folder was given; pass videos_dir (--videos-dir).")
        tried = [self.videos_dir / rel for rel in self.video_candidates(example)]
        for path in tried:
            if path.is_file():
                return path
        raise MediaError(
            f"Video for {self.name} question {example.id} not found; tried {', '.join(map(str, tried))}. "
            "Check videos_dir points at the benchmark's video folder."
        )

    def prompt(
        self, example: Example, *, with_options: bool = True, frame_times_s: Sequence[float] | None = None
    ) -> str:
        """The benchmark's official prompt for ``example``.

        Args:
            example: The question.
            with_options: False gives the bare question (open-ended use, or an open question).
            frame_times_s: Times of the frames the model is shown, for benchmarks whose prompt
                depends on them (Video-MME with subtitles); others ignore it.
        """
        variables = self.prompt_variables(example, with_options=with_options, frame_times_s=frame_times_s)
        return render(self.prompt_template, **variables)

    def prompt_variables(
        self, example: Example, *, with_options: bool, frame_times_s: Sequence[float] | None
    ) -> dict[str, object]:
        """Variables for `prompt_template`; subclasses add their own."""
        choices = list(zip(LETTERS, example.options, strict=False))
        return {
            "question": example.question,
            "choices": choices,
            "with_options": with_options and bool(choices),
        }

    def tags(self, example: Example) -> dict[str, str]:
        """Extra labels stored with each grade for breakdowns (none by default)."""
        return {}

    @property
    def extractor_label(self) -> str:
        """The extractor in words, for metrics and reports."""
        if self.extractor == "lenient":
            return "lenient: vidscout parse_choice (ours, more forgiving than the benchmark's own)"
        return f"official: {self.official_extractor}"

    def extract_official(self, text: str | None, example: Example) -> str | None:
        """The benchmark's own answer extraction; `parse_choice` for a benchmark without one."""
        return parse_choice(text, example.options)

    def parse_answer(self, text: str | None, example: Example) -> str | None:
        """The option letter a reply chose under the task's extractor, or None when it names none."""
        if self.extractor == "lenient":
            return parse_choice(text, example.options)
        return self.extract_official(text, example)

    def grade(self, example: Example, response: str | None) -> Graded:
        """Grade one reply; the result is what the runner stores and `aggregate` reads."""
        return Graded(
            example_id=example.id,
            cluster=str(getattr(example, self.cluster_key)),
            category=example.category,
            duration_bucket=example.duration_bucket,
            answer=example.answer,
            response=response,
            predicted=None if example.answer is None else self.parse_answer(response, example),
            tags=self.tags(example),
        )

    def score(self, examples_and_predictions: Iterable[tuple[Example, str | None]]) -> Metrics:
        """Grade each (example, reply) pair and aggregate the grades."""
        return self.aggregate([self.grade(e, r) for e, r in examples_and_predictions])

    def aggregate(self, graded: Sequence[Graded]) -> Metrics:
        """Default aggregation: overall micro accuracy, then micro accuracy per category.

        Raises:
            ConfigError: A question was graded twice (e.g. a resumed run appended it again).
        """
        scored = counted(graded, exclude_unparsed=self.exclude_unparsed)
        rows = [micro_row("overall", "Overall", scored)]
        rows += rows_by(self.category_group, scored, lambda g: g.category, order=self.category_order)
        return self.metrics(graded, rows, headline="Overall")

    def metrics(
        self, graded: Sequence[Graded], rows: list[MetricRow], *, headline: str, notes: Sequence[str] = ()
    ) -> Metrics:
        """Assemble `Metrics` from ``rows``, filling the counts and the clustered error."""
        ids = [g.example_id for g in graded]
        if len(set(ids)) != len(ids):
            dup = next(i for i in ids if ids.count(i) > 1)
            raise ConfigError(f"{self.name}: question {dup!r} was graded more than once; remove the duplicate.")
        closed = [g for g in graded if g.answer is not None]
        unparsed = sum(g.predicted is None for g in closed)
        scored = counted(graded, exclude_unparsed=self.exclude_unparsed)
        if graded and not closed:
            notes = [*notes, "No question has an answer key (no ground truth?); nothing scored."]
        if keyless := sum(g.answer == NO_OPTION for g in closed):
            notes = [*notes, f"{keyless} question(s) have an answer that is none of their options; they count "
                     "as wrong, as in the official scorer."]  # fmt: skip
        return Metrics(
            task=self.name,
            split=self.split,
            setting=self.setting,
            headline=headline,
            rows=rows,
            n_examples=len(graded),
            n_scored=len(scored),
            n_unparsed=unparsed,
            n_errors=sum(g.response is None for g in closed),
            n_excluded=unparsed if self.exclude_unparsed else 0,
            n_open=len(graded) - len(closed),
            extractor=self.extractor_label,
            stderr=clustered_stderr(scored),
            stderr_method=stderr_method(scored),
            notes=list(notes),
        )

    # --- lmms-eval's view of a run (`vidscout.eval.lmms_compat` writes it) --------------------------

    def lmms_eval_task(self) -> str:
        """Name of the matching lmms-eval task (its samples file is ``samples_<name>.jsonl``)."""
        return self.name

    def lmms_eval_sample(self, example: Example, graded: Graded) -> Any:
        """The per-sample value lmms-eval's ``process_results`` returns under `lmms_eval_metric`."""
        return float(graded.correct)

    def lmms_eval_aggregate(self, values: Sequence[Any]) -> float:
        """lmms-eval's aggregation of the per-sample values (default: the mean, a fraction)."""
        return sum(float(v) for v in values) / len(values) if values else 0.0


def check_split(task: type[Task], split: str | None) -> str:
    """``split`` if ``task`` knows it, its default split if None.

    Raises:
        ConfigError: Unknown split; the message lists the known ones.
    """
    if split is None:
        return task.splits[0]
    if split not in task.splits:
        raise ConfigError(f"{task.name} has no split {split!r}; available: {', '.join(task.splits)}")
    return split
