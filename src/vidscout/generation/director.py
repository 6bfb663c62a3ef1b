"""The director: a story or a storyboard becomes a validated `ScenePlan` and a generator `Timeline`.

From a one-line story, the LLM writes the plan as schema-constrained JSON; a plan that fails validation goes
back to the LLM with the errors, as a retry (instructor's re-ask, pydantic-ai's ``ModelRetry``). From a
storyboard file, the plan is validated directly: unknown ids and non-positive durations are errors the user
fixes; what can be repaired safely is repaired with a note (an over-long plan is scaled to the generator's
limit, fps and size follow the generator, out-of-vocabulary words are mapped to the grammar).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, cast

from pydantic import BaseModel, Field, ValidationError

from vidscout.errors import BackendError, ConfigError
from vidscout.generation.base import GeneratorCapabilities, Timeline
from vidscout.generation.plan import Entity, Location, ScenePlan, Shot, compile_timeline, ensure_valid, format_errors
from vidscout.models.base import LLM, ChatMessage, GenerationOptions
from vidscout.prompts.render import render


class DirectorOptions(BaseModel, frozen=True):
    """Knobs of the planning loop."""

    max_attempts: int = Field(default=3, ge=1, description="LLM replies tried before giving up.")
    max_shots: int = Field(default=6, ge=1, description="Most shots the LLM may plan.")
    max_tokens: int = Field(default=700, ge=64, description="Token budget of one plan reply.")
    temperature: float = Field(default=0.0, ge=0.0, description="0: greedy (reproducible plans).")
    min_shot_s: float = Field(default=1.0, ge=0.0, description="Shortest shot the LLM may plan (seconds).")


class DirectorResult(BaseModel, frozen=True):
    """A compiled plan, its timeline, and what the director changed or retried on the way."""

    plan: ScenePlan
    timeline: Timeline
    notes: tuple[str, ...] = ()
    attempts: int = 0


# --- the LLM-facing plan schema ---------------------------------------------------------------------


def draft_schema(capabilities: GeneratorCapabilities, options: DirectorOptions) -> dict[str, Any]:
    """The JSON schema the LLM's reply is constrained to.

    For a grammar generator the schema spells the vocabulary out as enums, so a small planner cannot leave
    the grammar; ids and durations are still checked afterwards (and sent back on failure).
    """
    if capabilities.prompt_style != "grammar" or capabilities.vocabulary is None:
        schema = ScenePlan.model_json_schema()
        schema["properties"]["shots"]["maxItems"] = options.max_shots
        return schema
    vocab = capabilities.vocabulary
    entity = {
        "type": "object", "additionalProperties": False, "required": ["id", "colour", "shape"],
        "properties": {"id": {"type": "string"}, "colour": {"enum": list(vocab["colour"])},
                       "shape": {"enum": list(vocab["shape"])}},
    }  # fmt: skip
    shot = {
        "type": "object", "additionalProperties": False,
        "required": ["entity", "direction", "background", "duration_s", "transition_in"],
        "properties": {"entity": {"type": "string"}, "direction": {"enum": list(vocab["direction"])},
                       "background": {"enum": list(vocab["background"])}, "duration_s": {"type": "number"},
                       "transition_in": {"enum": ["cut", "continue"]}},
    }  # fmt: skip
    return {
        "type": "object", "additionalProperties": False, "required": ["title", "entities", "shots"],
        "properties": {"title": {"type": "string"},
                       "entities": {"type": "array", "minItems": 1, "maxItems": 4, "items": entity},
                       "shots": {"type": "array", "minItems": 1, "maxItems": options.max_shots, "items": shot}},
    }  # fmt: skip


class _DraftEntity(BaseModel):
    id: str
    colour: str
    shape: str


class _DraftShot(BaseModel):
    entity: str
    direction: str
    background: str
    duration_s: float
    transition_in: str


class _Draft(BaseModel):
    title: str = "untitled"
    entities: list[_DraftEntity]
    shots: list[_DraftShot]


def plan_from_draft(data: Mapping[str, Any]) -> ScenePlan:
    """Expand a grammar draft (see `draft_schema`) into a full plan with canonical descriptions.

    Raises:
        ValueError: The draft is malformed (a `ValidationError` names the field).
    """
    draft = _Draft.model_validate(data)
    entities = tuple(
        Entity(id=e.id, kind="shape", name=f"{e.colour} {e.shape}", description=f"a {e.colour} {e.shape}")
        for e in draft.entities
    )
    backgrounds = list(dict.fromkeys(s.background for s in draft.shots))
    locations = tuple(Location(id=f"{bg}_bg", description=f"a {bg} background") for bg in backgrounds)
    shots = tuple(
        Shot.model_validate({
            "id": f"shot{i + 1}", "duration_s": s.duration_s, "location": f"{s.background}_bg",
            "entities": (s.entity,), "action": f"moves {s.direction}", "transition_in": s.transition_in,
        })
        for i, s in enumerate(draft.shots)
    )  # fmt: skip
    return ScenePlan(title=draft.title, entities=entities, locations=locations, shots=shots)


def check_limits(plan: ScenePlan, capabilities: GeneratorCapabilities) -> list[str]:
    """Problems a valid plan can still have for this generator (empty: none)."""
    problems: list[str] = []
    total = sum(s.duration_s for s in plan.shots)
    if total > capabilities.max_seconds:
        problems.append(f"the plan lasts {total:g} s but the generator renders at most {capabilities.max_seconds:g} s")
    limit = capabilities.max_entities_per_shot
    for shot in plan.shots:
        if limit is not None and len(shot.entities) > limit:
            problems.append(
                f"shot {shot.id!r} shows {len(shot.entities)} entities; the generator draws at most {limit}"
            )
        if limit is not None and not shot.entities:
            problems.append(f"shot {shot.id!r} shows no entity; name one")
    return problems


# --- one-line story → plan (LLM loop) ------------------------------------------------------------------


def _system_prompt(capabilities: GeneratorCapabilities, style: str) -> str:
    return render(
        "director_system",
        grammar=capabilities.prompt_style == "grammar",
        vocabulary=capabilities.vocabulary or {},
        max_seconds=capabilities.max_seconds,
        block_s=capabilities.block_s,
        style=style or "cinematic, natural light",
    )


def direct_story(
    story: str,
    llm: LLM,
    capabilities: GeneratorCapabilities,
    options: DirectorOptions | None = None,
    *,
    style: str = "",
) -> DirectorResult:
    """Plan ``story`` with ``llm``; validation errors go back to the LLM until a plan passes.

    Raises:
        ConfigError: The story is empty.
        BackendError: No valid plan after ``options.max_attempts`` replies (the last errors are included).
    """
    opts = options or DirectorOptions()
    if not story.strip():
        raise ConfigError("The story is empty; write one line of what should happen.")
    schema = draft_schema(capabilities, opts)
    messages = [
        ChatMessage(role="system", content=_system_prompt(capabilities, style)),
        ChatMessage(role="user", content=f"Story: {story.strip()}"),
    ]
    gen = GenerationOptions(max_tokens=opts.max_tokens, temperature=opts.temperature, json_schema=schema)
    errors = ""
    for attempt in range(1, opts.max_attempts + 1):
        reply = llm.complete(messages, gen)
        try:
            result = _accept(reply.text, capabilities, opts)
        except (ValueError, ConfigError) as e:  # ValidationError is a ValueError
            errors = format_errors(e) if isinstance(e, ValidationError) else f"- {e}"
            messages += [
                ChatMessage(role="assistant", content=reply.text),
                ChatMessage(role="user", content=render("director_retry", errors=errors)),
            ]
            continue
        note = (f"the planner needed {attempt} replies",) if attempt > 1 else ()
        return result.model_copy(update={"attempts": attempt, "notes": (*note, *result.notes)})
    raise BackendError(f"The director got no valid plan in {opts.max_attempts} replies; last problems:\n{errors}")


def _accept(text: str, capabilities: GeneratorCapabilities, options: DirectorOptions) -> DirectorResult:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"the reply is not JSON ({e.msg} at character {e.pos})") from e
    if not isinstance(data, dict):
        raise ValueError("the reply must be a JSON object")
    mapping = cast(dict[str, Any], data)
    plan = plan_from_draft(mapping) if capabilities.prompt_style == "grammar" else ScenePlan.model_validate(mapping)
    problems = check_limits(plan, capabilities)
    problems += [f"shot {s.id!r} lasts {s.duration_s:g} s; give every shot at least {options.min_shot_s:g} s"
                 for s in plan.shots if s.duration_s < options.min_shot_s]  # fmt: skip
    if problems:
        raise ValueError("; ".join(problems))
    timed, timeline = compile_timeline(plan, capabilities)
    return DirectorResult(plan=timed, timeline=timeline)


# --- storyboard file → plan (validate, repair with notes) -------------------------------------------

_SYNONYMS: dict[str, dict[str, str]] = {
    "shape": {"ball": "circle", "disc": "circle", "disk": "circle", "dot": "circle", "box": "square",
              "block": "square", "cube": "square", "pyramid": "triangle"},
    "colour": {"grey": "gray", "crimson": "red", "scarlet": "red", "lime": "green", "navy": "blue", "gold": "yellow"},
    "direction": {"leftward": "left", "leftwards": "left", "rightward": "right", "rightwards": "right",
                  "upward": "up", "upwards": "up", "downward": "down", "downwards": "down", "west": "left",
                  "east": "right", "north": "up", "south": "down"},
    "background": {"grey": "gray", "dark": "black", "night": "black", "snow": "white"},
}  # fmt: skip


def _grammar_word(text: str, slot: str, vocabulary: Mapping[str, tuple[str, ...]]) -> str | None:
    """The one vocabulary word for ``slot`` that ``text`` names (directly or by a common synonym), else None."""
    found = {
        w
        for token in re.findall(r"[a-z]+", text.lower())
        for w in (token, _SYNONYMS.get(slot, {}).get(token, ""))
        if w in vocabulary[slot]
    }
    return found.pop() if len(found) == 1 else None


def _repair_word(
    text: str, slot: str, capabilities: GeneratorCapabilities, llm: LLM | None, notes: list[str], what: str
) -> str:
    vocab = capabilities.vocabulary or {}
    word = _grammar_word(text, slot, vocab)
    if word is not None:
        return word
    if llm is None:
        raise ConfigError(
            f"{what} {text!r} names no {slot} the embedded generator knows ({', '.join(vocab[slot])}); "
            f"rewrite it, or pass a planner (--llm) to map it."
        )
    schema = {"type": "object", "required": ["value"], "additionalProperties": False,
              "properties": {"value": {"enum": list(vocab[slot])}}}  # fmt: skip
    prompt = render("director_repair", slot=slot, text=text, words=vocab[slot])
    reply = llm.complete(
        [ChatMessage(role="user", content=prompt)], GenerationOptions(max_tokens=24, json_schema=schema)
    )
    try:
        value = str(json.loads(reply.text)["value"])
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise BackendError(f"The planner could not map {text!r} to a {slot}: {reply.text!r}") from e
    if value not in vocab[slot]:
        raise BackendError(f"The planner mapped {text!r} to {value!r}, which is not a {slot}")
    notes.append(f"{what} {text!r}: the planner mapped it to the {slot} {value!r}")
    return value


def _fit_grammar(plan: ScenePlan, capabilities: GeneratorCapabilities, llm: LLM | None, notes: list[str]) -> ScenePlan:
    """Rewrite descriptions and actions onto the grammar's vocabulary (noting every change)."""
    entities: list[Entity] = []
    for e in plan.entities:
        colour = _repair_word(e.description, "colour", capabilities, llm, notes, f"entity {e.id!r} description")
        shape = _repair_word(e.description, "shape", capabilities, llm, notes, f"entity {e.id!r} description")
        canonical = f"a {colour} {shape}"
        if canonical != e.description:
            notes.append(f"entity {e.id!r}: {e.description!r} → {canonical!r}")
        entities.append(e.model_copy(update={"description": canonical}))
    locations: list[Location] = []
    for loc in plan.locations:
        bg = _repair_word(loc.description, "background", capabilities, llm, notes, f"location {loc.id!r}")
        canonical = f"a {bg} background"
        if canonical != loc.description:
            notes.append(f"location {loc.id!r}: {loc.description!r} → {canonical!r}")
        locations.append(loc.model_copy(update={"description": canonical}))
    shots: list[Shot] = []
    limit = capabilities.max_entities_per_shot
    for shot in plan.shots:
        direction = _repair_word(shot.action, "direction", capabilities, llm, notes, f"shot {shot.id!r} action")
        update: dict[str, Any] = {"action": f"moves {direction}"}
        if update["action"] != shot.action:
            notes.append(f"shot {shot.id!r}: action {shot.action!r} → {update['action']!r}")
        if limit is not None and len(shot.entities) > limit:
            update["entities"] = shot.entities[:limit]
            notes.append(f"shot {shot.id!r}: the generator draws {limit} entity per shot; kept {shot.entities[:limit]}")
        if not shot.entities:
            raise ConfigError(f"shot {shot.id!r} shows no entity; the embedded generator needs one (entities: [id]).")
        shots.append(shot.model_copy(update=update))
    return plan.model_copy(update={"entities": tuple(entities), "locations": tuple(locations), "shots": tuple(shots)})


