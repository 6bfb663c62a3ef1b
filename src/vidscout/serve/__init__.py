"""``vidscout serve``: the embedded models behind vLLM's OpenAI-compatible API; and ``vidscout vllm`` helpers.

`ChatServer` (HTTP) wraps a `ChatService` (requests → model calls); `serve_plans` / `check_server` build
and check the `vllm serve` command lines of the vllm profile.
"""

from __future__ import annotations

from vidscout.serve.server import ChatServer
from vidscout.serve.service import ChatService, HTTPError, ServeOptions

__all__ = ["ChatServer", "ChatService", "HTTPError", "ServeOptions"]
