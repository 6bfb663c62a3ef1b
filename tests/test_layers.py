"""The house rules of the package: imports only run down the layers, no module imports itself in a loop, and
SQL lives only in the modules that own a database.

Every ``import``/``from`` statement counts, at module level, inside functions and under ``TYPE_CHECKING``:
a lazy import is still an arrow a reader has to follow.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "vidscout"

LAYERS: list[set[str]] = [
    {"errors", "types", "settings", "text", "choices", "prompts", "_io"},  # the ground floor: shared words
    {"video"},
    {"models"},
    {"memory"},
    {"retrieval"},
    {"tools"},
    {"agent"},
    {"kv"},
    {"answering"},
    {"api"},
    {"media"},
    {"eval", "library"},
    {"integrations", "serve", "mcp", "ui"},
    {"cli"},
]
"""Sub-packages (and top-level modules) from the ground up: a module may import its own package and anything
on a lower floor. ``generation`` is a wing of its own: it may use the floor, ``video`` and ``models``, and only
``cli`` uses it."""

WING = {"generation": {"video", "models"}}


def _level(part: str) -> int:
    for i, floor in enumerate(LAYERS):
        if part in floor:
            return i
    raise AssertionError(f"vidscout.{part} is on no floor of LAYERS; add it where it belongs")


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) for every vidscout import in ``path``, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("vidscout"):
                    yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], base]).strip(".")
            if not base.startswith("vidscout"):
                continue
            for alias in node.names:
                # "from vidscout.media import samples" imports the module vidscout.media.samples.
                candidate = f"{base}.{alias.name}"
                sub = SRC.parent / Path(*candidate.split("."))
                yield node.lineno, candidate if (sub.with_suffix(".py").exists() or sub.is_dir()) else base


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def _top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_every_import_runs_down_the_layers() -> None:
    wrong: list[str] = []
    for name, path in _modules().items():
        here = _top(name)
        if here in ("", "__main__"):
            continue  # the package facade re-exports the API lazily
        for line, target in _imports(path):
            there = _top(target)
            if there in ("", here):
                continue
            if here in WING:
                ok = there in WING[here] or _level(there) == 0
            elif there in WING:
                ok = here == "cli"
            else:
                # The ground floor's modules may use each other (the loop test below keeps them acyclic).
                ok = _level(there) < _level(here) or _level(there) == _level(here) == 0
            if not ok:
                wrong.append(f"{path.relative_to(SRC.parent)}:{line} vidscout.{here} -> {target}")
    assert not wrong, "imports that run up (or across) the layers:\n" + "\n".join(wrong)


def test_no_import_loops_between_modules() -> None:
    modules = _modules()
    graph = {name: {t for _, t in _imports(path) if t in modules and t != name} for name, path in modules.items()}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    # A package's __init__ re-exporting its own modules is not a loop a reader follows.
    real = [c for c in cycles if not any(m == c[0].rpartition(".")[0] or c[0] == m for m in c[1:-1])]
    assert not real, "import loops:\n" + "\n".join(" -> ".join(c) for c in real)


SQL_OWNERS = {"vidscout/memory/store.py", "vidscout/memory/library_index.py"}
"""The store modules: `VideoStore` owns the per-video schema, `LibraryIndex` the library's own database."""

_SQL = re.compile(
    r"^\s*(select\s.+\sfrom\s|insert\s+(or\s+\w+\s+)?into\s|update\s+\w+\s+set\s|delete\s+from\s"
    r"|create\s+(table|index|unique|virtual|trigger|view)\s|pragma\s+\w+|with\s+\w+\s+as\s*\("
    r"|drop\s+(table|index)\s|alter\s+table\s)",
    re.IGNORECASE | re.DOTALL,
)
_SQL_CALLS = {"execute", "executemany", "executescript", "query"}


def _sql_uses(path: Path) -> Iterator[tuple[int, str]]:
    """(line, what) for every SQL-looking string and every ``.execute``/``.query``-style call in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parts = {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for v in node.values}
    for node in ast.walk(tree):
        text = None
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in parts:
            text = node.value
        elif isinstance(node, ast.JoinedStr):  # f"SELECT {cols} FROM ...": the placeholders as {}
            text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
        if text is not None and _SQL.match(text):
            yield node.lineno, f"SQL string {text.strip()[:40]!r}"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _SQL_CALLS:
            yield node.lineno, f".{node.func.attr}(...) call"


def test_sql_lives_only_in_the_store_modules() -> None:
    wrong = sorted(
        f"{path.relative_to(SRC.parent)}:{line} {what}"
        for path in SRC.rglob("*.py")
        if str(path.relative_to(SRC.parent)) not in SQL_OWNERS
        for line, what in _sql_uses(path)
    )
    assert not wrong, "SQL outside the store modules (add a typed VideoStore method instead):\n" + "\n".join(wrong)


def test_the_sql_check_sees_sql(tmp_path: Path) -> None:
    planted = tmp_path / "planted.py"
    planted.write_text(
        "rows = store.query('select id from frames')\n"
        "conn.executemany(f'INSERT INTO {table} VALUES (?)', values)\n"
        "note = 'Select the clip that best answers the question.'\n",
        encoding="utf-8",
    )
    assert sorted(line for line, _ in _sql_uses(planted)) == [1, 1, 2, 2]
