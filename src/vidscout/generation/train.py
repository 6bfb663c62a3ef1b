r"""Train the embedded generator on the procedural world, deterministically (seed + step count fix the run).

A seed and a step count fix the data and the initialisation (bitwise-equal weights on the same machine and
thread count).

Run (36 minutes on 2 cores, about 0.55 s per step; prints the loss and, every ``--eval-every`` steps, the
oracle's prompt-following score; this is how the shipped checkpoint was made, oracle score 0.94)::

    OMP_WAIT_POLICY=PASSIVE python -m vidscout.generation.train --steps 4000 --eval-every 500 \\
        --out src/vidscout/generation/weights/tiny_ar.pt

Each example is the attention layout the sampler sees: the sink (first block after a cut), the sliding
window of recent clean frames, and one noisy block at a trained noise level; noisy copies of the window frames
are extra targets in the same pass (each sees only earlier clean frames, as in CausVid's teacher forcing).
Half the examples switch the prompt (``continue``) inside the window or at the block, so the model learns to
keep the sprite's position while changing what the new prompt changes. The first quarter of the steps draws
from 32 of the 144 prompts (a curriculum: motion and rendering before the full palette). The loss is an x0
regression weighted towards the sprite's pixels (where it is and where it was), which the background would
otherwise drown out. From ``self_forcing_from`` on, the clean context is replaced by the model's own one-step
estimate of it, so the model learns to continue from its own imperfect frames as it must at inference
(Self-Forcing's point).
"""

from __future__ import annotations

import argparse
import copy
import math
import multiprocessing
import os
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, Field

from vidscout.generation import world
from vidscout.generation.base import GeneratorKnobs, Timeline, TimelineSegment, Transition

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch: spinning OpenMP threads starve a busy box

import torch
import torch.nn.functional as F

from vidscout.generation.model import FrameSlot, ModelConfig, TinyARDenoiser, count_parameters


class TrainOptions(BaseModel, frozen=True):
    """Knobs of a training run."""

    steps: int = Field(default=4000, ge=1, description="Optimizer steps.")
    batch: int = Field(default=16, ge=1, description="Examples per step (all share one attention layout).")
    lr: float = Field(default=2e-3, gt=0, description="Peak AdamW learning rate.")
    warmup: int = Field(default=100, ge=0, description="Linear warm-up steps, then cosine decay to 10%.")
    fg_weight: float = Field(default=4.0, ge=0, description="Extra loss weight on sprite pixels (now or before).")
    p_switch: float = Field(default=0.5, ge=0, le=1, description="Share of examples with a prompt switch.")
    p_cut: float = Field(default=0.15, ge=0, le=1, description="Share of examples that start a shot (no context).")
    self_forcing_from: float = Field(default=0.6, ge=0, le=1, description="Fraction of steps after which the "
                                     "context is the model's own one-step estimate (half the examples).")  # fmt: skip
    context_noise: float = Field(default=0.05, ge=0, description="Std of noise added to clean context frames.")
    all_targets: bool = Field(default=False, description="Also denoise noisy copies of the window frames.")
    curriculum: float = Field(default=0.25, ge=0, le=1, description="Fraction of steps (from the start) that "
                              "draw prompts from the reduced `CURRICULUM_VOCABULARY`.")  # fmt: skip
    seed: int = 0
    threads: int = Field(default=2, ge=1, description="Torch CPU threads.")
    device: str = Field(default="cpu", description="Torch device of the model (`cpu`, `cuda`).")
    workers: int = Field(default=0, ge=0, description="Processes drawing batches (0: in the training process).")


@dataclass
class Batch:
    """One training batch: context + target frames in [-1, 1], (B, F, 3, S, S), and what they mean."""

    frames: torch.Tensor
    prompts: torch.Tensor  # (B, 4) word indices of the target block's prompt
    slots: tuple[FrameSlot, ...]  # clean context slots, then the (noisy) target block's
    n_context: int
    weights: torch.Tensor  # (B, F, 1, S, S) per-pixel loss weights of every frame (0: not a target)
    copies: tuple[int, ...] = ()  # context positions whose noisy copies are extra targets (window frames)

    def to(self, device: torch.device | str) -> Batch:
        """The same batch with its tensors on ``device``."""
        return Batch(self.frames.to(device), self.prompts.to(device), self.slots, self.n_context,
                     self.weights.to(device), self.copies)  # fmt: skip


CURRICULUM_VOCABULARY: dict[str, tuple[str, ...]] = {
    "colour": ("red", "blue"), "shape": ("circle", "square"),
    "direction": tuple(world.DIRECTIONS), "background": ("black", "white"),
}  # fmt: skip
"""The easy start: 32 of the 144 prompts, all four directions, so motion is learnt before the full palette."""


