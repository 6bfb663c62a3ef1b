"""MLVU (Zhou et al., CVPR 2025; github.com/JUNJIE99/MLVU): multi-task long-video understanding.

Dev: the 9 official JSON files (7 multiple-choice tasks with 4 options, 2 open-ended ones). Test:
the same item schema with 6 options and 9 multiple-choice tasks. Headline: M-Avg, the mean of the
multiple-choice *task* accuracies, not the mean over questions.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Self, cast

from pydantic import ValidationError

from vidscout.choices import LETTERS, letters
from vidscout.errors import ConfigError
from vidscout.eval.scoring import Graded, Metrics, counted, macro_row, micro_row, rows_by
from vidscout.eval.task import (
    Example,
    Record,
    Task,
    check_split,
    duration_bucket,
    field,
    read_records,
    str_list,
)

TASK_ABBREVIATIONS: dict[str, str] = {
    "topic_reasoning": "TR",
    "anomaly_reco": "AR",
    "findNeedle": "NQA",
    "needle": "NQA",
    "needleQA": "NQA",
    "ego": "ER",
    "plotQA": "PQA",
    "sportsQA": "SQA",
    "order": "AO",
    "count": "AC",
    "tutorialQA": "TQA",
    "subPlot": "SSC",
    "summary": "VS",
}
"""``question_type`` values (dev and test spellings) to the leaderboard's task abbreviations."""

MC_TASKS: dict[str, tuple[str, ...]] = {
    "dev": ("TR", "AR", "NQA", "ER", "PQA", "AO", "AC"),
    "test": ("TR", "AR", "NQA", "ER", "PQA", "SQA", "AO", "AC", "TQA"),
}
"""The multiple-choice tasks M-Avg averages over, in leaderboard column order."""

_EXPECTED = (
    "MLVU annotations: the dev folder of JSON files (1_plotQA.json ... 9_summary.json) or a JSON file of "
    "items {video, duration, question, candidates, answer, question_type}"
)


def answer_letter(answer: str, candidates: Sequence[str]) -> tuple[str, bool]:
    """The letter of the candidate ``answer`` names, and whether it had to be guessed.

    Exact text wins, and of equal candidates the *last* one, as MLVU's ``qa_template`` does (its
    loop overwrites the index). An answer that is a bare letter (MLVU-Test style) is taken as such.
    Otherwise the closest candidate by shared words, then by character similarity: 2 dev items
    ("Catching a flying drone quadcopter") name no candidate exactly.

    Returns:
        (letter, guessed) where guessed is True when no candidate matched exactly.
    """
    exact = [i for i, c in enumerate(candidates) if c == answer]
    if exact:
        return LETTERS[exact[-1]], False
    if len(answer) == 1 and answer in letters(len(candidates)):
        return answer, False
    said = set(answer.casefold().split())

    def closeness(i: int) -> tuple[int, float]:
        text = candidates[i].casefold()
        return len(said & set(text.split())), difflib.SequenceMatcher(None, answer.casefold(), text).ratio()

    return LETTERS[max(range(len(candidates)), key=closeness)], True


