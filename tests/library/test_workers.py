"""One worker, a process pool of two, and Ray build the same databases and the same library index."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import ray

from vidscout.memory.batch import ingest_resources, worker_settings
from vidscout.memory.build import IngestOptions
from vidscout.memory.catalog import LibraryUpdate, update_library
from vidscout.memory.library_index import LibraryIndex
from vidscout.memory.store import LAYER_TABLES, VideoStore
from vidscout.models.registry import Backends
from vidscout.settings import Settings

OPTIONS = IngestOptions(sample_every_s=3.0)
TABLES = sorted(t for tables in LAYER_TABLES.values() for t in tables)


def _digest(settings: Settings, update: LibraryUpdate) -> dict[str, Any]:
    """Row counts of every table and the documents of each video's store, and the library index's documents."""
    stores: dict[str, Any] = {}
    for row in update.rows:
        assert row.key is not None, row
        with VideoStore.open(settings.videos_dir / row.key) as store:
            counts = {t: store.count(t) for t in TABLES}
            docs = [(d.kind, d.start_s, d.end_s, d.text) for d in store.documents()]
            speech = [(u.start_s, u.end_s, u.text) for u in sorted(store.utterances(), key=lambda u: u.id)]
        stores[row.name] = {"counts": counts, "docs": docs, "speech": speech}
    with LibraryIndex.open(update.root) as index:
        library = {"docs": [t for _, t in index.all_doc_texts()], "frames": index.count("frames")}
    return {"stores": stores, "library": library}


@pytest.fixture(scope="module")
def videos(short_set: list[Path]) -> list[Path]:
    return short_set[:3]  # street and film footage, one with a spoken sentence


@pytest.fixture(scope="module")
def one_worker(videos: list[Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    # One thread, as each of the two workers below gets: on another thread count Whisper's int8 sums run in another
    # order, and borderline noise can be heard differently.
    settings = Settings(data_dir=tmp_path_factory.mktemp("one"), threads=1)
    update = update_library("three", videos, settings, options=OPTIONS, backends=Backends(settings))
    assert [r.status for r in update.rows] == ["ingested"] * 3
    return _digest(settings, update)


def test_a_process_pool_builds_the_same_databases(
    videos: list[Path], one_worker: dict[str, Any], tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path, threads=2)
    update = update_library("three", videos, settings, options=OPTIONS, workers=2)
    assert [r.status for r in update.rows] == ["ingested"] * 3
    assert _digest(settings, update) == one_worker
    assert worker_settings(settings, 2).threads == 1


@pytest.fixture
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


def test_ray_builds_the_same_databases(
    videos: list[Path], one_worker: dict[str, Any], tmp_path: Path, local_ray: None
) -> None:
    settings = Settings(data_dir=tmp_path, threads=2)
    update = update_library("three", videos, settings, options=OPTIONS, workers=2, runner="ray")
    assert update.runner == "ray" and [r.status for r in update.rows] == ["ingested"] * 3, update.rows
    assert _digest(settings, update) == one_worker


def test_ingest_tasks_declare_their_cpu_and_gpu_needs(tmp_path: Path) -> None:
    embedded = Settings(data_dir=tmp_path, threads=3)
    assert ingest_resources(embedded, gpus=1).model_dump() == {"num_cpus": 3.0, "num_gpus": 0.0}  # all CPU models
    on_gpu = Settings(data_dir=tmp_path, profile="vllm")  # CLIP frame embeddings run on CUDA when there is one
    assert ingest_resources(on_gpu, gpus=1).num_gpus == 0.25
    assert ingest_resources(on_gpu, gpus=0).num_gpus == 0.0  # no GPU in the cluster: CLIP runs on CPU
