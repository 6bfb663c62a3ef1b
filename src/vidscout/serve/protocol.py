"""Request models of the OpenAI chat API as vLLM accepts it (the subset ``vidscout serve`` implements).

Unknown top-level fields are ignored, as vLLM does; unknown content-part types are rejected with a clear
message. vLLM's extra fields ``media_io_kwargs`` and ``mm_processor_kwargs`` are accepted.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class MediaURL(BaseModel):
    """``{"url": ...}`` of an ``image_url`` / ``video_url`` part (``detail`` is accepted and ignored)."""

    url: str = Field(min_length=1)
    detail: str | None = None


class ContentPart(BaseModel):
    """One part of a message's content: text, an image or a video (``uuid`` is vLLM's cache key)."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["text", "image_url", "video_url"]
    text: str | None = None
    image_url: MediaURL | None = None
    video_url: MediaURL | None = None
    uuid: str | None = None


class FunctionCall(BaseModel):
    """The function of an assistant tool call (``arguments`` is JSON text)."""

    name: str
    arguments: str = "{}"


class ToolCallIn(BaseModel):
    """A tool call in an assistant message of the conversation."""

    id: str | None = None
    type: Literal["function"] = "function"
    function: FunctionCall


class Message(BaseModel):
    """One message of the conversation."""

    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None
    tool_calls: list[ToolCallIn] | None = None
    tool_call_id: str | None = None
    name: str | None = None


class FunctionDef(BaseModel):
    """A tool's function definition."""

    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1)
    description: str | None = None
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


class ToolDef(BaseModel):
    """``{"type": "function", "function": {...}}``."""

    type: Literal["function"] = "function"
    function: FunctionDef


class NamedToolChoice(BaseModel):
    """``{"type": "function", "function": {"name": ...}}``: the reply must call this tool."""

    type: Literal["function"] = "function"
    function: dict[str, str]


class ResponseFormat(BaseModel):
    """``{"type": "json_schema", "json_schema": {"name": ..., "schema": {...}}}``, ``json_object`` or ``text``."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["text", "json_object", "json_schema"]
    json_schema: dict[str, Any] | None = None


class ChatRequest(BaseModel):
    """``POST /v1/chat/completions``."""

    model_config = ConfigDict(extra="ignore")

    model: str | None = None
    messages: list[Message] = Field(min_length=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    stream: bool = False
    stop: str | list[str] | None = None
    n: int = Field(default=1, ge=1, le=1, description="Only one choice per request is generated.")
    tools: list[ToolDef] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    response_format: ResponseFormat | None = None
    media_io_kwargs: dict[str, dict[str, Any]] | None = None
    mm_processor_kwargs: dict[str, Any] | None = None

    def has_media(self) -> bool:
        """Whether any message carries an image or video part."""
        return any(p.type != "text" for m in self.messages if isinstance(m.content, list) for p in m.content)


def error_body(status: int, message: str, *, param: str | None = None) -> dict[str, Any]:
    """VLLM's error body: ``{"error": {"message", "type", "param", "code"}}``."""
    kinds = {
        400: "BadRequestError",
        401: "AuthenticationError",
        404: "NotFoundError",
        413: "BadRequestError",
        429: "RateLimitError",
    }
    kind = kinds.get(status, "InternalServerError" if status >= 500 else "BadRequestError")
    return {"error": {"message": message, "type": kind, "param": param, "code": status}}
