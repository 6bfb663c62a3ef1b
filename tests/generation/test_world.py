"""The embedded world's grammar, renderer and oracle (exact on ground truth, strict on washed-out frames)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from vidscout.errors import ConfigError
from vidscout.generation import world
from vidscout.generation.world import WorldPrompt, parse_prompt, read_shot, simulate


def test_grammar_parses_canonical_and_loose_forms() -> None:
    p = parse_prompt("A Red circle moves left on a black background.")
    assert p == WorldPrompt(colour="red", shape="circle", direction="left", background="black")
    assert p.text() == "a red circle moves left over a black background"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a purple circle moves left over a black background", "'purple' is not a known colour"),
        ("a red dragon moves left over a black background", "'dragon' is not a known shape"),
        ("a red circle dances over a black background", "outside the embedded generator's grammar"),
    ],
)
def test_grammar_rejects_words_outside_it(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_prompt(text)


def test_oracle_reads_every_prompt_back_exactly_even_from_an_upscaled_video() -> None:
    grid = itertools.product(world.COLOURS, world.SHAPES, world.DIRECTIONS, world.BACKGROUNDS)
    prompts = [WorldPrompt(colour=c, shape=s, direction=d, background=b) for c, s, d, b in grid]
    for p in prompts:
        frames = simulate([(p, 6, "cut")])
        assert read_shot(frames).score(p) == 1.0, p
    up = np.repeat(np.repeat(simulate([(prompts[7], 6, "cut")]), 8, axis=1), 8, axis=2)
    assert read_shot(up).score(prompts[7]) == 1.0


def test_oracle_gives_no_credit_to_a_frame_washed_in_the_prompt_colour() -> None:
    washed = np.zeros((6, 32, 32, 3), np.uint8)
    washed[:] = world.COLOURS["red"]
    reading = read_shot(washed)
    assert reading.colour is None and reading.shape is None and reading.background is None
    assert reading.score(parse_prompt("a red circle moves left over a black background")) == 0.0


def test_continue_keeps_the_sprite_position_and_cut_recentres_it() -> None:
    a = parse_prompt("a red circle moves right over a black background")
    b = parse_prompt("a blue square moves up over a white background")
    frames = simulate([(a, 5, "cut"), (b, 3, "continue"), (a, 2, "cut")])
    xs = [world.read_frame(f).x for f in frames]
    ys = [world.read_frame(f).y for f in frames]
    assert xs[:5] == pytest.approx([16, 18, 20, 22, 24], abs=0.6)
    assert xs[5] == pytest.approx(24, abs=0.6) and ys[5] == pytest.approx(14, abs=0.6)  # same x, moved up
    assert (xs[8], ys[8]) == pytest.approx((16, 16), abs=0.6)  # the cut puts it back at the centre
    assert 0.2 < world.CHANCE_SCORE < 0.35
