"""The plan a director writes: entities, locations and shots, validated, then compiled to a generator timeline.

Canonical descriptions are re-inserted verbatim into every prompt that shows an entity or location, which
is what keeps a character looking the same from shot to shot (VideoDirectorGPT's entity descriptions,
VideoStudio's consistent entities). `compile_timeline` rounds durations to whole AR blocks and maps
``continue`` to a prompt switch (KV recache) and ``cut`` to a cache reset.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, Field, model_validator

from vidscout.errors import ConfigError
from vidscout.generation import world
from vidscout.generation.base import GeneratorCapabilities, Timeline, TimelineSegment, Transition

_ID = r"^[A-Za-z][A-Za-z0-9_-]*$"


class Entity(BaseModel, frozen=True):
    """Someone or something that appears in shots."""

    id: str = Field(pattern=_ID, description="Short id that shots refer to, e.g. 'hero'.")
    kind: str = Field(default="object", description="character, animal, object, vehicle, shape, ...")
    name: str = Field(default="", description="Human-readable name.")
    description: str = Field(min_length=1, description="Canonical look, inserted verbatim into every prompt.")


class Location(BaseModel, frozen=True):
    """A place shots happen in."""

    id: str = Field(pattern=_ID)
    description: str = Field(min_length=1, description="Canonical description, inserted verbatim into prompts.")


class Camera(BaseModel, frozen=True):
    """How the shot is framed."""

    shot_type: Literal["extreme-wide", "wide", "medium", "close-up", "extreme-close-up"] = "wide"
    angle: Literal["eye-level", "high", "low", "overhead", "dutch"] = "eye-level"
    movement: Literal["static", "pan", "tilt", "dolly", "tracking", "zoom", "handheld"] = "static"


class LayoutBox(BaseModel, frozen=True):
    """Where an entity sits in the frame, normalised (x0, y0, x1, y1) in [0, 1] (VideoDirectorGPT layouts)."""

    entity: str
    box: tuple[float, float, float, float]

    @model_validator(mode="after")
    def _inside(self) -> Self:
        x0, y0, x1, y1 = self.box
        if not (0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1):
            raise ValueError(f"layout box {self.box} must satisfy 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1")
        return self


class Shot(BaseModel, frozen=True):
    """One shot: a single action in one location, entering by a cut or continuing the previous shot."""

    id: str = Field(pattern=_ID)
    scene: int = Field(default=1, ge=1)
    start_s: float | None = Field(default=None, ge=0, description="Filled in by validation (shots are contiguous).")
    duration_s: float = Field(gt=0, description="Seconds on screen.")
    location: str = Field(description="A location id.")
    entities: tuple[str, ...] = Field(default=(), description="Entity ids visible in the shot.")
    action: str = Field(min_length=1, description="The one thing that happens, e.g. 'moves left'.")
    camera: Camera = Field(default_factory=Camera)
    lighting: str = Field(default="", description="Lighting and mood.")
    transition_in: Transition = Field(default="cut", description="cut: new scene; continue: same scene, new prompt.")
    layout: tuple[LayoutBox, ...] = ()
    prompt: str = Field(default="", description="Compiled by the director; leave empty.")


class ScenePlan(BaseModel, frozen=True):
    """A whole storyboard, validated: ids unique, references known, shots contiguous from 0."""

    title: str = "untitled"
    logline: str = ""
    style: str = ""
    fps: float | None = Field(default=None, gt=0, description="Default: the generator's.")
    resolution: tuple[int, int] | None = Field(default=None, description="(width, height); default: the generator's.")
    total_s: float | None = Field(default=None, description="Filled in by validation.")
    entities: tuple[Entity, ...] = ()
    locations: tuple[Location, ...] = Field(min_length=1)
    shots: tuple[Shot, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _references(self) -> Self:
        for kind, items in (("entity", self.entities), ("location", self.locations), ("shot", self.shots)):
            seen: set[str] = set()
            for item in items:
                if item.id in seen:
                    raise ValueError(f"duplicate {kind} id {item.id!r}")
                seen.add(item.id)
        entity_ids, location_ids = {e.id for e in self.entities}, {loc.id for loc in self.locations}
        for shot in self.shots:
            unknown = [e for e in shot.entities if e not in entity_ids]
            unknown += [b.entity for b in shot.layout if b.entity not in entity_ids]
            if unknown:
                known = ", ".join(sorted(entity_ids)) or "none defined"
                raise ValueError(
                    f"shot {shot.id!r} refers to unknown entity id(s) {', '.join(unknown)}; known: {known}"
                )
            if shot.location not in location_ids:
                known = ", ".join(sorted(location_ids))
                raise ValueError(f"shot {shot.id!r} refers to unknown location {shot.location!r}; known: {known}")
        return self

    def timed(self) -> ScenePlan:
        """The plan with ``start_s`` of every shot and ``total_s`` filled in (shots back to back from 0)."""
        t, shots = 0.0, []
        for shot in self.shots:
            shots.append(shot.model_copy(update={"start_s": round(t, 6)}))
            t += shot.duration_s
        return self.model_copy(update={"shots": tuple(shots), "total_s": round(t, 6)})

    def entity(self, entity_id: str) -> Entity:
        """The entity with this id."""
        return next(e for e in self.entities if e.id == entity_id)

    def location(self, location_id: str) -> Location:
        """The location with this id."""
        return next(loc for loc in self.locations if loc.id == location_id)


def compile_prompt(plan: ScenePlan, shot: Shot, capabilities: GeneratorCapabilities) -> str:
    """The generator prompt for ``shot``: canonical descriptions verbatim, in the generator's prompt style."""
    location = plan.location(shot.location).description
    entities = [plan.entity(e).description for e in shot.entities]
    if capabilities.prompt_style == "grammar":
        # The embedded world: exactly "<entity> <action> over <location>", which `world.parse_prompt` checks.
        return f"{' and '.join(entities)} {shot.action} over {location}".strip()
    cam = shot.camera
    parts = [
        plan.style,
        f"{cam.shot_type} {cam.angle} shot, {cam.movement} camera",
        f"{' and '.join(entities)} {shot.action} in {location}".strip(),
        shot.lighting,
    ]
    return ". ".join(p.strip().rstrip(".") for p in parts if p.strip()) + "."


