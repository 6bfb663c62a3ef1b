"""PATH TEST, not an accuracy claim: one real annotation item per benchmark through ``vidscout bench``.

MLVU and LVBench items are real (tests/eval/data); Video-MME's is a row of our own in its published
schema (its licence forbids copying annotations). The benchmark videos cannot be downloaded here, so
each item's video path holds a stand-in (the 3-minute needle clip, unrelated to the question). What is
checked is what a run folder holds: vidscout's files and the lmms-eval-style ones, field by field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from vidscout.cli.app import app
from vidscout.eval.tasks import load_task

REPO = Path(__file__).resolve().parents[2]

CASES = {
    # task: (annotation file relative to tests/eval/data, lmms-eval task, lmms-eval metric)
    "mlvu": ("mlvu/1_plotQA.json", "mlvu_dev", "mlvu_percetion_score"),
    "lvbench": ("lvbench/lvbench_clean.json", "lvbench", "lvbench_score"),
    "videomme": ("videomme/test_row.json", "videomme", "videomme_perception_score"),
}


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("name", list(CASES))
def test_one_real_item_writes_our_files_and_lmms_eval_s(
    name: str, data_dir: Path, needle_benchmark: Path, tmp_path: Path
) -> None:
    ann_rel, lmms_task, metric = CASES[name]
    ann = data_dir / ann_rel
    stand_in = next((needle_benchmark.parent / "videos").glob("*.mp4"))
    videos = tmp_path / "videos"
    task = load_task(name, ann, videos_dir=videos)
    example = task.get_example(0)
    target = videos / task.video_candidates(example)[0]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(stand_in)
    run = tmp_path / "run"
    res = CliRunner().invoke(
        app,
        ["bench", name, "--annotations", str(ann), "--videos", str(videos), "--strategy", "retrieval", "--limit", "1",
         "--out", str(run), "--data-dir", str(REPO / ".cache" / "vidscout-test"), "--json"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output

    # vidscout's own files
    spec = json.loads((run / "run.json").read_text())
    assert (spec["task"], spec["strategy"], spec["extractor"]) == (name, "retrieval", "official")
    assert set(spec["models"]) == {
        "asr", "ocr", "tagger", "image_text", "text", "llm", "video_llm", "speaker", "facts", "image"
    }  # fmt: skip
    assert spec["video"]["ingest"]["sample_every_s"] == 2.0 and spec["video"]["video_llm"]["kind"] == "composite"
    (pred,) = _lines(run / "predictions.jsonl")
    assert pred["id"] == example.id and pred["answer"] == example.answer and pred["error"] is None
    assert pred["response"].startswith(f"({pred['parsed']}) ")  # retrieval replies "(B) <option>"
    report = json.loads((run / "metrics.json").read_text())
    m = report["metrics"]
    assert m["extractor"].startswith("official: ") and report["run"]["extractor"] == "official"
    assert (m["n_examples"], m["n_scored"], m["n_errors"], m["n_unparsed"]) == (1, 1, 0, 0)
    assert (m["stderr"], m["stderr_method"]) == (None, None)  # one question: no spread to estimate
    right = pred["correct"]

    # lmms-eval's layout: lmms_eval/results.json and lmms_eval/samples_<task>.jsonl
    results = json.loads((run / "lmms_eval" / "results.json").read_text())
    assert set(results) >= {"results", "configs", "versions", "n-shot", "higher_is_better", "n-samples", "config"}
    scores = results["results"][lmms_task]
    assert scores["alias"] == lmms_task and scores["samples"] == 1
    for key in ("_stderr", "_stderr_clt", "_stderr_clustered"):
        assert scores[f"{metric}{key},none"] == "N/A"  # one sample
    expected = {"mlvu": 100.0 * right / 7, "lvbench": float(right), "videomme": 100.0 * right}[name]
    assert scores[f"{metric},none"] == pytest.approx(expected)  # lmms-eval's MLVU mean runs over all 7 types
    assert results["n-samples"][lmms_task] == {"original": len(task), "effective": 1}
    assert results["higher_is_better"][lmms_task] == {metric: True}
    assert results["configs"][lmms_task]["extractor"].startswith("official: ")
    assert results["config"]["vidscout_run"]["video"] == spec["video"] and results["config"]["limit"] == 1
    (sample,) = _lines(run / "lmms_eval" / f"samples_{lmms_task}.jsonl")
    assert (sample["doc_id"], sample["target"]) == (0, example.answer)
    assert sample["resps"] == sample["filtered_resps"] == [pred["response"]]
    assert sample["vidscout_id"] == example.id and sample["parsed"] == pred["parsed"]
    value = sample[metric]
    if name == "lvbench":
        assert value is right
    else:
        assert value["pred_answer"] == pred["parsed"] and value["answer"] == example.answer
        assert value["score"] == float(right)
    if name == "mlvu":
        assert (value["task_type"], value["question_id"], value["video"]) == ("plotQA", example.question, example.video)
    if name == "videomme":
        assert (value["question_id"], value["videoID"], value["duration"]) == ("901-1", "standin0001", "short")
        assert (value["category"], value["sub_category"], value["task_category"]) == (
            "Life Record", "Daily Life", "Object Recognition",
        )  # fmt: skip
