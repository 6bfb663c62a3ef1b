"""Ingest many videos at once: in this process, in a local process pool, or as one Ray task per video.

Every video is ingested by `vidscout.memory.build.ingest` into its own store, so a batch is resumable per
video (a rerun finds finished stores cached and continues half-built ones), and one video failing does not
stop the others: its error is reported in its `VideoOutcome`. Each worker loads the models once and keeps
them for the videos it is given.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from vidscout.errors import ConfigError, VidScoutError
from vidscout.memory.build import IngestOptions, IngestReport, captions_enabled, ingest
from vidscout.models.probe import parse_spec
from vidscout.models.registry import Backends, resolve_specs
from vidscout.settings import Settings

log = logging.getLogger(__name__)

Runner = Literal["local", "ray"]

GPU_BACKENDS = frozenset({"clip"})
"""Backend kinds that run on a CUDA device when one is present (the others use CPU threads or a server)."""

_INGEST_ROLES = ("asr", "ocr", "tagger", "image_text", "text", "speaker")
"""The model roles the ingest layers run locally (captions add ``video_llm`` when they are on)."""


class VideoOutcome(BaseModel):
    """What happened to one video of a batch."""

    path: Path
    report: IngestReport | None = None  # None when it failed
    error: str | None = None  # why it failed: the error's message (its type for an unexpected one)
    seconds: float = Field(default=0.0, description="Wall time of its ingest in the worker.")
    worker: str = Field(default="", description="Which process ingested it (host:pid).")

    @property
    def ok(self) -> bool:
        """Whether the video's database is complete."""
        return self.report is not None


class IngestResources(BaseModel, frozen=True):
    """What one ingest task asks of a Ray cluster: CPU threads for the models, and a GPU share for CUDA ones."""

    num_cpus: float = Field(ge=0)
    num_gpus: float = Field(default=0.0, ge=0)


