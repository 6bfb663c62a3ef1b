"""``vidscout ui``: the local web app. Run ``vidscout ui --allow ~/Videos`` and open http://127.0.0.1:7860."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from vidscout.cli.options import AllowOpt, BaseUrlOpt, DataDirOpt, ProfileOpt, build_library, build_settings

console = Console(stderr=True)


def ui(
    allow: AllowOpt,
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 7860,
    host: Annotated[str, typer.Option(help="Interface to listen on (127.0.0.1: this machine only).")] = "127.0.0.1",
    profile: ProfileOpt = None,
    data_dir: DataDirOpt = None,
    base_url: BaseUrlOpt = None,
) -> None:
    """A local web app: pick or upload a video, watch it ingest, browse chapters, ask with the steps streaming in."""
    import uvicorn

    from vidscout.ui import build_app

    settings = build_settings(profile, data_dir, base_url=base_url)
    uploads = settings.data_dir / "uploads"  # uploaded videos live here, and may be read like --allow ones
    uploads.mkdir(parents=True, exist_ok=True)
    library = build_library([*allow, uploads], settings)
    if host not in ("127.0.0.1", "localhost", "::1"):
        console.print(f"[yellow]warning:[/] serving on {host} without authentication: anyone who reaches it "
                      "can read the allowed videos and upload files.")  # fmt: skip
    console.print(f"vidscout at [bold]http://{host}:{port}[/] (uploads go to {uploads}; Ctrl-C stops)")
    try:
        uvicorn.run(build_app(library, uploads, host=host), host=host, port=port, log_level="warning")
    finally:
        library.close()
