"""The benchmark registry: one `Task` class per benchmark, looked up by name.

```python
task = load_task("mlvu", Path("benchmarks/mlvu"), videos_dir=Path("MLVU/video"))
prompt = task.prompt(task.get_example(0))
```
"""

from __future__ import annotations

from pathlib import Path

from vidscout.errors import ConfigError
from vidscout.eval.task import Extractor, Task
from vidscout.eval.tasks.lvbench import LVBenchTask
from vidscout.eval.tasks.mlvu import MLVUTask
from vidscout.eval.tasks.needle import NeedleTask
from vidscout.eval.tasks.videomme import VideoMMESubtitlesTask, VideoMMETask

__all__ = ["TASKS", "LVBenchTask", "MLVUTask", "NeedleTask", "VideoMMESubtitlesTask", "VideoMMETask", "load_task"]

TASKS: dict[str, type[Task]] = {
    MLVUTask.name: MLVUTask,
    LVBenchTask.name: LVBenchTask,
    VideoMMETask.name: VideoMMETask,
    VideoMMESubtitlesTask.name: VideoMMESubtitlesTask,
    NeedleTask.name: NeedleTask,
}
"""Benchmarks by name; a new benchmark is one module here and one entry in this table."""


def load_task(
    name: str,
    annotations: Path,
    *,
    videos_dir: Path | None = None,
    split: str | None = None,
    extractor: Extractor = "official",
) -> Task:
    """Load benchmark ``name`` from its official annotation file(s).

    Args:
        name: A key of `TASKS`.
        annotations: The annotation file or folder, in the benchmark's published format.
        videos_dir: Folder the examples' videos are under (needed only to run, not to score).
        split: One of the task's splits; None for its default.
        extractor: ``"official"`` (the benchmark's own answer extraction) or ``"lenient"``
            (vidscout's `parse_choice`).

    Raises:
        ConfigError: Unknown task, split or extractor, or annotations missing or not in the expected format.
    """
    if name not in TASKS:
        raise ConfigError(f"Unknown task {name!r}; available: {', '.join(sorted(TASKS))}")
    return TASKS[name].load(annotations, split=split, videos_dir=videos_dir, extractor=extractor)
