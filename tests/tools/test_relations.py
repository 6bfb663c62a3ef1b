"""The relation tools and the agent's briefing and reader on a real planted video: counting, while, right after."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from vidscout.agent.briefing import briefing_calls, moment_cue
from vidscout.agent.loop import run
from vidscout.agent.moment import moment_answer
from vidscout.agent.reader import EvidenceLine, evidence_lines, read
from vidscout.media.planted import Piece, PlantedSpec, PlantedVideo, SpeechPlant, TextPlant, build_planted
from vidscout.memory.build import ingest, store_dir
from vidscout.memory.entities import search_words
from vidscout.memory.store import VideoStore
from vidscout.models.base import Completion
from vidscout.models.registry import Backends
from vidscout.models.testing import ScriptedLLM
from vidscout.settings import Settings
from vidscout.tools.default import default_tools
from vidscout.tools.registry import ToolContext, VideoDeps
from vidscout.types import Answer, TimeSpan

SUPPORTED = json.dumps({"supported": True, "reason": "the speech says so"})


def _sign(text: str, start: float, dur: float = 5.0) -> TextPlant:
    return TextPlant(text=text, start_s=start, duration_s=dur, size_px=32, boxed=True, light=True)


@pytest.fixture(scope="module")
def planted(media_cache: Path) -> PlantedVideo:
    """40 s of vtest: a gate sign twice, a room sign while the password is said, a code right after the train."""
    spec = PlantedSpec(
        seed=0, size=(640, 360),
        pieces=[Piece(source="vtest", start_s=5.0, duration_s=40.0)],
        bed="silence",
        texts=[_sign("GATE B22", 1.0), _sign("ROOM 417", 8.0, 6.0), _sign("GATE C35", 16.0), _sign("CODE 5150", 31.0)],
        speech=[SpeechPlant(text="The secret password is blue giraffe.", start_s=8.5, speaker="espeak:en-us"),
                SpeechPlant(text="The next train to Lisbon leaves from platform nine.", start_s=24.0,
                            speaker="espeak:en-us")],
    )  # fmt: skip
    return build_planted(spec, media_cache / "relations_40s.mp4", cache=media_cache)


@pytest.fixture(scope="module")
def ctx(planted: PlantedVideo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ToolContext]:
    backends = Backends(Settings(data_dir=tmp_path_factory.mktemp("relations")))
    videos = tmp_path_factory.mktemp("videos")
    ingest(planted.path, videos, backends)
    with VideoStore.open(store_dir(videos, planted.path)) as store:
        yield ToolContext(VideoDeps.open(planted.path, store, backends))


def test_occurrences_lists_every_appearance_and_counts_distinct_texts(ctx: ToolContext) -> None:
    outcome = default_tools().call("occurrences", {"query": "gate"}, ctx)
    assert outcome.ok, outcome.observation
    items = outcome.result.items
    assert [o.kind for o in items] == ["ocr", "ocr"] and outcome.result.distinct == 2
    assert items[0].span.start_s == pytest.approx(2.0, abs=2.1) and items[1].span.start_s == pytest.approx(16, abs=2.1)
    assert "occurs 2 time(s), 2 distinct" in outcome.observation
    said = default_tools().call("occurrences", {"query": "password", "kind": "speech"}, ctx)
    assert said.ok and len(said.result.items) == 1 and said.result.items[0].span.overlaps(TimeSpan(start_s=8, end_s=12))
    none = default_tools().call("occurrences", {"query": "the of"}, ctx)
    assert not none.ok and "no searchable words" in none.observation


def test_shown_while_finds_what_was_on_screen_and_what_came_next(ctx: ToolContext) -> None:
    during = default_tools().call("shown_while", {"said": "secret password"}, ctx)
    assert during.ok, during.observation
    assert any("417" in t for t in during.result.during.text), during.observation
    after = default_tools().call("shown_while", {"said": "train to Lisbon"}, ctx)
    assert after.ok and [text for _, text in after.result.after][:1] == ["CODE 5150"], after.observation
    assert not default_tools().call("shown_while", {}, ctx).ok


def test_search_after_an_event_skips_what_came_before(ctx: ToolContext) -> None:
    outcome = default_tools().call("search", {"query": "gate", "after": "secret password"}, ctx)
    assert outcome.ok, outcome.observation
    assert all(h.span.end_s > 8.0 for h in outcome.result.hits)
    assert any("C35" in h.text for h in outcome.result.hits)


def test_the_briefing_runs_the_tool_the_question_asks_for() -> None:
    calls = [(c.tool, c.arguments) for c in briefing_calls("How many different gate signs are shown on screen?")]
    assert calls[0][0] == "search" and ("occurrences", {"query": "gate signs"}) in calls
    said = list(briefing_calls("What room number is shown while the password is being mentioned?"))
    assert (said[-1].tool, said[-1].arguments) == ("shown_while", {"said": "password"})
    after = list(briefing_calls("Right after the train is announced, which code appears on screen?"))
    assert (after[-1].tool, after[-1].arguments) == ("shown_while", {"said": "train"})
    assert [c.tool for c in briefing_calls("Who directed the film?")] == ["search"]


def test_a_question_naming_one_kind_of_evidence_is_also_searched_among_that_kind(ctx: ToolContext) -> None:
    shown = [(c.tool, c.arguments.get("kind")) for c in briefing_calls("Which room is written on the sign?")]
    assert shown == [("search", None), ("search", "ocr")]
    said = list(briefing_calls("What password does the speaker give?"))
    assert [c.arguments.get("kind") for c in said] == [None, "speech"]
    both = "Which room number is shown on screen while the password is being mentioned?"
    assert [c.arguments.get("kind") for c in briefing_calls(both) if c.tool == "search"] == [None]
    assert [c.tool for c in briefing_calls("What does the first full-screen photograph show?")] == ["search"]
    tools = default_tools()
    results = [tools.call(c.tool, c.arguments, ctx).result for c in briefing_calls("Which room is on the sign?")]
    assert [h.kind for h in results[1].hits] == ["ocr"] * len(results[1].hits) and "417" in results[1].hits[0].text


def test_a_hit_shows_the_clip_s_other_words_that_share_a_query_word(ctx: ToolContext) -> None:
    query = "room password"
    outcome = default_tools().call("search", {"query": query, "top_k": 3}, ctx)
    assert outcome.ok, outcome.observation
    clip = next(h for h in outcome.result.hits if h.others)
    words = [clip.text, *(o.text for o in clip.others)]
    assert any("417" in w for w in words) and any("password" in w.lower() for w in words), outcome.observation
    assert "   also " in outcome.observation and all(
        {"room", "password"} & set(search_words(o.text)) for h in outcome.result.hits for o in h.others
    ), outcome.observation


def test_the_reader_keeps_only_answers_copied_from_a_relevant_line(ctx: ToolContext) -> None:
    tools = default_tools()
    results = [tools.call(c.tool, c.arguments, ctx).result for c in briefing_calls("Which room number is shown?")]
    lines = evidence_lines(results)
    room = next(i for i, line in enumerate(lines, start=1) if "417" in line.text)
    ok = read("Which room number is shown?", lines, ScriptedLLM([json.dumps({"line": room, "answer": "417"})]))
    assert ok.answer == "417" and ok.line is not None and "ROOM" in ok.line.text
    invented = read("Which room number is shown?", lines, ScriptedLLM([json.dumps({"line": room, "answer": "312"})]))
    assert invented.answer is None and "not on the line" in invented.why
    no_line = Completion(text='{"line": 0, "answer": ""}')  # none, nor among the lines naming a room
    none = read("Which room number is shown?", lines, ScriptedLLM([no_line, no_line]))
    assert none.answer is None
    unrelated = [EvidenceLine(span=TimeSpan(start_s=1, end_s=2), kind="seen", text="brussels griffon, bubble")]
    off = read(
        "Which city is next to the name?", unrelated, ScriptedLLM([json.dumps({"line": 1, "answer": "Brussels"})])
    )
    assert off.answer is None and "shares no word" in off.why


def test_order_places_each_event_where_it_is_said_or_shown(ctx: ToolContext) -> None:
    outcome = default_tools().call("order", {"events": ["the train to Lisbon", "code 5150", "the room sign"]}, ctx)
    assert outcome.ok, outcome.observation
    items = outcome.result.items
    assert [p.event for p in items] == ["the room sign", "the train to Lisbon", "code 5150"], outcome.observation
    assert items[0].span.start_s == pytest.approx(8, abs=2.1) and items[1].span.overlaps(TimeSpan(start_s=24, end_s=28))
    assert outcome.result.distinct and all(p.named for p in items)
    assert not default_tools().call("order", {"events": ["the", "it"]}, ctx).ok
    assert not default_tools().call("order", {"events": ["the password"]}, ctx).ok  # one event is no order


def test_an_order_question_is_answered_from_the_placements_without_a_model_call(ctx: ToolContext) -> None:
    question = "Which comes first in the video: the code 5150 sign or the secret password?"
    assert ("order", {"events": ["the code 5150 sign", "the secret password"]}) in [
        (c.tool, c.arguments) for c in briefing_calls(question)
    ]
    llm = ScriptedLLM([])  # any model call would fail the run
    open_ = run(question, dataclasses.replace(ctx, question=question), llm, default_tools())
    assert open_.answer.startswith("the secret password comes first, at 00:00:0"), open_.answer
    assert [round(e.span.start_s) // 10 for e in open_.evidence] == [0, 3] and not llm.calls
    options = ("the code 5150 sign", "the secret password")
    chosen = run(question, dataclasses.replace(ctx, question=question, options=options), llm, default_tools())
    assert chosen.option == "B" and chosen.option_source == "retrieval"
    last = "Which of these is shown last?"
    signs = dataclasses.replace(ctx, question=last, options=("ROOM 417", "GATE C35", "GATE B22"))
    assert run(last, signs, llm, default_tools()).option == "B"
    rel = "Is the train to Lisbon mentioned before or after the room sign?"
    assert run(rel, dataclasses.replace(ctx, question=rel), llm, default_tools()).answer.startswith("After: ")
    yes_no = "Does the gate B22 sign appear before the password?"
    assert run(yes_no, dataclasses.replace(ctx, question=yes_no), llm, default_tools()).answer.startswith("Yes: ")


def test_an_order_the_placements_do_not_settle_goes_on_to_the_model(ctx: ToolContext) -> None:
    question = "Which comes first: the purple elephant parade or the secret password?"
    cited = [{"start": "00:00:08", "end": "00:00:12"}]
    finish = {"tool": "finish", "args": {"answer": "the secret password", "evidence": cited}}
    no_line = json.dumps({"line": 0})  # the reader finds none, nor among the lines naming the password
    llm = ScriptedLLM([no_line, no_line, json.dumps({"thought": "", "call": finish}), SUPPORTED],
                      call_mode="json")  # fmt: skip
    answer = run(question, dataclasses.replace(ctx, question=question), llm, default_tools())
    assert answer.answer == "the secret password" and answer.error is None and answer.steps > 0, answer
    briefing = str(llm.calls[2][0][1].content)  # the planner's first prompt holds the placements as evidence
    assert "purple elephant parade" in briefing and "found by meaning only" in briefing, briefing


def test_a_when_question_that_falls_back_is_still_answered_with_a_time(ctx: ToolContext) -> None:
    question = "When is the train to Lisbon announced?"
    cited = [{"start": "00:00:24", "end": "00:00:27"}]
    made_up = {"tool": "finish", "args": {"answer": "Zanzibar, at dawn", "evidence": cited}}
    no_line = json.dumps({"line": 0})  # the reader finds none, nor among the lines naming the train to Lisbon
    llm = ScriptedLLM([no_line, no_line, *[json.dumps({"thought": "", "call": made_up})] * 2], call_mode="json")
    answer = run(question, dataclasses.replace(ctx, question=question), llm, default_tools())
    assert answer.forced and answer.answer.startswith("At 00:00:2"), answer.answer
    assert "Lisbon" in answer.answer and answer.evidence[0].span.overlaps(TimeSpan(start_s=24, end_s=28))


def test_shown_while_asked_for_before_lists_what_was_on_screen_nearest_first(ctx: ToolContext) -> None:
    question = "Right before the train is announced, which gate sign appears on screen?"
    calls = [(c.tool, c.arguments) for c in briefing_calls(question)]
    assert calls[-1] == ("shown_while", {"said": "train", "before": True}), calls
    outcome = default_tools().call("shown_while", {"said": "train to Lisbon", "before": True}, ctx)
    assert outcome.ok, outcome.observation
    assert [text for _, text in outcome.result.before][:1] == ["GATE C35"], outcome.observation
    assert "ROOM 417" in [text for _, text in outcome.result.before] and "before, nearest first" in outcome.observation
    lines = evidence_lines([outcome.result])
    assert [line.text for line in lines if line.kind == "on screen right before"][:1] == ["GATE C35"]
    assert not [line for line in lines if line.kind == "on screen right after"]  # CODE 5150 would only mislead
    plain = default_tools().call("shown_while", {"said": "train to Lisbon"}, ctx)
    assert plain.result.before is None and "before" not in plain.observation  # not asked, not listed
    assert plain.result.said_before is None
    assert "password" in outcome.result.said_before[0][1] and "Said just before, nearest first:" in outcome.observation
    first = default_tools().call("shown_while", {"said": "secret password", "before": True}, ctx)
    assert first.result.said_before == [] and "Nothing is said in the 60 s before." in first.observation


def test_shown_while_says_what_is_said_next_and_what_is_said_and_shown_at_a_time(ctx: ToolContext) -> None:
    after = default_tools().call("shown_while", {"said": "secret password"}, ctx)
    assert after.ok and "Lisbon" in after.result.said_next[0][1], after.observation
    assert after.result.said_next[0][0].start_s == pytest.approx(24, abs=1.5) and "Said next:" in after.observation
    last = default_tools().call("shown_while", {"said": "train to Lisbon"}, ctx)
    assert last.ok and not last.result.said_next and "Nothing is said in the next" in last.observation
    at = default_tools().call("shown_while", {"at": "00:00:26"}, ctx)
    assert at.ok and "Lisbon" in at.result.spoken and 'Said then: "' in at.observation, at.observation
    quiet = default_tools().call("shown_while", {"at": "00:00:18"}, ctx)
    assert quiet.ok and quiet.result.spoken == "" and "Nothing is said then." in quiet.observation
    assert quiet.result.during.text == ["GATE C35"], quiet.observation


def test_the_briefing_asks_for_the_moment_a_question_names_by_its_time_or_by_what_is_said_before_it() -> None:
    cases = {
        "What is said next, after the password is mentioned?": ({"said": "password"}, True),
        "What is said right before the train is announced?": ({"said": "train", "before": True}, True),
        "While the password is said, what is shown?": ({"said": "password"}, False),
        "Right after the password is mentioned, which room number appears on screen?": ({"said": "password"}, False),
        "What is being said at 00:00:26 in the video?": ({"at": "00:00:26"}, True),
        "What text is on screen at 00:00:18?": ({"at": "00:00:18"}, False),
        "What is shown at 0:18 in the video?": ({"at": "0:18"}, False),
    }
    for question, (arguments, said) in cases.items():
        calls = [(c.tool, c.arguments) for c in briefing_calls(question)]
        assert calls[-1] == ("shown_while", arguments), question
        cue = moment_cue(question)
        assert cue is not None and cue.said is said, question
    for question in ("Which bakery opens at 9:30?", "When is the code shown, at 00:00:31 or 00:00:40?"):
        assert "shown_while" not in [c.tool for c in briefing_calls(question)], question


def test_the_briefing_asks_what_is_said_while_a_sign_is_on_screen_and_for_the_first_or_last_words() -> None:
    cases = {
        "What is said while the room sign is on screen?": ({"shown": "room sign"}, "while"),
        "What is said right after the code is shown?": ({"shown": "code"}, "after"),
        "What is said when the room sign appears on screen?": ({"shown": "room sign"}, "while"),
        "What is said as the gate sign shows up?": ({"shown": "gate sign"}, "while"),
        "What is the last thing said in the video?": ({"edge": "last"}, "last"),
        "What does the narrator say first?": ({"edge": "first"}, "first"),
        "What are the opening words spoken?": ({"edge": "first"}, "first"),
    }
    for question, (arguments, kind) in cases.items():
        calls = [(c.tool, c.arguments) for c in briefing_calls(question)]
        assert calls[-1] == ("shown_while", arguments), question
        cue = moment_cue(question)
        assert cue is not None and cue.kind == kind and cue.said, question
    crossmodal = moment_cue("Which sign is on screen when the password is said?")
    assert crossmodal is not None and crossmodal.arguments == {"said": "password"} and not crossmodal.said
    for question in ("Which is said first: the password or the train?", "What is the first name of the doctor "
                     "mentioned?", "Which sign is shown first?", "What is the last sign on screen?",
                     "When is the room sign shown?", "When does the gate sign appear?"):  # fmt: skip
        assert "shown_while" not in [c.tool for c in briefing_calls(question)], question


def test_shown_while_finds_when_words_are_on_screen_and_the_first_and_last_words_said(ctx: ToolContext) -> None:
    tools = default_tools()
    room = tools.call("shown_while", {"shown": "room sign"}, ctx)
    assert room.ok and "password" in room.result.spoken and room.result.shown == "ROOM 417", room.observation
    assert "Lisbon" not in room.result.spoken and 7.0 <= room.result.during.span.start_s <= 9.0
    assert 13.0 <= room.result.during.span.end_s <= 16.0, room.result.during.span
    assert '"ROOM 417" is on screen at' in room.observation and 'Said then: "' in room.observation
    code = tools.call("shown_while", {"shown": "code"}, ctx)
    assert code.ok and code.result.spoken == "" and "Nothing is said then." in code.observation, code.observation
    first = tools.call("shown_while", {"edge": "first"}, ctx)
    assert (
        first.ok
        and "password" in first.result.spoken
        and first.result.during.span.start_s == pytest.approx(8.5, abs=1.5)
    )
    last = tools.call("shown_while", {"edge": "last"}, ctx)
    assert last.ok and "Lisbon" in last.result.spoken and "The last words said in the video" in last.observation
    assert not tools.call("shown_while", {"shown": "zebra crossing"}, ctx).ok
    assert not tools.call("shown_while", {"edge": "middle"}, ctx).ok


def test_what_is_said_while_a_sign_is_shown_or_first_or_last_is_answered_without_a_model_call(ctx: ToolContext) -> None:
    llm = ScriptedLLM([])  # any model call would fail the run

    def ask(question: str) -> Answer:
        return run(question, dataclasses.replace(ctx, question=question), llm, default_tools())

    meanwhile = ask("What is said while the room sign is on screen?")
    assert "password" in meanwhile.answer and meanwhile.evidence[0].span.contains(10.0), meanwhile
    last = ask("What is the last thing said in the video?")
    assert "Lisbon" in last.answer and last.evidence[0].span.start_s == pytest.approx(24, abs=1.5), last
    first = ask("What does the speaker say first?")
    assert "password" in first.answer and "not checked by a model" in (first.check_reason or ""), first
    assert not llm.calls


def test_the_reader_answers_from_what_is_said_or_shown_at_the_moment_asked(ctx: ToolContext) -> None:
    tools = default_tools()

    def lines_for(question: str) -> list[EvidenceLine]:
        results = [tools.call(c.tool, c.arguments, ctx).result for c in briefing_calls(question)]
        cue = moment_cue(question)
        return evidence_lines(results, said=cue is not None and cue.said)

    spoken = lines_for("What is being said at 00:00:26 in the video?")
    assert spoken[0].kind == "said then" and "Lisbon" in spoken[0].text, spoken
    reply = ScriptedLLM([json.dumps({"line": 1, "answer": "Lisbon"})])
    assert read("What is being said at 00:00:26 in the video?", spoken, reply).answer == "Lisbon"
    shown = lines_for("What text is on screen at 00:00:18?")
    assert [(x.kind, x.text) for x in shown[:1]] == [("on screen then", "GATE C35")], shown
    following = lines_for("What is said next, after the password is mentioned?")
    assert [x.kind for x in following] == ["said next"] and "Lisbon" in following[0].text, following
    moment = TimeSpan(start_s=17, end_s=19)
    assert all(x.span is not None and x.span.overlaps(moment) for x in shown), shown  # only hits at that time
    signs = tools.call("search", {"query": "gate room code sign"}, ctx).result
    moment_18 = tools.call("shown_while", {"at": "00:00:18"}, ctx).result
    assert any(not h.span.overlaps(moment) for h in signs.hits)  # hits from elsewhere are there to be dropped
    assert all(x.span is not None and x.span.overlaps(moment) for x in evidence_lines([signs, moment_18]))


def test_a_question_about_one_moment_is_answered_from_it_without_a_model_call(ctx: ToolContext) -> None:
    llm = ScriptedLLM([])  # any model call would fail the run

    def ask(question: str) -> Answer:
        return run(question, dataclasses.replace(ctx, question=question), llm, default_tools())

    said = ask("What is being said at 00:00:26 in the video?")
    assert "Lisbon" in said.answer and said.evidence[0].span.contains(26.0) and said.verified is None, said
    shown = ask("What text is on screen at 00:00:18?")
    assert shown.answer == "GATE C35" and "not checked by a model" in (shown.check_reason or ""), shown
    after = ask("What is said next, after the secret password is mentioned?")
    assert "Lisbon" in after.answer and after.evidence[0].span.start_s == pytest.approx(24, abs=1.5), after
    before = ask("What is said right before the train to Lisbon is mentioned?")
    assert "password" in before.answer and before.evidence[0].span.start_s == pytest.approx(8.5, abs=1.5), before
    assert not llm.calls
    cue = moment_cue("What animal is on screen at 00:00:18?")
    moment = default_tools().call("shown_while", {"at": "00:00:18"}, ctx).result
    assert cue is not None and moment_answer("What animal is on screen at 00:00:18?", cue, moment) is None
    assert moment_answer("What text is on screen at 00:00:18?", cue, moment, ["GATE C35", "ROOM 417"]) is None
    quiet = moment_cue("What is said at 00:00:18 in the video?")
    assert quiet is not None and moment_answer("What is said at 00:00:18 in the video?", quiet, moment) is None
