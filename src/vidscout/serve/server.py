"""The HTTP side of ``vidscout serve``: a stdlib ``ThreadingHTTPServer`` speaking vLLM's OpenAI-compatible API.

Routes: ``GET /health``, ``GET /version``, ``GET /v1/models``, ``POST /v1/chat/completions`` (JSON or
``stream: true`` server-sent events). Errors are ``{"error": {"message", "type", "param", "code"}}`` bodies.
The stdlib server keeps the package free of web-framework dependencies; one model call runs at a time anyway.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Generator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

from vidscout import __version__
from vidscout.errors import VidScoutError
from vidscout.serve.protocol import error_body
from vidscout.serve.service import ChatService, HTTPError

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 << 20  # a 2-minute clip or 64 large frames as base64 stay well below this


class ChatServer(ThreadingHTTPServer):
    """A threading HTTP server around one `ChatService`."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str, port: int, service: ChatService) -> None:
        """Bind ``host:port`` (port 0 picks a free one; see `url`)."""
        super().__init__((host, port), _Handler)
        self.service = service

    @property
    def url(self) -> str:
        """The API root clients use, ``http://host:port/v1``."""
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> threading.Thread:
        """Serve in a daemon thread (for tests and embedding); stop with ``shutdown()``."""
        thread = threading.Thread(target=self.serve_forever, name="vidscout-serve", daemon=True)
        thread.start()
        return thread


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse one connection for a whole agent run

    @property
    def service(self) -> ChatService:
        return cast(ChatServer, self.server).service

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)

    def _send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_error(self, e: HTTPError) -> None:
        headers = {"Retry-After": str(e.retry_after_s)} if e.retry_after_s is not None else None
        self._send_json(e.status, error_body(e.status, e.message, param=e.param), headers)

    def do_GET(self) -> None:
        service = self.service
        path = self.path.split("?", 1)[0].rstrip("/")
        if path == "/health":
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/version":
            self._send_json(200, {"version": __version__, "server": "vidscout"})
        elif path == "/v1/models":
            self._send_json(200, service.models())
        else:
            self._send_error(HTTPError(404, f"No route GET {path}; try /v1/models, /health or /version."))

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        try:
            body = self._read_body()
            if path != "/v1/chat/completions":
                raise HTTPError(404, f"No route POST {path}; vidscout serve answers /v1/chat/completions.")
            service = self.service
            req = service.parse(body)
            if req.stream:
                self._stream(service.stream(req))
            else:
                self._send_json(200, service.complete(req))
        except HTTPError as e:
            if e.status >= 500:
                logger.warning("%s -> %d: %s", path, e.status, e.message)
            self._send_error(e)
        except (BrokenPipeError, ConnectionResetError):
            logger.info("client went away during %s", path)
        except VidScoutError as e:
            logger.warning("%s failed: %s", path, e)
            self._send_error(HTTPError(500, str(e)))
        except Exception as e:  # a bug: answer 500 and keep serving
            logger.exception("%s crashed", path)
            self._send_error(HTTPError(500, f"Internal error: {type(e).__name__}: {e}"))

    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            raise HTTPError(411, "A Content-Length header is required.")
        if int(length) > MAX_BODY_BYTES:
            raise HTTPError(413, f"The request body is {int(length)} bytes; the limit is {MAX_BODY_BYTES}.")
        return self.rfile.read(int(length))

    def _stream(self, events: Generator[bytes, None, None]) -> None:
        first = next(events)  # runs the checks that can still change the status (HTTPError propagates)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")  # no Content-Length: the end of the stream ends the body
        self.end_headers()
        self.close_connection = True
        try:
            self.wfile.write(first)
            self.wfile.flush()
            for event in events:
                self.wfile.write(event)
                self.wfile.flush()
        finally:
            events.close()  # releases the model if the client went away mid-stream
