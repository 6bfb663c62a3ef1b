"""Scale-out for the benchmark runner: one Ray task per video (``vidscout bench --ray``; extra ``ray``).

Each Ray task opens (ingests) one video with its own models and answers that video's questions;
the driver appends the predictions to ``predictions.jsonl`` as each video finishes, so a resumed
run skips whole finished videos. ``ray.init`` connects to the cluster named by ``RAY_ADDRESS`` or
starts a local one. Workers write trajectories and databases to the same paths as the driver: on a
multi-node cluster, ``out_dir`` and the data dir must be on a shared filesystem.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vidscout.errors import ConfigError, VidScoutError
from vidscout.eval.strategies import make_strategy
from vidscout.eval.task import Example, Task
from vidscout.eval.work import MissingVideo, Prediction, answer_video
from vidscout.models.registry import Backends
from vidscout.settings import Settings

Outcome = tuple[list[dict[str, Any]], str | None]
"""A Ray task's result: the predictions as dicts, and why the video was unusable (None when fine)."""


def answer_group(
    task: Task,
    video_path: Path,
    examples: list[Example],
    strategy: str,
    options: dict[str, Any],
    settings: dict[str, Any],
    out_dir: Path,
) -> Outcome:
    """Body of one Ray task: answer one video's questions in a worker process."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    s = Settings(**settings)
    try:
        preds = answer_video(task, video_path, examples, make_strategy(strategy, task=task, **options), settings=s,
                             backends=Backends(s), out_dir=out_dir)  # fmt: skip
        return [p.model_dump(mode="json") for p in preds], None
    except VidScoutError as e:
        return [], str(e)


def run_on_ray(
    task: Task,
    groups: dict[Path, list[Example]],
    strategy: str,
    options: dict[str, Any],
    *,
    settings: Settings,
    out_dir: Path,
    record: Callable[[Prediction], None],
    cpus_per_video: float = 1.0,
) -> list[MissingVideo]:
    """Answer every group on Ray, calling ``record`` for each prediction as its video finishes.

    Returns:
        The videos that could not be opened.

    Raises:
        ConfigError: Ray is not installed.
    """
    try:
        import ray
    except ImportError as e:
        raise ConfigError("--ray needs Ray: pip install 'vidscout[ray]'.") from e
    if not ray.is_initialized():
        ray.init(address=os.environ.get("RAY_ADDRESS"), include_dashboard=False, log_to_driver=False)
    remote = ray.remote(num_cpus=cpus_per_video)(answer_group)
    settings_dict = settings.model_dump(mode="json")
    pending = {
        remote.remote(task, path, examples, strategy, options, settings_dict, out_dir): examples
        for path, examples in groups.items()
    }
    unusable: list[MissingVideo] = []
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        for ref in ready:
            examples = pending.pop(ref)
            preds, reason = ray.get(ref)
            if reason is not None:
                unusable.append(MissingVideo(video=examples[0].video, questions=len(examples), reason=reason))
            for p in preds:
                record(Prediction.model_validate(p))
    return unusable
