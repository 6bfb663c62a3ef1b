"""The benchmark runner: any `Task`, any strategy, resumable, one ingest per video.

```python
task = load_task("lvbench", Path("lvbench_clean.json"), videos_dir=Path("LVBench/videos"))
result = run_benchmark(task, "agent", out_dir=Path("runs/lvbench-agent"), settings=Settings())
print(result.metrics.headline_value)
```

Files under ``out_dir``:

- ``run.json``: what was run (task, split, strategy, profile, every model, the answer extractor and
  the video settings); a rerun with different settings is refused instead of mixing two runs' predictions.
- ``predictions.jsonl``: one `Prediction` per answered question, appended and flushed as each
  one finishes. A rerun skips the questions already there, so an interrupted run resumes and ends
  with the same score; a torn last line (killed mid-write) is dropped and that question re-run.
- ``trajectories/<id>.jsonl``: the agent's steps per question.
- ``metrics.json`` and ``metrics.png``: the scores (`Metrics`), the missing videos, timings.
- ``lmms_eval/results.json`` and ``lmms_eval/samples_<task>.jsonl``: the same scores in lmms-eval's
  output layout (`vidscout.eval.lmms_compat`).

Questions whose video is missing (or unreadable) are reported with a count and left out of the
scores; they run on a later rerun once the video is there. Videos run in parallel with
``workers`` threads (each with its own models) or on Ray (`vidscout.eval.ray_runner`).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import statistics
import threading
import time
from collections.abc import Callable, Generator, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from vidscout.errors import ConfigError, MediaError, VidScoutError
from vidscout.eval.scoring import Metrics
from vidscout.eval.strategies import BenchStrategy, make_strategy
from vidscout.eval.task import Example, Task
from vidscout.eval.work import MissingVideo, Prediction, answer_video
from vidscout.models.registry import Backends
from vidscout.settings import Settings

log = logging.getLogger(__name__)


class RunSpec(BaseModel, frozen=True):
    """What a run is; predictions from two different specs never share a folder."""

    task: str
    split: str
    setting: str | None
    strategy: str
    profile: str
    llm: str
    video_llm: str
    options: dict[str, Any] = Field(default_factory=dict[str, Any], description="Strategy options (max_steps...).")
    # Defaults describe folders written before these fields existed (graded with parse_choice).
    extractor: str = Field(default="lenient", description="How replies became letters: official or lenient.")
    models: dict[str, str] = Field(default_factory=dict[str, str], description="Every model role's spec.")
    video: dict[str, Any] = Field(
        default_factory=dict[str, Any], description="Frames, fps, pixel caps (`strategies.video_settings`)."
    )

    def differences(self, other: RunSpec) -> list[str]:
        """Fields that differ, as ``"name: old -> new"``."""
        mine, theirs = self.model_dump(), other.model_dump()
        return [f"{k}: {mine[k]!r} -> {theirs[k]!r}" for k in mine if mine[k] != theirs[k]]


class RunEvent(BaseModel, frozen=True):
    """Progress of a run, for a progress display."""

    kind: Literal["start", "video", "answer", "missing"]
    total: int = 0
    done: int = 0
    video: str = ""
    prediction: Prediction | None = None


ProgressFn = Callable[[RunEvent], None]


class RunResult(BaseModel, frozen=True):
    """The scores of a run and where its files are."""

    spec: RunSpec
    metrics: Metrics
    selected: int = Field(description="Questions selected (after --limit).")
    answered_now: int
    resumed: int = Field(description="Questions already in predictions.jsonl, not re-run.")
    errors: int = Field(description="Predictions with an error (no reply).")
    missing: list[MissingVideo]
    median_answer_s: float | None
    wall_s: float
    out_dir: Path

    @property
    def missing_questions(self) -> int:
        """Questions not run because their video is missing or unreadable."""
        return sum(m.questions for m in self.missing)


class PredictionLog:
    """``predictions.jsonl``: append-only, flushed per line, safe to read after a crash."""

    def __init__(self, path: Path) -> None:
        """Use ``path`` (created on the first append)."""
        self.path = path
        self._lock = threading.Lock()

    def load(self) -> dict[str, Prediction]:
        """The stored predictions by id; a torn last line is cut off the file (its question re-runs).

        Raises:
            ConfigError: A line other than the last is not a valid prediction (the file was edited).
        """
        if not self.path.exists():
            return {}
        raw = self.path.read_bytes()
        lines = raw.split(b"\n")
        done: dict[str, Prediction] = {}
        offset = 0
        for i, line in enumerate(lines):
            if line.strip():
                try:
                    p = Prediction.model_validate_json(line)
                except ValidationError as e:
                    if i == len(lines) - 1 or (i == len(lines) - 2 and not lines[-1]):
                        log.warning("%s: dropping a torn last line (%d bytes)", self.path, len(line))
                        with open(self.path, "r+b") as f:
                            f.truncate(offset)
                        break
                    raise ConfigError(f"{self.path} line {i + 1} is not a prediction: {e.errors()[0]['msg']}") from e
                done[p.id] = p
            offset += len(line) + 1
        return done

    def append(self, prediction: Prediction) -> None:
        """Write one line and push it to disk before returning."""
        data = (prediction.model_dump_json() + "\n").encode("utf-8")
        with self._lock, open(self.path, "ab") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())


def run_spec(task: Task, strategy: str, settings: Settings, options: dict[str, Any]) -> RunSpec:
    """The spec of running ``strategy`` on ``task`` with ``settings``' models."""
    from vidscout.eval.strategies import video_settings

    backends = Backends(settings)
    options = {k: v for k, v in sorted(options.items()) if v is not None}
    return RunSpec(
        task=task.name, split=task.split, setting=task.setting, strategy=strategy, profile=settings.profile,
        llm=backends.spec("llm"), video_llm=backends.spec("video_llm"), options=options,
        extractor=task.extractor, models=dict(backends.specs),
        video=video_settings(task, strategy, options, backends.spec("video_llm")),
    )  # fmt: skip


