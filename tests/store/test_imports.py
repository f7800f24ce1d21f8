"""Imports inside srpo/store run one way: schema <- layout <- writer <- episode_store <- the rest."""

import ast
from pathlib import Path

import srpo.store

STORE = Path(srpo.store.__file__).parent


def _imports(path: Path) -> set[str]:
    """srpo.store modules imported anywhere in the file (module level or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
        names += [a.name for a in node.names] if isinstance(node, ast.Import) else []
        found |= {n.removeprefix("srpo.store.") for n in names if n.startswith("srpo.store.")}
    return found


def test_store_modules_import_one_way():
    graph = {p.stem: _imports(p) for p in STORE.glob("*.py") if p.stem != "__init__"}
    assert graph["schema"] == set()
    assert graph["layout"] == {"schema"}
    assert graph["writer"] <= {"schema", "layout"}
    order, done = [], set()
    while len(done) < len(graph):  # topological order; a cycle leaves modules that never become ready
        ready = sorted(m for m in graph if m not in done and graph[m] <= done)
        assert ready, f"import cycle among {sorted(set(graph) - done)}"
        order += ready
        done |= set(ready)
    assert order.index("writer") < order.index("episode_store") < order.index("cli")
