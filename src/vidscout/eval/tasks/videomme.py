"""Video-MME (Fu et al., CVPR 2025; github.com/BradyFU/Video-MME): 2,700 4-option questions, 900 videos.

Reads the published rows (Hugging Face ``videomme/test-*.parquet`` when pyarrow or pandas is
installed, else JSON / JSON Lines rows with the same columns). Its licence forbids redistributing
the annotations, so none ship with vidscout. Scores follow ``eval_your_results.py``: micro accuracy
overall and per duration. The headline counts every question (errors and unanswered ones are wrong,
as lmms-eval does); the official script's own number, which leaves unanswered questions out of the
denominator, is reported beside it as "answered only".
"""

from __future__ import annotations

import importlib
import re
from bisect import bisect_left
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Self, cast

from pydantic import BaseModel, ValidationError

from vidscout.answering.sampling import FrameSampling
from vidscout.choices import LETTERS
from vidscout.errors import ConfigError
from vidscout.eval.answers import extract_videomme_official
from vidscout.eval.scoring import Graded, Metrics, counted, micro_row, rows_by
from vidscout.eval.task import Example, Extractor, Record, Task, check_split, field, read_records, str_list
from vidscout.types import TimeSpan

DURATIONS = ("short", "medium", "long")
ANSWERED_ONLY = "answered only (official script)"
"""Group of the rows computed as ``eval_your_results.py`` prints them: unanswered questions left out."""

_EXPECTED = (
    "Video-MME rows with columns video_id, duration, domain, sub_category, url, videoID, question_id, "
    "task_type, question, options, answer (the Hugging Face parquet, or JSON / JSONL rows)"
)
_LETTER_PREFIX = re.compile(r"^\s*([A-F])\s*[.)]\s*")
_SRT_TIME = re.compile(r"(\d+):(\d{1,2}):(\d{1,2})(?:[,.](\d{1,3}))?")
_TAG = re.compile(r"<[^>]*>")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")


class SubtitleCue(BaseModel, frozen=True):
    """One SRT cue: its time span and its text without markup."""

    span: TimeSpan
    text: str


def _srt_seconds(text: str) -> float | None:
    m = _SRT_TIME.search(text)
    if not m:
        return None
    h, mi, s, ms = m.groups()
    return int(h) * 3600 + int(mi) * 60 + int(s) + (int(ms.ljust(3, "0")) / 1000 if ms else 0.0)


def parse_srt(srt_text: str) -> list[SubtitleCue]:
    """The cues of an SRT file, in file order.

    Lines of one cue are joined with a space and tags such as Video-MME's
    ``<font color="white" size=".72c">`` are stripped; cues without text or times are skipped.
    """
    text = srt_text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    cues: list[SubtitleCue] = []
    for block in _BLANK_LINE.split(text):
        lines = block.strip().split("\n")
        at = next((i for i, line in enumerate(lines) if "-->" in line), None)
        if at is None:
            continue
        left, _, right = lines[at].partition("-->")
        start, end = _srt_seconds(left), _srt_seconds(right)
        words = " ".join(_TAG.sub("", line).strip() for line in lines[at + 1 :]).strip()
        if start is None or end is None or end < start or not words:
            continue
        cues.append(SubtitleCue(span=TimeSpan(start_s=start, end_s=end), text=words))
    return cues


def subtitles_for_frames(srt_text: str, frame_times_s: Sequence[float]) -> list[str]:
    """Video-MME's subtitle rule: the lines shown at the sampled frames, each once, in time order.

    A cue is kept when some frame time ``t`` has ``start <= t < end`` (lmms-eval's
    ``videomme_w_subtitle`` does the same on frame indices).

    Args:
        srt_text: The video's SRT file.
        frame_times_s: Times of the sampled frames in seconds, in any order.

    Returns:
        The texts of the cues on screen at any of those times.
    """
    times = sorted(frame_times_s)
    kept: list[str] = []
    for cue in parse_srt(srt_text):
        i = bisect_left(times, cue.span.start_s)
        if i < len(times) and times[i] < cue.span.end_s:
            kept.append(cue.text)
    return kept


def _read_parquet(path: Path) -> list[Record]:
    # Optional heavy dependency: pyarrow (or pandas over it) only when the user has it.
    try:
        parquet: Any = importlib.import_module("pyarrow.parquet")
        return cast(list[Record], parquet.read_table(path).to_pylist())
    except ImportError:
        pass
    try:
        pandas: Any = importlib.import_module("pandas")
        return cast(list[Record], pandas.read_parquet(path).to_dict("records"))
    except ImportError as e:
        raise ConfigError(
            f"Reading {path} needs pyarrow (pip install pyarrow); or save the rows as JSON Lines with the "
            "same columns and pass that file."
        ) from e


