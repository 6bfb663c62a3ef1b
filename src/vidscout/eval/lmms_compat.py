"""lmms-eval-style copies of a run's scores, written beside vidscout's own files in the run folder.

``lmms_eval/results.json`` and ``lmms_eval/samples_<task>.jsonl`` follow the layout of lmms-eval's
``--output_path ... --log_samples`` (EvolvingLMMs-Lab/lmms-eval @75571cf: ``lmms_eval/evaluator.py``,
``lmms_eval/evaluator_utils.py``, ``lmms_eval/loggers/evaluation_tracker.py``), with each benchmark's
lmms-eval task name, metric name and per-sample metric fields, so tools that read lmms-eval outputs
read a vidscout run. Where they differ from what lmms-eval itself would write:

- Letters come from the run's extractor (each benchmark's official one by default), not from
  lmms-eval's ``extract_mcq_answer``; ``configs.<task>.extractor`` names it.
- ``<metric>_stderr`` is vidscout's standard error clustered by video (`clustered_stderr`; one video:
  the independent-questions s.e.). lmms-eval writes "N/A" there for custom aggregations.
  ``_stderr_clt`` (independent questions) and ``_stderr_clustered`` (lmms-eval's eq.-4 estimate,
  "N/A" under two videos) are computed as lmms-eval does. All are in the metric's own units.
- Samples keep both ``resps`` and ``filtered_resps`` (v0.7's flattened one-element lists; lmms-eval
  drops ``resps`` when equal). A question with no reply has ``""`` in both and an ``error``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vidscout.eval.scoring import Graded, clustered_stderr, lmms_clustered_stderr, naive_stderr
from vidscout.eval.task import Example, Task

FOLDER = "lmms_eval"
"""Sub-folder of the run folder holding the lmms-eval-style files."""


def _na(value: float | None) -> float | str:
    return "N/A" if value is None else value


def lmms_eval_stderrs(task: Task, graded: Sequence[Graded]) -> dict[str, float | None]:
    """``stderr`` (ours), ``stderr_clt`` and ``stderr_clustered`` (lmms-eval's) in the task's metric units."""
    closed = [g for g in graded if g.answer is not None]
    scores = [float(g.correct) for g in closed]
    ours = clustered_stderr(closed)
    clt = naive_stderr(scores)
    lmms = lmms_clustered_stderr(scores, [g.cluster for g in closed])
    unit = task.lmms_eval_scale
    return {
        "stderr": None if ours is None else ours / 100.0 * unit,
        "stderr_clt": None if clt is None else clt * unit,
        "stderr_clustered": None if lmms is None else lmms * unit,
    }


def lmms_eval_sample(task: Task, doc_id: int, example: Example, graded: Graded, error: str | None) -> dict[str, Any]:
    """One line of ``samples_<task>.jsonl``."""
    reply = graded.response or ""
    line: dict[str, Any] = {
        "doc_id": doc_id,
        "target": str(example.answer),
        "resps": [reply],
        "filtered_resps": [reply],
        "doc_hash": hashlib.sha256(example.model_dump_json().encode("utf-8")).hexdigest(),
        task.lmms_eval_metric: task.lmms_eval_sample(example, graded),
        "vidscout_id": example.id,
        "parsed": graded.predicted,
    }
    if error is not None:
        line["error"] = error
    return line


def write_lmms_eval(
    out_dir: Path,
    task: Task,
    answered: Sequence[tuple[Example, str | None, str | None]],
    *,
    run: dict[str, Any],
    date: float,
) -> tuple[Path, Path]:
    """Write ``results.json`` and ``samples_<task>.jsonl`` under ``out_dir/lmms_eval``.

    Args:
        out_dir: The run folder.
        task: The benchmark, with the run's extractor.
        answered: (example, reply, error) per answered closed or open question, in annotation order.
        run: The run's description (``run.json``), stored as ``config.vidscout_run``.
        date: When the scores were computed (seconds since the epoch), lmms-eval's ``date``.

    Returns:
        The results and samples paths.
    """
    name, metric = task.lmms_eval_task(), task.lmms_eval_metric
    doc_ids = {e.id: i for i, e in enumerate(task)}
    closed = [(e, task.grade(e, reply), err) for e, reply, err in answered if e.answer is not None]
    samples = [lmms_eval_sample(task, doc_ids[e.id], e, g, err) for e, g, err in closed]
    value = task.lmms_eval_aggregate([s[metric] for s in samples])
    se = lmms_eval_stderrs(task, [g for _, g, _ in closed])
    models = run.get("models") or {}
    results: dict[str, Any] = {
        "results": {
            name: {
                "alias": name,
                f"{metric},none": value,
                f"{metric}_stderr,none": _na(se["stderr"]),
                f"{metric}_stderr_clt,none": _na(se["stderr_clt"]),
                f"{metric}_stderr_clustered,none": _na(se["stderr_clustered"]),
                "samples": len(samples),
            }
        },
        "group_subtasks": {name: []},
        "configs": {
            name: {
                "task": name, "test_split": task.split, "output_type": "generate_until", "doc_to_target": "answer",
                "metric_list": [{"metric": metric, "higher_is_better": True}], "cluster_key": "video",
                "extractor": task.extractor_label, "vidscout_task": task.name, "setting": task.setting,
            }
        },
        "versions": {name: 0.0},
        "n-shot": {name: 0},
        "higher_is_better": {name: {metric: True}},
        "n-samples": {name: {"original": len(task), "effective": len(samples)}},
        "config": {
            "model": f"vidscout/{run.get('strategy', '')}",
            "model_args": ",".join(f"{role}={spec}" for role, spec in sorted(models.items())),
            "limit": run.get("limit"),
            "vidscout_run": run,
        },
        "date": date,
    }  # fmt: skip
    folder = out_dir / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    results_path = folder / "results.json"
    results_path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    samples_path = folder / f"samples_{name}.jsonl"
    samples_path.write_text("".join(json.dumps(s, ensure_ascii=False) + "\n" for s in samples), encoding="utf-8")
    return results_path, samples_path
