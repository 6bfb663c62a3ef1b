"""The HTTP side of ``vidscout serve``: a FastAPI app on uvicorn (the stack vLLM's OpenAI server runs on).

Routes: ``GET /health``, ``GET /version``, ``GET /v1/models``, ``POST /v1/chat/completions`` (JSON or
``stream: true`` server-sent events). Errors are ``{"error": {"message", "type", "param", "code"}}`` bodies.
Connections are asyncio tasks, not threads, and every stage has a deadline: a request's headers
(``header_timeout_s``), its body (``body_timeout_s``, else 408), an idle keep-alive connection (``keep_alive_s``).
Bodies are bounded one by one (``max_body_bytes``; ``max_text_body_bytes`` without media) and together
(``max_body_bytes_in_flight``, counted from the first byte to the answer's last; over it: 429). Model calls run
in worker threads, one at a time, ``max_waiting`` more may queue (`ChatService`). With ``api_key`` set, the /v1
routes need ``Authorization: Bearer <key>``, as with ``vllm serve --api-key``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import secrets
import socket
import threading
from collections.abc import AsyncIterator, Generator
from contextlib import ExitStack, contextmanager
from typing import Any

import uvicorn
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from vidscout import __version__
from vidscout.errors import ConfigError, VidScoutError
from vidscout.serve.protocol import error_body
from vidscout.serve.service import ChatService, HTTPError, ServeOptions

logger = logging.getLogger(__name__)


class ChatServer:
    """One `ChatService` behind HTTP: the socket is bound at construction, so `url` is known before serving."""

    def __init__(self, host: str, port: int, service: ChatService) -> None:
        """Bind ``host:port`` (port 0 picks a free one; see `url`); serve with `serve_forever` or `start`.

        Raises:
            ConfigError: The address cannot be bound (in use, or not an interface of this machine).
        """
        self.service = service
        opts = service.options
        self.app = create_app(service)
        bare = host.strip("[]")
        try:
            self.socket = socket.create_server((bare, port), family=socket.AF_INET6 if ":" in bare else socket.AF_INET)
        except OSError as e:
            raise ConfigError(f"Cannot listen on {host}:{port} ({e.strerror or e}); pick another --port.") from e
        config = uvicorn.Config(
            self.app, http=_protocol(opts.header_timeout_s), loop="asyncio", lifespan="off", log_config=None,
            access_log=False, proxy_headers=False, server_header=False, timeout_keep_alive=opts.keep_alive_s,
        )  # fmt: skip
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None
        warning = exposure_warning(host, opts)
        if warning:
            logger.warning("%s", warning)

    @property
    def url(self) -> str:
        """The API root clients use, ``http://host:port/v1``."""
        host, port = self.socket.getsockname()[:2]
        return f"http://{f'[{host}]' if ':' in host else host}:{port}/v1"

    def serve_forever(self) -> None:
        """Serve in this thread until Ctrl-C / SIGTERM (from the main thread) or `shutdown`."""
        self._server.run(sockets=[self.socket])

    def start(self) -> threading.Thread:
        """Serve in a daemon thread (for tests and embedding); stop with ``shutdown()``."""
        self._thread = threading.Thread(target=self.serve_forever, name="vidscout-serve", daemon=True)
        self._thread.start()
        return self._thread

    def shutdown(self, *, grace_s: float = 10.0) -> None:
        """Stop serving: finish the requests in flight (for at most ``grace_s``), then return."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(grace_s)
            if self._thread.is_alive():
                self._server.force_exit = True  # stop waiting for open connections
                self._thread.join(grace_s)

    def server_close(self) -> None:
        """Close the listening socket (serving closes it too when it stops)."""
        self.socket.close()


def exposure_warning(host: str, options: ServeOptions) -> str | None:
    """A warning when ``host`` is reachable from other machines and no API key is set; else None."""
    if options.api_key is not None or is_loopback(host):
        return None
    files = " and read media under --allowed-local-media-path" if options.allowed_local_media_path else ""
    return (
        f"Listening on {host} without an API key: anyone who can reach this port can run the models{files}. "
        "Set --api-key (or VIDSCOUT_SERVE_API_KEY), or listen on 127.0.0.1."
    )


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine only (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any interface


def create_app(service: ChatService) -> FastAPI:
    """The FastAPI app of `ChatServer` (usable with any ASGI server)."""
    opts = service.options
    app = FastAPI(title="vidscout serve", version=__version__, docs_url=None, redoc_url=None, openapi_url=None,
                  redirect_slashes=False)  # fmt: skip
    app.add_middleware(_TrailingSlash)
    key = opts.api_key.get_secret_value().encode() if opts.api_key is not None else None

    async def authorize(request: Request) -> None:
        if key is None:
            return
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(token.strip().encode(), key):
            raise HTTPError(401, "Invalid or missing API key: send the header `Authorization: Bearer <key>` with "
                                 "the key the server was started with (--api-key).")  # fmt: skip

    @app.exception_handler(HTTPError)
    async def _http_error(request: Request, e: HTTPError) -> Response:  # pyright: ignore[reportUnusedFunction]
        return _error(e)

    @app.exception_handler(StarletteHTTPException)
    async def _no_route(request: Request, e: StarletteHTTPException) -> Response:  # pyright: ignore[reportUnusedFunction]
        method, path = request.method, request.url.path
        if method == "POST":
            return _error(HTTPError(404, f"No route POST {path}; vidscout serve answers /v1/chat/completions."))
        return _error(HTTPError(404, f"No route {method} {path}; try /v1/models, /health or /version."))

    @app.get("/health")
    async def _health() -> Response:  # pyright: ignore[reportUnusedFunction]
        return Response(status_code=200)

    @app.get("/version")
    async def _version() -> Response:  # pyright: ignore[reportUnusedFunction]
        return JSONResponse({"version": __version__, "server": "vidscout"})

    @app.get("/v1/models", dependencies=[Depends(authorize)])
    async def _models() -> Response:  # pyright: ignore[reportUnusedFunction]
        return JSONResponse(service.models())

    bodies = _BodyBudget(opts.max_body_bytes_in_flight)

    @app.post("/v1/chat/completions", dependencies=[Depends(authorize)])
    async def _chat(request: Request) -> Response:  # pyright: ignore[reportUnusedFunction]
        return await _chat_completion(service, bodies, request)

    return app


class _BodyBudget:
    """Request bytes the server holds at once: bodies being received, and those parsed but not yet answered."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0  # only touched on the event loop: no lock

    @contextmanager
    def hold(self, size: int) -> Generator[None, None, None]:
        if self.held + size > self.limit:
            raise HTTPError(429, f"The server holds {self.held} bytes of other requests; this one's {size} would pass "
                                 f"its {self.limit}. Retry later.", retry_after_s=1)  # fmt: skip
        self.held += size
        try:
            yield
        finally:
            self.held -= size


