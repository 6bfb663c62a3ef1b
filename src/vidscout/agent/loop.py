"""The agent loop: one generator of typed steps. `run` consumes it, the CLI streams it.

Two ways to ask the planner for a tool call, one loop:

- ``tools``: OpenAI-style native tool calling (vLLM with ``--enable-auto-tool-choice``, OpenAI,
  llama.cpp server); observations go back as ``tool`` messages.
- ``json``: the reply is constrained by a JSON schema (a grammar on the embedded GGUF planner) to
  ``{"thought": ..., "call": {"tool": name, "args": {...}}}`` with one variant per tool, so a
  small model cannot write an unknown tool or ill-typed arguments.

Before accepting ``finish`` the loop runs one self-check: it gathers what the database holds at
the cited spans and asks the planner whether that supports the answer (the "confirm" step of DVD,
the uncertainty check of VideoAgent2). A rejected answer costs a step and the run continues. On
the last step only ``finish`` is offered.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator, Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field

from vidscout.agent.briefing import briefing_calls, moment_cue
from vidscout.agent.moment import moment_answer
from vidscout.agent.ordering import order_answer, order_question
from vidscout.agent.reader import EvidenceLine, asks_when, evidence_lines, read, when_asked
from vidscout.agent.trace import (
    AnswerStep,
    ErrorStep,
    ObservationStep,
    Step,
    ThoughtStep,
    ToolCallStep,
    final_answer,
)
from vidscout.choices import option_distances, time_options
from vidscout.errors import BackendError
from vidscout.memory.documents import span_evidence, summarise_tags
from vidscout.models.base import LLM, ChatMessage, GenerationOptions
from vidscout.models.replies import extract_json
from vidscout.prompts.render import render
from vidscout.retrieval.choice import choose
from vidscout.retrieval.search import Hit
from vidscout.text import overlap, tokenize
from vidscout.tools.order import OrderResult
from vidscout.tools.registry import ArgShape, ToolContext, ToolRegistry
from vidscout.tools.shown import ShownWhileResult
from vidscout.types import Answer, Evidence, OptionSource, TimeSpan, format_hms, parse_time

_CHECK_SCHEMA = {
    "type": "object",
    "properties": {"supported": {"type": "boolean"}, "reason": {"type": "string"}},
    "required": ["supported", "reason"],
}


class AgentOptions(BaseModel, frozen=True):
    """Knobs of one agent run."""

    max_steps: int = Field(default=8, ge=1, le=50, description="Tool calls allowed; the last must be finish.")
    mode: Literal["auto", "tools", "json"] = Field(
        default="auto", description="auto: json for embedded GGUF planners, native tool calls otherwise."
    )
    max_tokens: int = Field(default=320, ge=16, description="Reply budget per planner call (tokens).")
    temperature: float = Field(default=0.0, ge=0.0, le=2.0, description="Planner sampling temperature.")
    self_check: bool = Field(default=True, description="Verify the cited evidence once before finishing.")
    observation_chars: int = Field(default=1500, ge=200, description="Longer observations are cut to this.")
    context_chars: int = Field(
        default=16000, ge=2000, description="Past this much conversation text, older observations are shortened."
    )
    initial_search: bool = Field(
        default=True,
        description="Search the question (and run the relation tools its wording asks for) before the first "
        "planner turn (free step 0).",
    )
    grounding: bool = Field(default=True, description="Refuse answers whose names and numbers no tool returned.")
    fallback: bool = Field(
        default=True, description="Replace an answer that fails its checks twice by the best-supported candidate."
    )
    max_rejections: int = Field(default=1, ge=0, le=5, description="Failed checks sent back before falling back.")
    reader: bool = Field(
        default=True,
        description="Before any planner turn, an order question is answered from the briefing's placements when they "
        "settle it (`vidscout.agent.ordering`), else one constrained call answers from the briefing's evidence lines "
        "when it can (`vidscout.agent.reader`); the tool loop runs only when neither does.",
    )


def resolve_mode(llm: LLM, options: AgentOptions) -> Literal["tools", "json"]:
    """The call protocol for this planner."""
    if options.mode != "auto":
        return options.mode
    return llm.call_mode


def _type_hint(schema: dict[str, Any]) -> str:
    options: list[dict[str, Any]] | None = schema.get("anyOf")
    if options is not None:
        return " | ".join(_type_hint(o) for o in options if o.get("type") != "null")
    if "enum" in schema:
        return "|".join(str(v) for v in schema["enum"])
    if str(schema.get("pattern", "")).startswith("^[0-9]{1,2}:"):
        return "HH:MM:SS"
    if schema.get("type") == "array":
        return f"list of {_type_hint(schema.get('items', {}))}"
    if schema.get("type") == "object" and "properties" in schema:
        props: dict[str, dict[str, Any]] = schema["properties"]
        return "{" + ", ".join(f"{k}: {_type_hint(v)}" for k, v in props.items()) + "}"
    names = {"string": "text", "integer": "integer", "number": "number", "boolean": "true|false"}
    return names.get(str(schema.get("type")), "value")


def tool_signature(params: dict[str, Any], name: str) -> str:
    """``name(arg: type, optional?: type)``: the compact form small planners read (the grammar checks types)."""
    required = set(params.get("required", []))
    props: dict[str, dict[str, Any]] = params.get("properties", {})
    args = [f"{k}{'' if k in required else '?'}: {_type_hint(v)}" for k, v in props.items()]
    return f"{name}({', '.join(args)})"


_CLOCK = re.compile(r"\b(?:\d{1,2}:)?\d{1,2}:\d{2}\b")


def answer_spans(answer: str, evidence: Sequence[TimeSpan] = ()) -> list[TimeSpan]:
    """The times an answer states: ``from A to B`` (or ``A-B``) as one span, a lone clock time as an instant.

    Falls back to the cited evidence spans when the text names no time.
    """
    times = [parse_time(m.group()) for m in _CLOCK.finditer(answer)]
    if not times:
        return list(evidence)
    if len(times) == 2 and times[0] <= times[1]:
        return [TimeSpan(start_s=times[0], end_s=times[1])]
    return [TimeSpan(start_s=t, end_s=t) for t in times]


def matching_option(
    answer: str, option: str | None, letters: Sequence[tuple[str, str]], evidence: Sequence[TimeSpan] = ()
) -> str | None:
    """The option the answer clearly means when it is not the chosen one; else None.

    Clock-time options: the answer's time (or its cited spans) lies within 60 s of one option and the
    chosen option is at least twice as far and 30 s farther. Other options: the chosen option has no word
    in common with the answer text and exactly one other option has (words as BM25 tokenises them).
    """
    if not letters or option is None:
        return None
    times = time_options([text for _, text in letters])
    if times is not None:
        spans = answer_spans(answer, evidence)
        if not spans:
            return None
        far = dict(zip((letter for letter, _ in letters), option_distances(times, spans), strict=True))
        near = min(far, key=lambda k: far[k])
        chosen = far.get(option)
        if chosen is None or near == option or far[near] > 60 or chosen < max(2 * far[near], far[near] + 30):
            return None
        return near
    shared = {letter: overlap(text, answer) > 0 for letter, text in letters}
    if shared.get(option, False):
        return None
    hits = [letter for letter, yes in shared.items() if yes]
    return hits[0] if len(hits) == 1 else None


def question_shape(tools: ToolRegistry, letters: Sequence[str]) -> ArgShape:
    """The terminal tools' ``option``: required and one of ``letters`` on a multiple-choice question, absent otherwise.

    A small planner given an optional ``option`` finished multiple-choice questions without one, again
    and again (the fix-it message did not help); a required enum makes the grammar pick a letter.
    """
    terminal = [t.name for t in tools if t.terminal and "option" in t.parameters().get("properties", {})]
    if not letters:
        return ArgShape(omit={name: ("option",) for name in terminal})
    enum = {"type": "string", "enum": list(letters), "description": "The letter of the chosen option."}
    return ArgShape(require={name: {"option": enum} for name in terminal})


def _system_prompt(ctx: ToolContext, tools: ToolRegistry, json_mode: bool, shape: ArgShape) -> str:
    listing = [{"signature": tool_signature(t.parameters(shape), t.name), "description": t.description} for t in tools]
    return render(
        "agent_system",
        duration=format_hms(ctx.duration_s),
        options=bool(ctx.options),
        json_mode=json_mode,
        tools=listing,
    )


def compact(messages: list[ChatMessage], *, budget_chars: int, keep_recent: int = 4) -> None:
    """Shorten old observations (not the question, not the last ``keep_recent`` messages) to fit a budget.

    Only runs once the conversation is over budget, so the planner's prompt-prefix cache keeps hitting
    on short runs; the newest evidence always stays whole.
    """
    total = sum(len(m.content) if isinstance(m.content, str) else 0 for m in messages)
    for m in messages[2 : max(2, len(messages) - keep_recent)]:
        if total <= budget_chars:
            return
        if m.role in ("user", "tool") and isinstance(m.content, str) and len(m.content) > 400:
            total -= len(m.content) - 320
            m.content = m.content[:300] + "\n[... older observation shortened ...]"


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 20].rstrip() + "\n[... cut ...]"


class _Call(BaseModel):
    name: str
    arguments: dict[str, Any] | str
    call_id: str


def _ask_for_call(
    llm: LLM,
    messages: list[ChatMessage],
    tools: ToolRegistry,
    mode: str,
    opts: AgentOptions,
    *,
    shape: ArgShape | None = None,
) -> tuple[str, _Call | None, str]:
    """One planner turn → (thought, the call or None, raw reply text)."""
    gen = GenerationOptions(max_tokens=opts.max_tokens, temperature=opts.temperature)
    if mode == "json":
        reply = llm.complete(messages, gen.model_copy(update={"json_schema": tools.call_schema(shape)}))
        try:
            data = extract_json(reply.text)
        except ValueError:
            return "", None, reply.text
        if not isinstance(data, dict) or not isinstance(data.get("call"), dict):
            return "", None, reply.text
        call: dict[str, Any] = data["call"]
        args = call.get("args", {})
        name = str(call.get("tool", ""))
        return (
            str(data.get("thought", "")),
            _Call(name=name, arguments=args, call_id=uuid.uuid4().hex[:8]),
            reply.text,
        )
    reply = llm.complete(messages, gen.model_copy(update={"tools": tools.openai_tools(shape)}))
    if not reply.tool_calls:
        return reply.text, None, reply.text
    tc = reply.tool_calls[0]
    return (
        reply.text,
        _Call(name=tc.name, arguments=tc.arguments, call_id=tc.id or uuid.uuid4().hex[:8]),
        reply.text,
    )


def _append_turn(messages: list[ChatMessage], mode: str, call: _Call | None, raw: str, observation: str) -> None:
    if mode == "tools" and call is not None:
        arguments = call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments)
        messages.append(
            ChatMessage(
                role="assistant",
                content=raw,
                tool_calls=[
                    {"id": call.call_id, "type": "function", "function": {"name": call.name, "arguments": arguments}}
                ],
            )
        )
        messages.append(ChatMessage(role="tool", tool_call_id=call.call_id, name=call.name, content=observation))
    else:
        messages.append(ChatMessage(role="assistant", content=raw))
        messages.append(ChatMessage(role="user", content=observation))


def gather_evidence(ctx: ToolContext, spans: Sequence[TimeSpan], *, limit: int = 1500) -> str:
    """What the database holds at the cited spans: speech, on-screen text, captions, visual tags and facts."""
    parts: list[str] = []
    for span in spans:
        lines = [f"[{format_hms(span.start_s)}-{format_hms(span.end_s)}]"]
        # Keyframes are ~2 s apart: a short cited span may sit between two, so frames are looked up 1 s wider.
        ev = span_evidence(ctx.store, span.start_s, span.end_s, frame_margin_s=1.0)
        if ev.speech:
            lines.append("speech: " + " ".join(ev.speech))
        if ev.ocr:
            lines.append("on-screen text: " + " | ".join(text for text, _ in ev.ocr))
        if ev.captions:
            lines.append("caption: " + " ".join(ev.captions))
        if ev.tags:
            lines.append("visual labels: " + summarise_tags(ev.tags))
        if ev.facts:
            lines.append("seen: " + "; ".join(ev.facts))
        if len(lines) == 1:
            lines.append("(nothing recorded here)")
        parts.append("\n".join(lines))
    return _truncate("\n".join(parts), limit) if parts else "(no time spans were cited)"


def _cited_text(ctx: ToolContext, spans: Sequence[TimeSpan]) -> str:
    """Everything the database holds at ``spans`` as one text (empty when it holds nothing there)."""
    out: list[str] = []
    for span in spans:
        ev = span_evidence(ctx.store, span.start_s, span.end_s, frame_margin_s=1.0)
        out += [*ev.speech, *(text for text, _ in ev.ocr), *ev.captions, summarise_tags(ev.tags), *ev.facts]
    return " ".join(t for t in out if t)


def self_check(messages: Sequence[ChatMessage], llm: LLM) -> tuple[bool | None, str, str]:
    """The planner's verdict on the check that ends ``messages`` (see `self_check_prompt`).

    The check is asked inside the agent's conversation, as the finish call's observation: the
    planner's prompt cache stays warm, so only the evidence is new tokens, and the system prompt is
    still cached for the next question.

    Returns:
        (supported, reason, the planner's raw reply); ``supported`` is None when the reply cannot be read.
    """
    reply = llm.complete(messages, GenerationOptions(max_tokens=96, json_schema=_CHECK_SCHEMA))
    try:
        data = extract_json(reply.text)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("supported"), bool):
        return None, "the self-check's reply could not be read", reply.text
    return bool(data["supported"]), str(data.get("reason", "")), reply.text


def self_check_prompt(
    question: str, answer: str, option: str | None, evidence: Sequence[Evidence], ctx: ToolContext
) -> str:
    """The check, sent as the finish call's observation: what the database holds at the cited spans."""
    text = gather_evidence(ctx, [e.span for e in evidence])
    return render("agent_self_check", question=question, answer=answer, option=option, evidence=text)


def ungrounded(answer: str, question: str, seen: str) -> list[str]:
    """The names and numbers of ``answer`` found neither in the question nor in anything the tools returned.

    A small planner answers "Daniel M. Lara" when the evidence says "SACHA GOEDEGEBURE": a word-level check
    catches it without a model call. Numbers and capitalised words must all have been seen; other content
    words may be paraphrased, but not most of them.
    """
    known = set(tokenize(question)) | set(tokenize(seen))
    raw = re.findall(r"[\w'-]+", _CLOCK.sub(" ", answer))
    key = {
        t
        for w in raw
        if w[:1].isupper() or any(c.isdigit() for c in w)
        for t in tokenize(w)
        if len(t) > 1 or t.isdigit()
    }
    missing = sorted(t for t in key if t not in known)
    rest = [t for t in tokenize(_CLOCK.sub(" ", answer)) if t not in key and t not in _GENERIC]
    unseen = [t for t in rest if t not in known]
    if rest and len(unseen) > len(rest) / 2:
        missing += sorted(set(unseen))
    return missing


def cited_words_support(answer: str, question: str, cited: str) -> bool | None:
    """Whether the database at the cited spans holds the answer's own words; None when the answer has none.

    The answer's names and numbers (and its other words not taken from the question) must all be in
    ``cited``; an answer made only of the question's words ("yes", a count) is left to the model's check.
    """
    asked = set(tokenize(question))
    own = [t for t in tokenize(_CLOCK.sub(" ", answer)) if t not in asked and t not in _GENERIC]
    if not own:
        return None
    there = set(tokenize(cited))
    return all(t in there for t in own)


_YES_NO = re.compile(r"^\s*(?:yes|no)\b", re.IGNORECASE)


def informative(answer: str, question: str) -> bool:
    """Whether ``answer`` says something the question does not.

    A word of its own, yes or no, (when the question asks when) a time, or (when it asks which of its events comes
    first) one of them.
    """
    if _YES_NO.match(answer) or (_CLOCK.search(answer) and asks_when(question)):
        return True
    said = set(tokenize(answer))
    if (ask := order_question(question)) is not None and any(set(tokenize(e)) <= said for e in ask.events):
        return True
    asked = set(tokenize(question))
    return any(t not in asked and t not in _GENERIC for t in tokenize(answer))


_GENERIC = frozenset(tokenize(
    "video clip said says say spoken mentioned mention shown show shows screen on-screen appear appears "
    "answer evidence speaker time minute second seconds text written displayed according first last "
    "question option yes no not unknown"
))  # fmt: skip


class _Run:
    """The state of one agent run and what happens on each event (planner turn, finish, repeated call)."""

    def __init__(self, question: str, ctx: ToolContext, llm: LLM, tools: ToolRegistry, opts: AgentOptions) -> None:
        self.question, self.ctx, self.llm, self.tools, self.opts = question, ctx, llm, tools, opts
        self.mode = resolve_mode(llm, opts)
        self.letters = ctx.lettered_options
        self.option_text = dict(self.letters)
        self.shape = question_shape(tools, [letter for letter, _ in self.letters])
        self.messages: list[ChatMessage] = []
        self.seen: list[str] = []  # every observation, for the grounding check
        self.calls: set[str] = set()
        self.warned = self.nudged = self.finish_now = False
        self.rejections = 0
        self.first_hits: list[Hit] = []
        self.evidence_lines: list[EvidenceLine] = []
        self.ordered: OrderResult | None = None
        self.moment: ShownWhileResult | None = None
        self.cue = moment_cue(question)
        self.done = False

    def left(self, step: int) -> int:
        return self.opts.max_steps - step

    def note(self, note: str, **variables: object) -> str:
        return render("agent_note", note=note, **variables).strip()

    def observe(self, tool: str, ok: bool, text: str, step: int) -> str:
        self.seen.append(text)
        return render("agent_observation", tool=tool, ok=ok, text=text, steps_left=self.left(step))

    def brief(self) -> Iterator[Step]:
        """The retrieval-first calls (`vidscout.agent.briefing`), folded into the first user message."""
        first = render("agent_question", question=self.question, options=self.letters, max_steps=self.opts.max_steps,
                       when=when_asked(self.question))  # fmt: skip
        parts: list[str] = []
        results: list[object] = []
        if self.opts.initial_search:
            for call in briefing_calls(self.question, options=[text for _, text in self.letters]):
                if call.tool not in self.tools:
                    continue
                outcome = self.tools.call(call.tool, call.arguments, self.ctx)
                if outcome.ok:
                    results.append(outcome.result)
                    if isinstance(outcome.result, OrderResult):
                        self.ordered = outcome.result
                    if isinstance(outcome.result, ShownWhileResult):
                        self.moment = outcome.result
                if call.tool == "search" and outcome.ok and not self.first_hits:  # the question's own search
                    self.first_hits = list(getattr(outcome.result, "hits", []))
                yield ToolCallStep(step=0, name=call.tool, arguments=call.arguments, call_id="initial")
                text = _truncate(outcome.observation, self.opts.observation_chars)
                yield ObservationStep(step=0, name=call.tool, text=text, ok=outcome.ok)
                parts.append(self.observe(call.tool, outcome.ok, text, 0))
        if parts:
            first += "\n\n" + self.note("briefing") + "\n" + "\n".join(parts)
        self.messages = [
            ChatMessage(role="system", content=_system_prompt(self.ctx, self.tools, self.mode == "json", self.shape)),
            ChatMessage(role="user", content=first),
        ]
        self.evidence_lines = evidence_lines(results, said=self.cue is not None and self.cue.said)

    def read_order(self) -> Iterator[Step]:
        """An order question settled by the briefing's placements (`vidscout.agent.ordering`) ends the run."""
        ask = order_question(self.question, [text for _, text in self.letters])
        if ask is None or self.ordered is None:
            return
        settled = order_answer(ask, self.ordered, self.letters)
        if settled is None:
            yield ThoughtStep(step=0, text="order: the placements do not settle it (an event missing, found by "
                              "meaning alone, or two at one moment)")  # fmt: skip
            return
        yield ThoughtStep(step=0, text=f"order: {settled.why}")
        yield AnswerStep(step=0, answer=settled.answer, option=settled.option, evidence=settled.evidence,
                         verified=None, check_reason=f"not checked by a model: {settled.why}",
                         option_source="retrieval" if settled.option else None)  # fmt: skip
        self.done = True

    def read_moment(self) -> Iterator[Step]:
        """A question about one moment that the briefing's look at it settles ends the run (`vidscout.agent.moment`)."""
        if self.cue is None or self.moment is None:
            return
        settled = moment_answer(self.question, self.cue, self.moment, [text for _, text in self.letters])
        if settled is None:
            return
        yield ThoughtStep(step=0, text=f"moment: {settled.why}")
        yield AnswerStep(step=0, answer=settled.answer, evidence=settled.evidence, verified=None,
                         check_reason=f"not checked by a model: {settled.why}")  # fmt: skip
        self.done = True

    def read_first(self) -> Iterator[Step]:
        """The reader's one call over the briefing's lines; ends the run when its answer holds."""
        reading = read(self.question, self.evidence_lines, self.llm, options=self.letters, narrow=self.cue is None)
        line = reading.line
        if line is None or (reading.answer is None and reading.option is None):
            yield ThoughtStep(step=0, text=f"reader: no answer from the search results ({reading.why})")
            return
        span = line.span
        if line.hit is not None:
            # The hit was located by the question's words; the answer's own words say where it was said or shown.
            words = reading.words or tuple(tokenize(self.option_text.get(reading.option or "", "")))
            span = self.ctx.searcher.locate(line.hit.model_copy(update={"at": None}), words).at or span
        ev = (Evidence(span=span, note=f"{line.kind}: {line.text[:100]}"),) if span is not None else ()
        if reading.option is not None:
            yield ThoughtStep(step=0, text=f"reader: option {reading.option}, from [{line.kind}] {line.text[:120]}")
            yield AnswerStep(
                step=0, answer=self.option_text.get(reading.option, ""), option=reading.option, evidence=ev,
                verified=None, check_reason="not checked: the reader chose it from the search results",
                option_source="planner",
            )  # fmt: skip
            self.done = True
        elif reading.answer is not None:
            yield ThoughtStep(step=0, text=f'reader: "{reading.answer}", from [{line.kind}] {line.text[:120]}')
            why = f"its words are on the evidence line it names ({line.kind}: {line.text[:80]})"
            yield AnswerStep(step=0, answer=reading.answer, evidence=ev, verified=True, check_reason=why)
            self.done = True
        else:
            yield ThoughtStep(step=0, text=f"reader: no answer from the search results ({reading.why})")

    def fallback(self, step: int, answer: str, reason: str) -> AnswerStep:
        """The best-supported candidate in place of an answer that did not hold up (said so in its reason)."""
        why = self.note("fallback", answer=answer[:120], reason=reason)
        if self.letters:
            choice = choose(self.question, [t for _, t in self.letters], self.ctx.searcher, self.ctx.store,
                            text_embedder=self.ctx.backends.text_embedder, hits=self.first_hits or None)  # fmt: skip
            letter, text = self.letters[choice.index]
            ev = tuple(Evidence(span=s) for s in choice.evidence[:3])
            return AnswerStep(step=step, answer=text, option=letter, evidence=ev, forced=True, verified=None,
                              check_reason=why, option_source="retrieval")  # fmt: skip
        if not self.first_hits:
            return AnswerStep(step=step, answer="No answer: nothing in the video's database supports one.",
                              forced=True, verified=None, check_reason=why)  # fmt: skip
        top = self.first_hits[0]
        span = top.at or top.span
        text = f"At {format_hms(span.start_s)}: {top.text}" if asks_when(self.question) else top.text  # asked a time
        return AnswerStep(step=step, answer=text, evidence=(Evidence(span=span, note=top.kind),), forced=True,
                          verified=None, check_reason=why)  # fmt: skip

    def on_finish(self, step: int, call: _Call, raw: str, result: object) -> Iterator[Step]:
        """Check a finish; yields the answer (or a fallback) when the run ends, else the note that sends it back."""
        last = step == self.opts.max_steps
        answer, option = str(getattr(result, "answer", "")), getattr(result, "option", None)
        evidence: tuple[Evidence, ...] = tuple(getattr(result, "evidence", ()))
        source: OptionSource | None = None
        if option is not None:
            source = "answer_text" if getattr(result, "option_from_text", False) else "planner"
        better = matching_option(answer, option, self.letters, [e.span for e in evidence])
        if better is not None and (self.warned or last):
            # Told once and it insists: its answer text is the finding, the letter a slip; take the match.
            text = self.note("option_taken", better=better, chosen=option)
            yield ObservationStep(step=step, name=call.name, text=text, ok=True)
            option, better, source = better, None, "answer_text"
        if better is not None:
            self.warned = True
            text = self.note("option_mismatch", better=better, better_text=self.option_text[better], chosen=option,
                             chosen_text=self.option_text.get(option or "", "?"))  # fmt: skip
            yield ObservationStep(step=step, name=call.name, text=text, ok=False)
            _append_turn(self.messages, self.mode, call, raw, self.observe(call.name, False, text, step))
            return
        verified: bool | None = None
        reason = "self-check off" if not self.opts.self_check else ""
        missing = (
            [] if (self.letters or not self.opts.grounding) else ungrounded(answer, self.question, "\n".join(self.seen))
        )
        check_raw = ""
        trial = list(self.messages)
        if missing:
            verified, reason = False, f"names {', '.join(missing)}, which no tool returned"
        elif not self.letters and not informative(answer, self.question):
            verified, reason = False, "it only repeats the question; it does not give the answer"
        elif self.opts.self_check:
            if not evidence:
                verified, reason = False, "no time spans were cited as evidence"
            else:
                cited = _cited_text(self.ctx, [e.span for e in evidence])
                words = None if self.letters or not cited else cited_words_support(answer, self.question, cited)
                if words is not None:
                    # The answer's own names, numbers and words are (or are not) at the cited times: no model call.
                    verified = words
                    reason = ("its names, numbers and words are in the database at the cited times" if words else
                              "its names, numbers and words are not in the database at the cited times")  # fmt: skip
                else:
                    chosen = f"{option}: {self.option_text.get(option, '?')}" if option else None
                    check = self_check_prompt(self.question, answer, chosen, evidence, self.ctx)
                    _append_turn(trial, self.mode, call, raw, check)
                    verified, reason, check_raw = self_check(trial, self.llm)
        if verified is False:
            self.rejections += 1
            if last or self.rejections > self.opts.max_rejections or not self.opts.fallback:
                if self.opts.fallback:
                    yield self.fallback(step, answer, reason)
                else:
                    yield AnswerStep(step=step, answer=answer, option=option, evidence=evidence, verified=False,
                                     check_reason=reason, option_source=source)  # fmt: skip
                self.done = True
                return
            note = ("ungrounded", {"missing": ", ".join(missing)}) if missing else ("refuted", {"reason": reason})
            text = self.note(note[0], **note[1])
            yield ObservationStep(step=step, name="self_check", text=text, ok=False)
            obs = render("agent_observation", tool="self_check", ok=False, text=text, steps_left=self.left(step))
            if check_raw:
                trial += [ChatMessage(role="assistant", content=check_raw), ChatMessage(role="user", content=obs)]
            else:
                trial = list(self.messages)
                _append_turn(trial, self.mode, call, raw, obs)
            self.messages[:] = trial
            return
        yield AnswerStep(step=step, answer=answer, option=option, evidence=evidence, verified=verified,
                         check_reason=reason, option_source=source)  # fmt: skip
        self.done = True

    def run(self) -> Iterator[Step]:
        """Brief, read, then planner turns until an answer (or an error) ends the run."""
        yield from self.brief()
        if self.opts.reader:
            yield from self.read_order()
            if not self.done:
                yield from self.read_moment()
            if self.done:
                return
        if self.opts.reader and self.evidence_lines:
            try:
                yield from self.read_first()
            except BackendError as e:
                yield ErrorStep(step=0, message=str(e))
                return
            if self.done:
                return
        opts = self.opts
        for step in range(1, opts.max_steps + 1):
            last = step == opts.max_steps
            terminal = [t.name for t in self.tools if t.terminal]
            offered = self.tools.subset(terminal) if last or self.finish_now else self.tools
            compact(self.messages, budget_chars=opts.context_chars)
            try:
                thought, call, raw = _ask_for_call(self.llm, self.messages, offered, self.mode, opts, shape=self.shape)
            except BackendError as e:
                yield ErrorStep(step=step, message=str(e))
                return
            if thought.strip() and call is not None:
                yield ThoughtStep(step=step, text=thought.strip())
            if call is None:
                if self.mode == "tools" and raw.strip() and (self.nudged or last):
                    # The model answered in prose: a forced answer, grounded like any other.
                    missing = [] if self.letters else ungrounded(raw, self.question, "\n".join(self.seen))
                    if missing and opts.fallback:
                        yield self.fallback(step, raw.strip(), f"names {', '.join(missing)}, which no tool returned")
                    else:
                        yield AnswerStep(step=step, answer=raw.strip(), forced=True)
                    return
                self.nudged = True
                text = self.note("no_call")
                yield ObservationStep(step=step, name="(none)", text=text, ok=False)
                _append_turn(self.messages, self.mode, None, raw, self.observe("loop", False, text, step))
                continue
            yield ToolCallStep(step=step, name=call.name, arguments=call.arguments, call_id=call.call_id)
            outcome = self.tools.call(call.name, call.arguments, self.ctx)
            if outcome.ok and self.tools.get(call.name).terminal:
                yield from self.on_finish(step, call, raw, outcome.result)
                if self.done:
                    return
                continue
            text = _truncate(outcome.observation, opts.observation_chars)
            args_text = (
                call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments, sort_keys=True)
            )
            key = f"{call.name}:{args_text}"
            if key in self.calls:
                text += "\n" + self.note("repeat_ok" if outcome.ok else "repeat_failed")
                # Small planners loop on a call they already have the answer from: the next turn must finish.
                self.finish_now = self.finish_now or outcome.ok
            self.calls.add(key)
            yield ObservationStep(step=step, name=call.name, text=text, ok=outcome.ok)
            _append_turn(self.messages, self.mode, call, raw, self.observe(call.name, outcome.ok, text, step))
        try:
            synthesised = synthesise_answer(self.question, self.messages, self.ctx, self.llm, step=opts.max_steps)
        except BackendError as e:
            yield ErrorStep(step=opts.max_steps, message=str(e))
            return
        missing = [] if self.letters else ungrounded(synthesised.answer, self.question, "\n".join(self.seen))
        if opts.fallback and (missing or synthesised.answer.startswith("No answer was reached")):
            yield self.fallback(opts.max_steps, synthesised.answer, "the step budget ran out without a finish")
        else:
            yield synthesised


