"""The director: storyboard validation and repair notes, block rounding, and the LLM retry loop (ScriptedLLM)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from vidscout.errors import BackendError, ConfigError
from vidscout.generation.base import GeneratorCapabilities
from vidscout.generation.director import (
    DirectorOptions,
    direct_story,
    draft_schema,
    load_storyboard,
    plan_storyboard,
)
from vidscout.generation.plan import ScenePlan
from vidscout.models.testing import ScriptedLLM

from .conftest import STORYBOARD


def board(**shot_overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = load_storyboard(STORYBOARD.read_text())  # type: ignore[assignment]
    data["shots"][1] = {**data["shots"][1], **shot_overrides}
    return data


def test_example_storyboard_compiles_to_a_block_aligned_timeline(caps: GeneratorCapabilities) -> None:
    result = plan_storyboard(load_storyboard(STORYBOARD.read_text()), caps)
    tl = result.timeline
    assert [s.transition for s in tl.segments] == ["cut", "continue", "cut", "continue"]
    assert [s.start_frame for s in tl.segments] == [0, 24, 40, 64] and tl.n_frames == 80
    assert tl.segments[0].prompt == "a red circle moves right over a black background"
    assert result.plan.shots[2].prompt == "a blue square moves left over a white background"
    assert result.plan.total_s == 10.0 and result.notes == ()


def test_durations_round_to_whole_blocks_with_a_note(caps: GeneratorCapabilities) -> None:
    blocky = caps.model_copy(update={"frames_per_block": 4})  # 0.5 s blocks at 8 fps
    result = plan_storyboard(board(duration_s=1.3), blocky)
    assert result.timeline.segments[1].n_frames == 12  # 1.3 s → 3 blocks of 4 frames (1.5 s)
    assert any("1.3 s → 1.5 s" in n for n in result.notes)
    assert all(s.n_frames % 4 == 0 for s in result.timeline.segments)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"entities": ["ghost"]}, "unknown entity id.*ghost.*known: hero, rival"),
        ({"duration_s": -2}, r"shots\.1\.duration_s: Input should be greater than 0 \(got -2\)"),
        ({"location": "moon"}, "unknown location 'moon'"),
        ({"transition_in": "dissolve"}, "transition_in"),
    ],
)
def test_bad_storyboards_get_clear_errors(caps: GeneratorCapabilities, override: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        plan_storyboard(board(**override), caps)


def test_over_long_plan_is_scaled_to_the_limit_with_a_note(caps: GeneratorCapabilities) -> None:
    short = caps.model_copy(update={"max_seconds": 5.0})
    result = plan_storyboard(board(), short)
    assert result.timeline.duration_s <= 5.0 + 1 / caps.fps
    assert any("scaled by 0.500" in n for n in result.notes)


def test_out_of_grammar_words_are_mapped_by_synonym_or_refused(caps: GeneratorCapabilities) -> None:
    data = board(action="drifts leftwards")
    data["entities"][0]["description"] = "a crimson ball"
    result = plan_storyboard(data, caps)
    assert result.timeline.segments[1].prompt == "a red circle moves left over a black background"
    assert any("'a crimson ball' → 'a red circle'" in n for n in result.notes)
    data["entities"][0]["description"] = "a sparkly dragon"
    with pytest.raises(ConfigError, match="names no colour the embedded generator knows"):
        plan_storyboard(data, caps)


def test_the_planner_repairs_what_synonyms_cannot(caps: GeneratorCapabilities) -> None:
    data = board()
    data["entities"][0]["description"] = "a dragon"
    llm = ScriptedLLM(['{"value": "green"}', '{"value": "triangle"}'])
    result = plan_storyboard(data, caps, llm=llm)
    assert result.timeline.segments[0].prompt.startswith("a green triangle moves right")
    assert any("planner mapped it to the colour 'green'" in n for n in result.notes)
    schema = llm.calls[0][1].json_schema
    assert schema is not None and schema["properties"]["value"]["enum"] == list(caps.vocabulary["colour"])  # type: ignore[index]


def _draft(entity: str = "hero", duration: float = 2.0) -> str:
    return json.dumps({
        "title": "t", "entities": [{"id": "hero", "colour": "red", "shape": "circle"}],
        "shots": [{"entity": "hero", "direction": "right", "background": "black", "duration_s": 2.0,
                   "transition_in": "cut"},
                  {"entity": entity, "direction": "up", "background": "black", "duration_s": duration,
                   "transition_in": "continue"}],
    })  # fmt: skip


def test_invalid_plan_goes_back_to_the_llm_as_a_retry(caps: GeneratorCapabilities) -> None:
    llm = ScriptedLLM([_draft(entity="villain"), _draft()])
    result = direct_story("a red circle goes right then up", llm, caps)
    assert result.attempts == 2 and len(result.timeline.segments) == 2
    retry = llm.calls[1][0][-1].content
    assert isinstance(retry, str) and "unknown entity id(s) villain" in retry
    assert llm.calls[1][0][-2].role == "assistant"
    assert result.notes == ("the planner needed 2 replies",)


def test_director_gives_up_after_max_attempts(caps: GeneratorCapabilities) -> None:
    llm = ScriptedLLM([_draft(duration=-1.0), "not json", _draft(duration=9999.0)])
    with pytest.raises(BackendError, match=r"(?s)no valid plan in 3 replies.*lasts"):
        direct_story("anything", llm, caps)
    assert len(llm.calls) == 3
    assert "greater than 0" in str(llm.calls[1][0][-1].content)
    assert "not JSON" in str(llm.calls[2][0][-1].content)


def test_free_text_generators_get_the_full_plan_schema(caps: GeneratorCapabilities) -> None:
    free = caps.model_copy(update={"prompt_style": "free", "vocabulary": None, "max_entities_per_shot": None})
    schema = draft_schema(free, DirectorOptions())
    assert "entities" in schema["properties"] and schema["properties"]["shots"]["maxItems"] == 6
    plan = ScenePlan.model_validate(load_storyboard(STORYBOARD.read_text())).model_copy(update={"style": "film noir"})
    llm = ScriptedLLM([plan.model_dump_json()])
    result = direct_story("two shapes", llm, free)
    assert result.timeline.segments[0].prompt.startswith("film noir. wide eye-level shot, static camera. a red circle")


def test_empty_story_is_a_config_error(caps: GeneratorCapabilities) -> None:
    with pytest.raises(ConfigError, match="empty"):
        direct_story("  ", ScriptedLLM([]), caps)