async def _chat_completion(service: ChatService, bodies: _BodyBudget, request: Request) -> Response:
    size = _content_length(request, service.options)
    with ExitStack() as held:
        held.enter_context(bodies.hold(size))
        try:
            body = await _read_body(request, size, service.options.body_timeout_s)
            req = await run_in_threadpool(service.parse, body)  # a 256 MiB body parses for a while: off the loop
            del body  # the request holds what it needs; the budget still counts its size until the answer
            held.enter_context(service.admit())  # 429 past max_waiting, as before
            if not req.stream:
                return JSONResponse(await run_in_threadpool(service.complete, req))
            events = service.stream(req)
            try:
                first = await run_in_threadpool(_pull, events)  # runs what can still fail with a status code
            except BaseException:
                events.close()
                raise
            return _EventStream(first or b"", events, held.pop_all())
        except ClientDisconnect:
            logger.info("client went away while sending its request")
            return Response(status_code=400)  # nobody reads it
        except HTTPError:
            raise
        except VidScoutError as e:
            logger.warning("/v1/chat/completions failed: %s", e)
            return _error(HTTPError(500, str(e)))
        except Exception as e:  # a bug: log it, answer 500 and keep serving (its text may name server paths)
            logger.exception("/v1/chat/completions crashed")
            return _error(HTTPError(500, f"Internal error ({type(e).__name__}); the server log has the details."))


