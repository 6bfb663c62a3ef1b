"""The benchmark runner on a real needle video with the real embedded models (retrieval strategy: no LLM).

Checks what a user relies on: a run scores, an interrupted run resumed gives the identical score,
missing videos are counted, a different run in the same folder is refused, and the CLI prints it all.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vidscout.cli.app import app
from vidscout.errors import ConfigError
from vidscout.eval.runner import Prediction, PredictionLog, RunEvent, run_benchmark
from vidscout.eval.tasks import load_task
from vidscout.settings import Settings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings(data_dir=REPO / ".cache" / "vidscout-test", profile="embedded")


def _rows(path: Path) -> list[tuple[str, str, float, int | None, int | None]]:
    report = json.loads((path / "metrics.json").read_text())
    return [(r["group"], r["name"], r["accuracy"], r["correct"], r["total"]) for r in report["metrics"]["rows"]]


def test_cli_run_then_interrupted_run_resumes_to_the_same_score(
    needle_benchmark: Path, settings: Settings, tmp_path: Path
) -> None:
    full = tmp_path / "full"
    res = CliRunner().invoke(
        app,
        ["bench", "needle", "--annotations", str(needle_benchmark), "--strategy", "retrieval", "--out", str(full),
         "--data-dir", str(settings.data_dir), "--json"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["counts"] == {"selected": 6, "answered_now": 6, "resumed": 0, "errors": 0, "missing_questions": 0}
    # Retrieval alone finds the needles of this short video: the path from search to the parsed letter works.
    assert report["headline"]["accuracy"] >= 50.0
    assert (full / "metrics.png").stat().st_size > 1000
    assert len((full / "predictions.jsonl").read_text().splitlines()) == 6

    # Interrupt a second run after two answers (as Ctrl-C would), then rerun it.
    task = load_task("needle", needle_benchmark)
    part = tmp_path / "part"
    seen: list[str] = []

    def stop_after_two(event: RunEvent) -> None:
        if event.kind == "answer":
            seen.append(event.video)
            if len(seen) == 2:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_benchmark(task, "retrieval", out_dir=part, settings=settings, progress=stop_after_two)
    assert len((part / "predictions.jsonl").read_text().splitlines()) == 2
    resumed = run_benchmark(task, "retrieval", out_dir=part, settings=settings)
    assert (resumed.resumed, resumed.answered_now) == (2, 4)
    assert _rows(part) == _rows(full)
    ids = [json.loads(line)["id"] for line in (part / "predictions.jsonl").read_text().splitlines()]
    assert sorted(ids) == sorted(e.id for e in task)

    # A torn last line (killed mid-write) is dropped and that question re-run; the score is unchanged.
    with open(part / "predictions.jsonl", "rb+") as f:
        data = f.read()
        f.seek(0)
        f.truncate()
        f.write(data[:-40])
    again = run_benchmark(task, "retrieval", out_dir=part, settings=settings)
    assert (again.resumed, again.answered_now) == (5, 1)
    assert _rows(part) == _rows(full)

    # The same folder with another strategy is refused before anything runs.
    with pytest.raises(ConfigError, match="strategy"):
        run_benchmark(task, "agent", out_dir=part, settings=settings)


def test_missing_videos_are_counted_not_dropped(needle_benchmark: Path, settings: Settings, tmp_path: Path) -> None:
    records = json.loads(needle_benchmark.read_text())
    extra = [{**r, "id": r["id"] + "-copy", "video": "not_here.mp4"} for r in records[:3]]
    ann = tmp_path / "needle.json"
    ann.write_text(json.dumps(records + extra))
    task = load_task("needle", ann, videos_dir=needle_benchmark.parent / "videos")
    events: list[RunEvent] = []
    result = run_benchmark(task, "retrieval", out_dir=tmp_path / "run", settings=settings, progress=events.append)
    assert [(m.video, m.questions) for m in result.missing] == [("not_here.mp4", 3)]
    assert result.metrics.n_examples == 6 and result.selected == 9
    assert any("3 of 9 questions not run" in n for n in result.metrics.notes)
    assert [e.video for e in events if e.kind == "missing"] == ["not_here.mp4"]
    # Once the video is there, a rerun answers just those questions.
    shutil.copy(next((needle_benchmark.parent / "videos").glob("*.mp4")), tmp_path / "not_here.mp4")
    task2 = load_task("needle", ann, videos_dir=tmp_path)
    for p in (needle_benchmark.parent / "videos").glob("*.mp4"):
        (tmp_path / p.name).symlink_to(p)
    result2 = run_benchmark(task2, "retrieval", out_dir=tmp_path / "run", settings=settings)
    assert (result2.resumed, result2.answered_now, result2.missing) == (6, 3, [])


def test_prediction_log_refuses_an_edited_file(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path / "predictions.jsonl")
    p = Prediction(id="a", video="v.mp4", response="B", parsed="B", answer="B", correct=True, answer_s=0.1,
                   video_open_s=1.0)  # fmt: skip
    log.append(p)
    log.append(p.model_copy(update={"id": "b"}))
    assert set(log.load()) == {"a", "b"}
    lines = log.path.read_text().splitlines()
    log.path.write_text("\n".join([lines[0], "{not json", lines[1]]) + "\n")
    with pytest.raises(ConfigError, match="line 2 is not a prediction"):
        log.load()


def test_bad_run_options(needle_benchmark: Path, settings: Settings, tmp_path: Path) -> None:
    task = load_task("needle", needle_benchmark)
    with pytest.raises(ConfigError, match="Unknown strategy 'oracle'"):
        run_benchmark(task, "oracle", out_dir=tmp_path, settings=settings)
    with pytest.raises(ConfigError, match="--limit"):
        run_benchmark(task, "retrieval", out_dir=tmp_path, settings=settings, limit=0)
    res = CliRunner().invoke(app, ["bench", "nope", "--annotations", str(needle_benchmark)])
    assert res.exit_code != 0 and "Unknown task 'nope'" in str(res.exception)


def test_workers_answer_videos_in_parallel(needle_benchmark: Path, settings: Settings, tmp_path: Path) -> None:
    records = json.loads(needle_benchmark.read_text())
    original = next((needle_benchmark.parent / "videos").glob("*.mp4"))
    (tmp_path / original.name).symlink_to(original)
    (tmp_path / "copy.mp4").symlink_to(original)
    copies = [{**r, "id": r["id"] + "-copy", "video": "copy.mp4"} for r in records]
    ann = tmp_path / "needle.json"
    ann.write_text(json.dumps(records + copies))
    task = load_task("needle", ann, videos_dir=tmp_path)
    videos: list[str] = []
    result = run_benchmark(task, "retrieval", out_dir=tmp_path / "run", settings=settings, workers=2,
                           progress=lambda e: videos.append(e.video) if e.kind == "video" else None)  # fmt: skip
    assert sorted(videos) == sorted([original.name, "copy.mp4"]) and result.answered_now == 12
    lines = [json.loads(x) for x in (tmp_path / "run" / "predictions.jsonl").read_text().splitlines()]
    by_id = {p["id"]: p["response"] for p in lines}
    assert all(by_id[r["id"]] == by_id[r["id"] + "-copy"] for r in records)


def test_two_runs_cannot_share_a_folder(needle_benchmark: Path, settings: Settings, tmp_path: Path) -> None:
    task = load_task("needle", needle_benchmark)
    seen: list[Exception] = []

    def second_run_meanwhile(event: RunEvent) -> None:
        if event.kind == "answer" and not seen:
            try:
                run_benchmark(task, "retrieval", out_dir=tmp_path, settings=settings)
            except ConfigError as e:
                seen.append(e)

    result = run_benchmark(task, "retrieval", out_dir=tmp_path, settings=settings, progress=second_run_meanwhile)
    assert seen and "Another run is using" in str(seen[0])
    assert result.answered_now == len(task)
    assert len((tmp_path / "predictions.jsonl").read_text().splitlines()) == len(task)


@pytest.mark.parametrize("strategy", ["direct", "kv"])
def test_direct_and_kv_strategies_reply_through_the_runner(
    strategy: str, needle_benchmark: Path, tmp_path: Path
) -> None:
    """The other two strategies on one real question with the real embedded models (0.5B planner)."""
    from vidscout.settings import ModelSpecs

    planner = ModelSpecs(llm="gguf:qwen2.5-coder-0.5b?n_ctx=8192")
    settings = Settings(data_dir=REPO / ".cache" / "vidscout-test", models=planner)
    task = load_task("needle", needle_benchmark)
    result = run_benchmark(task, strategy, out_dir=tmp_path, settings=settings, limit=1,
                           strategy_options={"frames": 4})  # fmt: skip
    assert (result.answered_now, result.errors) == (1, 0)
    pred = json.loads((tmp_path / "predictions.jsonl").read_text())
    assert pred["response"] and pred["evidence"], pred
    if strategy == "kv":  # answer_with_kv picks a letter on multiple-choice questions
        assert pred["parsed"] in ("A", "B", "C", "D"), pred["response"]
