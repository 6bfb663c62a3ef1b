"""vidscout as an MCP server (``vidscout mcp``): ingest, the agent's tools and ``ask`` for any MCP client.

Built on the official ``mcp`` SDK (``pip install 'vidscout[mcp]'``); the tools are the Python API's, with the
same validated arguments and fix-it errors the built-in agent gets.
"""

from __future__ import annotations

from vidscout.mcp.server import VidscoutMCP, build_server

__all__ = ["VidscoutMCP", "build_server"]
