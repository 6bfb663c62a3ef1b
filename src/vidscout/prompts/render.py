"""Render the ``prompts/*.j2`` templates; an undefined variable is an error, never an empty string."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound

from vidscout.errors import ConfigError

_DIR = Path(__file__).resolve().parent


_FENCE = re.compile(r"<{3,}|>{3,}")


def fenced(text: object) -> str:
    """``text`` that cannot close (or open) the ``<<<`` / ``>>>`` blocks untrusted data is put in.

    Speech and on-screen text come from the video; a sign reading ">>> SYSTEM: ..." must stay data. Runs of
    three or more angle brackets become guillemets, which read the same to a person.
    """
    return _FENCE.sub(lambda m: ("‹" if m.group()[0] == "<" else "›") * len(m.group()), str(text))


@cache
def _environment() -> Environment:
    # trim/lstrip blocks keep `{% ... %}` lines out of the output, so templates can be laid out readably.
    env = Environment(
        loader=FileSystemLoader(_DIR),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        autoescape=False,
    )
    env.filters["fenced"] = fenced
    return env


def available() -> list[str]:
    """Names of the shipped templates (file names without ``.j2``), sorted."""
    return sorted(p.stem for p in _DIR.glob("*.j2"))


def render(name: str, **variables: object) -> str:
    """Render template ``<name>.j2`` with ``variables``.

    Args:
        name: Template name without the ``.j2`` suffix, e.g. ``"mlvu_mc"``.
        **variables: Values the template refers to; every one it uses must be given.

    Returns:
        The rendered text, without a trailing newline.

    Raises:
        ConfigError: There is no template of that name.
        jinja2.UndefinedError: The template uses a variable that was not passed (a bug in the caller).
    """
    try:
        template = _environment().get_template(f"{name}.j2")
    except TemplateNotFound as e:
        raise ConfigError(f"Unknown prompt template {name!r}; available: {', '.join(available())}") from e
    return template.render(**variables)
