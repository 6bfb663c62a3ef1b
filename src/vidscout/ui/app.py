"""The local web app: pick or upload a video, watch it ingest, browse its chapters, ask with the steps streaming in.

Run ``vidscout ui --allow ~/Videos`` and open http://127.0.0.1:7860. One static page (``static/``: no build step, no
CDN, nothing fetched from the network) talks to this Starlette app, which answers through `VideoLibrary` and the
Python API alone. Long jobs (ingest, ask) run in a worker thread and stream newline-delimited JSON events.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import anyio.to_thread
from pydantic import BaseModel, Field, ValidationError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from vidscout.agent.trace import Step, final_answer
from vidscout.api import Video
from vidscout.errors import AccessError, ConfigError, VidScoutError
from vidscout.library import VIDEO_SUFFIXES, VideoLibrary
from vidscout.memory.chapters import chapter_summaries
from vidscout.types import Answer, format_span

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")

Emit = Callable[[dict[str, Any]], None]


class UIOptions(BaseModel, frozen=True):
    """Knobs of the web app."""

    max_upload_bytes: int = Field(default=8 << 30, ge=1)  # larger uploads are refused (bytes)
    chapter_thumbs: int = Field(default=4, ge=1, le=12)  # keyframes shown per chapter
    max_steps: int = Field(default=8, ge=1, le=30)  # tool calls the agent may make per question


class AskRequest(BaseModel):
    """What the page sends to ask."""

    video: str
    question: str
    options: list[str] = Field(default_factory=list[str])
    strategy: str = "agent"


def build_app(
    library: VideoLibrary, uploads: Path, *, host: str = "127.0.0.1", options: UIOptions | None = None
) -> Starlette:
    """The web app over ``library``; uploads are saved to ``uploads``, which must be one of the library's roots.

    Requests must name this machine (or ``host``) as their Host, and posts must come from the page's own
    origin, so other web sites cannot drive it through the browser (DNS rebinding, cross-site posts).
    """
    o = options or UIOptions()
    uploads = uploads.resolve()
    if uploads not in library.roots:
        raise ConfigError(f"The uploads directory {uploads} must be one of the allowed directories.")
    hosts = sorted({*LOOPBACK, host.strip("[]")})

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html")

    async def videos(request: Request) -> Response:
        found = await anyio.to_thread.run_sync(library.videos)
        return JSONResponse(
            {
                "allowed": [str(r) for r in library.roots],
                "videos": [{"video": str(v.path), "name": _label(library, v.path)} for v in found],
            }
        )

    async def upload(request: Request) -> Response:
        if (refused := _cross_site(request, hosts)) is not None:
            return refused
        name = _upload_name(request.query_params.get("name", ""))
        if name is None:
            return _problem(f"Upload a video file ({', '.join(sorted(VIDEO_SUFFIXES))}).")
        part = uploads / f".{name}.part"
        size = 0
        with open(part, "wb") as f:
            async for chunk in request.stream():
                size += len(chunk)
                if size > o.max_upload_bytes:
                    f.close()
                    part.unlink(missing_ok=True)
                    return _problem(f"The upload is over {o.max_upload_bytes >> 20} MiB.", status=413)
                f.write(chunk)
        target = _free_name(uploads, name)
        part.rename(target)
        return JSONResponse({"video": str(target), "name": _label(library, target)})

    async def open_video(request: Request) -> Response:
        if (refused := _cross_site(request, hosts)) is not None:
            return refused
        body = await _json(request)
        video = str(body.get("video", ""))

        def job(emit: Emit) -> None:
            def progress(layer: str, done: float, total: float) -> None:
                emit({"type": "progress", "layer": layer, "done": done, "total": total})

            with library.using(video, progress=progress) as handle:
                emit({"type": "ready", **_video_json(library, handle, o)})

        return _stream(job)

    async def ask(request: Request) -> Response:
        if (refused := _cross_site(request, hosts)) is not None:
            return refused
        try:
            req = AskRequest.model_validate(await _json(request))
        except ValidationError as e:
            return _problem(f"Bad request: {e.errors()[0]['msg']}")

        def job(emit: Emit) -> None:
            with library.using(req.video) as handle:
                steps: list[Step] = []
                for step in handle.iter_ask(req.question, options=req.options, strategy=req.strategy,
                                            max_steps=o.max_steps):  # fmt: skip
                    steps.append(step)
                    emit({"type": "step", "step": step.model_dump(mode="json")})
                answer = final_answer(req.question, steps, strategy=req.strategy)
                emit({"type": "answer", **_answer_json(handle, answer)})

        return _stream(job)

    async def media(request: Request) -> Response:
        try:
            path = library.resolve(request.query_params.get("video", ""))
        except AccessError as e:
            return _problem(str(e), status=403)
        return FileResponse(path)  # answers Range requests, so the player can seek

    async def frame(request: Request) -> Response:
        """The stored keyframe nearest a time (``t``, seconds) of an opened video."""
        try:
            handle = library.opened(request.query_params.get("video", ""))
            t_s = float(request.query_params.get("t", "0"))
        except AccessError as e:
            return _problem(str(e), status=403)
        except ValueError:
            return _problem("t must be a time in seconds.")
        if handle is None:
            return _problem("Open the video first.", status=404)
        nearest = handle.store.nearest_frame(t_s)
        if nearest is None:
            return _problem("The video has no keyframes.", status=404)
        return FileResponse(handle.store.frame_path(nearest), media_type="image/jpeg",
                            headers={"Cache-Control": "max-age=3600"})  # fmt: skip

    routes = [
        Route("/", index),
        Route("/api/videos", videos),
        Route("/api/upload", upload, methods=["POST"]),
        Route("/api/open", open_video, methods=["POST"]),
        Route("/api/ask", ask, methods=["POST"]),
        Route("/media", media),
        Route("/frame", frame),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    return Starlette(routes=routes, middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=hosts)])


# --- jobs streamed as NDJSON ------------------------------------------------------------------


def _stream(job: Callable[[Emit], None]) -> StreamingResponse:
    """Run ``job`` in a worker thread and stream what it emits, one JSON object per line.

    The job runs to its end even when the page goes away, so the models' lock is always released.
    A `VidScoutError` becomes an ``{"type": "error"}`` event with its message.
    """
    events: queue.Queue[dict[str, Any] | None] = queue.Queue()

    def work() -> None:
        try:
            job(events.put)
        except VidScoutError as e:
            events.put({"type": "error", "message": str(e)})
        except Exception:
            log.exception("web app job failed")
            events.put({"type": "error", "message": "Internal error; see the server's log."})
        finally:
            events.put(None)

    threading.Thread(target=work, name="vidscout-ui-job", daemon=True).start()

    async def lines() -> AsyncIterator[bytes]:
        while (event := await anyio.to_thread.run_sync(events.get)) is not None:
            yield (json.dumps(event) + "\n").encode()

    return StreamingResponse(lines(), media_type="application/x-ndjson", headers={"Cache-Control": "no-store"})


def _video_json(library: VideoLibrary, video: Video, o: UIOptions) -> dict[str, Any]:
    """The opened video for the page: its media URL and its chapters, each with keyframe thumbnails."""
    times = {f.file: f.t_s for f in video.store.frames()}
    chapters = [
        {
            "index": s.index,
            "start_s": s.span.start_s,
            "end_s": s.span.end_s,
            "span": format_span(s.span),
            "title": s.title,
            "thumbs": [
                {"t_s": float(times[f]), "url": _frame_url(video, float(times[f]))}
                for f in s.keyframes[: o.chapter_thumbs]
            ],
        }
        for s in chapter_summaries(video.store, keyframes=o.chapter_thumbs)
    ]
    return {
        "video": str(video.path),
        "name": _label(library, video.path),
        "url": f"/media?video={quote(str(video.path))}",
        "duration_s": video.deps.duration_s,
        "chapters": chapters,
    }


def _answer_json(video: Video, answer: Answer) -> dict[str, Any]:
    """The answer with, per evidence span, the stored keyframe at its start (where clicking it seeks)."""
    evidence = [
        {
            "start_s": e.span.start_s,
            "end_s": e.span.end_s,
            "label": e.label(),
            "thumb": _frame_url(video, e.span.start_s),
        }
        for e in answer.evidence
    ]
    return {"answer": answer.model_dump(mode="json"), "evidence": evidence}


def _frame_url(video: Video, t_s: float) -> str:
    return f"/frame?video={quote(str(video.path))}&t={t_s:.3f}"


# --- small helpers ----------------------------------------------------------------------------

_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


def _upload_name(raw: str) -> str | None:
    """A safe file name for an upload (no directories, no hidden files), or None when it is not a video's."""
    name = _UNSAFE.sub("_", Path(raw.replace("\\", "/")).name).strip(" .")
    if not name or Path(name).suffix.lower() not in VIDEO_SUFFIXES:
        return None
    return name[-120:]


def _free_name(folder: Path, name: str) -> Path:
    target, stem, suffix, n = folder / name, Path(name).stem, Path(name).suffix, 1
    while target.exists():
        target, n = folder / f"{stem}-{n}{suffix}", n + 1
    return target


def _label(library: VideoLibrary, path: Path) -> str:
    root = next(r for r in library.roots if path.is_relative_to(r))
    return f"{root.name}/{path.relative_to(root).as_posix()}"


def _cross_site(request: Request, hosts: list[str]) -> Response | None:
    """A 403 for posts whose Origin is another site (a page elsewhere posting to this app through the browser)."""
    origin = request.headers.get("origin")
    if origin is None or (urlsplit(origin).hostname or "") in hosts:
        return None
    return _problem("Cross-site requests are refused.", status=403)


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _problem(message: str, *, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)
