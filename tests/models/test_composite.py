"""CompositeVideoLLM: real tagger + OCR evidence, optionally phrased by an LLM."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.models.conftest import opencv_photo, text_frame
from vidscout.media import samples
from vidscout.models.base import VideoLLM
from vidscout.models.composite import CompositeVideoLLM, describe_colours
from vidscout.models.registry import Backends
from vidscout.models.testing import ScriptedLLM
from vidscout.models.visual_facts import BLIND_SPOTS
from vidscout.video.decode import frames_at


@pytest.mark.parametrize(
    ("rgb", "expected"),
    [((220, 20, 20), "mostly red"), ((20, 40, 200), "mostly blue"), ((30, 180, 40), "mostly green"),
     ((128, 128, 128), "mostly grey"), ((5, 5, 5), "dark")],
)  # fmt: skip
def test_describe_colours(rgb: tuple[int, int, int], expected: str) -> None:
    assert expected in describe_colours(np.full((40, 60, 3), rgb, np.uint8))


def test_observations_cite_labels_text_and_times(backends: Backends) -> None:
    video = backends.video_llm
    assert isinstance(video, VideoLLM) and video.name == "composite"
    frames = [opencv_photo("butterfly.jpg"), text_frame(["EXIT 42 - Kitchen"])]
    answer = video.describe(frames, [12.0, 3725.0], "What is shown?")
    lines = answer.splitlines()
    assert lines[0].startswith("Frame observations")
    assert lines[1].startswith("[00:00:12] labels: monarch butterfly")
    assert lines[2].startswith("[01:02:05]") and 'text: "EXIT 42 - Kitchen"' in lines[2]


def test_llm_phrases_the_answer_from_the_evidence(backends: Backends) -> None:
    llm = ScriptedLLM(["A monarch butterfly."])
    video = CompositeVideoLLM(backends.tagger, None, llm, max_frames=1)
    frames = [opencv_photo("butterfly.jpg")] * 3
    answer = video.describe(frames, [0.0, 1.0, 2.0], "Which insect?")
    assert answer.startswith("A monarch butterfly.\n\nEvidence:\n[00:00:00] labels: monarch butterfly")
    prompt = llm.calls[0][0][-1].content
    assert isinstance(prompt, str) and prompt.endswith("Question: Which insect?") and "butterfly" in prompt
    with pytest.raises(ValueError, match="timestamps"):
        video.describe(frames, [0.0], "?")


def test_visual_facts_and_what_cannot_be_seen(backends: Backends, media_cache: Path) -> None:
    frames = frames_at(samples.vtest(media_cache), [10.0, 11.0], width=640)
    answer = backends.video_llm.describe(frames, [10.0, 11.0], "How many people walk past?")
    lines = answer.splitlines()
    assert lines[1].startswith("[00:00:10] labels: ") and "seen: at least" in lines[1] and "people" in lines[1]
    assert "things move, still camera" in lines[2]  # motion since the frame a second before
    assert lines[-1] == f"Cannot see: {BLIND_SPOTS}."