def group_by_video(task: Task, examples: Iterable[Example]) -> tuple[dict[Path, list[Example]], list[MissingVideo]]:
    """Examples per existing video file (in first-appearance order), and the missing videos."""
    groups: dict[Path, list[Example]] = {}
    missing: dict[str, tuple[int, str]] = {}
    for e in examples:
        try:
            path = task.video_path(e)
        except MediaError as err:
            n, _ = missing.get(e.video, (0, ""))
            missing[e.video] = (n + 1, str(err))
            continue
        groups.setdefault(path, []).append(e)
    return groups, [MissingVideo(video=v, questions=n, reason=r) for v, (n, r) in missing.items()]


def prepare_run(out_dir: Path, spec: RunSpec) -> None:
    """Create ``out_dir`` and its ``run.json``, or check an existing one describes the same run.

    Raises:
        ConfigError: ``out_dir`` holds a different run.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "run.json"
    if path.exists():
        try:
            old = RunSpec.model_validate_json(path.read_text(encoding="utf-8"))
        except ValidationError as e:
            raise ConfigError(f"{path} is not a vidscout run description; choose another --out folder.") from e
        diff = old.differences(spec)
        if diff:
            raise ConfigError(
                f"{out_dir} holds a different run ({'; '.join(diff)}); choose another --out folder or delete it."
            )
        return
    path.write_text(spec.model_dump_json(indent=2) + "\n", encoding="utf-8")


def run_benchmark(
    task: Task,
    strategy: str,
    *,
    out_dir: Path,
    settings: Settings,
    limit: int | None = None,
    workers: int = 1,
    strategy_options: dict[str, Any] | None = None,
    retry_errors: bool = False,
    use_ray: bool = False,
    progress: ProgressFn | None = None,
) -> RunResult:
    """Run ``strategy`` on the first ``limit`` questions of ``task``, resuming from ``out_dir``.

    Args:
        task: The benchmark, with its ``videos_dir`` set.
        strategy: A name in `vidscout.eval.strategies.STRATEGIES`.
        out_dir: The run folder (see the module docstring).
        settings: Profile and models.
        limit: Only the first ``limit`` questions (annotation order).
        workers: Videos answered in parallel (each worker loads its own models).
        strategy_options: Options for the strategy (``max_steps``, ``top_k``, ``frames``).
        retry_errors: Re-run stored predictions that have an error instead of keeping them.
        use_ray: Distribute videos over a Ray cluster (``ray.init`` must find or start one).
        progress: Called with a `RunEvent` as the run advances.

    Raises:
        ConfigError: Bad limit/workers, unknown strategy, or ``out_dir`` holds a different run.
    """
    if limit is not None and limit < 1:
        raise ConfigError(f"--limit must be at least 1 (got {limit}).")
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1 (got {workers}).")
    options = dict(strategy_options or {})
    strat = make_strategy(strategy, task=task, **options)
    spec = run_spec(task, strategy, settings, options)
    prepare_run(out_dir, spec)
    with _exclusive(out_dir):
        return _run(task, strategy, strat, options, spec, out_dir=out_dir, settings=settings, limit=limit,
                    workers=workers, retry_errors=retry_errors, use_ray=use_ray, progress=progress)  # fmt: skip


@contextmanager
def _exclusive(out_dir: Path) -> Generator[None]:
    """Hold ``out_dir/run.lock`` for the run: two runs appending to one folder would answer questions twice."""
    with open(out_dir / "run.lock", "a+b") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            raise ConfigError(f"Another run is using {out_dir}; wait for it to end or choose another --out.") from e
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _run(
    task: Task,
    strategy: str,
    strat: BenchStrategy,
    options: dict[str, Any],
    spec: RunSpec,
    *,
    out_dir: Path,
    settings: Settings,
    limit: int | None,
    workers: int,
    retry_errors: bool,
    use_ray: bool,
    progress: ProgressFn | None,
) -> RunResult:
    t_start = time.perf_counter()
    selected = list(task)[:limit] if limit is not None else list(task)
    plog = PredictionLog(out_dir / "predictions.jsonl")
    stored = plog.load()
    done = {k: p for k, p in stored.items() if p.error is None} if retry_errors else stored
    todo = [e for e in selected if e.id not in done]
    resumed = len(selected) - len(todo)
    groups, missing = group_by_video(task, todo)
    emit = progress or (lambda _event: None)
    emit(RunEvent(kind="start", total=len(selected), done=resumed))
    for m in missing:
        emit(RunEvent(kind="missing", video=m.video, done=m.questions))
    new: list[Prediction] = []

    def record(p: Prediction) -> None:
        plog.append(p)
        new.append(p)
        emit(RunEvent(kind="answer", total=len(selected), done=resumed + len(new), video=p.video, prediction=p))

    if use_ray:
        from vidscout.eval.ray_runner import run_on_ray

        missing += run_on_ray(task, groups, strategy, options, settings=settings, out_dir=out_dir, record=record)
    else:
        missing += _run_local(task, groups, strat, strategy, options, settings, out_dir, workers, record, emit)
    # What the file now holds: a question re-run after an error has two lines, and the last one wins.
    final = {**stored, **{p.id: p for p in new}}
    preds = [(e, final[e.id]) for e in selected if e.id in final]
    metrics = task.aggregate([task.grade(e, p.response) for e, p in preds])
    notes = list(metrics.notes)
    n_missing = sum(m.questions for m in missing)
    if n_missing:
        notes.append(f"{n_missing} of {len(selected)} questions not run: {len(missing)} video(s) missing or unusable.")
    errors = sum(p.error is not None for _, p in preds)
    if errors:
        notes.append(f"{errors} question(s) got no reply (errors; counted wrong). Rerun with --retry-errors.")
    metrics = metrics.model_copy(update={"notes": notes})
    times = [p.answer_s for _, p in preds]
    result = RunResult(
        spec=spec, metrics=metrics, selected=len(selected), answered_now=len(new), resumed=resumed, errors=errors,
        missing=missing, median_answer_s=statistics.median(times) if times else None,
        wall_s=round(time.perf_counter() - t_start, 3), out_dir=out_dir,
    )  # fmt: skip
    write_report(result, [p for _, p in preds])
    write_lmms_eval_files(task, result, preds, limit=limit)
    return result


def write_lmms_eval_files(task: Task, result: RunResult, preds: Sequence[tuple[Example, Prediction]], *,
                          limit: int | None) -> None:  # fmt: skip
    """The run's scores in lmms-eval's layout too, under ``out_dir/lmms_eval`` (`vidscout.eval.lmms_compat`)."""
    from vidscout.eval.lmms_compat import write_lmms_eval

    run = {**result.spec.model_dump(), "limit": limit}
    write_lmms_eval(result.out_dir, task, [(e, p.response, p.error) for e, p in preds], run=run, date=time.time())


def _run_local(
    task: Task,
    groups: dict[Path, list[Example]],
    strat: BenchStrategy,
    strategy: str,
    options: dict[str, Any],
    settings: Settings,
    out_dir: Path,
    workers: int,
    record: Callable[[Prediction], None],
    emit: ProgressFn,
) -> list[MissingVideo]:
    unusable: list[MissingVideo] = []
    local = threading.local()

    def work(item: tuple[Path, list[Example]]) -> None:
        path, examples = item
        if not hasattr(local, "backends"):
            local.backends = Backends(settings)
            local.strategy = strat if workers == 1 else make_strategy(strategy, task=task, **options)
        emit(RunEvent(kind="video", video=path.name, total=len(examples)))
        try:
            for p in answer_video(task, path, examples, local.strategy, settings=settings, backends=local.backends,
                                  out_dir=out_dir):  # fmt: skip
                record(p)
        except VidScoutError as e:
            log.warning("skipping %s: %s", path, e)
            unusable.append(MissingVideo(video=examples[0].video, questions=len(examples), reason=str(e)))
            emit(RunEvent(kind="missing", video=examples[0].video, done=len(examples)))

    if workers == 1:
        for item in groups.items():
            work(item)
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bench") as pool:
            list(pool.map(work, groups.items()))
    return unusable


def provenance_counts(predictions: Sequence[Prediction]) -> dict[str, int]:
    """How the answers were reached: self-check verdicts, forced answers, and where option letters came from."""
    answered = [p for p in predictions if p.error is None]
    return {
        "answered": len(answered),
        "verified": sum(p.verified is True for p in answered),
        "refuted": sum(p.verified is False for p in answered),
        "not_checked": sum(p.verified is None for p in answered),
        "forced": sum(p.forced for p in answered),
        "option_from_planner": sum(p.option_source == "planner" for p in answered),
        "option_from_answer_text": sum(p.option_source == "answer_text" for p in answered),
        "option_from_retrieval": sum(p.option_source == "retrieval" for p in answered),
    }


def write_report(result: RunResult, predictions: Sequence[Prediction]) -> None:
    """Write ``metrics.json`` and ``metrics.png`` into the run folder."""
    from vidscout.eval.plot import plot_metrics

    out = result.out_dir
    times = sorted(p.answer_s for p in predictions)
    report: dict[str, Any] = {
        "run": result.spec.model_dump(),
        "metrics": result.metrics.model_dump(),
        "headline": {"name": result.metrics.headline, "accuracy": result.metrics.headline_value},
        "counts": {
            "selected": result.selected,
            "answered_now": result.answered_now,
            "resumed": result.resumed,
            "errors": result.errors,
            "missing_questions": result.missing_questions,
        },
        "provenance": provenance_counts(predictions),
        "missing_videos": [m.model_dump() for m in result.missing],
        "timing": {
            "median_answer_s": result.median_answer_s,
            "p95_answer_s": times[min(len(times) - 1, int(0.95 * len(times)))] if times else None,
            "total_answer_s": round(sum(times), 3),
            "wall_s": result.wall_s,
        },
    }
    (out / "metrics.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    title = f"{result.spec.task} ({result.spec.split}) - {result.spec.strategy}, {result.spec.profile} profile"
    plot_metrics(result.metrics, out / "metrics.png", title=title)