def iter_steps(
    question: str, ctx: ToolContext, llm: LLM, tools: ToolRegistry, *, options: AgentOptions | None = None
) -> Iterator[Step]:
    """Run the agent, yielding each thought, call, observation and finally an answer or error.

    The run starts from retrieval (`vidscout.agent.briefing`); every finish is checked (the answer's names and
    numbers must have been seen, then the self-check on the cited spans); an answer that fails is sent back,
    and one that fails again (or on the last step) is replaced by the best-supported candidate, said so in
    its ``check_reason``.
    """
    yield from _Run(question, ctx, llm, tools, options or AgentOptions()).run()


_SYNTH_SCHEMA = {
    "type": "object",
    "properties": {
        "answer": {"type": "string"},
        "start": {"type": "string", "pattern": "^[0-9]{2}:[0-5][0-9]:[0-5][0-9]$"},
        "end": {"type": "string", "pattern": "^[0-9]{2}:[0-5][0-9]:[0-5][0-9]$"},
    },
    "required": ["answer", "start", "end"],
}


def synthesise_answer(
    question: str, messages: Sequence[ChatMessage], ctx: ToolContext, llm: LLM, *, step: int
) -> AnswerStep:
    """Best-effort answer from everything observed, when the budget ran out without a finish."""
    prompt = (f"The tool budget is used up. From the observations above, answer: {question}\n"
              'Reply with JSON {"answer": ..., "start": "HH:MM:SS", "end": "HH:MM:SS"} giving the time span '
              "that supports it; say the answer is unknown if nothing above supports one.")  # fmt: skip
    reply = llm.complete([*messages, ChatMessage(role="user", content=prompt)],
                         GenerationOptions(max_tokens=160, json_schema=_SYNTH_SCHEMA))  # fmt: skip
    try:
        data = extract_json(reply.text)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not str(data.get("answer", "")).strip():
        return AnswerStep(step=step, answer="No answer was reached within the step budget.", forced=True)
    evidence: tuple[Evidence, ...] = ()
    try:
        a, b = parse_time(data.get("start")), parse_time(data.get("end"))
        if 0 <= a < b <= ctx.duration_s + 1:
            evidence = (Evidence(span=TimeSpan(start_s=a, end_s=min(b, ctx.duration_s))),)
    except ValueError:
        pass
    return AnswerStep(step=step, answer=str(data["answer"]).strip(), evidence=evidence, forced=True)


def run(
    question: str, ctx: ToolContext, llm: LLM, tools: ToolRegistry, *, options: AgentOptions | None = None
) -> Answer:
    """Run the agent to the end and return its `Answer`."""
    return final_answer(question, list(iter_steps(question, ctx, llm, tools, options=options)))