def _random_prompt(rng: np.random.Generator, vocabulary: dict[str, tuple[str, ...]] | None = None) -> world.WorldPrompt:
    vocab = vocabulary or world.VOCABULARY
    words = {f: vocab[f][int(rng.integers(len(vocab[f])))] for f in world.FIELDS}
    return world.WorldPrompt(**words)


def _positions(switch: int, n: int, first: world.WorldPrompt, second: world.WorldPrompt) -> list[tuple[int, int]]:
    x = y = world.SIZE // 2
    out = [(x, y)]
    for i in range(1, n):
        dx, dy = world.DIRECTIONS[(first if i < switch else second).direction]
        x, y = (x + world.SPEED * dx) % world.SIZE, (y + world.SPEED * dy) % world.SIZE
        out.append((x, y))
    return out


def _foreground(frame: NDArray[np.uint8], prompt: world.WorldPrompt) -> NDArray[np.bool_]:
    return np.any(frame != np.asarray(world.BACKGROUNDS[prompt.background], np.uint8), axis=-1)


def sample_batch(rng: np.random.Generator, config: ModelConfig, options: TrainOptions, *, easy: bool = False) -> Batch:
    """Draw one batch: a layout (how far into the shot the target block is), then per-example worlds.

    ``easy`` draws prompts from `CURRICULUM_VOCABULARY` only.
    """
    vocab = CURRICULUM_VOCABULARY if easy else None
    fpb, sink, window = config.frames_per_block, config.sink_frames, config.window_frames
    if rng.random() < options.p_cut:
        n_before = 0
    else:  # up to a few windows past the sink, so the sprite can be anywhere on the torus
        n_before = fpb * int(rng.integers(1, (sink + window) // fpb + 2 * world.SIZE // (world.SPEED * fpb)))
    context = [*range(min(sink, n_before)), *range(max(sink, n_before - window), n_before)]
    frames_idx = [*context, *range(n_before, n_before + fpb)]
    frames = np.empty((options.batch, len(frames_idx), world.SIZE, world.SIZE, 3), np.uint8)
    weights = np.empty((options.batch, len(frames_idx), world.SIZE, world.SIZE), np.float32)
    prompts = np.empty((options.batch, 4), np.int64)
    for b in range(options.batch):
        second = _random_prompt(rng, vocab)
        first, switch = second, 0
        if n_before > 0 and rng.random() < options.p_switch:  # a `continue` switch inside the window or at the block
            first = _random_prompt(rng, vocab)
            lo = max(fpb, n_before - window)
            switch = fpb * int(rng.integers(lo // fpb, n_before // fpb + 1))
        pos = _positions(switch, n_before + fpb, first, second)
        for j, f in enumerate(frames_idx):
            frames[b, j] = world.render_frame(first if f < switch else second, *pos[f])
        for j, f in enumerate(frames_idx):
            prompt = first if f < switch else second
            fg = _foreground(frames[b, j], prompt)
            if f > 0:  # where the sprite was one frame ago must become background
                prev_prompt = first if f - 1 < switch else second
                fg |= _foreground(world.render_frame(prev_prompt, *pos[f - 1]), prev_prompt)
            # A frame shown before the switch is no target: it followed the other prompt.
            weights[b, j] = (1.0 + options.fg_weight * fg) * (f >= switch)
        prompts[b] = [second.index(f) for f in world.FIELDS]
    slots = tuple(FrameSlot(time=f, block=f // fpb, sink=f < sink) for f in context) + tuple(
        FrameSlot(time=f, block=f // fpb, noisy=True) for f in range(n_before, n_before + fpb)
    )
    copies = tuple(j for j, f in enumerate(context) if f >= sink) if options.all_targets else ()
    x = torch.from_numpy(frames).permute(0, 1, 4, 2, 3).float() / 127.5 - 1.0
    w = torch.from_numpy(weights).unsqueeze(2)
    return Batch(x, torch.from_numpy(prompts), slots, len(context), w, copies)


def loss_on(model: TinyARDenoiser, batch: Batch, rng: torch.Generator, *, self_forcing: bool, options: TrainOptions):
    """Weighted x0 loss of one batch at random trained noise levels (one level per target block and example).

    The targets are the block after the context and, with ``batch.copies``, noisy copies of the window frames
    too (CausVid-style teacher forcing: one pass trains several AR steps, each seeing only earlier clean frames).
    """
    cfg = model.config
    dev = batch.frames.device
    b, nc = batch.frames.shape[0], batch.n_context
    context = batch.frames[:, :nc]
    tgt_idx = [*batch.copies, *range(nc, batch.frames.shape[1])]
    target, weights = batch.frames[:, tgt_idx], batch.weights[:, tgt_idx]
    copy_slots = tuple(
        FrameSlot(time=s.time, block=s.block, noisy=True) for s in (batch.slots[j] for j in batch.copies)
    )
    slots = (*batch.slots[:nc], *copy_slots, *batch.slots[nc:])
    if nc and self_forcing:  # half the examples continue from the model's own estimate of their context
        with torch.no_grad():
            lvl = int(torch.randint(0, len(cfg.levels), (1,), generator=rng, device=dev))
            noise = torch.randn(context.shape, generator=rng, device=dev)
            noisy = (1 - cfg.levels[lvl]) * context + cfg.levels[lvl] * noise
            levels = torch.full((b, nc), lvl, dtype=torch.long, device=dev)
            own, _ = model(noisy, batch.prompts, levels, batch.slots[:nc])
            use = (torch.rand(b, 1, 1, 1, 1, generator=rng, device=dev) < 0.5).float()
            context = use * own.clamp(-1, 1) + (1 - use) * context
    if nc and options.context_noise > 0:
        context = context + options.context_noise * torch.randn(context.shape, generator=rng, device=dev)
    blocks = torch.tensor([s.block for s in slots[nc:]], device=dev)
    _, block_of = torch.unique(blocks, return_inverse=True)  # one noise level per target block
    li = torch.randint(0, len(cfg.levels), (b, int(block_of.max()) + 1), generator=rng, device=dev)[:, block_of]
    level = torch.tensor(cfg.levels, device=dev)[li].view(b, -1, 1, 1, 1)
    noisy_target = (1 - level) * target + level * torch.randn(target.shape, generator=rng, device=dev)
    levels = torch.cat([torch.full((b, nc), cfg.clean_level, dtype=torch.long, device=dev), li], 1)
    pred, _ = model(torch.cat([context, noisy_target], 1), batch.prompts, levels, slots)
    err = F.mse_loss(pred[:, nc:], target, reduction="none")
    return (err * weights).sum() / (weights.sum() * 3).clamp_min(1.0)


def _lr(step: int, options: TrainOptions) -> float:
    if step < options.warmup:
        return options.lr * (step + 1) / options.warmup
    progress = (step - options.warmup) / max(options.steps - options.warmup, 1)
    return options.lr * (0.1 + 0.45 * (1 + math.cos(math.pi * progress)))


def eval_timelines(
    n: int = 6, *, seed: int = 1234, shot_frames: int = 16, frames_per_block: int = 1, easy: bool = False
) -> list[Timeline]:
    """Fixed evaluation storyboards: four shots each, mixing `continue` switches and cuts (``easy``: curriculum)."""
    rng = np.random.default_rng(seed)
    vocab = CURRICULUM_VOCABULARY if easy else None
    out: list[Timeline] = []
    for _ in range(n):
        segs: list[TimelineSegment] = []
        for i, transition in enumerate(("cut", "continue", "cut", "continue")):
            tr: Transition = transition  # pyright: ignore[reportAssignmentType]
            p = _random_prompt(rng, vocab).text()
            segs.append(TimelineSegment(shot_id=f"s{i}", prompt=p, start_frame=i * shot_frames,
                                        n_frames=shot_frames, transition=tr))  # fmt: skip
        out.append(Timeline(fps=world.FPS, frames_per_block=frames_per_block, segments=tuple(segs)))
    return out


def oracle_score(model: TinyARDenoiser, timelines: Sequence[Timeline], *, seed: int = 0) -> dict[str, float]:
    """Render each timeline and read every shot back with the oracle: mean score and per-field accuracy."""
    from vidscout.generation.embedded import EmbeddedGenerator

    was_training = model.training
    model.eval()
    if next(model.parameters()).device.type != "cpu":  # the generator renders on the CPU, as shipped
        gen = EmbeddedGenerator(copy.deepcopy(model).cpu())
    else:
        gen = EmbeddedGenerator(model)
    fields = {f: 0.0 for f in world.FIELDS}
    scores: list[float] = []
    for tl in timelines:
        frames = np.concatenate([c.frames for c in gen.generate(tl, GeneratorKnobs(seed=seed))])
        for seg in tl.segments:
            reading = world.read_shot(frames[seg.start_frame : seg.end_frame])
            expected = world.parse_prompt(seg.prompt)
            scores.append(reading.score(expected))
            for f, ok in reading.matches(expected).items():
                fields[f] += ok
    model.train(was_training)
    return {"score": float(np.mean(scores)), **{f: v / len(scores) for f, v in fields.items()}}


def _batch_for_step(step: int, config: ModelConfig, options: TrainOptions) -> Batch:
    """Step ``step``'s batch: its own seeded generator, so any number of worker processes draws the same data."""
    rng = np.random.default_rng([options.seed, step])
    return sample_batch(rng, config, options, easy=step < options.curriculum * options.steps)


def _batches(config: ModelConfig, options: TrainOptions) -> Generator[Batch]:
    draw = partial(_batch_for_step, config=config, options=options)
    if options.workers == 0:
        yield from map(draw, range(options.steps))
        return
    # spawn: the workers need numpy and the world only, never the parent's torch (or CUDA) state
    with multiprocessing.get_context("spawn").Pool(options.workers) as pool:
        yield from pool.imap(draw, range(options.steps), chunksize=4)


def train(
    options: TrainOptions,
    config: ModelConfig | None = None,
    *,
    log: Callable[[str], None] = print,
    eval_every: int = 0,
    time_limit_s: float | None = None,
    stop_after: int | None = None,
) -> tuple[TinyARDenoiser, dict[str, object]]:
    """Train a fresh model; returns it with a record (loss curve, timings).

    ``stop_after`` ends the run early on the schedule of ``options.steps`` (reproducible, unlike the time limit).
    """
    torch.manual_seed(options.seed)
    torch.set_num_threads(options.threads)
    cfg = config or ModelConfig()
    model = TinyARDenoiser(cfg).to(options.device)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=options.lr, weight_decay=0.01, betas=(0.9, 0.98))
    trng = torch.Generator(device=options.device).manual_seed(options.seed)
    batches = _batches(cfg, options)
    curve: list[tuple[int, float]] = []
    evals: list[tuple[int, dict[str, float]]] = []
    window: list[float] = []
    t0 = time.perf_counter()
    step = 0
    for step in range(options.steps):
        for group in opt.param_groups:
            group["lr"] = _lr(step, options)
        batch = next(batches).to(options.device)
        sf = step >= options.self_forcing_from * options.steps
        loss = loss_on(model, batch, trng, self_forcing=sf, options=options)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        window.append(float(loss.detach()))
        if (step + 1) % 25 == 0 or step == 0:
            mean = float(np.mean(window))
            curve.append((step + 1, mean))
            window = []
            log(f"step {step + 1:5d}  loss {mean:.4f}  lr {_lr(step, options):.2e}  {time.perf_counter() - t0:6.0f}s")
        if eval_every and (step + 1) % eval_every == 0:
            evals.append((step + 1, oracle_score(model, eval_timelines(3))))
            log(f"step {step + 1:5d}  oracle {evals[-1][1]}")
        if time_limit_s is not None and time.perf_counter() - t0 > time_limit_s:
            log(f"time limit reached after {step + 1} steps")
            break
        if stop_after is not None and step + 1 >= stop_after:
            break
    batches.close()  # stops the worker pool when the run ended early
    model.cpu().eval()
    record: dict[str, object] = {
        "steps": step + 1, "options": options.model_dump(), "parameters": count_parameters(model),
        "train_seconds": round(time.perf_counter() - t0, 1), "loss_curve": curve, "evals": evals,
    }  # fmt: skip
    return model, record


def main(argv: Sequence[str] | None = None) -> None:
    """Command-line entry: train, score with the oracle, save the checkpoint."""
    from vidscout.generation.embedded import save_checkpoint

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=TrainOptions().steps)
    parser.add_argument("--batch", type=int, default=TrainOptions().batch)
    parser.add_argument("--lr", type=float, default=TrainOptions().lr)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="Torch device to train on (cpu, cuda).")
    parser.add_argument("--workers", type=int, default=0, help="Processes drawing batches (0: none).")
    parser.add_argument("--threads", type=int, default=TrainOptions().threads, help="Torch CPU threads.")
    parser.add_argument("--eval-every", type=int, default=500, help="Oracle check every N steps (0: only at the end).")
    parser.add_argument("--time-limit", type=float, default=None, help="Stop after this many seconds.")
    parser.add_argument("--stop-after", type=int, default=None, help="Stop after N steps of the --steps schedule.")
    parser.add_argument(
        "--all-targets",
        action=argparse.BooleanOptionalAction,
        default=TrainOptions().all_targets,
        help="Also denoise noisy copies of the window frames (CausVid-style teacher forcing).",
    )
    parser.add_argument("--curriculum", type=float, default=TrainOptions().curriculum,
                        help="Fraction of steps drawing from 32 easy prompts first.")  # fmt: skip
    parser.add_argument("--out", type=Path, required=True, help="Checkpoint path to write.")
    args = parser.parse_args(argv)
    options = TrainOptions(steps=args.steps, batch=args.batch, lr=args.lr, seed=args.seed, device=args.device,
                           workers=args.workers, threads=args.threads, all_targets=args.all_targets,
                           curriculum=args.curriculum)  # fmt: skip
    model, record = train(options, eval_every=args.eval_every, time_limit_s=args.time_limit, stop_after=args.stop_after)
    final = oracle_score(model, eval_timelines())
    record["oracle"] = final
    record["oracle_chance"] = world.CHANCE_SCORE
    print(f"oracle (6 storyboards x 4 shots): {final}  chance {world.CHANCE_SCORE:.3f}")
    save_checkpoint(model, args.out, record)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