def compile_timeline(plan: ScenePlan, capabilities: GeneratorCapabilities) -> tuple[ScenePlan, Timeline]:
    """Round each shot to whole blocks (at least one) and build the timeline; returns the plan with prompts.

    The first shot always enters by a cut (there is nothing to continue). Prompts are compiled here, so a
    plan's ``prompt`` fields are outputs, never trusted inputs.

    Raises:
        ConfigError: A compiled prompt is outside a grammar generator's prompt language.
    """
    fps, fpb = capabilities.fps, capabilities.frames_per_block
    segments: list[TimelineSegment] = []
    shots: list[Shot] = []
    frame = 0
    for i, shot in enumerate(plan.shots):
        blocks = max(1, round(shot.duration_s * fps / fpb))
        prompt = compile_prompt(plan, shot, capabilities)
        if capabilities.prompt_style == "grammar":
            world.parse_prompt(prompt)  # raises ConfigError with the grammar in the message
        transition: Transition = "cut" if i == 0 else shot.transition_in
        segments.append(TimelineSegment(shot_id=shot.id, prompt=prompt, start_frame=frame, n_frames=blocks * fpb,
                                        transition=transition))  # fmt: skip
        shots.append(shot.model_copy(update={"prompt": prompt, "start_s": frame / fps, "duration_s": blocks * fpb / fps,
                                             "transition_in": transition}))  # fmt: skip
        frame += blocks * fpb
    timed = plan.model_copy(update={"shots": tuple(shots), "total_s": frame / fps, "fps": fps,
                                    "resolution": (capabilities.width, capabilities.height)})  # fmt: skip
    return timed, Timeline(fps=fps, frames_per_block=fpb, segments=tuple(segments))


def ensure_valid(data: object) -> ScenePlan:
    """Validate plan data (a dict from YAML/JSON), turning pydantic's errors into one clear `ConfigError`."""
    from pydantic import ValidationError

    try:
        return ScenePlan.model_validate(data)
    except ValidationError as e:
        raise ConfigError(f"Invalid storyboard:\n{format_errors(e)}") from e


def format_errors(error: Exception) -> str:
    """Pydantic validation errors as ``path: message`` lines (the text the director's LLM also sees)."""
    from pydantic import ValidationError

    if not isinstance(error, ValidationError):
        return str(error)
    lines: list[str] = []
    for err in error.errors():
        where = ".".join(str(p) for p in err["loc"]) or "plan"
        got = f" (got {err['input']!r})" if "input" in err and not isinstance(err["input"], dict | list) else ""
        lines.append(f"- {where}: {err['msg']}{got}")
    return "\n".join(lines)
