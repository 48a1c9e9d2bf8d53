"""The layers of `docs/architecture.md`: dialects and metrics import nothing of storage, answers or
the API, and no module of `src/ccstats` reaches itself through a loop of imports."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).parent.parent / "src"
FORBIDDEN = {
    "ccstats.dialects": ("ccstats.storage", "ccstats.answers", "ccstats.api"),
    "ccstats.metrics": ("ccstats.storage", "ccstats.answers", "ccstats.api"),
}


def _module(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    modules = {_module(p): p for p in (SRC / "ccstats").rglob("*.py")}
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, base] if base else up)
                targets = [
                    f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                    for a in node.names
                ]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    edges[name].add(target)
    return edges


def test_dialects_and_metrics_stay_above_storage_answers_and_api() -> None:
    wrong = [
        f"{module} imports {target}"
        for module, targets in _imports().items()
        for layer, banned in FORBIDDEN.items()
        if module == layer or module.startswith(layer + ".")
        for target in targets
        if any(target == b or target.startswith(b + ".") for b in banned)
    ]
    assert wrong == []


def test_no_import_loop() -> None:
    edges = _imports()
    loops = []
    for start in edges:
        seen: set[str] = set()
        todo = list(edges[start])
        while todo:
            current = todo.pop()
            if current == start:
                loops.append(start)
                break
            if current not in seen:
                seen.add(current)
                todo += edges.get(current, ())
    assert loops == []
