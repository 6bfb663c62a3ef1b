"""PATH TEST, not an accuracy claim: real MLVU and LVBench annotation items run end to end.

The benchmark videos cannot be downloaded here, so each item's video path holds a stand-in (a
3-minute real clip that has nothing to do with the question). What is checked is the path:
annotation -> video file -> agent (real embedded planner) -> parsed option letter -> score.
"""

from __future__ import annotations

import json
from pathlib import Path

from vidscout.choices import letters
from vidscout.eval.runner import run_benchmark
from vidscout.eval.tasks import load_task
from vidscout.settings import ModelSpecs, Settings

REPO = Path(__file__).resolve().parents[2]
PLANNER = "gguf:qwen2.5-coder-0.5b?n_ctx=8192"  # the smaller planner keeps this path test short


def test_mlvu_and_lvbench_items_through_the_agent(data_dir: Path, needle_benchmark: Path, tmp_path: Path) -> None:
    stand_in = next((needle_benchmark.parent / "videos").glob("*.mp4"))
    settings = Settings(data_dir=REPO / ".cache" / "vidscout-test", models=ModelSpecs(llm=PLANNER))
    for name, ann in (("mlvu", data_dir / "mlvu" / "1_plotQA.json"),
                      ("lvbench", data_dir / "lvbench" / "lvbench_clean.json")):  # fmt: skip
        videos = tmp_path / name / "videos"
        task = load_task(name, ann, videos_dir=videos)
        example = task.get_example(0)
        target = videos / task.video_candidates(example)[0]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(stand_in)
        run = tmp_path / name / "run"
        result = run_benchmark(task, "agent", out_dir=run, settings=settings, limit=1,
                               strategy_options={"max_steps": 2})  # fmt: skip
        assert (result.answered_now, result.errors, result.missing) == (1, 0, [])
        pred = json.loads((run / "predictions.jsonl").read_text())
        assert pred["id"] == example.id and pred["answer"] == example.answer
        assert pred["parsed"] in letters(len(example.options)), pred["response"]
        assert (run / pred["trajectory"]).is_file()
        assert result.metrics.n_scored == 1 and result.metrics.headline_value in (0.0, 100.0)
