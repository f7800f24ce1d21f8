"""The online package's structure: modules import one way, `srpo bench` loads a command's package only when it
runs, and the algorithm's settings are declared once."""

import ast
import dataclasses
import subprocess
import sys
from pathlib import Path

import srpo_online_sim
from srpo_online_sim.algorithm import Algorithm

PACKAGE = Path(srpo_online_sim.__file__).parent


def _imports(path: Path) -> set[str]:
    """srpo_online_sim modules imported anywhere in the file (module level or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
        names += [a.name for a in node.names] if isinstance(node, ast.Import) else []
        found |= {n.removeprefix("srpo_online_sim.") for n in names if n.startswith("srpo_online_sim.")}
    return found


def test_online_modules_import_without_cycles():
    graph = {str(p.relative_to(PACKAGE).with_suffix("")).replace("/", "."): _imports(p)
             for p in PACKAGE.rglob("*.py") if p.stem != "__init__"}
    assert "openvla.loading" not in graph["openvla.policy"]  # the cycle loading <-> policy is gone
    done: set[str] = set()
    while len(done) < len(graph):  # topological order; a cycle leaves modules that never become ready
        ready = {m for m in graph if m not in done and graph[m] & set(graph) <= done}
        assert ready, f"import cycle among {sorted(set(graph) - done)}"
        done |= ready


def test_bench_group_imports_a_commands_package_only_when_it_runs():
    code = ("import sys, srpo.bench_cli, srpo.cli; "
            "print(sorted(m for m in sys.modules if m.startswith(('srpo_offline', 'srpo_online_sim'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_algorithm_is_declared_once():
    """The LIBERO trainer and the sim bench nest the one Algorithm; no other config repeats its fields."""
    from srpo_online_sim.sim_bench import OnlineBenchConfig
    from srpo_online_sim.trainer import TrainConfig

    algo_fields = {f.name for f in dataclasses.fields(Algorithm)}
    for cls in (TrainConfig, OnlineBenchConfig):
        types = {f.name: f.type for f in dataclasses.fields(cls)}
        assert types["algo"] in (Algorithm, "Algorithm")
        assert not (algo_fields & set(types)) - {"algo"}, f"{cls.__name__} repeats {algo_fields & set(types)}"
