"""The import graph of the package, read from the source (lazy imports inside functions
included; imports under ``if TYPE_CHECKING:`` left out, as they never run): the data flows one
way, into the reports and never back out of them."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "symnet"

#: Packages and modules that compute: none of them may import the reports.
CORE = ("symnet.analysis", "symnet.graph", "symnet.ops", "symnet.backends", "symnet.functions",
        "symnet.layers", "symnet.io", "symnet.homework", "symnet.printing", "symnet.display",
        "symnet.parse")


def modules() -> dict[str, tuple[Path, bool]]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if package else parts)] = (path, package)
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the symnet modules it imports."""
    mods = modules()
    graph: dict[str, set[str]] = {}
    for name, (path, package) in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        hidden = {id(sub) for node in ast.walk(tree) if isinstance(node, ast.If)
                  and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
                  for inner in node.body for sub in ast.walk(inner)}
        targets = set()
        for node in ast.walk(tree):
            if id(node) in hidden:
                continue
            found = []
            if isinstance(node, ast.Import):
                found = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = name.split(".") if package else name.split(".")[:-1]
                if node.level:
                    base = base[:len(base) - (node.level - 1)]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                found = [f"{module}.{a.name}" if f"{module}.{a.name}" in mods else module
                         for a in node.names]
            for target in found:
                while target not in mods and "." in target:
                    target = target.rsplit(".", 1)[0]
                if target in mods and target != name and target.startswith("symnet"):
                    targets.add(target)
        graph[name] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(component)

    for v in graph:
        if v not in index:
            visit(v)
    return found


def inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_nothing_that_computes_imports_the_reports():
    graph = import_graph()
    assert "symnet.report.sections" in graph and graph["symnet.analysis.explanation"]
    wrong = sorted(f"{a} -> {b}" for a, targets in graph.items() for b in targets
                   if inside(b, "symnet.report") and any(inside(a, c) for c in CORE))
    assert not wrong, wrong


def test_no_circle_runs_through_the_reports():
    through = [sorted(c) for c in cycles(import_graph())
               if any(inside(m, "symnet.report") for m in c)]
    assert not through, through


def test_the_neutral_modules_stay_neutral():
    graph = import_graph()
    assert graph["symnet.display"] == set()  # the hooks' registry knows no one
    printing = {m for m in graph if inside(m, "symnet.printing")}
    for module in printing:
        assert graph[module] <= printing, (module, graph[module] - printing)
