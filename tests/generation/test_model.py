"""KV-cache mechanics of the embedded generator: bounded window + sink, recache, cut reset, determinism."""

from __future__ import annotations

import numpy as np
import torch

from vidscout.generation.base import GeneratorKnobs
from vidscout.generation.embedded import EmbeddedGenerator
from vidscout.generation.model import ModelConfig, schedule

RED = "a red circle moves right over a black background"
BLUE = "a blue square moves up over a white background"


def test_cache_stays_bounded_by_sink_plus_window(shipped: EmbeddedGenerator) -> None:
    cfg = shipped.model.config
    session = shipped.open(GeneratorKnobs(seed=3))
    session.set_prompt(RED, "cut")
    sizes = []
    for _ in range(24):
        session.step()
        sizes.append(session.cache.nbytes())
    assert len(session.cache.sink) == cfg.sink_frames and len(session.cache.window) == cfg.window_frames
    full = (cfg.sink_frames + cfg.window_frames) // cfg.frames_per_block
    assert len(set(sizes[full:])) == 1, "the cache must stop growing once sink and window are full"
    assert sizes[-1] < 2_000_000


def test_knobs_change_window_and_sink(shipped: EmbeddedGenerator) -> None:
    session = shipped.open(GeneratorKnobs(window_frames=1, sink_frames=0))
    session.set_prompt(RED, "cut")
    for _ in range(6):
        session.step()
    assert len(session.cache.sink) == 0 and len(session.cache.window) == 1


def test_cut_resets_and_switch_recaches(shipped: EmbeddedGenerator) -> None:
    session = shipped.open(GeneratorKnobs(seed=1))
    session.set_prompt(RED, "cut")
    for _ in range(6):
        session.step()
    before = [f.kv[0][0].clone() for f in session.cache.frames]
    session.set_prompt(BLUE, "continue")
    chunk = session.step()
    assert chunk.transition == "continue" and chunk.prompt == BLUE
    after = [f.kv[0][0] for f in session.cache.frames[: len(before) - 1]]
    # Recache rewrote the cached keys under the new prompt (the first cached frame kept its slot).
    assert not torch.allclose(before[0], after[0])
    session.set_prompt(RED, "cut")
    chunk = session.step()
    assert chunk.transition == "cut" and len(session.cache.frames) == 1


def test_no_recache_keeps_stale_keys(shipped: EmbeddedGenerator) -> None:
    session = shipped.open(GeneratorKnobs(seed=1, recache=False))
    session.set_prompt(RED, "cut")
    for _ in range(6):
        session.step()
    sink_keys = session.cache.sink[0].kv[0][0].clone()
    session.set_prompt(BLUE, "continue")
    session.step()
    assert torch.equal(sink_keys, session.cache.sink[0].kv[0][0])


def test_same_seed_same_frames_and_restore_replays(shipped: EmbeddedGenerator) -> None:
    def run(seed: int) -> np.ndarray:
        s = shipped.open(GeneratorKnobs(seed=seed))
        s.set_prompt(RED, "cut")
        return np.concatenate([s.step().frames for _ in range(4)])

    assert np.array_equal(run(5), run(5)) and not np.array_equal(run(5), run(6))
    s = shipped.open(GeneratorKnobs(seed=2))
    s.set_prompt(RED, "cut")
    s.step()
    state = s.checkpoint()
    first = np.concatenate([s.step().frames for _ in range(3)])
    s.restore(state)
    again = np.concatenate([s.step().frames for _ in range(3)])
    s.restore(state, seed=99)
    other = np.concatenate([s.step().frames for _ in range(3)])
    assert np.array_equal(first, again) and not np.array_equal(first, other)


def test_fewer_steps_visit_a_subset_of_trained_levels() -> None:
    cfg = ModelConfig()
    assert schedule(cfg, 4) == [0, 1, 2, 3] and schedule(cfg, 2) == [0, 3] and schedule(cfg, 1) == [0]
