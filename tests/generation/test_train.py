"""The training script: deterministic batches, and a short smoke run whose loss falls (never a full retrain)."""

from __future__ import annotations

import numpy as np
import torch

from vidscout.generation.model import ModelConfig
from vidscout.generation.train import TrainOptions, sample_batch, train


def test_batches_are_deterministic_and_weight_the_sprite() -> None:
    cfg, opts = ModelConfig(), TrainOptions(batch=4, p_cut=0.0)
    a = sample_batch(np.random.default_rng(7), cfg, opts)
    b = sample_batch(np.random.default_rng(7), cfg, opts)
    assert torch.equal(a.frames, b.frames) and a.slots == b.slots
    assert a.frames.shape[1] == a.n_context + cfg.frames_per_block
    assert set(torch.unique(a.weights).tolist()) == {1.0, 1.0 + opts.fg_weight}


def test_smoke_training_lowers_the_loss() -> None:
    # About 30-60 s on 2 busy cores: 30 steps of 8 examples from scratch.
    opts = TrainOptions(steps=30, batch=8, warmup=5, seed=0, self_forcing_from=0.8)
    _, record = train(opts, log=lambda _: None)
    curve = record["loss_curve"]
    assert isinstance(curve, list) and len(curve) >= 2
    first, last = curve[0][1], curve[-1][1]
    assert last < 0.6 * first, curve