def mlvu_example(item: Record, *, index: int, folder: str | None, where: str) -> Example:
    """Normalise one MLVU item (dev or test schema).

    Args:
        item: The JSON object.
        index: Its position in its file (part of the id when the item has no ``question_id``).
        folder: The file's stem (``"1_plotQA"``) when loaded from the dev folder: upstream keeps
            videos in one folder per task, so the video key is ``"<folder>/<file>"``.
        where: Location for error messages.

    Raises:
        ConfigError: A required field is missing or has the wrong type.
    """
    video = cast(str, field(item, "video", str, where=where))
    question = cast(str, field(item, "question", str, where=where))
    qtype = cast(str, field(item, "question_type", str, where=where))
    duration = cast(float | None, field(item, "duration", (int, float), where=where) if "duration" in item else None)
    options = str_list(item, "candidates", where=where) if "candidates" in item else []
    raw_answer = item.get("answer")
    extra: dict[str, Any] = {"question_type": qtype}
    if "scoring_points" in item:
        extra["scoring_points"] = item["scoring_points"]
    letter: str | None = None
    if options and raw_answer is not None:
        if not isinstance(raw_answer, str):
            raise ConfigError(f"{where}: 'answer' must be the text of a candidate (or a letter).")
        letter, guessed = answer_letter(raw_answer, options)
        if guessed:
            extra["answer_mapped_from"] = raw_answer
    elif not options and isinstance(raw_answer, str):
        extra["reference_answer"] = raw_answer
    qid = item.get("question_id")
    try:
        return Example(
            id=str(qid) if qid is not None else f"{qtype}:{index}",
            video=f"{folder}/{video}" if folder else video,
            question=question,
            options=options,
            answer=letter,
            category=[TASK_ABBREVIATIONS.get(qtype, qtype)],
            duration_s=float(duration) if duration is not None else None,
            duration_bucket=duration_bucket(float(duration)) if duration is not None else None,
            extra=extra,
        )
    except ValidationError as e:
        raise ConfigError(f"{where} is not a valid MLVU item: {e.errors()[0]['msg']}") from e


class MLVUTask(Task):
    """MLVU multiple-choice tasks; M-Avg is the headline, the per-question mean is reported too."""

    name: ClassVar[str] = "mlvu"
    splits: ClassVar[tuple[str, ...]] = ("dev", "test")
    prompt_template: ClassVar[str] = "mlvu_mc"
    category_group: ClassVar[str] = "task"

    @classmethod
    def load(
        cls,
        annotations: Path,
        *,
        split: str | None = None,
        videos_dir: Path | None = None,
        include_open: bool = False,
    ) -> Self:
        """Load the dev folder (or one of its files), or a test-split JSON file.

        Args:
            annotations: Folder of MLVU JSON files, or a single JSON file.
            split: ``"dev"`` (default) or ``"test"``.
            videos_dir: Folder holding the videos (dev: one sub-folder per task file).
            include_open: Keep the open-ended items (sub-scene captioning, summary); they are
                loaded with no answer and left out of scoring.
        """
        split = check_split(cls, split)
        if annotations.is_dir():
            files = sorted(annotations.glob("*.json"))
            if not files:
                raise ConfigError(f"No .json files in {annotations}; expected {_EXPECTED}.")
        else:
            files = [annotations]
        examples: list[Example] = []
        for path in files:
            folder = path.stem if annotations.is_dir() else None
            for i, item in enumerate(read_records(path, expected=_EXPECTED)):
                ex = mlvu_example(item, index=i, folder=folder, where=f"{path.name} item {i}")
                if ex.options or include_open:
                    examples.append(ex)
        if not examples:
            raise ConfigError(f"{annotations} holds no multiple-choice MLVU items; expected {_EXPECTED}.")
        return cls(examples, split=split, videos_dir=videos_dir)

    def video_candidates(self, example: Example) -> list[str]:
        """``<task folder>/<file>`` first, then the bare file name (a flat video folder)."""
        bare = example.video.rsplit("/", 1)[-1]
        return [example.video] if bare == example.video else [example.video, bare]

    def aggregate(self, graded: Sequence[Graded]) -> Metrics:
        """M-Avg over the multiple-choice tasks present, the per-question mean, then each task."""
        scored = counted(graded, exclude_unparsed=False)
        expected = MC_TASKS[self.split]
        tasks = rows_by("task", scored, lambda g: g.category, order=expected)
        notes: list[str] = []
        missing = [t for t in expected if t not in {r.name for r in tasks}]
        if missing and tasks:
            notes.append(f"M-Avg covers {len(tasks)} of the {len(expected)} {self.split} tasks; missing {missing}.")
        rows = [
            macro_row("overall", "M-Avg", tasks),
            micro_row("overall", "Question mean", scored),
            *tasks,
        ]
        return self.metrics(graded, rows, headline="M-Avg", notes=notes)