def read_rows(path: Path) -> list[Record]:
    """Video-MME rows from a parquet, JSON (list) or JSON Lines file.

    Raises:
        ConfigError: Missing file, unreadable format, or parquet without pyarrow/pandas.
    """
    if path.suffix.lower() == ".parquet":
        if not path.is_file():
            raise ConfigError(f"Annotation file {path} does not exist; expected {_EXPECTED}.")
        return _read_parquet(path)
    return read_records(path, expected=_EXPECTED)


def _unlettered(options: list[str], where: str) -> list[str]:
    out: list[str] = []
    for letter, text in zip(LETTERS, options, strict=False):
        m = _LETTER_PREFIX.match(text)
        if m and m.group(1) != letter:
            raise ConfigError(f"{where}: option {text!r} is out of order; expected it to start with {letter!r}.")
        out.append(text[m.end() :] if m else text)
    return out


def videomme_example(row: Record, *, where: str) -> Example:
    """Normalise one published Video-MME row (options lose their "A. " prefixes)."""
    options = row.get("options")
    if options is not None and not isinstance(options, (list, str)):
        options = list(options)  # pandas hands list columns over as numpy arrays
        row = {**row, "options": options}
    duration = cast(str, field(row, "duration", str, where=where))
    if duration not in DURATIONS:
        raise ConfigError(f"{where}: duration {duration!r} is not one of {', '.join(DURATIONS)}.")
    video = cast(str, field(row, "videoID", str, where=where))
    try:
        return Example(
            id=cast(str, field(row, "question_id", str, where=where)),
            video=video,
            question=cast(str, field(row, "question", str, where=where)),
            options=_unlettered([str(o) for o in str_list(row, "options", where=where)], where),
            answer=cast(str, field(row, "answer", str, where=where)).strip(),
            category=[cast(str, field(row, "task_type", str, where=where))],
            duration_bucket=duration,
            extra={k: row.get(k) for k in ("video_id", "domain", "sub_category", "url") if k in row},
        )
    except ValidationError as e:
        raise ConfigError(f"{where} is not a valid Video-MME row: {e.errors()[0]['msg']}") from e


