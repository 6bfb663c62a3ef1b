r"""GPU generators: LongLive and Self-Forcing through their own inference pipelines (GPU profile only).

Nothing here is imported on the default path; the factories in `vidscout.generation.registry` import this
module, and this module imports torch/omegaconf and the model's repository only when a generator is built.

Recipe (on a CUDA host; the weights come from the projects' own releases)::

    git clone https://github.com/NVlabs/LongLive && cd LongLive && pip install -r requirements.txt
    # download Wan2.1-T2V-1.3B and the LongLive checkpoints as its README says, then:
    vidscout direct storyboard.yaml -o out.mp4 \\
        --generator "longlive:/path/to/LongLive?config=configs/longlive_inference.yaml"

    git clone https://github.com/guandeh17/Self-Forcing && ...   # likewise, then
    vidscout direct storyboard.yaml -o out.mp4 \\
        --generator "self-forcing:/path/to/Self-Forcing?config=configs/self_forcing_dmd.yaml&ckpt=ckpt.pt"

LongLive's ``InteractiveCausalInferencePipeline.inference(noise, text_prompts_list, switch_frame_indices)``
renders one continuous run and switches prompts at latent-frame indices with KV recache; a ``cut`` starts a
new run (fresh cache and sink). Self-Forcing's ``CausalInferencePipeline.inference(noise, text_prompts)``
has no prompt switch, so every shot is its own run (``continue`` renders as a cut; the director notes it).
Latent frames are 4 video frames (Wan VAE), blocks are 3 latent frames. Not testable without a GPU and the
weights; the unit tests cover only the timeline → (prompts, switch indices) mapping.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from vidscout.errors import BackendError, ConfigError, ModelUnavailableError
from vidscout.generation.base import (
    FrameChunk,
    GeneratorCapabilities,
    GeneratorKnobs,
    GeneratorSession,
    Timeline,
    TimelineSegment,
)

LATENT_STRIDE = 4  # video frames per latent frame (Wan 2.1 VAE, temporal)
LATENT_CHANNELS, LATENT_H, LATENT_W = 16, 60, 104  # 480x832 video


def runs(timeline: Timeline, *, switches: bool) -> list[list[TimelineSegment]]:
    """Split a timeline into runs rendered by one pipeline call: a new run at every cut (or every shot)."""
    out: list[list[TimelineSegment]] = []
    for seg in timeline.segments:
        if not out or seg.transition == "cut" or not switches:
            out.append([seg])
        else:
            out[-1].append(seg)
    return out


def run_request(run: Sequence[TimelineSegment]) -> tuple[list[list[str]], list[int], int]:
    """LongLive's arguments for one run: prompt lists, latent switch indices, and latent frame count."""
    start = run[0].start_frame
    prompts = [[seg.prompt] for seg in run]
    switch = [(seg.start_frame - start) // LATENT_STRIDE for seg in run[1:]]
    n_latent = (run[-1].end_frame - start) // LATENT_STRIDE
    return prompts, switch, n_latent


class PipelineGenerator:
    """LongLive or Self-Forcing behind the `Generator` protocol (whole runs, not a block-by-block session)."""

    def __init__(
        self, repo: Path, config_path: Path, *, kind: Literal["longlive", "self-forcing"], ckpt: Path | None = None
    ) -> None:
        """Load the pipeline from a checkout of the model's repository (imports torch and the repo lazily).

        Raises:
            ModelUnavailableError: The checkout, config, torch with CUDA, or a dependency is missing.
        """
        if not (repo / "pipeline").is_dir():
            raise ModelUnavailableError(f"{repo} is not a {kind} checkout (no pipeline/ folder); clone it first.")
        if not config_path.exists():
            raise ModelUnavailableError(f"No {kind} config at {config_path}.")
        try:
            import torch
            from omegaconf import OmegaConf
        except ImportError as e:
            raise ModelUnavailableError(
                f"{kind} needs torch with CUDA and omegaconf: pip install -r requirements.txt"
            ) from e
        if not torch.cuda.is_available():
            raise ModelUnavailableError(f"{kind} needs a CUDA GPU; this host has none (use the embedded generator).")
        sys.path.insert(0, str(repo))
        self.kind, self._torch = kind, torch
        self.config: Any = OmegaConf.load(config_path)
        self.device = torch.device("cuda")
        try:
            if kind == "longlive":
                from pipeline.interactive_causal_inference import (  # pyright: ignore[reportMissingImports]
                    InteractiveCausalInferencePipeline as Pipeline,
                )
            else:
                from pipeline import CausalInferencePipeline as Pipeline  # pyright: ignore[reportMissingImports]
        except ImportError as e:
            raise ModelUnavailableError(f"Could not import {kind}'s pipeline from {repo}: {e}") from e
        torch.set_grad_enabled(False)
        self.pipeline: Any = Pipeline(self.config, device=self.device)
        self._load_weights(ckpt or Path(str(getattr(self.config, "generator_ckpt", ""))))
        self.pipeline = self.pipeline.to(dtype=torch.bfloat16)
        self.pipeline.generator.to(self.device)
        self.pipeline.vae.to(self.device)
        self.name = f"{kind}:{repo.name}"
        block = int(getattr(self.config, "num_frame_per_block", 3))
        local = int(getattr(getattr(self.config, "model_kwargs", {}), "local_attn_size", -1) or -1)
        sink = int(getattr(getattr(self.config, "model_kwargs", {}), "sink_size", 0) or 0)
        self.capabilities = GeneratorCapabilities(
            name=self.name, width=LATENT_W * 8, height=LATENT_H * 8, fps=16.0,
            frames_per_block=block * LATENT_STRIDE, window_frames=max(local, 0) * LATENT_STRIDE,
            sink_frames=sink * LATENT_STRIDE, supports_recache=kind == "longlive", supports_cut=True,
            streaming=False, prompt_style="free", max_seconds=240.0 if kind == "longlive" else 5.0,
            default_steps=len(getattr(self.config, "denoising_step_list", [0, 0, 0, 0])),
        )  # fmt: skip

    def _load_weights(self, ckpt: Path) -> None:
        if not str(ckpt) or not ckpt.exists():
            raise ModelUnavailableError(f"No {self.kind} generator checkpoint at {ckpt!s}; download it first.")
        state = self._torch.load(ckpt, map_location="cpu")
        key = "generator_ema" if "generator_ema" in state else "generator" if "generator" in state else None
        self.pipeline.generator.load_state_dict(state[key] if key else state)
        lora = getattr(self.config, "lora_ckpt", None)
        if lora and getattr(self.config, "adapter", None):  # LongLive ships its long-video tuning as a LoRA
            import peft  # pyright: ignore[reportMissingImports]
            from utils.lora_utils import configure_lora_for_model  # pyright: ignore[reportMissingImports]

            model = configure_lora_for_model(self.pipeline.generator.model, model_name="generator",
                                             lora_config=self.config.adapter, is_main_process=True)  # fmt: skip
            lora_state = self._torch.load(lora, map_location="cpu")
            peft.set_peft_model_state_dict(model, lora_state.get("generator_lora", lora_state))
            self.pipeline.generator.model = model

    def open(self, knobs: GeneratorKnobs) -> GeneratorSession:
        """Not available: these pipelines render whole runs.

        Raises:
            BackendError: Always; use `generate`.
        """
        raise BackendError(f"{self.name} renders whole timelines per call; use generate() (no streaming session).")

    def generate(self, timeline: Timeline, knobs: GeneratorKnobs) -> Iterator[FrameChunk]:
        """Render each run with one pipeline call; blocks report the run's mean latency."""
        torch = self._torch
        if knobs.window_frames is not None or knobs.sink_frames is not None:
            raise ConfigError(f"{self.name}: set the window and sink in its config (local_attn_size, sink_size).")
        gen = torch.Generator(device=self.device).manual_seed(knobs.seed)
        fpb = timeline.frames_per_block
        for run in runs(timeline, switches=self.kind == "longlive"):
            prompts, switch, n_latent = run_request(run)
            noise = torch.randn([1, n_latent, LATENT_CHANNELS, LATENT_H, LATENT_W], generator=gen,
                                device=self.device, dtype=torch.bfloat16)  # fmt: skip
            t0 = time.perf_counter()
            with torch.autocast("cuda", dtype=torch.bfloat16):
                if self.kind == "longlive":
                    video = self.pipeline.inference(noise=noise, text_prompts_list=prompts, switch_frame_indices=switch)
                else:
                    video = self.pipeline.inference(noise=noise, text_prompts=prompts[0])
            torch.cuda.synchronize()
            elapsed = time.perf_counter() - t0
            frames = (video[0].permute(0, 2, 3, 1).float().clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()
            n = run[-1].end_frame - run[0].start_frame
            # The VAE decodes n_latent latents to 4·n_latent - 3 frames: repeat the last to fill the timeline.
            frames = np.concatenate([frames, np.repeat(frames[-1:], max(n - len(frames), 0), axis=0)])[:n]
            n_blocks = n // fpb
            for b in range(n_blocks):
                f0 = run[0].start_frame + b * fpb
                seg = next(s for s in run if s.start_frame <= f0 < s.end_frame)
                yield FrameChunk(block=f0 // fpb, start_frame=f0, frames=frames[b * fpb : (b + 1) * fpb],
                                 latency_s=elapsed / n_blocks, prompt=seg.prompt,
                                 transition=seg.transition if seg.start_frame == f0 else None)  # fmt: skip