def worker_settings(settings: Settings, workers: int) -> Settings:
    """``settings`` with the model threads shared out among ``workers`` processes (at least one each).

    The stores do not depend on how many workers build them (the library tests compare 1 and 2 workers at one
    thread each). They can depend on the thread count: Whisper's int8 sums run in another order and can hear
    borderline noise differently.
    """
    return settings.model_copy(update={"threads": max(1, settings.threads // max(workers, 1))})


def ingest_resources(settings: Settings, options: IngestOptions | None = None, *, gpus: float = 0.0) -> IngestResources:
    """The Ray resources of one ingest task: ``settings.threads`` CPUs, and a GPU share when a layer uses CUDA.

    Args:
        settings: The (per-worker) settings the task runs with.
        options: Ingest knobs (whether captions run a local Video-LLM).
        gpus: GPUs in the cluster; without any, CUDA backends run on CPU and no GPU is asked for.
    """
    specs = resolve_specs(settings)
    roles = [
        *_INGEST_ROLES,
        *(["video_llm"] if captions_enabled(options or IngestOptions(), specs["video_llm"]) else []),
    ]
    on_gpu = gpus > 0 and any(parse_spec(specs[r])[0] in GPU_BACKENDS for r in roles)
    # Several videos share a GPU: the embedders need a fraction of its memory and are idle between batches.
    return IngestResources(num_cpus=float(settings.threads), num_gpus=0.25 if on_gpu else 0.0)


def ingest_many(
    videos: Sequence[Path],
    settings: Settings,
    *,
    options: IngestOptions | None = None,
    workers: int = 1,
    runner: Runner = "local",
    backends: Backends | None = None,
    on_done: Callable[[VideoOutcome], None] | None = None,
) -> list[VideoOutcome]:
    """Ingest every video into ``settings.videos_dir``; returns one outcome per video, in the input order.

    Args:
        videos: The video files.
        settings: Where stores live and which models build them.
        options: Ingest knobs.
        workers: Videos ingested at once (local runner); each worker gets ``settings.threads // workers``
            model threads. 1 ingests in this process, one video after another.
        runner: ``local`` (this machine) or ``ray`` (one task per video on the cluster that ``RAY_ADDRESS``
            names, or a local one; the data dir must be shared by its nodes).
        backends: Models to reuse when ingesting in this process (``workers == 1``, local runner).
        on_done: Called with each outcome as soon as its video is done (in this process).

    Raises:
        ConfigError: ``workers`` is below 1, or Ray is asked for and not installed.
    """
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1 (got {workers}).")
    done = on_done or (lambda _: None)
    if runner == "ray":
        outcomes = _on_ray(videos, worker_settings(settings, workers), options, done)
    elif workers == 1:
        here = backends if backends is not None else Backends(settings)
        outcomes = []
        for video in videos:
            outcomes.append(_ingest_one(video, settings, options, here))
            done(outcomes[-1])
    else:
        outcomes = _in_pool(videos, worker_settings(settings, workers), options, workers, done)
    return outcomes


def _ingest_one(video: Path, settings: Settings, options: IngestOptions | None, backends: Backends) -> VideoOutcome:
    """Ingest one video, turning any failure into an outcome (the batch goes on)."""
    t0 = time.perf_counter()
    worker = f"{os.uname().nodename}:{os.getpid()}"
    try:
        report = ingest(video, settings.videos_dir, backends, options=options)
    except VidScoutError as e:
        return VideoOutcome(path=video, error=str(e), seconds=time.perf_counter() - t0, worker=worker)
    except Exception as e:  # a bug or an unexpected library failure on one file must not end the batch
        log.warning("Ingesting %s failed unexpectedly", video, exc_info=True)
        error = f"{type(e).__name__}: {e}"
        return VideoOutcome(path=video, error=error, seconds=time.perf_counter() - t0, worker=worker)
    return VideoOutcome(path=video, report=report, seconds=time.perf_counter() - t0, worker=worker)


_WORKER_BACKENDS: dict[str, Backends] = {}
"""Per worker process: the models built for a settings object, so they load once per process, not per video."""


def _worker_ingest(video: Path, settings: Settings, options: IngestOptions | None) -> VideoOutcome:
    """Body of one pool job or Ray task."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # spinning OpenMP threads slow busy machines 10-40x
    key = settings.model_dump_json()
    backends = _WORKER_BACKENDS.get(key)
    if backends is None:
        _WORKER_BACKENDS.clear()
        backends = _WORKER_BACKENDS[key] = Backends(settings)
    return _ingest_one(video, settings, options, backends)


def _in_pool(
    videos: Sequence[Path],
    settings: Settings,
    options: IngestOptions | None,
    workers: int,
    done: Callable[[VideoOutcome], None],
) -> list[VideoOutcome]:
    # Spawned, not forked: a fork of a process holding model threads can deadlock in the child.
    context = multiprocessing.get_context("spawn")
    results: dict[int, VideoOutcome] = {}
    with ProcessPoolExecutor(max_workers=min(workers, max(len(videos), 1)), mp_context=context) as pool:
        futures: dict[Future[VideoOutcome], int] = {
            pool.submit(_worker_ingest, video, settings, options): i for i, video in enumerate(videos)
        }
        for future in as_completed(futures):
            i = futures[future]
            try:
                outcome = future.result()
            except BrokenProcessPool as e:
                outcome = VideoOutcome(path=videos[i], error=f"a worker process died ({e}); rerun to retry")
            results[i] = outcome
            done(outcome)
    return [results[i] for i in range(len(videos))]


def _on_ray(
    videos: Sequence[Path], settings: Settings, options: IngestOptions | None, done: Callable[[VideoOutcome], None]
) -> list[VideoOutcome]:
    try:
        import ray
        from ray.exceptions import RayError
    except ImportError as e:
        raise ConfigError("--ray needs Ray: pip install 'vidscout[ray]'.") from e
    if not ray.is_initialized():
        # No address: Ray connects to the cluster RAY_ADDRESS names, or starts a local one.
        ray.init(include_dashboard=False, log_to_driver=False)
    need = ingest_resources(settings, options, gpus=float(ray.cluster_resources().get("GPU", 0.0)))
    task: Any = ray.remote(num_cpus=need.num_cpus, num_gpus=need.num_gpus, max_retries=0)(_worker_ingest)
    pending: dict[Any, int] = {task.remote(video, settings, options): i for i, video in enumerate(videos)}
    results: dict[int, VideoOutcome] = {}
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        for ref in ready:
            i = pending.pop(ref)
            try:
                outcome: VideoOutcome = ray.get(ref)
            except RayError as e:  # the task's worker died
                first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                outcome = VideoOutcome(path=videos[i], error=f"the Ray task failed ({first}); rerun to retry")
            results[i] = outcome
            done(outcome)
    return [results[i] for i in range(len(videos))]


def outcome_status(outcome: VideoOutcome) -> Literal["failed", "cached", "ingested"]:
    """``failed``, ``cached`` (nothing to do), or ``ingested`` (some layer was computed, resumed or repaired)."""
    if outcome.report is None:
        return "failed"
    return "cached" if all(layer.status in ("cached", "skipped") for layer in outcome.report.layers) else "ingested"


def failed(outcomes: Iterable[VideoOutcome]) -> list[VideoOutcome]:
    """The outcomes of videos that could not be ingested."""
    return [o for o in outcomes if not o.ok]
