"""Generator registry: spec strings to factories, like `vidscout.models.registry` for the other roles.

``embedded`` (the shipped checkpoint) or ``embedded:/path/to/tiny_ar.pt``; on a GPU host,
``longlive:/path/to/LongLive?config=configs/longlive_inference.yaml`` and
``self-forcing:/path/to/Self-Forcing?config=...&ckpt=...``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

from vidscout.errors import ConfigError
from vidscout.generation.base import Generator
from vidscout.models.probe import Options, parse_spec
from vidscout.settings import Settings

Factory = Callable[[str, Options, Settings], Generator]


def _embedded(model: str, opts: Options, settings: Settings) -> Generator:
    from vidscout.generation.embedded import CHECKPOINT, EmbeddedGenerator

    return EmbeddedGenerator.load(Path(model).expanduser() if model else CHECKPOINT, threads=settings.threads)


def _pipeline(kind: Literal["longlive", "self-forcing"]) -> Factory:
    def make(model: str, opts: Options, settings: Settings) -> Generator:
        from vidscout.generation.gpu import PipelineGenerator

        if not model:
            raise ConfigError(f"{kind} needs the path of its repository checkout: {kind}:/path/to/repo?config=...")
        repo = Path(model).expanduser()
        if "config" not in opts:
            raise ConfigError(f"{kind} needs ?config=<inference yaml, relative to the checkout>")
        ckpt = repo / opts["ckpt"] if "ckpt" in opts else None
        return PipelineGenerator(repo, repo / opts["config"], kind=kind, ckpt=ckpt)

    return make


GENERATORS: dict[str, Factory] = {
    "embedded": _embedded,
    "longlive": _pipeline("longlive"),
    "self-forcing": _pipeline("self-forcing"),
}


def make_generator(spec: str, settings: Settings) -> Generator:
    """Build the generator for ``spec``.

    Raises:
        ConfigError: Unknown generator kind (the message lists the available ones).
        ModelUnavailableError: Its weights, checkout or GPU are missing.
    """
    kind, model, opts = parse_spec(spec)
    if kind not in GENERATORS:
        raise ConfigError(f"Unknown generator {kind!r} (spec {spec!r}); available: {', '.join(sorted(GENERATORS))}")
    return GENERATORS[kind](model, opts, settings)
