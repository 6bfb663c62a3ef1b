"""The GPU adapters without a GPU: timeline → LongLive's (prompt lists, latent switch indices), and clear errors.

Rendering with LongLive / Self-Forcing needs CUDA and their weights; it is not tested here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from vidscout.errors import ConfigError, ModelUnavailableError
from vidscout.generation.base import Timeline, TimelineSegment
from vidscout.generation.gpu import run_request, runs
from vidscout.generation.registry import make_generator
from vidscout.settings import Settings


def _timeline() -> Timeline:
    spec = [("a", 48, "cut"), ("b", 24, "continue"), ("c", 36, "cut"), ("d", 12, "continue")]
    segs, start = [], 0
    for sid, n, tr in spec:
        segs.append(TimelineSegment(shot_id=sid, prompt=f"prompt {sid}", start_frame=start, n_frames=n, transition=tr))
        start += n
    return Timeline(fps=16, frames_per_block=12, segments=tuple(segs))


def test_longlive_runs_split_at_cuts_and_switch_at_latent_frames() -> None:
    groups = runs(_timeline(), switches=True)
    assert [[s.shot_id for s in g] for g in groups] == [["a", "b"], ["c", "d"]]
    prompts, switch, n_latent = run_request(groups[0])
    assert prompts == [["prompt a"], ["prompt b"]] and switch == [12] and n_latent == 18
    assert run_request(groups[1])[1:] == ([9], 12)


def test_self_forcing_renders_every_shot_as_its_own_run() -> None:
    assert [len(g) for g in runs(_timeline(), switches=False)] == [1, 1, 1, 1]


def test_registry_errors_name_the_fix(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    with pytest.raises(ConfigError, match="available: embedded, longlive, self-forcing"):
        make_generator("sora", settings)
    with pytest.raises(ConfigError, match=r"\?config="):
        make_generator(f"longlive:{tmp_path}", settings)
    with pytest.raises(ModelUnavailableError, match="not a longlive checkout"):
        make_generator(f"longlive:{tmp_path}?config=x.yaml", settings)
    with pytest.raises(ModelUnavailableError, match="No embedded generator checkpoint"):
        make_generator(f"embedded:{tmp_path / 'none.pt'}", settings)
