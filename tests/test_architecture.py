"""The package's import graph keeps its layers: no circle, no private name borrowed.

Read from the installed package's source files (every import, also those inside
functions; imports only for type checkers do not run and are left out):

* no circle: a module never imports, directly or through others, a module that imports
  it (so storage stays beneath search and scheduling, and a file can be read from the
  bottom up);
* no private name crosses modules: ``from .x import _name`` is refused unless
  ``_name`` is a module; and a private module (``_runs``) serves only its own package
  (the top-level ones, such as ``_validation``, serve the whole library).
"""

from __future__ import annotations

import ast
from pathlib import Path

import hyperzoom

ROOT = Path(hyperzoom.__file__).parent


def _modules() -> dict[str, Path]:
    mods = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = path
    return mods


def _runtime_imports(tree: ast.AST) -> list[ast.ImportFrom | ast.Import]:
    """Every import statement except those under ``if TYPE_CHECKING:``."""
    found: list[ast.ImportFrom | ast.Import] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _graph() -> tuple[dict[str, set[str]], list[tuple[str, str, str]]]:
    """Return the import edges between the package's modules, and the imports of
    private names or private modules from elsewhere: (importer, module, name)."""
    mods = _modules()
    edges: dict[str, set[str]] = {name: set() for name in mods}
    private: list[tuple[str, str, str]] = []
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [(a.name, None) for a in node.names]
            elif node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
                targets = [(module, a.name) for a in node.names]
            else:
                targets = [(node.module or "", a.name) for a in node.names]
            for module, item in targets:
                if not module.startswith("hyperzoom"):
                    continue
                sub = f"{module}.{item}" if item else None
                target = sub if sub in mods else module
                if target in mods and target != name and target != "hyperzoom":
                    edges[name].add(target)
                if item and sub not in mods and _private(item):
                    private.append((name, module, item))
                head, _, last = target.rpartition(".")
                if _private(last) and not (name == head or name.startswith(head + ".")):
                    private.append((name, head, last))
    return edges, private


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_the_graph_is_read_from_every_module():
    edges, _ = _graph()
    assert {"hyperzoom.search.loop", "hyperzoom.store.file"} <= set(edges)
    assert "hyperzoom.store.file" in edges["hyperzoom.search.journal"] | {
        t for s in edges["hyperzoom.search.journal"] for t in edges[s]
    }


def test_no_import_circle():
    edges, _ = _graph()
    assert _cycles(edges) == []


def test_the_checker_finds_a_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [
        ["a", "b", "c"]
    ]


def test_the_store_knows_nothing_of_search_or_scheduling():
    edges, _ = _graph()
    reach: set[str] = set()
    todo = [m for m in edges if m.startswith("hyperzoom.store")]
    while todo:
        m = todo.pop()
        for t in edges[m]:
            if t not in reach:
                reach.add(t)
                todo.append(t)
    assert not {
        m for m in reach if m.startswith(("hyperzoom.search", "hyperzoom.sched"))
    }


def test_no_private_name_crosses_modules():
    _, private = _graph()
    allowed_core = [p for p in private if p[2] == "_core"]  # the compiled core
    assert [p for p in private if p not in allowed_core] == []
