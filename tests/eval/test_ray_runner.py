"""The runner on a local Ray instance gives the same predictions as the local run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import ray

from vidscout.eval.runner import run_benchmark
from vidscout.eval.tasks import load_task
from vidscout.settings import Settings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


def test_ray_run_matches_local_run(needle_benchmark: Path, tmp_path: Path, local_ray: None) -> None:
    settings = Settings(data_dir=REPO / ".cache" / "vidscout-test", profile="embedded")
    task = load_task("needle", needle_benchmark)
    on_ray = run_benchmark(task, "retrieval", out_dir=tmp_path / "ray", settings=settings, use_ray=True)
    local = run_benchmark(task, "retrieval", out_dir=tmp_path / "local", settings=settings)
    assert on_ray.answered_now == local.answered_now == len(task)

    def replies(run: Path) -> dict[str, tuple[str, str]]:
        lines = (run / "predictions.jsonl").read_text().splitlines()
        return {p["id"]: (p["response"], p["parsed"]) for p in map(json.loads, lines)}

    assert replies(tmp_path / "ray") == replies(tmp_path / "local")
    assert on_ray.metrics.rows == local.metrics.rows
    # Resuming a Ray run skips what it stored.
    again = run_benchmark(task, "retrieval", out_dir=tmp_path / "ray", settings=settings, use_ray=True)
    assert (again.resumed, again.answered_now) == (len(task), 0)
