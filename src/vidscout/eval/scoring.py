"""Benchmark scores: graded answers in, accuracy tables out (pure; no benchmark knowledge).

Vocabulary follows lmms-eval: a per-question record (`Graded`, its ``process_results``), an
aggregation over records (`Metrics`), and a ``cluster_key`` (the video) for clustered standard errors.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import ClassVar

from pydantic import BaseModel, Field


class Graded(BaseModel, frozen=True):
    """One question after grading; the runner stores these (one JSON line each) and scores them."""

    example_id: str
    cluster: str = Field(description="Value of the task's cluster_key (the video): its questions correlate.")
    category: list[str] = Field(description="Task types / abilities the question counts in.")
    duration_bucket: str | None = None
    answer: str | None = Field(
        description='True letter; None for an open question, which is not scored; "@" when no option is true.'
    )
    response: str | None = Field(description="The model's raw reply; None when it gave none.")
    predicted: str | None = Field(description="Letter parsed from the reply; None when unparsable.")
    tags: dict[str, str] = Field(
        default_factory=dict[str, str],
        description='Other labels to break scores down by, e.g. {"domain": ...}.',
    )

    @property
    def correct(self) -> bool:
        """Whether a letter was parsed and it is the true one."""
        return self.predicted is not None and self.predicted == self.answer


class MetricRow(BaseModel, frozen=True):
    """One number of a benchmark report: an accuracy in percent, micro (with counts) or macro."""

    group: str = Field(description='What the row breaks down by: "overall", "task", "ability", "duration"...')
    name: str
    accuracy: float = Field(description="Percent, 0-100.")
    correct: int | None = Field(default=None, description="None for a mean of other rows (macro).")
    total: int | None = None


class Metrics(BaseModel, frozen=True):
    """The scores of one run of one benchmark, with the headline number the papers report."""

    TABLE_HEADER: ClassVar[tuple[str, str, str, str]] = ("group", "metric", "accuracy %", "correct / total")

    task: str
    split: str
    setting: str | None = Field(default=None, description='A variant such as "w/ subs"; None when none.')
    headline: str = Field(description="Name of the row the benchmark's leaderboard ranks by.")
    rows: list[MetricRow]
    n_examples: int = Field(description="Graded questions given to the scorer.")
    n_scored: int = Field(description="Questions in the overall denominator.")
    n_unparsed: int = Field(
        description="Closed questions whose reply named no option under the extractor (errors included); "
        "they count as wrong."
    )
    n_errors: int = Field(default=0, description="Closed questions with no reply at all (backend error); wrong.")
    n_excluded: int = Field(default=0, description="Unparsed questions the headline leaves out of its denominator.")
    n_open: int = Field(default=0, description="Open-ended questions, not scored here.")
    extractor: str | None = Field(default=None, description="How replies became letters (official or lenient).")
    stderr: float | None = Field(
        default=None,
        description="Standard error of the overall accuracy in percent points (see `clustered_stderr`).",
    )
    stderr_method: str | None = Field(default=None, description="What `stderr` is: clustered by video, or not.")
    notes: list[str] = Field(default_factory=list[str])

    def get(self, name: str, group: str | None = None) -> MetricRow:
        """The row called ``name`` (in ``group`` when given).

        Raises:
            KeyError: No such row.
        """
        for row in self.rows:
            if row.name == name and (group is None or row.group == group):
                return row
        raise KeyError(f"no metric {name!r}" + (f" in group {group!r}" if group else ""))

    @property
    def headline_value(self) -> float:
        """The headline accuracy in percent."""
        return self.get(self.headline).accuracy

    def to_table_rows(self) -> list[tuple[str, str, str, str]]:
        """Rows of strings under `TABLE_HEADER`, in report order, for a Rich or Markdown table."""
        out: list[tuple[str, str, str, str]] = []
        for row in self.rows:
            counts = f"{row.correct} / {row.total}" if row.total is not None else ""
            out.append((row.group, row.name, f"{row.accuracy:.1f}", counts))
        return out


def _percent(correct: int, total: int) -> float:
    return 100.0 * correct / total if total else 0.0


def counted(graded: Iterable[Graded], *, exclude_unparsed: bool) -> list[Graded]:
    """The closed questions that enter a denominator (unparsed ones left out if the rule says so)."""
    return [g for g in graded if g.answer is not None and not (exclude_unparsed and g.predicted is None)]


def micro_row(group: str, name: str, graded: Sequence[Graded]) -> MetricRow:
    """Share of correct answers among ``graded`` (already filtered by `counted`)."""
    correct = sum(g.correct for g in graded)
    return MetricRow(
        group=group, name=name, accuracy=_percent(correct, len(graded)), correct=correct, total=len(graded)
    )


def rows_by(
    group: str,
    graded: Sequence[Graded],
    labels: Callable[[Graded], Iterable[str]],
    *,
    order: Sequence[str] = (),
) -> list[MetricRow]:
    """Micro accuracy per label; a question counts once in every label ``labels`` gives it.

    Args:
        group: The rows' group name.
        graded: Questions already filtered by `counted`.
        labels: The labels of one question (its categories, its duration bucket...).
        order: Labels to list first, in this order, when present; others follow sorted.

    Returns:
        One row per label that has at least one question.
    """
    members: dict[str, list[Graded]] = defaultdict(list)
    for g in graded:
        for label in dict.fromkeys(labels(g)):  # a label listed twice still counts once
            members[label].append(g)
    names = [n for n in order if n in members] + sorted(n for n in members if n not in order)
    return [micro_row(group, n, members[n]) for n in names]


def macro_row(group: str, name: str, rows: Sequence[MetricRow]) -> MetricRow:
    """Unweighted mean of the rows' accuracies (MLVU's M-Avg); 0 when there are none."""
    return MetricRow(group=group, name=name, accuracy=sum(r.accuracy for r in rows) / len(rows) if rows else 0.0)


def clustered_stderr(graded: Sequence[Graded]) -> float | None:
    """Cluster-robust standard error of the mean correctness, in percent points.

    ``sqrt(G / (G - 1) * sum_g (sum_{i in g} (x_i - p))^2) / n`` over G clusters (videos): questions
    about one video succeed or fail together, so treating them as independent understates the error.

    With a single cluster (one video, as in a needle run) the spread between videos cannot be
    estimated, and the formula is 0/0. The same formula with every question as its own cluster is
    returned instead: ``sqrt(sum_i (x_i - p)^2 / (n - 1) / n)``, the usual standard error of a mean
    over independent questions. It is a lower bound for a clustered error; `stderr_method` says so.

    Returns:
        None when there are fewer than two questions (no spread can be estimated at all).
    """
    n = len(graded)
    if n < 2:
        return None
    p = sum(g.correct for g in graded) / n
    residual: dict[str, float] = defaultdict(float)
    for g in graded:
        residual[g.cluster] += float(g.correct) - p
    if len(residual) < 2:
        residual = {str(i): float(g.correct) - p for i, g in enumerate(graded)}
    clusters = len(residual)
    variance = clusters / (clusters - 1) * sum(r * r for r in residual.values()) / (n * n)
    return 100.0 * math.sqrt(variance)


def stderr_method(graded: Sequence[Graded]) -> str | None:
    """What `clustered_stderr` computed for ``graded``, in words (None when it computed nothing)."""
    if len(graded) < 2:
        return None
    videos = len({g.cluster for g in graded})
    if videos < 2:
        return "one video: independent-questions s.e. (a lower bound; clustering needs 2+ videos)"
    return f"clustered by video ({videos} videos)"


def naive_stderr(scores: Sequence[float]) -> float | None:
    """Standard error of the mean of ``scores`` as if independent: ``std(ddof=1) / sqrt(n)``; None below 2."""
    n = len(scores)
    if n < 2:
        return None
    mean = sum(scores) / n
    return math.sqrt(sum((s - mean) ** 2 for s in scores) / (n - 1) / n)


def lmms_clustered_stderr(scores: Sequence[float], clusters: Sequence[str]) -> float | None:
    """The clustered standard error lmms-eval reports as ``<metric>_stderr_clustered``, in ``scores``' units.

    Miller (2024), "Adding Error Bars to Evals", eq. 4: the independent variance plus the products of
    different questions' residuals within each cluster, ``sqrt(SE^2 + sum_c sum_{i != j} d_i d_j / n^2)``.
    lmms-eval reports "N/A" with fewer than two clusters; this returns None then.
    """
    n = len(scores)
    naive = naive_stderr(scores)
    if naive is None or len(set(clusters)) < 2:
        return None
    mean = sum(scores) / n
    by_cluster: dict[str, list[float]] = defaultdict(list)
    for s, c in zip(scores, clusters, strict=True):
        by_cluster[c].append(s - mean)
    cross = sum(sum(d) ** 2 - sum(x * x for x in d) for d in by_cluster.values()) / (n * n)
    return math.sqrt(max(0.0, naive * naive + cross))