def plan_storyboard(data: object, capabilities: GeneratorCapabilities, *, llm: LLM | None = None) -> DirectorResult:
    """Validate a storyboard (parsed YAML/JSON), repair what is safe to repair, and compile it.

    Raises:
        ConfigError: The storyboard is malformed: unknown ids, non-positive durations, an empty shot list,
            or (without a planner) words the embedded grammar cannot express.
    """
    plan = ensure_valid(data)
    notes: list[str] = []
    if plan.fps is not None and plan.fps != capabilities.fps:
        notes.append(f"fps {plan.fps:g} → {capabilities.fps:g} (the generator's rate)")
    size = (capabilities.width, capabilities.height)
    if plan.resolution is not None and tuple(plan.resolution) != size:
        notes.append(f"resolution {plan.resolution[0]}x{plan.resolution[1]} → {size[0]}x{size[1]} (the generator's)")
    total = sum(s.duration_s for s in plan.shots)
    if total > capabilities.max_seconds:
        factor = capabilities.max_seconds / total
        plan = plan.model_copy(
            update={"shots": tuple(s.model_copy(update={"duration_s": s.duration_s * factor}) for s in plan.shots)}
        )
        notes.append(f"the plan lasted {total:g} s; shots scaled by {factor:.3f} to the generator's "
                     f"{capabilities.max_seconds:g} s limit")  # fmt: skip
    if capabilities.prompt_style == "grammar":
        plan = _fit_grammar(plan, capabilities, llm, notes)
    if plan.shots[0].transition_in == "continue":
        notes.append(f"shot {plan.shots[0].id!r} is first, so it enters by a cut (nothing to continue)")
    fpb, fps = capabilities.frames_per_block, capabilities.fps
    for s in plan.shots:
        blocks = max(1, round(s.duration_s * fps / fpb))
        if abs(blocks * fpb / fps - s.duration_s) > 1e-6:
            notes.append(f"shot {s.id!r}: {s.duration_s:g} s → {blocks * fpb / fps:g} s (whole {fpb}-frame blocks)")
    timed, timeline = compile_timeline(plan, capabilities)
    return DirectorResult(plan=timed, timeline=timeline, notes=tuple(notes))


def load_storyboard(text: str) -> object:
    """Parse storyboard text (YAML, of which JSON is a subset).

    Raises:
        ConfigError: The text is not valid YAML or not a mapping.
    """
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(f"The storyboard is not valid YAML: {e}") from e
    if not isinstance(data, dict):
        raise ConfigError("A storyboard is a YAML mapping with 'locations', 'entities' and 'shots'.")
    return cast(dict[str, Any], data)
