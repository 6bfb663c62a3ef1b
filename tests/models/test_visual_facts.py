"""Visual facts on real media: HOG people on vtest's street, Haar faces, colour names, light, motion; the wording."""

from __future__ import annotations

import itertools
from pathlib import Path

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from tests.models.conftest import opencv_photo
from vidscout.media import samples
from vidscout.models.base import Detection, FactExtractor, FrameFacts, Motion
from vidscout.models.registry import Backends
from vidscout.models.visual_facts import (
    PEOPLE_SURE,
    OpenCVFactExtractor,
    SpanFacts,
    _nms,  # pyright: ignore[reportPrivateUsage]
    colour_shares,
    fact_phrases,
    light_of,
    summarise_facts,
)
from vidscout.video.decode import frames_at

# People walking in vtest.avi at these times, counted by eye (bench/visual_eval.py holds all eight).
VTEST_COUNTS = {2.0: 4, 30.0: 6, 70.0: 8}


@pytest.fixture(scope="module")
def extractor() -> OpenCVFactExtractor:
    return OpenCVFactExtractor()


@pytest.fixture(scope="module")
def street(media_cache: Path) -> list[NDArray[np.uint8]]:
    """vtest frames at the counted times and 2 s after each (640 px wide, as ingest stores keyframes)."""
    times = sorted([*VTEST_COUNTS, *(t + 2.0 for t in VTEST_COUNTS)])
    return frames_at(samples.vtest(media_cache), times, width=640)


def _fit(image: NDArray[np.uint8], width: int = 640) -> NDArray[np.uint8]:
    h, w = image.shape[:2]
    return np.asarray(cv2.resize(image, (width, round(h * width / w)), interpolation=cv2.INTER_AREA), np.uint8)


def test_the_registry_builds_the_extractor(backends: Backends) -> None:
    assert isinstance(backends.facts, FactExtractor) and backends.facts.name == "opencv"


def test_people_on_the_street_are_found_and_counted_as_a_lower_bound(
    extractor: OpenCVFactExtractor, street: list[NDArray[np.uint8]]
) -> None:
    for frame, truth in zip(street[::2], VTEST_COUNTS.values(), strict=True):
        people = extractor.people(frame)
        assert people.score >= PEOPLE_SURE, people
        assert 2 <= people.count <= truth, (people.count, truth)
        assert all(0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1 for x0, y0, x1, y1 in people.boxes)


def test_no_people_on_photos_without_any(extractor: OpenCVFactExtractor) -> None:
    for name in ("butterfly.jpg", "orange.jpg", "starry_night.jpg", "HappyFish.jpg"):
        assert extractor.people(_fit(opencv_photo(name))).score < PEOPLE_SURE, name


def test_faces(extractor: OpenCVFactExtractor) -> None:
    facts = extractor.frame_facts(_fit(opencv_photo("messi5.jpg")))
    assert facts.faces is not None and facts.faces.count >= 1 and facts.faces.score >= 0.5
    for name in ("butterfly.jpg", "fruits.jpg", "building.jpg"):
        grey = cv2.cvtColor(_fit(opencv_photo(name)), cv2.COLOR_RGB2GRAY)
        assert extractor.faces(np.asarray(grey, np.uint8)).count == 0, name
    assert extractor.frame_facts(_fit(opencv_photo("fruits.jpg")), detect=False).faces is None  # not examined


def test_the_boxes_kept_do_not_depend_on_the_order_the_detector_gave_them() -> None:
    # OpenCV's detectors hand back boxes in the order their worker threads finished; scores can tie.
    boxes = [(0.5, 0.2, 0.6, 0.6), (0.1, 0.2, 0.2, 0.6), (0.12, 0.22, 0.22, 0.62), (0.7, 0.1, 0.8, 0.5)]
    scores = [2.0, 2.0, 1.5, 2.0]
    want = ((0.7, 0.1, 0.8, 0.5), (0.1, 0.2, 0.2, 0.6), (0.5, 0.2, 0.6, 0.6))  # best, then top to bottom, left to right
    for order in itertools.permutations(range(len(boxes))):
        assert _nms([boxes[i] for i in order], [scores[i] for i in order]) == want, order


@pytest.mark.parametrize(
    ("rgb", "name"),
    [((200, 30, 30), "red"), ((30, 150, 50), "green"), ((30, 60, 200), "blue"), ((230, 210, 30), "yellow"),
     ((230, 120, 20), "orange"), ((110, 40, 160), "purple"), ((240, 240, 240), "white"), ((12, 12, 12), "black"),
     ((128, 128, 128), "grey"), ((100, 60, 25), "brown")],
)  # fmt: skip
def test_colour_cards_are_named(rgb: tuple[int, int, int], name: str) -> None:
    noise = np.random.default_rng(0).normal(0, 6, (180, 320, 3))
    card = np.clip(np.full((180, 320, 3), rgb, np.float64) + noise, 0, 255).astype(np.uint8)
    shares = colour_shares(card)
    assert shares[0][0] == name and shares[0][1] > 0.9, shares


