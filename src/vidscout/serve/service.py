"""The chat-completions logic of ``vidscout serve``, apart from HTTP: request in, response dict or SSE out.

Text-only requests go to the planner `LLM` (tools, ``tool_choice``, ``response_format`` JSON schemas);
requests with image or video parts go to the `VideoLLM` with the frames' times. One model call runs at a
time (llama.cpp contexts are not thread-safe); more than ``max_waiting`` queued requests get HTTP 429.
Media are decoded before a request takes its turn at the model, within pixel caps per request and for all
requests together (over the shared one: 429, retry later).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Generator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, cast

from pydantic import BaseModel, Field, SecretStr, ValidationError, model_validator

from vidscout.errors import BackendError, ConfigError, MediaError
from vidscout.models.base import LLM, ChatMessage, Completion, GenerationOptions, ToolCall, VideoLLM
from vidscout.serve.media import FULL_HD, Frames, MediaLimits, PixelTally, collect_frames
from vidscout.serve.protocol import ChatRequest, Message, NamedToolChoice, error_body

logger = logging.getLogger(__name__)


class HTTPError(Exception):
    """A request that ends in an HTTP error status with an OpenAI/vLLM-style error body."""

    def __init__(self, status: int, message: str, *, param: str | None = None, retry_after_s: int | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.retry_after_s = retry_after_s


class TokenCounter(Protocol):
    """What a planner offers for the context-length check (`GGUFLLM` does)."""

    n_ctx: int

    def count_tokens(self, messages: list[ChatMessage], options: GenerationOptions) -> int:
        """Prompt length in tokens."""
        ...


class ServeOptions(BaseModel, frozen=True):
    """Knobs of the server; the media ones mirror the `vllm serve` flags of the same names."""

    served_model_names: tuple[str, ...] = Field(min_length=1)  # ids /v1/models lists and requests may name
    limit_mm_per_prompt: dict[str, int] = Field(default_factory=lambda: {"image": 32, "video": 1})
    video_num_frames: int = Field(default=32, ge=-1)  # frames per video, at most (-1: no ceiling)
    allowed_local_media_path: str | None = None  # file:// media must be under this directory
    max_model_len: int | None = Field(default=None, ge=16)  # prompt + reply tokens; default: the planner's
    default_max_tokens: int = Field(default=512, ge=1)  # reply budget when a request names none
    max_waiting: int = Field(default=8, ge=0)  # requests queued behind the running one before 429
    # Decoded media, in RGB pixels (frames x width x height; 3 bytes each): 32 full-HD frames are 199 MB.
    max_request_pixels: int = Field(default=32 * FULL_HD, ge=1)  # per request, all its images and videos
    max_pixels_in_flight: int = Field(default=64 * FULL_HD, ge=1)  # all requests being decoded or answered
    max_decode_pixels: int = Field(default=30 * 60 * 30 * FULL_HD, ge=1)  # a video's length: 30 min of 1080p30
    # HTTP (`ChatServer`):
    api_key: SecretStr | None = None  # /v1 routes need `Authorization: Bearer <key>` (vLLM's --api-key)
    max_body_bytes: int = Field(default=256 << 20, ge=1024)  # a request with media: a 2-minute clip fits
    max_text_body_bytes: int = Field(default=2 << 20, ge=1024)  # text only: tokenising costs ~1.1 s per MB
    max_body_bytes_in_flight: int = Field(default=512 << 20, ge=1024)  # all bodies received and not yet answered
    body_timeout_s: float = Field(default=60.0, gt=0)  # a body must arrive this soon after its headers (else 408)
    header_timeout_s: float = Field(default=10.0, gt=0)  # a connection must send its request headers this soon
    keep_alive_s: int = Field(default=5, ge=1)  # an idle keep-alive connection closes after this (uvicorn's)

    @model_validator(mode="after")
    def _one_request_fits(self) -> ServeOptions:
        if self.max_pixels_in_flight < self.max_request_pixels:
            raise ValueError("max_pixels_in_flight must be at least max_request_pixels (one request must fit)")
        if self.max_body_bytes_in_flight < self.max_body_bytes:
            raise ValueError("max_body_bytes_in_flight must be at least max_body_bytes (one request must fit)")
        return self


class Models(Protocol):
    """The two models the server needs, built on first access (`vidscout.models.registry.Backends` fits)."""

    @property
    def llm(self) -> LLM:
        """The planner."""
        ...

    @property
    def video_llm(self) -> VideoLLM:
        """The Video-LLM."""
        ...

    def spec(self, role: str) -> str:
        """The backend spec of a role."""
        ...


class ChatService:
    """Serves `ChatRequest`s with one planner and one Video-LLM."""

    def __init__(self, models: Models, options: ServeOptions) -> None:
        """Wire the models (each loads on first use, or in `warm`).

        Args:
            models: Their ``llm`` answers text-only requests (with tool calling), their ``video_llm``
                requests with image or video parts.
            options: Served names and limits.
        """
        self.backends = models
        self.options = options
        self.roots = {"llm": models.spec("llm"), "video_llm": models.spec("video_llm")}
        self._n_ctx: int | None = None
        self.limits = MediaLimits(
            per_prompt=options.limit_mm_per_prompt,
            num_frames=options.video_num_frames,
            allowed_local_media_path=_path(options.allowed_local_media_path),
            max_pixels=options.max_request_pixels,
            max_decode_pixels=options.max_decode_pixels,
        )
        self.created = int(time.time())
        self._model_lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._active = 0
        self._pixels_held = 0  # decoded media pixels all requests hold now

    @property
    def llm(self) -> LLM:
        """The planner (loaded on first access)."""
        llm = self.backends.llm
        counter = _counter(llm)
        if self._n_ctx is None and counter is not None:
            self._n_ctx = counter.n_ctx
        return llm

    @property
    def video_llm(self) -> VideoLLM:
        """The Video-LLM (loaded on first access)."""
        return self.backends.video_llm

    def warm(self) -> None:
        """Load both models now, so the first request does not pay for it (and load errors show at start)."""
        _ = self.llm, self.video_llm

    @property
    def max_model_len(self) -> int | None:
        """Context length the server enforces (the option, else the planner's window once it is loaded)."""
        return self.options.max_model_len or self._n_ctx

    def models(self) -> dict[str, Any]:
        """The ``GET /v1/models`` body."""
        root = f"llm={self.roots['llm']}; video_llm={self.roots['video_llm']}"
        data = [
            {"id": name, "object": "model", "created": self.created, "owned_by": "vidscout", "root": root,
             "parent": None, "max_model_len": self.max_model_len}
            for name in self.options.served_model_names
        ]  # fmt: skip
        return {"object": "list", "data": data}

    @contextmanager
    def admit(self) -> Generator[None, None, None]:
        """Hold a place among the requests being served (decoded, queued or answered) while inside.

        Raises:
            HTTPError: 429 when ``max_waiting`` requests wait behind the running one already.
        """
        with self._count_lock:
            if self._active > self.options.max_waiting:
                raise HTTPError(429, f"{self._active} requests are already running or waiting; retry later.",
                                retry_after_s=1)  # fmt: skip
            self._active += 1
        try:
            yield
        finally:
            with self._count_lock:
                self._active -= 1

    def _reserve_pixels(self, pixels: int) -> None:
        with self._count_lock:
            held, limit = self._pixels_held, self.options.max_pixels_in_flight
            if held + pixels > limit:
                raise HTTPError(
                    429,
                    f"The server holds {held / 1e6:.1f}M pixels of decoded media for other requests and this one "
                    f"needs {pixels / 1e6:.1f}M more, over its {limit / 1e6:.1f}M; retry later (or set "
                    "`--max-pixels-in-flight` to increase this limit).",
                    retry_after_s=1,
                )
            self._pixels_held += pixels

    @contextmanager
    def _frames(self, req: ChatRequest) -> Generator[Frames, None, None]:
        """The request's decoded media, their pixels reserved from the shared budget until the block ends."""
        tally = PixelTally(self.limits.max_pixels, self._reserve_pixels)
        try:
            yield collect_frames(req.messages, req.media_io_kwargs, self.limits, tally=tally)
        finally:
            with self._count_lock:
                self._pixels_held -= tally.used

    def parse(self, body: bytes) -> ChatRequest:
        """Validate a request body; raise `HTTPError` 400/404 (413: a long text-only body) with a clear message."""
        try:
            req = ChatRequest.model_validate_json(body)
        except ValidationError as e:
            problems = "; ".join(f"{'.'.join(map(str, err['loc'])) or 'body'}: {err['msg']}" for err in e.errors())
            raise HTTPError(400, f"Invalid request: {problems}") from e
        limit = self.options.max_text_body_bytes
        if len(body) > limit and not req.has_media():
            # Refused before tokenising: that alone costs about a second per MB, and the prompt could not fit.
            raise HTTPError(413, f"The request body is {len(body)} bytes; a request without images or videos may "
                                 f"be at most {limit} bytes.")  # fmt: skip
        names = self.options.served_model_names
        if req.model is not None and req.model not in names:
            raise HTTPError(404, f"The model `{req.model}` does not exist. Served: {', '.join(names)}.", param="model")
        return req

    def complete(self, req: ChatRequest) -> dict[str, Any]:
        """A ``chat.completion`` body for a non-streamed request."""
        done = self._run(req)
        return _completion_body(req, done, self.options.served_model_names[0])

    def stream(self, req: ChatRequest) -> Generator[bytes, None, None]:
        """Server-sent events of ``chat.completion.chunk``s, ending with ``data: [DONE]``.

        Plain text streams as it is generated; tool calls and Video-LLM answers come in one chunk.
        """
        model = req.model or self.options.served_model_names[0]
        chunk_id = f"chatcmpl-{uuid.uuid4().hex}"

        def event(delta: dict[str, Any], finish: str | None = None) -> bytes:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            body = {"id": chunk_id, "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
                    "choices": [choice]}  # fmt: skip
            return f"data: {json.dumps(body)}\n\n".encode()

        # Everything that can fail with a status code runs before the first event, so the handler can
        # still send that status (it pulls the first event before writing headers).
        if req.has_media() or req.tools or req.response_format is not None:
            done = self._run(req)
            yield event({"role": "assistant", "content": ""})
            if done.tool_calls:
                yield event({"tool_calls": [dict(_call_json(c), index=i) for i, c in enumerate(done.tool_calls)]})
            elif done.text:
                yield event({"content": done.text})
            yield event({}, done.finish_reason)
        else:
            with self._model_lock:  # held across the yields: closing the generator releases it
                messages, options = self._planner_request(req)
                yield event({"role": "assistant", "content": ""})
                try:
                    for delta in self.llm.stream(messages, options):
                        yield event({"content": delta})
                except BackendError as e:
                    logger.warning("stream failed: %s", e)
                    yield f"data: {json.dumps(error_body(500, f'The model failed: {e}'))}\n\n".encode()
                else:
                    yield event({}, "stop")
        yield b"data: [DONE]\n\n"

    def _run(self, req: ChatRequest) -> Completion:
        try:
            if req.has_media():
                # Decoding happens before the request's turn at the model, so it overlaps another request's call.
                with self._frames(req) as frames, self._model_lock:
                    prompt = frames.text or "Describe the video."
                    text = self.video_llm.describe(frames.images, frames.times_s, prompt)
                return Completion(text=text, finish_reason="stop")
            with self._model_lock:
                messages, options = self._planner_request(req)
                return self._planner_call(req, messages, options)
        except (MediaError, ConfigError) as e:
            raise HTTPError(400, str(e)) from e
        except BackendError as e:
            raise HTTPError(500, f"The model failed: {e}") from e

    def _planner_request(self, req: ChatRequest) -> tuple[list[ChatMessage], GenerationOptions]:
        llm = self.llm
        messages = [_chat_message(m) for m in req.messages]
        stop = (req.stop,) if isinstance(req.stop, str) else tuple(req.stop or ())
        tools = [t.model_dump() for t in req.tools] if req.tools and req.tool_choice != "none" else None
        schema: dict[str, Any] | None = None
        if req.response_format is not None and req.response_format.type == "json_schema":
            spec = req.response_format.json_schema or {}
            schema = spec.get("schema", spec) if isinstance(spec.get("schema", spec), dict) else None
            if not schema:
                raise HTTPError(400, "response_format json_schema needs {'json_schema': {'schema': {...}}}.")
        elif req.response_format is not None and req.response_format.type == "json_object":
            schema = {"type": "object"}
        options = GenerationOptions(
            max_tokens=1, temperature=req.temperature or 0.0, json_schema=schema, tools=tools, stop=stop
        )
        asked = req.max_completion_tokens or req.max_tokens
        counter = _counter(llm)
        limit = self.max_model_len
        if counter is not None and limit is not None:
            prompt = counter.count_tokens(messages, options)
            max_tokens = asked or max(1, min(self.options.default_max_tokens, limit - prompt))
            if prompt + max_tokens > limit:
                raise HTTPError(
                    400,
                    f"This model's maximum context length is {limit} tokens. However, you requested "
                    f"{prompt + max_tokens} tokens ({prompt} in the messages, {max_tokens} in the completion). "
                    "Please reduce the length of the messages or completion.",
                    param="messages",
                )
        else:
            max_tokens = asked or self.options.default_max_tokens
        return messages, options.model_copy(update={"max_tokens": max_tokens})

    def _planner_call(self, req: ChatRequest, messages: list[ChatMessage], options: GenerationOptions) -> Completion:
        choice = req.tool_choice
        tools = {t.function.name: t.function for t in req.tools or []}
        name = choice.function.get("name", "") if isinstance(choice, NamedToolChoice) else ""
        if isinstance(choice, NamedToolChoice) or (choice == "required" and tools):
            # Forced calls are decoded under a JSON schema (a grammar on GGUF planners), like vLLM's guided decoding.
            if isinstance(choice, NamedToolChoice):
                if name not in tools:
                    raise HTTPError(400, f"tool_choice names {name!r}, which is not in tools.", param="tool_choice")
                schema: dict[str, Any] = tools[name].parameters
            else:
                schema = {"anyOf": [
                    {"type": "object", "properties": {"name": {"const": n}, "arguments": f.parameters},
                     "required": ["name", "arguments"]}
                    for n, f in tools.items()
                ]}  # fmt: skip
            done = self.llm.complete(messages, options.model_copy(update={"tools": None, "json_schema": schema}))
            try:
                value = json.loads(done.text)
            except json.JSONDecodeError as e:
                raise HTTPError(500, f"The model's forced tool call is not JSON: {done.text[:200]!r}") from e
            named = isinstance(choice, NamedToolChoice)
            call_name, args = (name, value) if named else (value["name"], value["arguments"])
            call = ToolCall(id=f"chatcmpl-tool-{uuid.uuid4().hex}", name=call_name, arguments=json.dumps(args))
            return done.model_copy(update={"text": "", "tool_calls": (call,), "finish_reason": "tool_calls"})
        return self.llm.complete(messages, options)


def _path(value: str | None) -> Path | None:
    return Path(value).expanduser() if value else None


def _counter(llm: object) -> TokenCounter | None:
    ok = callable(getattr(llm, "count_tokens", None)) and isinstance(getattr(llm, "n_ctx", None), int)
    return cast(TokenCounter, llm) if ok else None


def _chat_message(m: Message) -> ChatMessage:
    role = "system" if m.role == "developer" else m.role
    content: str | list[dict[str, Any]] = (
        m.content if isinstance(m.content, str) else [p.model_dump(exclude_none=True) for p in m.content or []]
    )
    calls = [c.model_dump(exclude_none=True) for c in m.tool_calls] if m.tool_calls else None
    return ChatMessage(role=role, content=content, tool_calls=calls, tool_call_id=m.tool_call_id, name=m.name)


def _call_json(call: ToolCall) -> dict[str, Any]:
    call_id = call.id if call.id.startswith("chatcmpl-tool-") else f"chatcmpl-tool-{uuid.uuid4().hex}"
    return {"id": call_id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}


def _completion_body(req: ChatRequest, done: Completion, default_model: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": done.text or None}
    if done.tool_calls:
        message["tool_calls"] = [_call_json(c) for c in done.tool_calls]
    finish = "tool_calls" if done.tool_calls else done.finish_reason
    usage = {"prompt_tokens": done.prompt_tokens, "completion_tokens": done.completion_tokens,
             "total_tokens": done.prompt_tokens + done.completion_tokens}  # fmt: skip
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
        "model": req.model or default_model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": usage,
    }  # fmt: skip
