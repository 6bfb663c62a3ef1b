"""``vidscout mcp``: the MCP server, over stdio (what desktop clients launch) or streamable HTTP on loopback.

Run ``vidscout mcp --allow ~/Videos`` from an MCP client's config, or ``vidscout mcp --allow ~/Videos --http 8765``
and point the client at ``http://127.0.0.1:8765/mcp``.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from vidscout.cli.options import AllowOpt, BaseUrlOpt, DataDirOpt, ProfileOpt, build_library, build_settings

console = Console(stderr=True)  # stdout is the protocol's


def mcp(
    allow: AllowOpt,
    http: Annotated[
        int | None, typer.Option("--http", help="Serve streamable HTTP on this TCP port, not stdio.", min=1, max=65535)
    ] = None,
    host: Annotated[str, typer.Option(help="Interface for --http (127.0.0.1: this machine only).")] = "127.0.0.1",
    profile: ProfileOpt = None,
    data_dir: DataDirOpt = None,
    base_url: BaseUrlOpt = None,
) -> None:
    """Serve ingest, search, transcript, browse, chapters, zoom_in and ask to MCP clients (stdio by default)."""
    from vidscout.mcp import build_server

    library = build_library(allow, build_settings(profile, data_dir, base_url=base_url))
    server = build_server(library)
    try:
        if http is None:
            server.run()
            return
        if host not in ("127.0.0.1", "localhost", "::1"):
            console.print(f"[yellow]warning:[/] serving on {host} without authentication: anyone who reaches it "
                          "can read the allowed videos.")  # fmt: skip
        console.print(f"vidscout MCP server at [bold]http://{host}:{http}/mcp[/] (Ctrl-C stops)")
        server.run("streamable-http", host=host, port=http)
    finally:
        library.close()
