"""The training script: deterministic batches, and a short smoke run whose loss falls (never a full retrain)."""

from __future__ import annotations

import numpy as np
import torch

from vidscout.generation import world
from vidscout.generation.model import ModelConfig, TinyARDenoiser
from vidscout.generation.train import CURRICULUM_VOCABULARY, TrainOptions, loss_on, sample_batch, train


def test_batches_are_deterministic_and_weight_the_sprite() -> None:
    cfg, opts = ModelConfig(), TrainOptions(batch=4, p_cut=0.0, all_targets=True)
    a = sample_batch(np.random.default_rng(7), cfg, opts)
    b = sample_batch(np.random.default_rng(7), cfg, opts)
    assert torch.equal(a.frames, b.frames) and a.slots == b.slots
    assert a.frames.shape[1] == a.n_context + cfg.frames_per_block
    target_weights = a.weights[:, a.n_context :]
    assert set(torch.unique(target_weights).tolist()) == {1.0, 1.0 + opts.fg_weight}  # the sprite weighs more
    assert set(torch.unique(a.weights).tolist()) <= {0.0, 1.0, 1.0 + opts.fg_weight}  # 0: shown before a switch
    window = tuple(j for j, slot in enumerate(a.slots[: a.n_context]) if not slot.sink)
    assert a.copies == window  # window frames are extra targets (CausVid-style teacher forcing)
    assert sample_batch(np.random.default_rng(7), cfg, TrainOptions(batch=4, p_cut=0.0)).copies == ()


def test_teacher_forcing_with_window_copies_trains() -> None:
    model = TinyARDenoiser(ModelConfig())
    opts = TrainOptions(batch=2, p_cut=0.0, all_targets=True)
    rng = np.random.default_rng(11)
    batch = sample_batch(rng, model.config, opts)
    while not batch.copies:
        batch = sample_batch(rng, model.config, opts)
    loss = loss_on(model, batch, torch.Generator().manual_seed(0), self_forcing=True, options=opts)
    loss.backward()
    assert torch.isfinite(loss) and model.embed.weight.grad is not None


def test_curriculum_batches_use_the_reduced_vocabulary() -> None:
    batch = sample_batch(np.random.default_rng(1), ModelConfig(), TrainOptions(batch=32), easy=True)
    for i, field in enumerate(world.FIELDS):
        words = {world.VOCABULARY[field][int(j)] for j in batch.prompts[:, i]}
        assert words <= set(CURRICULUM_VOCABULARY[field])


def test_training_is_deterministic_for_a_seed() -> None:
    opts = TrainOptions(steps=2, batch=4, warmup=1, seed=3)
    a, b = train(opts, log=lambda _: None)[0], train(opts, log=lambda _: None)[0]
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))


def test_smoke_training_lowers_the_loss() -> None:
    # About 30-60 s on 2 busy cores: 30 steps of 8 examples from scratch.
    opts = TrainOptions(steps=30, batch=8, warmup=5, seed=0, self_forcing_from=0.8)
    _, record = train(opts, log=lambda _: None)
    curve = record["loss_curve"]
    assert isinstance(curve, list) and len(curve) >= 2
    first, last = curve[0][1], curve[-1][1]
    assert last < 0.6 * first, curve


def test_worker_processes_draw_the_same_batches_as_the_training_process() -> None:
    opts = TrainOptions(steps=3, batch=4, warmup=1, seed=5)
    a = train(opts, log=lambda _: None)[0]
    b = train(opts.model_copy(update={"workers": 2}), log=lambda _: None)[0]
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(pa, pb), name
