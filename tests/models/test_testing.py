"""The shipped test doubles behave deterministically."""

from __future__ import annotations

import numpy as np
import pytest

from vidscout.errors import BackendError
from vidscout.models.base import (
    LLM,
    ChatMessage,
    Completion,
    GenerationOptions,
    ImageTextEmbedder,
    TextEmbedder,
)
from vidscout.models.testing import HashEmbedder, ScriptedLLM


def test_hash_embedder_ranks_by_shared_words() -> None:
    emb = HashEmbedder(dim=128)
    assert isinstance(emb, TextEmbedder) and isinstance(emb, ImageTextEmbedder)
    docs = emb.embed_text(["a red car drives past", "the kitchen door opens", "A RED car!"])
    query = emb.embed_text(["red car"])[0]
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-6) and docs.dtype == np.float32
    sims = docs @ query
    assert sims[2] > sims[0] > sims[1]
    assert np.array_equal(emb.embed_text(["red car"]), HashEmbedder(dim=128).embed_text(["red car"]))
    assert not emb.embed_text([""]).any()
    images = emb.embed_images([np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8, 3), np.uint8)])
    assert images.shape == (2, 128) and np.allclose(images[0], images[1])


def test_scripted_llm_replays_records_and_runs_out() -> None:
    llm = ScriptedLLM(["first", Completion(text="", finish_reason="tool_calls")])
    assert isinstance(llm, LLM)
    msgs = [ChatMessage(role="user", content="hi")]
    assert llm.complete(msgs, GenerationOptions()).text == "first"
    assert llm.complete(msgs, GenerationOptions()).finish_reason == "tool_calls"
    assert len(llm.calls) == 2 and llm.calls[0][0] == msgs
    with pytest.raises(BackendError, match="ran out"):
        llm.complete(msgs, GenerationOptions())
    echo = ScriptedLLM(lambda m, o: f"echo {m[-1].content}")
    assert "".join(echo.stream(msgs, GenerationOptions())) == "echo hi"
