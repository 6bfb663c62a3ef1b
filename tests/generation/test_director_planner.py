"""End to end with the real embedded planner (Qwen2.5-Coder-0.5B GGUF): a one-line story becomes a valid plan."""

from __future__ import annotations

from pathlib import Path

from vidscout.generation import world
from vidscout.generation.base import GeneratorCapabilities
from vidscout.generation.director import DirectorOptions, direct_story
from vidscout.models.registry import make_llm
from vidscout.settings import Settings

REPO = Path(__file__).resolve().parents[2]


def test_real_planner_directs_a_story_into_grammar_prompts(caps: GeneratorCapabilities) -> None:
    settings = Settings(data_dir=REPO / ".cache" / "vidscout-test", profile="embedded")
    llm = make_llm("gguf:qwen2.5-coder-0.5b?n_ctx=4096", settings)
    story = (
        "A red circle moves right on a black background, then turns and moves up. "
        "Cut to a blue square falling down on white."
    )
    result = direct_story(story, llm, caps, DirectorOptions(max_shots=4, max_tokens=400))
    tl = result.timeline
    assert 2 <= len(tl.segments) <= 4 and tl.segments[0].transition == "cut"
    prompts = [world.parse_prompt(s.prompt) for s in tl.segments]  # every prompt is inside the grammar
    assert all(s.n_frames % tl.frames_per_block == 0 and s.n_frames > 0 for s in tl.segments)
    assert any(p.colour == "red" for p in prompts) and any(p.colour == "blue" for p in prompts)
    assert result.plan.total_s == tl.duration_s
