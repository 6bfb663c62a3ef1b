"""KV answering end to end on a real SQLite store with the real 0.5B planner weights."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.retrieval.builders import build_store
from vidscout.errors import ConfigError
from vidscout.kv.answer import KVEngine, KVOptions
from vidscout.kv.model import TransformersKVModel, load_kv_model
from vidscout.memory.store import VideoStore
from vidscout.models.testing import HashEmbedder
from vidscout.retrieval.hybrid import SegmentSearcher
from vidscout.settings import Settings

SPEECH = [
    "The secret password for the vault is blue giraffe.",
    "Our bakery opens every morning at seven thirty.",
    "The train to Lisbon leaves from platform nine.",
    "Remember to water the tomato plants twice a week.",
    "The concert was cancelled because of the storm.",
    "Doctor Rivera will present the results on Thursday.",
]
CLIPS = [(10.0 * i, 10.0 * i + 10.0) for i in range(len(SPEECH))]


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[VideoStore]:
    embedder = HashEmbedder()
    with build_store(
        tmp_path / "video",
        clips=CLIPS,
        docs=[(i, "speech", text) for i, text in enumerate(SPEECH)],
        speech=[(a + 1.0, b - 1.0, text) for (a, b), text in zip(CLIPS, SPEECH, strict=True)],
        text_embedder=embedder,
    ) as s:
        yield s


def _engine(store: VideoStore, model: TransformersKVModel, **options: object) -> KVEngine:
    searcher = SegmentSearcher.open(store, text_embedder=HashEmbedder())
    return KVEngine(store, model, searcher=searcher, options=KVOptions.model_validate({"top_k": 3, **options}))


def test_answers_from_retrieved_caches_and_computes_only_those(
    store: VideoStore, kv_model: TransformersKVModel
) -> None:
    engine = _engine(store, kv_model)
    run = engine.run("What is the secret password for the vault?")
    assert "giraffe" in run.text.lower()
    assert 0 in run.selected and run.selected == sorted(run.selected) and len(run.selected) <= 3
    # Lazy: only the selected clips were encoded and stored, one file each.
    files = sorted((engine.kv.root / "segments").glob("*.safetensors"))
    assert [f.name for f in files] == [f"clip-{i:06d}.safetensors" for i in run.selected]
    stamps = [f.stat().st_mtime_ns for f in files]

    again = _engine(store, kv_model).run("What is the secret password for the vault?")
    assert again.token_ids == run.token_ids  # same answer from the stored caches ...
    assert [f.stat().st_mtime_ns for f in files] == stamps  # ... which were read, not rewritten


def test_answer_type_cites_the_clip_and_parses_options(store: VideoStore, kv_model: TransformersKVModel) -> None:
    engine = _engine(store, kv_model)
    # The 0.5B leans to option A when unsure (re-prefilling does too), so the right option is not A here.
    options = ["A. red lion", "B. green frog", "C. blue giraffe"]
    run = engine.run("What is the secret password for the vault?", options)
    answer = engine.to_answer("What is the secret password for the vault?", options, run)
    assert answer.option == "C", run.text
    assert answer.steps == 0 and answer.error is None
    assert any(e.span.start_s == 0.0 and "giraffe" in e.note for e in answer.evidence)


def test_kv_and_reprefill_agree_on_an_easy_question(store: VideoStore, kv_model: TransformersKVModel) -> None:
    engine = _engine(store, kv_model)
    question = "From which platform does the train to Lisbon leave?"
    kv = engine.run(question)
    prefill = engine.run(question, selected=kv.selected, mode="prefill")
    assert "nine" in kv.text.lower() and "nine" in prefill.text.lower()
    assert prefill.context_tokens == sum(len(engine.token_ids(i)) for i in kv.selected)


def test_internal_retrieval_ranks_every_clip_by_the_models_own_vectors(
    store: VideoStore, kv_model: TransformersKVModel
) -> None:
    engine = _engine(store, kv_model, retriever="internal")
    questions = [
        "What is the secret password for the vault?",
        "When does the bakery open in the morning?",
        "From which platform does the train to Lisbon leave?",
        "How often should the tomato plants be watered?",
        "Why was the concert cancelled?",
        "Who will present the results on Thursday?",
    ]
    rankings = [engine.rank(q) for q in questions]
    assert all(sorted(r.index for r in ranking) == list(range(len(SPEECH))) for ranking in rankings)
    assert engine.kv.cached_count() == len(SPEECH)  # internal retrieval needs every clip's keys
    # Question i is about clip i. Chance is 1 in 6; mean-pooled keys of a 0.5B model are a weak
    # retriever (3 of 6 when measured), which is why external retrieval is the default.
    hits = sum(ranking[0].index == i for i, ranking in enumerate(rankings))
    assert hits >= 3, [r[0].index for r in rankings]


def test_segments_are_cut_to_the_token_cap(store: VideoStore, kv_model: TransformersKVModel) -> None:
    engine = _engine(store, kv_model, max_segment_tokens=12)
    ids = engine.token_ids(0)
    assert len(ids) == 12 and kv_model.detokenize(ids[-1:]) == "\n"


def test_bad_input_raises_clear_errors(store: VideoStore, kv_model: TransformersKVModel, tmp_path: Path) -> None:
    engine = _engine(store, kv_model)
    with pytest.raises(ConfigError, match="empty"):
        engine.run("  ")
    with pytest.raises(ConfigError, match="No clip 99"):
        engine.token_ids(99)
    with pytest.raises(ConfigError, match="available: gguf, hf"):
        load_kv_model("llama:foo", Settings(data_dir=tmp_path))
    with pytest.raises(ConfigError, match="Unknown GGUF model"):
        load_kv_model("gguf:no-such-model", Settings(data_dir=tmp_path))
    with VideoStore.open(tmp_path / "empty", create=True) as empty, pytest.raises(ConfigError, match="no clips"):
        KVEngine(empty, kv_model)
