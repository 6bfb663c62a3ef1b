"""`vidscout models`: which backends each profile uses, whether they load here, and weight fetching."""

from __future__ import annotations

import json

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TransferSpeedColumn

from vidscout.cli.render import BackendRow, backend_table
from vidscout.models.probe import availability
from vidscout.models.registry import PROFILES, ROLES, fetch_embedded, resolve_specs
from vidscout.settings import Settings


def run_models(settings: Settings, *, fetch: bool, as_json: bool, out: Console, console: Console) -> None:
    """Optionally assemble the embedded weights, then print the profile × role availability table."""
    if fetch:
        with Progress(
            TextColumn("{task.description:<28}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
            console=console, disable=as_json,
        ) as bar:  # fmt: skip
            tasks: dict[str, TaskID] = {}

            def progress(key: str, done: int, total: int) -> None:
                if key not in tasks:
                    tasks[key] = bar.add_task(key, total=total)
                bar.update(tasks[key], completed=done, total=total)

            fetched = fetch_embedded(settings, progress)
        if not as_json:
            for key, path in fetched.items():
                console.print(f"[green]ok[/] {key}: {path}")
    active = resolve_specs(settings)
    rows: list[BackendRow] = []
    for profile, specs in PROFILES.items():
        for role in ROLES:
            spec = active[role] if profile == settings.profile else specs[role].replace("{base_url}", settings.base_url)
            ok, reason = availability(spec, weights_dir=settings.weights_dir)
            rows.append(BackendRow(profile=profile, role=role, spec=spec, available=ok, detail=reason,
                                   active=profile == settings.profile))  # fmt: skip
    if as_json:
        out.print_json(json.dumps([r.model_dump() for r in rows]))
        return
    backend_table(out, rows, profile=settings.profile)