def test_dominant_colours_of_photos() -> None:
    assert colour_shares(_fit(opencv_photo("starry_night.jpg")))[0][0] == "blue"
    assert colour_shares(_fit(opencv_photo("HappyFish.jpg")))[0][0] == "white"


def test_light(extractor: OpenCVFactExtractor, street: list[NDArray[np.uint8]]) -> None:
    lit = extractor.frame_facts(street[0], detect=False)
    night = extractor.frame_facts((street[0] * 0.28).astype(np.uint8), detect=False)
    assert light_of(lit.brightness) == "" and light_of(night.brightness) == "dark"
    assert light_of(extractor.frame_facts(_fit(opencv_photo("HappyFish.jpg")), detect=False).brightness) == "bright"


def test_motion(extractor: OpenCVFactExtractor, street: list[NDArray[np.uint8]]) -> None:
    photo = _fit(opencv_photo("fruits.jpg"), 960)
    ok, jpg = cv2.imencode(".jpg", photo[100:460, 100:740], [cv2.IMWRITE_JPEG_QUALITY, 80])
    still = np.asarray(cv2.imdecode(jpg, cv2.IMREAD_UNCHANGED), np.uint8)
    assert ok and extractor.motion(photo[100:460, 100:740], still).kind == "static"
    walking = extractor.motion(street[0], street[1])
    assert walking.kind == "moving" and walking.changed > 0.01 and abs(walking.scale - 1) < 0.01
    # The window moves 60 px right over the photo: the picture moves left, the camera pans right.
    pan = extractor.motion(photo[100:460, 100:740], photo[100:460, 160:800])
    assert pan.kind == "pan" and pan.shift[0] == pytest.approx(-60 / 640, abs=0.01)
    zoomed = np.asarray(cv2.resize(photo[136:424, 164:676], (640, 360), interpolation=cv2.INTER_AREA), np.uint8)
    zoom = extractor.motion(photo[100:460, 100:740], zoomed)
    assert zoom.kind == "zoom" and zoom.scale == pytest.approx(1.25, abs=0.03)
    # A smooth apple has too few corners to match: the pan is found by phase correlation.
    apple = _fit(opencv_photo("apple.jpg"), 960)
    smooth = extractor.motion(apple[300:660, 0:640], apple[300:660, 90:730])
    assert smooth.kind == "pan" and smooth.shift[0] == pytest.approx(-90 / 640, abs=0.01)
    noise = np.random.default_rng(1).integers(0, 255, (480, 640, 3), dtype=np.uint8)
    assert extractor.motion(street[0], noise).kind == "fast"


def test_spans_merge_and_say_only_confident_facts() -> None:
    sure = Detection(count=3, score=0.95, boxes=((0.1, 0.1, 0.2, 0.5),))
    unsure = Detection(count=1, score=0.7)  # a HOG margin of 1.2: counted, not enough to say people are there
    pan = Motion(kind="pan", score=0.9, shift=(-0.1, 0.0))
    frames = [
        FrameFacts(people=sure, colours=(("green", 0.6), ("grey", 0.3)), brightness=120, motion=pan),
        FrameFacts(people=Detection(count=0, score=0.0), colours=(("green", 0.5), ("grey", 0.2)), brightness=110,
                   motion=pan),
        FrameFacts(colours=(("green", 0.55), ("grey", 0.25)), brightness=100, motion=Motion(kind="fast", score=0.3)),
    ]  # fmt: skip
    merged = summarise_facts(frames)
    assert merged.people == 3 and merged.motion == (("pan", 1.0),) and merged.direction == "right"
    assert fact_phrases(merged) == [
        "at least 3 people, a group of people",
        "mostly green, some grey",
        "camera pans right",
    ]
    assert summarise_facts([FrameFacts(people=unsure)]).people == 0
    faces = Detection(count=1, score=0.8, boxes=((0.3, 0.1, 0.6, 0.6),))
    assert fact_phrases(SpanFacts(frames=1, faces=1, close_up=True, brightness=30, text=True)) == [
        "close-up of a face", "dark, night or low light", "text on screen",
    ]  # fmt: skip
    assert summarise_facts([FrameFacts(faces=faces)]).close_up
    assert fact_phrases(SpanFacts(frames=2, colours=(("green", 0.3), ("blue", 0.25), ("grey", 0.2)), brightness=100,
                                  motion=(("static", 0.5), ("moving", 0.5)))) == [
        "mixed colours: green, blue, grey", "still picture, nothing moves",
    ]  # fmt: skip
    assert fact_phrases(SpanFacts()) == []
