"""Options every command shares, and the one place a command's `Settings` is built."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from vidscout.settings import Settings

if TYPE_CHECKING:
    from vidscout.library import VideoLibrary

ProfileOpt = Annotated[
    str | None,
    typer.Option("--profile", help="Backend profile: embedded (offline CPU) or vllm."),
]
DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Where databases and weights live."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
AllowOpt = Annotated[
    list[Path],
    typer.Option("--allow", help="A directory whose videos may be read (repeat for more); nothing else is served."),
]
BaseUrlOpt = Annotated[
    str | None,
    typer.Option("--base-url", help="OpenAI-compatible server (vllm profile)."),
]


def build_library(allow: list[Path], settings: Settings) -> VideoLibrary:
    """The videos a server may serve: those under ``--allow`` directories (see `vidscout.library`)."""
    from vidscout.library import VideoLibrary

    return VideoLibrary(allow, settings)


def build_settings(profile: str | None, data_dir: Path | None, *, base_url: str | None = None) -> Settings:
    """The one `Settings` of a command: the environment (read by `Settings` alone) plus explicit options."""
    overrides: dict[str, Any] = {"base_url": base_url} if base_url else {}
    if profile is not None:
        overrides["profile"] = profile
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    try:
        return Settings(**overrides)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from e
