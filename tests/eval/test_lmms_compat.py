"""lmms-eval-style results and samples, written from graded replies (no models)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from vidscout.eval.lmms_compat import write_lmms_eval
from vidscout.eval.scoring import lmms_clustered_stderr, naive_stderr
from vidscout.eval.task import NO_OPTION
from vidscout.eval.tasks import load_task


def test_lmms_clustered_stderr_by_hand() -> None:
    # EvolvingLMMs-Lab/lmms-eval lmms_eval/api/metrics.py @75571cf, clustered_stderr (Miller 2024, eq. 4):
    # SE^2 = var(ddof=1)/n + sum_c [(sum d)^2 - sum d^2] / n^2.
    scores, clusters = [1.0, 1.0, 0.0, 0.0], ["v1", "v1", "v2", "v2"]
    assert naive_stderr(scores) == pytest.approx(math.sqrt(1 / 12))
    assert lmms_clustered_stderr(scores, clusters) == pytest.approx(math.sqrt(1 / 12 + 1 / 16))  # 0.382
    assert lmms_clustered_stderr(scores, ["v1"] * 4) is None  # lmms-eval: "N/A" under two clusters
    assert lmms_clustered_stderr(scores, ["a", "b", "c", "d"]) == pytest.approx(naive_stderr(scores))


def test_mlvu_results_and_samples(data_dir: Path, tmp_path: Path) -> None:
    task = load_task("mlvu", data_dir / "mlvu")
    replies = [(e, e.answer, None) for e in task]  # the true letter; the two keyless needle items stay wrong
    results_path, samples_path = write_lmms_eval(tmp_path, task, replies, run={"strategy": "retrieval"}, date=0.0)
    assert results_path == tmp_path / "lmms_eval" / "results.json"
    assert samples_path.name == "samples_mlvu_dev.jsonl"
    scores = json.loads(results_path.read_text())["results"]["mlvu_dev"]
    # lmms-eval's mlvu_aggregate_results_dev: mean over its 7 types, 0 for absent ones:
    # plotQA 6/6, needle 1/3, topic_reasoning 3/3 -> (100 + 33.3 + 100) / 7.
    assert scores["mlvu_percetion_score,none"] == pytest.approx((200 + 100 / 3) / 7)
    # 12 questions on 12 videos: every estimate is the independent one, 100 * sqrt(p(1-p)/(n-1)), in percent.
    se = 100 * math.sqrt(10 / 12 * 2 / 12 / 11)
    for key in ("_stderr", "_stderr_clt", "_stderr_clustered"):
        assert scores[f"mlvu_percetion_score{key},none"] == pytest.approx(se)
    samples = [json.loads(line) for line in samples_path.read_text().splitlines()]
    assert [s["doc_id"] for s in samples] == list(range(12))
    needle = next(s for s in samples if s["vidscout_id"] == "findNeedle:1")
    assert needle["target"] == NO_OPTION and needle["mlvu_percetion_score"]["task_type"] == "needle"
    assert needle["mlvu_percetion_score"]["score"] == 0.0 and needle["parsed"] is None


def test_errors_are_samples_with_an_empty_reply(data_dir: Path, tmp_path: Path) -> None:
    task = load_task("lvbench", data_dir / "lvbench")
    replies = [(e, None if i == 0 else f"({e.answer}) x", "BackendError: down" if i == 0 else None)
               for i, e in enumerate(task)]  # fmt: skip
    results_path, samples_path = write_lmms_eval(tmp_path, task, replies, run={}, date=0.0)
    scores = json.loads(results_path.read_text())["results"]["lvbench"]
    assert scores["lvbench_score,none"] == pytest.approx(10 / 11)  # a fraction, as lmms-eval's mean of bools
    first = json.loads(samples_path.read_text().splitlines()[0])
    assert (first["resps"], first["filtered_resps"], first["lvbench_score"], first["error"]) == (
        [""], [""], False, "BackendError: down",
    )  # fmt: skip
    # 11 questions on 6 videos: ours (CR1) and lmms-eval's clustered estimate differ; both are reported.
    assert scores["lvbench_score_stderr,none"] != scores["lvbench_score_stderr_clustered,none"]