class VideoMMETask(Task):
    """Video-MME without subtitles ("w/o subs"); `VideoMMESubtitlesTask` is the "w/ subs" setting."""

    name: ClassVar[str] = "videomme"
    splits: ClassVar[tuple[str, ...]] = ("test",)
    prompt_template: ClassVar[str] = "videomme_mc"
    category_group: ClassVar[str] = "task type"
    with_subtitles: ClassVar[bool] = False
    official_extractor: ClassVar[str] = (
        "Video-MME extract_characters_regex (MME-Benchmarks/Video-MME evaluation/eval_your_results.py @4e7566d)"
    )
    frame_sampling: ClassVar[FrameSampling] = FrameSampling(
        frames=32, source="lmms-eval videomme _default_template_yaml / videomme_w_subtitle.yaml frame_num: 32"
    )
    lmms_eval_metric: ClassVar[str] = "videomme_perception_score"
    lmms_eval_scale: ClassVar[float] = 100.0

    def __init__(
        self,
        examples: Sequence[Example],
        *,
        split: str | None = None,
        videos_dir: Path | None = None,
        subtitles_dir: Path | None = None,
        extractor: Extractor = "official",
    ):
        """See `load`."""
        super().__init__(examples, split=split, videos_dir=videos_dir, extractor=extractor)
        self.subtitles_dir = subtitles_dir
        self.setting = "w/ subs" if self.with_subtitles else "w/o subs"

    @classmethod
    def load(
        cls,
        annotations: Path,
        *,
        split: str | None = None,
        videos_dir: Path | None = None,
        extractor: Extractor = "official",
        subtitles_dir: Path | None = None,
    ) -> Self:
        """Load the published rows.

        Args:
            annotations: ``test-00000-of-00001.parquet``, or JSON / JSONL rows of the same columns.
            split: Only ``"test"``.
            videos_dir: Folder of ``<videoID>.mp4`` files (or its parent, holding ``data/``).
            subtitles_dir: Folder of ``<videoID>.srt`` files; default ``subtitle/`` in or next to
                ``videos_dir``.
            extractor: ``"official"`` (Video-MME's own regex, `extract_videomme_official`) or
                ``"lenient"`` (vidscout's `parse_choice`).
        """
        split = check_split(cls, split)
        rows = read_rows(annotations)
        if not rows:
            raise ConfigError(f"{annotations} holds no rows; expected {_EXPECTED}.")
        examples = [videomme_example(r, where=f"{annotations.name} row {i}") for i, r in enumerate(rows)]
        return cls(examples, split=split, videos_dir=videos_dir, subtitles_dir=subtitles_dir, extractor=extractor)

    def video_candidates(self, example: Example) -> list[str]:
        """``<videoID>.mp4`` then the ``.MP4`` / ``.mkv`` a few videos have, flat or under ``data/``."""
        names = [f"{example.video}{ext}" for ext in (".mp4", ".MP4", ".mkv")]
        return names + [f"data/{n}" for n in names]

    def subtitle_path(self, example: Example) -> Path | None:
        """The example's SRT file, or None when it has none (156 of the 900 videos)."""
        folders = [self.subtitles_dir] if self.subtitles_dir else []
        if not folders and self.videos_dir:
            folders = [self.videos_dir / "subtitle", self.videos_dir.parent / "subtitle"]
        for folder in folders:
            if (path := folder / f"{example.video}.srt").is_file():
                return path
        return None

    def subtitle_lines(self, example: Example, frame_times_s: Sequence[float] | None) -> list[str]:
        """Subtitle lines for the prompt: those at ``frame_times_s``, all of them when it is None."""
        path = self.subtitle_path(example)
        if path is None:
            return []
        srt = path.read_text(encoding="utf-8-sig", errors="replace")
        if frame_times_s is None:
            return [cue.text for cue in parse_srt(srt)]
        return subtitles_for_frames(srt, frame_times_s)

    def prompt_variables(
        self, example: Example, *, with_options: bool, frame_times_s: Sequence[float] | None
    ) -> dict[str, object]:
        """Adds ``subtitles``: None without subtitles, else the lines of `subtitle_lines`."""
        variables = super().prompt_variables(example, with_options=with_options, frame_times_s=frame_times_s)
        variables["subtitles"] = self.subtitle_lines(example, frame_times_s) if self.with_subtitles else None
        return variables

    def extract_official(self, text: str | None, example: Example) -> str | None:
        """Video-MME's ``extract_characters_regex`` (`extract_videomme_official`)."""
        return extract_videomme_official(text)

    def tags(self, example: Example) -> dict[str, str]:
        """The video's domain, for the per-domain breakdown."""
        domain = example.extra.get("domain")
        return {"domain": domain} if isinstance(domain, str) else {}

    def aggregate(self, graded: Sequence[Graded]) -> Metrics:
        """All questions: overall, per duration, per task type and per domain; then answered ones only.

        The answered-only rows (overall and per duration) are what the official script prints.
        """
        scored = counted(graded, exclude_unparsed=False)
        answered = counted(graded, exclude_unparsed=True)
        rows = [
            micro_row("overall", "Overall", scored),
            *rows_by("duration", scored, lambda g: [g.duration_bucket or "unknown"], order=DURATIONS),
            *rows_by(self.category_group, scored, lambda g: g.category),
            *rows_by("domain", scored, lambda g: [g.tags["domain"]] if "domain" in g.tags else []),
            micro_row(ANSWERED_ONLY, "Overall (answered only)", answered),
            *[
                row.model_copy(update={"name": f"{row.name} (answered only)"})
                for row in rows_by(ANSWERED_ONLY, answered, lambda g: [g.duration_bucket or "unknown"], order=DURATIONS)
            ],
        ]
        notes: list[str] = []
        if left_out := len(scored) - len(answered):
            notes.append(
                f"{left_out} unanswered question(s) (no reply, or no letter under the extractor) count as wrong in "
                f"Overall; the official script leaves them out (its number is 'Overall (answered only)')."
            )
        return self.metrics(graded, rows, headline="Overall", notes=notes)

    def lmms_eval_task(self) -> str:
        """``videomme`` or ``videomme_w_subtitle``."""
        return "videomme_w_subtitle" if self.with_subtitles else "videomme"

    def lmms_eval_sample(self, example: Example, graded: Graded) -> Any:
        """lmms-eval's ``videomme_perception_score`` dict (with ``score`` and ``videoID`` for its standard errors)."""
        return {
            "question_id": example.id, "duration": example.duration_bucket,
            "category": example.extra.get("domain"), "sub_category": example.extra.get("sub_category"),
            "task_category": example.category[0] if example.category else None,
            "pred_answer": graded.predicted or "", "answer": example.answer,
            "score": float(graded.correct), "videoID": example.video,
        }  # fmt: skip

    def lmms_eval_aggregate(self, values: Sequence[Any]) -> float:
        """lmms-eval's ``videomme_aggregate_results``: percent right over every question."""
        return 100.0 * sum(v["pred_answer"] == v["answer"] for v in values) / len(values) if values else 0.0


class VideoMMESubtitlesTask(VideoMMETask):
    """Video-MME "w/ subs": the prompt lists the subtitle lines shown at the sampled frames."""

    name: ClassVar[str] = "videomme_w_subs"
    with_subtitles: ClassVar[bool] = True
