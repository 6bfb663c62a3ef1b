"""Deterministic test doubles for unit tests of ranking and agent-loop logic (never for user-facing claims).

`HashEmbedder` embeds by hashing word tokens; `ScriptedLLM` replays queued replies.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from vidscout.errors import BackendError
from vidscout.models.base import ChatMessage, Completion, GenerationOptions, Image, l2_normalise

_TOKEN = re.compile(r"[a-z0-9]+")


def _bucket(token: str, dim: int) -> tuple[int, float]:
    digest = hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    return value % dim, 1.0 if (value >> 63) & 1 else -1.0  # a sign bit halves collision bias


class HashEmbedder:
    """A bag-of-words embedder: each lower-cased word token adds ±1 to one hashed dimension.

    Texts sharing words get positive cosine similarity; disjoint texts are near-orthogonal. Satisfies
    both `TextEmbedder` and `ImageTextEmbedder` (images hash their coarse 4×4 mean-colour grid).
    """

    def __init__(self, dim: int = 256, *, name: str = "hash") -> None:
        """Args: dim: vector size; name: shown in listings."""
        self.dim = dim
        self.name = name

    def embed_text(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Embed texts, shape (n, dim) float32, rows L2-normalised (all-zero for texts without words)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in _TOKEN.findall(text.lower()):
                col, sign = _bucket(token, self.dim)
                out[row, col] += sign
        return l2_normalise(out)

    def embed_images(self, images: Sequence[Image]) -> NDArray[np.float32]:
        """Embed frames by hashing quantised cell colours, shape (n, dim) float32."""
        words: list[str] = []
        for image in images:
            h, w = image.shape[:2]
            tokens: list[str] = []
            for k in range(16):
                i, j = divmod(k, 4)
                cell = image[i * h // 4 : (i + 1) * h // 4, j * w // 4 : (j + 1) * w // 4].reshape(-1, 3)
                tokens.append(f"c{k}x" + "x".join(str(int(v) // 64) for v in cell.mean(axis=0)))
            words.append(" ".join(tokens))
        return self.embed_text(words)


Responder = Callable[[Sequence[ChatMessage], GenerationOptions], Completion | str]


class ScriptedLLM:
    """An `LLM` that replays queued replies, or asks a function (like pydantic-ai's ``FunctionModel``).

    Every call's messages and options are recorded in ``calls`` for assertions.
    """

    def __init__(
        self,
        replies: Iterable[Completion | str] | Responder = (),
        *,
        name: str = "scripted",
        call_mode: Literal["tools", "json"] = "tools",
    ) -> None:
        """Queue the replies.

        Args:
            replies: Completions (or plain texts) in order, or a function computing each reply.
            name: The spec it reports.
            call_mode: How it takes tool calls; ``"json"`` plays a grammar-constrained planner.
        """
        self.name = name
        self.call_mode: Literal["tools", "json"] = call_mode
        self.calls: list[tuple[list[ChatMessage], GenerationOptions]] = []
        self._responder: Responder | None = replies if callable(replies) else None
        self._queue: list[Completion | str] = [] if callable(replies) else list(replies)

    def complete(self, messages: Sequence[ChatMessage], options: GenerationOptions) -> Completion:
        """Return the next scripted reply.

        Raises:
            BackendError: The script ran out of replies.
        """
        self.calls.append((list(messages), options))
        if self._responder is not None:
            reply = self._responder(messages, options)
        elif self._queue:
            reply = self._queue.pop(0)
        else:
            raise BackendError(f"ScriptedLLM ran out of replies after {len(self.calls) - 1} call(s)")
        return Completion(text=reply) if isinstance(reply, str) else reply

    def stream(self, messages: Sequence[ChatMessage], options: GenerationOptions) -> Iterator[str]:
        """Yield the next reply's text word by word."""
        text = self.complete(messages, options).text
        yield from re.findall(r"\S+\s*|\s+", text)
