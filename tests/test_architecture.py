"""The package layering of docs/architecture.md, checked from the source (no import is run).

A *unit* is a top-level package (``accounts``), an app or sub-package of one (``portal.catalog``,
``restoration.engine``), or, for the modules directly in ``portal/`` and ``restoration/``, the
module itself (``portal.exceptions``, ``restoration.services``). Every import counts, including
the ones inside functions: a lazy import hides a cycle from Python, not from a reader.

Run alone: ``python -m pytest tests/test_architecture.py -q`` (``make check-imports``).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("accounts", "portal", "restoration")
#: Packages whose sub-packages are units of their own; their plain modules are units too.
SPLIT = {"portal", "restoration"}


def _unit(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] not in PACKAGES:
        return None
    if parts[0] not in SPLIT or len(parts) == 1:
        return parts[0]
    head = ROOT / parts[0] / parts[1]
    if head.is_dir() or (head.with_suffix(".py")).exists():
        return f"{parts[0]}.{parts[1]}"
    return parts[0]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    package = _module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else None
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level and package:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            names.add(module)
            # ``from portal import exceptions`` names a module, not a package attribute.
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def source_files() -> list[Path]:
    files: list[Path] = []
    for package in PACKAGES:
        files += [p for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts]
    return sorted(files)


def unit_graph() -> dict[str, set[str]]:
    """unit -> the units it imports (itself excluded)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for path in source_files():
        here = _unit(_module_name(path))
        assert here is not None, path
        graph[here]
        for name in _imported_modules(path):
            there = _unit(name)
            if there is not None and there != here:
                graph[here].add(there)
    return dict(graph)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one unit (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def _edges_within(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    return [f"{a} -> {b}" for a in component for b in sorted(graph[a]) if b in component]


#: Imports against the layering (docs/architecture.md) that close a cycle and are tolerated, each
#: with its reason. Empty: a lower app that must tell a higher one something sends a signal
#: (``portal.events``), and the API router is wiring at the top (``portal/api_urls.py``). A line
#: added here goes when its import does (the test below fails while a listed import no longer
#: exists).
KNOWN_UPWARD_IMPORTS: set[tuple[str, str]] = set()


def test_no_import_cycle_between_packages_and_apps() -> None:
    graph = unit_graph()
    stale = sorted(edge for edge in KNOWN_UPWARD_IMPORTS if edge[1] not in graph.get(edge[0], ()))
    assert stale == [], f"these imports are gone: remove them from KNOWN_UPWARD_IMPORTS: {stale}"
    layered = {
        unit: targets - {b for a, b in KNOWN_UPWARD_IMPORTS if a == unit}
        for unit, targets in graph.items()
    }
    found = cycles(layered)
    assert found == [], "import cycles:\n" + "\n".join(
        ", ".join(_edges_within(layered, component)) for component in found
    )


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_engine_imports_nothing_of_the_portal() -> None:
    graph = unit_graph()
    assert graph["restoration.engine"] <= set(), graph["restoration.engine"]


#: docs/architecture.md: the engine is what a newcomer reads first, so it stays in pieces that
#: fit on a screen or two.
ENGINE_MAX_MODULE_LINES = 600
ENGINE_MAX_FUNCTION_LINES = 80


def long_functions(source: str, limit: int) -> list[tuple[str, int]]:
    """Functions and methods (nested ones too) longer than `limit` lines, counted from the first
    decorator to the last line, signature and docstring included: (name, lines)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            lines = (node.end_lineno or node.lineno) - first + 1
            if lines > limit:
                found.append((node.name, lines))
    return found


def test_engine_modules_and_functions_stay_short() -> None:
    too_long = []
    for path in sorted((ROOT / "restoration" / "engine").rglob("*.py")):
        source = path.read_text()
        name = path.relative_to(ROOT)
        if (count := len(source.splitlines())) > ENGINE_MAX_MODULE_LINES:
            too_long.append(f"{name}: {count} lines (at most {ENGINE_MAX_MODULE_LINES})")
        too_long += [
            f"{name}: {function}() {lines} lines (at most {ENGINE_MAX_FUNCTION_LINES})"
            for function, lines in long_functions(source, ENGINE_MAX_FUNCTION_LINES)
        ]
    assert too_long == [], "\n".join(too_long)


def test_the_length_check_counts_signature_docstring_and_decorators() -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(77))
    source = f'@property\ndef f(\n    a,\n):\n    """Doc."""\n{body}'  # 5 + 77 = 82 lines
    assert long_functions(source, 81) == [("f", 82)]
    assert long_functions(source, 82) == []
    method = "class C:\n    def g(self):\n" + "".join(f"        y{i} = {i}\n" for i in range(90))
    assert long_functions(method, 80) == [("g", 91)]


if __name__ == "__main__":
    graph = unit_graph()
    for unit in sorted(graph):
        print(f"{unit} -> {', '.join(sorted(graph[unit])) or '-'}")
    for component in cycles(graph):
        print("CYCLE:", "; ".join(_edges_within(graph, component)))
    print(
        "known upward imports:", ", ".join(f"{a} -> {b}" for a, b in sorted(KNOWN_UPWARD_IMPORTS))
    )
