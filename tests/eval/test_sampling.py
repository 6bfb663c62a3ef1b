"""The direct strategy's frames: lmms-eval's uniform sample, per benchmark."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from vidscout.answering.frames import FramesStrategy
from vidscout.answering.sampling import FrameSampling, lmms_eval_frame_indices, lmms_eval_frame_times
from vidscout.eval.strategies import video_settings
from vidscout.eval.tasks import TASKS, load_task


def lmms_eval_reference(total: int, n: int, *, video_fps: float, fps: float | None) -> list[int]:
    """lmms-eval's ``_compute_sample_count`` + ``_compute_uniform_indices`` (lmms_eval/models/model_utils/
    load_video.py @75571cf), rewritten here with numpy as the reference."""
    sampled = min(total, n)
    if fps is not None and video_fps > 0:
        sampled = min(sampled, int(total / video_fps * fps))
    sampled = max(1, sampled)
    return np.unique(np.linspace(0, total - 1, sampled, dtype=int)).tolist()


@pytest.mark.parametrize("total", [1, 2, 7, 31, 32, 33, 100, 1799, 90_000, 216_001])
@pytest.mark.parametrize("n", [1, 2, 8, 16, 32, 64, 768])
def test_indices_match_numpy_linspace(total: int, n: int) -> None:
    expected = lmms_eval_reference(total, n, video_fps=30.0, fps=None)
    assert lmms_eval_frame_indices(total, n, video_fps=30.0) == expected


@pytest.mark.parametrize(("total", "video_fps", "fps"), [(300, 30.0, 1.0), (300, 25.0, 0.5), (5_000, 29.97, 2.0)])
def test_fps_caps_the_count_as_lmms_eval_does(total: int, video_fps: float, fps: float) -> None:
    got = lmms_eval_frame_indices(total, 32, video_fps=video_fps, fps=fps)
    assert got == lmms_eval_reference(total, 32, video_fps=video_fps, fps=fps)
    assert len(got) == min(32, int(total / video_fps * fps))


def test_times_are_indices_over_fps_and_stay_in_the_video() -> None:
    one_hour = lmms_eval_frame_times(3600.0, 30.0, 108_000, FrameSampling(frames=32))
    assert len(one_hour) == 32 and one_hour[0] == 0.0
    assert one_hour[-1] == pytest.approx(107_999 / 30.0)
    assert one_hour[1] == pytest.approx(int(107_999 / 31) / 30.0)  # truncated like numpy's astype(int)
    # A container without a frame count: duration * fps frames.
    assert lmms_eval_frame_times(10.0, 25.0, 0, FrameSampling(frames=3)) == [0.0, 124 / 25.0, 249 / 25.0]
    assert lmms_eval_frame_times(0.0, 25.0, 0, FrameSampling()) == [0.0]


def test_each_benchmark_carries_lmms_eval_s_sample() -> None:
    # lmms-eval @75571cf: videomme _default_template_yaml and videomme_w_subtitle.yaml set frame_num: 32;
    # mlvu_dev.yaml and lvbench.yaml set none, so the video models' default max_num_frames (32) applies.
    samples = {name: task.frame_sampling for name, task in TASKS.items()}
    assert {n: (s.frames, s.fps) for n, s in samples.items()} == {
        "mlvu": (32, None), "lvbench": (32, None), "videomme": (32, None), "videomme_w_subs": (32, None),
        "needle": (32, None),
    }  # fmt: skip
    assert "frame_num: 32" in samples["videomme"].source and "mlvu_dev.yaml" in samples["mlvu"].source
    assert "lvbench.yaml" in samples["lvbench"].source


def test_direct_strategy_uses_the_task_sample_unless_overridden(data_dir: Path) -> None:
    task = load_task("lvbench", data_dir / "lvbench")
    info = SimpleNamespace(duration_s=4000.0, fps=30.0, n_frames=120_000)
    times = FramesStrategy(sampling=task.frame_sampling).frame_times(info)  # type: ignore[arg-type]
    assert times == [i / 30.0 for i in lmms_eval_reference(120_000, 32, video_fps=30.0, fps=None)]
    assert len(FramesStrategy(sampling=task.frame_sampling, frames=8).frame_times(info)) == 8  # type: ignore[arg-type]
    capped = FramesStrategy(sampling=task.frame_sampling, fps=0.001).frame_times(info)  # type: ignore[arg-type]
    assert len(capped) == 4  # int(4000 s * 0.001)
    assert FramesStrategy(sampling=task.frame_sampling, frames=8).sampling.source.startswith("overridden")


def test_run_metadata_records_the_video_settings(data_dir: Path) -> None:
    task = load_task("mlvu", data_dir / "mlvu")
    served = "openai:Qwen/Qwen2.5-VL-7B-Instruct@http://h:8000/v1?max_frames=16&max_pixels=200704"
    direct = video_settings(task, "direct", {}, served)
    assert direct["direct"]["frames"] == 32 and direct["direct"]["fps"] is None
    assert direct["direct"]["frames_sent"] == 16  # the client's frame budget is below the sample
    assert direct["video_llm"] == {
        "kind": "openai", "mode": "video", "max_frames": 16, "max_pixels": 200704, "jpeg_quality": 85, "clip_fps": 2.0,
    }  # fmt: skip
    assert direct["ingest"]["sample_every_s"] == 2.0
    retrieval = video_settings(task, "retrieval", {"frames": 8}, "composite")
    assert "direct" not in retrieval and retrieval["video_llm"] == {"kind": "composite"}
