"""Storyboard-to-video generation: the plan schema, the director, generators and render checks.

Torch-free at import: the embedded model (`vidscout.generation.embedded`) and the GPU adapters
(`vidscout.generation.gpu`) load only when a generator is built (`make_generator`).
"""

from vidscout.generation.base import (
    FrameChunk,
    Generator,
    GeneratorCapabilities,
    GeneratorKnobs,
    GeneratorSession,
    Timeline,
    TimelineSegment,
)
from vidscout.generation.director import DirectorOptions, DirectorResult, direct_story, plan_storyboard
from vidscout.generation.plan import ScenePlan, Shot, compile_timeline
from vidscout.generation.registry import make_generator

__all__ = [
    "DirectorOptions", "DirectorResult", "FrameChunk", "Generator", "GeneratorCapabilities", "GeneratorKnobs",
    "GeneratorSession", "ScenePlan", "Shot", "Timeline", "TimelineSegment", "compile_timeline", "direct_story",
    "make_generator", "plan_storyboard",
]  # fmt: skip