def _content_length(request: Request, opts: ServeOptions) -> int:
    length = request.headers.get("content-length")
    if length is None or not length.isdigit():
        raise HTTPError(411, "A Content-Length header is required.")
    size = int(length)
    if size > opts.max_body_bytes:
        raise HTTPError(413, f"The request body is {size} bytes; the limit is {opts.max_body_bytes}.")
    return size


async def _read_body(request: Request, size: int, timeout_s: float) -> bytes:
    body = bytearray()
    try:
        async with asyncio.timeout(timeout_s):  # a whole-body deadline: trickling a byte a second fails too
            more = True
            while more:
                message = await request.receive()
                if message["type"] == "http.disconnect":
                    raise ClientDisconnect()
                body += message.get("body", b"")
                more = bool(message.get("more_body", False))
    except TimeoutError:
        raise HTTPError(408, f"The request body did not arrive within {timeout_s:g} s ({len(body)} of "
                             f"{size} bytes came); send it at once.") from None  # fmt: skip
    return bytes(body)


def _pull(events: Generator[bytes, None, None]) -> bytes | None:
    return next(events, None)  # StopIteration cannot cross the thread pool


def _error(e: HTTPError) -> JSONResponse:
    if e.status >= 500:
        logger.warning("-> %d: %s", e.status, e.message)
    headers: dict[str, str] = {}
    if e.retry_after_s is not None:
        headers["Retry-After"] = str(e.retry_after_s)
    if e.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if e.status == 408:
        headers["Connection"] = "close"  # the rest of a stalled body is not worth waiting for
    return JSONResponse(error_body(e.status, e.message, param=e.param), status_code=e.status, headers=headers)


class _EventStream(StreamingResponse):
    """Server-sent events pulled from `ChatService.stream` in worker threads; closing it frees the model."""

    def __init__(self, first: bytes, events: Generator[bytes, None, None], held: ExitStack) -> None:
        super().__init__(_relay(first, events), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
        self._events = events
        self._held = held

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except (ClientDisconnect, OSError):
            logger.info("client went away during a stream")
        finally:
            # A pull in flight has finished by now (thread calls are not abandoned on cancel), so closing is safe.
            self._events.close()  # releases the model lock if the client went away mid-stream
            self._held.close()


async def _relay(first: bytes, events: Generator[bytes, None, None]) -> AsyncIterator[bytes]:
    yield first
    while (event := await run_in_threadpool(_pull, events)) is not None:
        yield event


class _TrailingSlash:
    """``/v1/models/`` is ``/v1/models``, as it was before FastAPI (whose redirect POST clients do not follow)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] == "http" and len(path) > 1 and path.endswith("/"):
            scope = {**scope, "path": path.rstrip("/") or "/"}
        await self.app(scope, receive, send)


def _protocol(header_timeout_s: float) -> type[H11Protocol]:
    """The h11 protocol of uvicorn, plus a deadline for each request's headers.

    Uvicorn times out idle keep-alive connections only: one that connects and sends half a request line, or
    trickles the rest of an unread body after an early answer (413, 429), would stay open for good.
    """

    class _HeaderDeadline(H11Protocol):
        def connection_made(self, transport: asyncio.Transport) -> None:
            super().connection_made(transport)
            self._await_headers()

        def on_response_complete(self) -> None:
            self._await_headers()  # armed first: a pipelined request that super() starts is already in time
            super().on_response_complete()

        def _await_headers(self) -> None:
            self.loop.call_later(header_timeout_s, self._headers_due, self.cycle)

        def _headers_due(self, cycle: Any) -> None:
            if self.cycle is cycle and not self.transport.is_closing():  # no new request began since
                logger.info("closing a connection that sent no request headers within %g s", header_timeout_s)
                self.transport.close()

    return _HeaderDeadline
