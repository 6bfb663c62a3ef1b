"""MLVU (Zhou et al., CVPR 2025; github.com/JUNJIE99/MLVU): multi-task long-video understanding.

Dev: the 9 official JSON files (7 multiple-choice tasks with 4 options, 2 open-ended ones). Test:
the same item schema with 6 options and 9 multiple-choice tasks. Headline: M-Avg, the mean of the
multiple-choice *task* accuracies, not the mean over questions.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Self, cast

from pydantic import ValidationError

from vidscout.answering.sampling import FrameSampling
from vidscout.choices import LETTERS, letters
from vidscout.errors import ConfigError
from vidscout.eval.answers import extract_mlvu_official, extract_mlvu_test_official
from vidscout.eval.scoring import Graded, Metrics, counted, macro_row, micro_row, rows_by
from vidscout.eval.task import (
    NO_OPTION,
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

_LMMS_TASK_TYPES = {"findNeedle": "needle"}
"""Dev ``question_type`` values lmms-eval's MLVU dataset spells otherwise."""
_LMMS_TYPES: dict[str, tuple[str, ...]] = {
    "dev": ("anomaly_reco", "count", "ego", "needle", "order", "plotQA", "topic_reasoning"),
    "test": (
        "anomaly_reco",
        "count",
        "ego",
        "needleQA",
        "order",
        "plotQA",
        "sportsQA",
        "topic_reasoning",
        "tutorialQA",
    ),
}
"""The task types lmms-eval's ``mlvu_aggregate_results_dev`` / ``_test`` average over."""

_EXPECTED = (
    "MLVU annotations: the dev folder of JSON files (1_plotQA.json ... 9_summary.json) or a JSON file of "
    "items {video, duration, question, candidates, answer, question_type}"
)


def answer_letter(answer: str, candidates: Sequence[str]) -> str:
    """The letter of the candidate ``answer`` names, as MLVU's official ``qa_template`` finds it.

    Exact text only, and of equal candidates the *last* one: the official loop overwrites the index
    (JUNJIE99/MLVU evaluation/multiple_choice_evaluation/choice_bench.py @fd060c1, lines 79-90). An
    answer that is a bare letter (MLVU-Test style) is taken as such. An answer equal to no candidate
    gives `NO_OPTION`: the official index stays -1, the key becomes "(@)" and no reply can match it
    (2 dev items, "Catching a flying drone quadcopter" where the candidate is "Catching the drone").
    """
    exact = [i for i, c in enumerate(candidates) if c == answer]
    if exact:
        return LETTERS[exact[-1]]
    if len(answer) == 1 and answer in letters(len(candidates)):
        return answer
    return NO_OPTION


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
        letter = answer_letter(raw_answer, options)
        if letter == NO_OPTION:
            extra["answer_matches_no_option"] = raw_answer
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
    official_extractor: ClassVar[str] = (
        "MLVU check_ans (JUNJIE99/MLVU evaluation/multiple_choice_evaluation/choice_bench.py @fd060c1; "
        "test split: evaluation_test/test_bench.py)"
    )
    frame_sampling: ClassVar[FrameSampling] = FrameSampling(
        frames=32,
        source="lmms-eval mlvu_dev.yaml sets no frame count: the models' default max_num_frames (32)",
    )
    lmms_eval_metric: ClassVar[str] = "mlvu_percetion_score"  # sic: lmms-eval's spelling
    lmms_eval_scale: ClassVar[float] = 100.0

    @classmethod
    def load(
        cls,
        annotations: Path,
        *,
        split: str | None = None,
        videos_dir: Path | None = None,
        extractor: Extractor = "official",
        include_open: bool = False,
    ) -> Self:
        """Load the dev folder (or one of its files), or a test-split JSON file.

        Args:
            annotations: Folder of MLVU JSON files, or a single JSON file.
            split: ``"dev"`` (default) or ``"test"``.
            videos_dir: Folder holding the videos (dev: one sub-folder per task file).
            extractor: ``"official"`` (`extract_mlvu_official`) or ``"lenient"``.
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
        return cls(examples, split=split, videos_dir=videos_dir, extractor=extractor)

    def video_candidates(self, example: Example) -> list[str]:
        """``<task folder>/<file>`` first, then the bare file name (a flat video folder)."""
        bare = example.video.rsplit("/", 1)[-1]
        return [example.video] if bare == example.video else [example.video, bare]

    def extract_official(self, text: str | None, example: Example) -> str | None:
        """Dev: MLVU's ``check_ans`` (`extract_mlvu_official`); test: what its test script submits."""
        if self.split == "test":
            return extract_mlvu_test_official(text, len(example.options))
        return extract_mlvu_official(text, len(example.options))

    def lmms_eval_task(self) -> str:
        """``mlvu_dev`` or ``mlvu_test``."""
        return f"mlvu_{self.split}"

    def lmms_eval_sample(self, example: Example, graded: Graded) -> Any:
        """lmms-eval's per-question dict, plus ``score`` and ``video`` (for standard errors)."""
        qtype = str(example.extra.get("question_type", ""))
        return {
            "question_id": example.question, "task_type": _LMMS_TASK_TYPES.get(qtype, qtype),
            "pred_answer": graded.predicted or "", "answer": example.answer,
            "score": float(graded.correct), "video": graded.cluster,
        }  # fmt: skip

    def lmms_eval_aggregate(self, values: Sequence[Any]) -> float:
        """lmms-eval's ``mlvu_aggregate_results_*``: the mean of per-type accuracies over *all* its types.

        A type with no question scores 0 there (unlike M-Avg, which averages the types present).
        """
        types = _LMMS_TYPES[self.split]
        accuracies: list[float] = []
        for t in types:
            mine = [v for v in values if v["task_type"] == t]
            accuracies.append(100.0 * sum(v["pred_answer"] == v["answer"] for v in mine) / len(mine) if mine else 0.0)
        return sum(accuracies) / len(types)

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
